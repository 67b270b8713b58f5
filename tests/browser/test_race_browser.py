"""The CNN vs RNN page in a real browser: a two-model race trains and both curves grow."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

RACE = "cnn_vs_rnn?models=tcn,lstm&task=adding&seq_len=20&param_budget=2000&batch_size=16"

# Every trace of a chart: its name, how many points it has and its last x (plotly data
# arrives as {dtype, bdata} base64 typed arrays; decode the x arrays here).
TRACES = """(key) => {
  const el = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  if (!el || !el.data) return null;
  const decode = (v) => {
    if (v == null) return [];
    if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, Number);
    if (v.bdata === undefined) return [];
    const bin = atob(v.bdata), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const kinds = {i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
                   i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array};
    return Array.from(new kinds[v.dtype](bytes.buffer), Number);
  };
  return el.data.map((t) => {
    const x = decode(t.x);
    return {name: t.name, n: x.length, last: x.length ? x[x.length - 1] : null};
  });
}"""


def _wait_for(predicate, timeout=60.0, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def _racers(page) -> dict[str, float]:
    traces = page.evaluate(TRACES, "race-loss_steps") or []
    return {t["name"]: t["last"] for t in traces
            if not t["name"].startswith("trivial baseline") and t["last"] is not None}


def test_a_two_model_race_trains_and_both_curves_grow(open_app, artifacts_dir):
    page = open_app(RACE)
    assert page.locator("[data-testid=stException]").count() == 0
    query = parse_qs(urlparse(page.url).query)
    assert query["models"] == ["tcn,lstm"] and query["param_budget"] == ["2000"]
    page.locator(".st-key-train_toggle button").click()
    first = _wait_for(lambda: (r := _racers(page)) and len(r) == 2 and all(
        v >= 5 for v in r.values()) and r)
    assert set(first) == {"TCN", "LSTM"}
    later = _wait_for(lambda: (r := _racers(page)) and all(
        r[name] > first[name] + 10 for name in first) and r)
    assert all(later[name] > first[name] for name in first)
    # The same race against wall-clock time: both models there too.
    time_traces = page.evaluate(TRACES, "race-loss_time")
    assert {t["name"] for t in time_traces} >= {"TCN", "LSTM"}
    assert page.locator("[data-testid=stDataFrame]").count() >= 1  # the race table
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(0.3)
        page.screenshot(path=str(artifacts_dir / f"cnn_vs_rnn-{width}x{height}.png"),
                        full_page=True)
    page.locator(".st-key-train_toggle button").click()  # pause: free the slots
    _wait_for(lambda: "Start" in page.locator(".st-key-train_toggle button").inner_text())
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
