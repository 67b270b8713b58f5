"""The CNN vs RNN page in a real browser: a two-model race trains and both curves grow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

RACE = "cnn_vs_rnn?models=tcn,lstm&task=adding&seq_len=20&param_budget=2000&batch_size=16"

# Every trace of a chart: its name, how many points it has and its last x.
TRACES = chart_script("""
  if (!el || !el.data) return null;
  return el.data.map((t) => {
    const x = decode(t.x);
    return {name: t.name, n: x.length, last: x.length ? x[x.length - 1] : null};
  });""")


def _racers(page) -> dict[str, float]:
    traces = page.evaluate(TRACES, "race-loss_steps") or []
    return {
        t["name"]: t["last"]
        for t in traces
        if not t["name"].startswith("trivial baseline") and t["last"] is not None
    }


def test_a_two_model_race_trains_and_both_curves_grow(open_app, artifacts_dir):
    page = open_app(RACE)
    assert page.locator("[data-testid=stException]").count() == 0
    query = parse_qs(urlparse(page.url).query)
    assert query["models"] == ["tcn,lstm"] and query["param_budget"] == ["2000"]
    page.locator(".st-key-train_toggle button").click()
    first = wait_for(
        lambda: (r := _racers(page)) and len(r) == 2 and all(v >= 5 for v in r.values()) and r,
        timeout=60,
    )
    assert set(first) == {"TCN", "LSTM"}
    later = wait_for(
        lambda: (r := _racers(page)) and all(r[name] > first[name] + 10 for name in first) and r,
        timeout=60,
    )
    assert all(later[name] > first[name] for name in first)
    # The same race against wall-clock time: both models there too.
    time_traces = page.evaluate(TRACES, "race-loss_time")
    assert {t["name"] for t in time_traces} >= {"TCN", "LSTM"}
    assert page.locator("[data-testid=stDataFrame]").count() >= 1  # the race table
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(0.3)
        page.screenshot(
            path=str(artifacts_dir / f"cnn_vs_rnn-{width}x{height}.png"), full_page=True
        )
    page.locator(".st-key-train_toggle button").click()  # pause: free the slots
    wait_for(
        lambda: "Start" in page.locator(".st-key-train_toggle button").inner_text(), timeout=60
    )
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
