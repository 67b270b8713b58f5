"""The Speech page in a real browser: typing an utterance number shows that utterance,
training moves its predictions, and a bad number gets a message, not a traceback."""

import pytest

from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

# The utterance chart's title and the probabilities of the true speaker (the trace named
# "... (who spoke)"), as the browser holds them.
UTTERANCE = chart_script("""
  if (!el || !el.data) return null;
  const spoke = el.data.find((t) => (t.name || "").includes("who spoke"));
  return {title: el.layout.title.text, p: spoke ? decode(spoke.y) : []};
""")


def _utterance(page):
    return page.evaluate(UTTERANCE, "speech-utterance")


def test_typing_a_number_and_training_change_the_prediction(open_app, artifacts_dir):
    page = open_app("?preset=speech")
    page.get_by_role("heading", name="Speech: who is speaking").wait_for(timeout=30_000)
    first = wait_for(lambda: _utterance(page))
    assert "Test utterance 1:" in first["title"]

    box = page.locator(".st-key-speech-number input")
    box.fill("200")
    box.press("Enter")
    chosen = wait_for(lambda: (u := _utterance(page)) and "utterance 200:" in u["title"] and u)
    assert len(chosen["p"]) >= 7  # one probability per frame (7 to 29 frames)

    page.locator(".st-key-train_step button").first.click()
    trained = wait_for(
        lambda: (
            (u := _utterance(page))
            and "utterance 200:" in u["title"]
            and u["p"] != chosen["p"]
            and u
        )
    )
    assert len(trained["p"]) == len(chosen["p"])  # the same utterance, new predictions

    box.fill("🎤")
    box.press("Enter")
    page.get_by_text("must be a whole number from 1 to 370").wait_for(timeout=15_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
    page.screenshot(path=str(artifacts_dir / "speech.png"), full_page=True)
