"""The app in a real browser: time to the first loss point, chart refresh rate, training
speed inside the app vs the Trainer alone, and bytes per animated heatmap.

Starts its own `streamlit run app.py` and Debian's chromium. Medians over rounds; the
app-vs-Trainer ratio is measured side by side (rounds interleaved). Not a test:
`python3 bench/bench_app.py`.

Targets: steps/s inside the app >= 0.8x the Trainer alone; charts refresh at
least twice a second while training; a 50-frame x 64-unit x 200-step heatmap < 1.5 MB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import torch  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from rnn_core import RunConfig, Trainer  # noqa: E402
from tests.browser.appserver import launch_chromium, running_app  # noqa: E402

READY = "[data-testid=stApp][data-test-script-state=notRunning]"
LAST_STEP = """() => {
  const el = document.querySelector('.st-key-loss_chart .js-plotly-plot');
  if (!el || !el.data || !el.data.length) return 0;
  const x = el.data[0].x;
  if (!x) return 0;
  if (x.bdata === undefined) return x.length ? Number(x[x.length - 1]) : 0;
  const bin = atob(x.bdata), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const kinds = {i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
                 i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array};
  const a = new kinds[x.dtype](bytes.buffer);
  return a.length ? Number(a[a.length - 1]) : 0;
}"""


def _click(page, key: str) -> None:
    page.locator(f".st-key-{key} button").first.click()


def app_round(page, url: str, query: str, seconds: float) -> dict:
    """One fresh run in the app: Start, watch the chart, Pause."""
    page.goto(f"{url}/playground?{query}")
    page.wait_for_selector(READY)
    start = time.perf_counter()
    _click(page, "train_toggle")
    while page.evaluate(LAST_STEP) < 1:
        time.sleep(0.02)
    first_point = time.perf_counter() - start
    # Refresh rate and training speed, read off the chart the visitor sees.
    seen, changes = page.evaluate(LAST_STEP), 0
    t0, s0 = time.perf_counter(), seen
    while time.perf_counter() - t0 < seconds:
        step = page.evaluate(LAST_STEP)
        if step != seen:
            changes, seen = changes + 1, step
        time.sleep(0.02)
    elapsed = time.perf_counter() - t0
    _click(page, "train_toggle")
    _click(page, "train_reset")
    return {
        "first_point": first_point,
        "refresh_hz": changes / elapsed,
        "app_steps_s": (seen - s0) / elapsed,
    }


def trainer_round(cfg: RunConfig, seconds: float) -> float:
    """The Trainer alone, stepping for the same wall time, in this process."""
    trainer = Trainer(cfg)
    trainer.step(1)
    t0, n0 = time.perf_counter(), trainer.steps_done
    while time.perf_counter() - t0 < seconds:
        trainer.step(5)
    return (trainer.steps_done - n0) / (time.perf_counter() - t0)


def heatmap_bytes(page, url: str, query: str) -> list[int]:
    """Websocket bytes of the largest messages of the Hidden states page (its figures)."""
    sizes: list[int] = []
    collecting = [False]

    def on_frame(payload) -> None:
        if collecting[0]:
            sizes.append(len(payload))

    page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
    page.goto(f"{url}/playground?{query}")  # a new session: its websocket is watched
    page.wait_for_selector(READY)
    _click(page, "train_toggle")
    while page.evaluate(LAST_STEP) < 1300:  # snapshots every 25 steps: ~50 frames
        time.sleep(0.2)
    _click(page, "train_toggle")
    time.sleep(1)
    collecting[0] = True
    page.get_by_role("link", name="Hidden states").click()  # same session, same socket
    page.locator(".st-key-hidden_heatmap .js-plotly-plot").wait_for(timeout=60_000)
    time.sleep(2)
    return sorted(sizes, reverse=True)[:3]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the app does
    cfg = RunConfig()  # the defaults a visitor starts from: LSTM, adding, T=50, H=32
    query = "&".join(f"{k}={v}" for k, v in cfg.to_query().items())
    heat_query = query.replace("hidden_size=32", "hidden_size=64").replace(
        "seq_len=50", "seq_len=200"
    )
    results, alone = [], []
    with (
        tempfile.TemporaryDirectory() as logs,
        running_app(Path(logs)) as url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        for _ in range(args.rounds):
            results.append(app_round(page, url, query, args.seconds))
            alone.append(trainer_round(cfg, args.seconds))
        sizes = heatmap_bytes(page, url, heat_query)
        browser.close()

    def med(key):
        return statistics.median(r[key] for r in results)

    print(f"config: {cfg}")
    print(
        f"start to first loss point in the browser: {med('first_point') * 1e3:.0f} ms "
        f"(median of {args.rounds})"
    )
    print(f"loss chart refreshes while training: {med('refresh_hz'):.2f} per second")
    app_sps, alone_sps = med("app_steps_s"), statistics.median(alone)
    print(
        f"steps/s inside the app {app_sps:.1f} vs Trainer alone {alone_sps:.1f}: "
        f"ratio {app_sps / alone_sps:.2f}"
    )
    print(
        f"largest websocket messages on Hidden states (T=200, H=64, ~50 snapshots): "
        f"{', '.join(f'{s / 1e6:.2f} MB' for s in sizes)}"
    )


if __name__ == "__main__":
    main()
