"""The Time series page in a real browser: typing a threshold percentile changes the
flags on the ECG, and a bad one gets a message, not a traceback."""

import pytest

from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

# The anomaly chart's title and how many points the value threshold flags, as the
# browser holds them.
FLAGS = chart_script("""
  if (!el || !el.data) return null;
  const value = el.data.find((t) => (t.name || "").includes("value threshold"));
  return {title: el.layout.title.text, n: value ? decode(value.x).length : -1};
""")


def _flags(page):
    return page.evaluate(FLAGS, "series-anomaly")


def test_typing_a_percentile_moves_the_flags(open_app, artifacts_dir):
    page = open_app("?preset=anomaly")
    page.get_by_role("heading", name="Time series").wait_for(timeout=30_000)
    first = wait_for(lambda: (f := _flags(page)) and "99th percentile" in f["title"] and f)

    box = page.locator(".st-key-series-percentile input")
    box.fill("90")
    box.press("Enter")
    lower = wait_for(lambda: (f := _flags(page)) and "90th percentile" in f["title"] and f)
    assert lower["n"] > first["n"]  # a lower threshold flags more points

    box.fill("🫀")
    box.press("Enter")
    page.get_by_text("is not a number: type a number from 50 to 99.9").wait_for(timeout=15_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
    page.screenshot(path=str(artifacts_dir / "series.png"), full_page=True)
