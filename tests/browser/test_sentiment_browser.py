"""The Sentiment page in a real browser: the preset opens it, a trained run reads a typed
sentence, and typing a negation turns the recurrent net's verdict around."""

import pytest

from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

# The running chart's traces by name: P(positive) after each word and the words on x.
RUNNING = chart_script("""
  if (!el || !el.data) return null;
  const rnn = el.data.find((t) => t.name !== "bag of words");
  const bow = el.data.find((t) => t.name === "bag of words");
  return {rnn: decode(rnn.y), bow: decode(bow.y), words: el.layout.xaxis.ticktext,
          label: rnn.name};
""")
KEY = "sentiment-running"  # the chart's key "sentiment.running", as Streamlit's class has it


def _type(page, text: str) -> None:
    box = page.locator(".st-key-sentiment-sentence input")
    box.fill(text)
    box.press("Enter")


def _reading_of(page, words: list[str]):
    """The chart's data once it draws ``words``."""
    return wait_for(
        lambda: (r := page.evaluate(RUNNING, KEY)) and list(r["words"]) == words and r,
        timeout=60,
    )


def test_typing_a_negation_flips_the_trained_nets_verdict(open_app, artifacts_dir):
    page = open_app("?preset=sentiment")
    page.get_by_role("heading", name="Sentiment").wait_for()
    page.locator(".st-key-train_toggle button").click()  # Start
    # train until the held-out accuracy is read at 200 steps or more
    wait_for(
        lambda: (
            int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", ""))
            >= 200
        ),
        timeout=120,
    )
    page.locator(".st-key-train_toggle button").click()  # Pause
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")

    _type(page, "the plot was great")
    great = _reading_of(page, ["the", "plot", "was", "great"])
    _type(page, "the plot was not great")
    not_great = _reading_of(page, ["the", "plot", "was", "not", "great"])
    assert great["rnn"][-1] > 0.5 > not_great["rnn"][-1]  # the net turns around
    assert great["rnn"][:3] == pytest.approx(not_great["rnn"][:3], abs=1e-6)  # same start
    # the bag of words barely moves: "not" weighs almost nothing for it
    assert abs(great["bow"][-1] - not_great["bow"][-1]) < 0.05

    _type(page, "so gr8 😀")
    page.get_by_text("read as the unknown word").wait_for()
    _reading_of(page, ["so", "[gr8]", "[😀]"])
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
    page.screenshot(path=str(artifacts_dir / "sentiment.png"), full_page=True)
