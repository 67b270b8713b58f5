"""A class in one link, with real browsers: what N viewers of one run cost the server, how
visitors with different runs wait, and whether a long day of visitors leaks.

Starts the app (one server process, loopback, an empty run store of its own) through
bench/counted_server.py, which reports the trainer steps the server executed, its memory,
CPU seconds and threads, and drives Debian's chromium with Playwright, one browser
context (one Streamlit session) per visitor. Not a test: `python3 bench/bench_class.py`
(about 15 minutes here; `--only same` etc. runs one part).

same N (for N in --viewers): N sessions open one preset link and press Start as a person
   would (only where their button still says Start). Printed: trainer steps executed over
   the steps of one run (goal <= 1.05); Start-to-first-loss-point p50 and p95 in the
   browsers (goal: p95 <= 2 s at N = 30); over a window of training, server memory and
   CPU per extra viewer (goals <= 5 MB and <= 1% of a core) and websocket bytes per
   viewer per second.
floor N: the same N sessions on bench/floor_app.py, a Start button and one live chart with no
   model behind it, timed the same way: the least any Streamlit page that shows a live
   chart costs on this machine, printed beside the app's figures.
distinct: N sessions open N different runs and press Start: each sees its run training or
   its place in the queue within 2 s, and every run reaches the step cap (none starves).
soak: cycles of open, Start, close with a different run each: server memory after the
   sessions expired within 50 MB of its level after the first 10 cycles, threads back to
   that level, and no trainer step once every session has ended.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from playwright.sync_api import sync_playwright  # noqa: E402

from rnn_core.presets import PRESETS  # noqa: E402
from tests.browser.appserver import launch_chromium, running_app  # noqa: E402
from tests.browser.pagetools import chart_script  # noqa: E402

READY = "[data-testid=stApp][data-test-script-state=notRunning]"
LAST_STEP = chart_script("""
  if (!el || !el.data || !el.data.length) return 0;
  const x = decode(el.data[0].x);
  return x.length ? x[x.length - 1] : 0;""")
# In the page: note the time, press Start if the button still says so, then poll every
# 20 ms; window.benchFirstPoint is the seconds from the press to a first loss point (or,
# with ``queue``, to the page saying where the run waits in the queue).
PRESS_AND_TIME = (
    """({key, queue}) => {
  const t0 = performance.now();
  window.benchFirstPoint = null;
  const button = document.querySelector('.st-key-train_toggle button');
  window.benchPressed = button ? button.innerText.replace(/\\s+/g, ' ').trim() : 'no button';
  if (button && button.innerText.includes('Start')) button.click();
  const last = """
    + LAST_STEP
    + """;
  const timer = setInterval(() => {
    const told = queue && document.body.innerText.includes('waiting for a free training slot');
    if (last(key) < 1 && !told) return;
    window.benchFirstPoint = (performance.now() - t0) / 1000;
    clearInterval(timer);
  }, 20);
}"""
)
LOSS_CHART = {"playground": "loss_chart", "gradients": "grad-loss"}  # Streamlit's class
# A visitor's run for the distinct and soak parts: small, so many fit in a few minutes.
SMALL = "model=lstm&task=adding&seq_len=20&hidden_size=16&batch_size=16"


@dataclass
class Viewer:
    context: object
    page: object
    received: list[int] = field(default_factory=lambda: [0])  # websocket bytes

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()


def open_viewer(browser, url: str) -> Viewer:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    viewer = Viewer(context, page)

    def count(payload) -> None:
        viewer.received[0] += len(payload)

    page.on("websocket", lambda ws: ws.on("framereceived", count))
    page.goto(url)
    page.wait_for_selector(READY, timeout=120_000)
    return viewer


def toggle(page):
    return page.locator(".st-key-train_toggle button").first


def press_and_time(viewer: Viewer, key: str, queue: bool) -> None:
    """PRESS_AND_TIME on the page, once its Start/Pause button is drawn (a page can be
    ready, its script done, a moment before its button is; pressed then, nothing starts)."""
    toggle(viewer.page).wait_for(timeout=60_000)
    viewer.page.evaluate(PRESS_AND_TIME, {"key": key, "queue": queue})


def last_step(page, chart: str) -> float:
    try:
        return page.evaluate(LAST_STEP, chart)
    except Exception:  # noqa: BLE001 - a page mid-rerun: not drawn yet
        return 0


def browsers_cpu_seconds() -> float:
    """CPU seconds of every chromium process on the machine (the browsers' share)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if "(chrom" in text:
                fields = text[text.rindex(")") + 2 :].split()
                total += (int(fields[11]) + int(fields[12])) / tick
    return total


def press_all_and_time(viewers: list[Viewer], key: str, queue: bool, timeout: float) -> list:
    """Press every page (``press_and_time``), then collect each page's own seconds to its
    first point (None for a page that showed none within ``timeout``)."""
    for viewer in viewers:
        press_and_time(viewer, key, queue)
    seconds = [None] * len(viewers)
    deadline = time.monotonic() + timeout
    while None in seconds and time.monotonic() < deadline:
        for i, viewer in enumerate(viewers):
            if seconds[i] is None:
                seconds[i] = viewer.page.evaluate("() => window.benchFirstPoint")
        time.sleep(0.2)
    return seconds


def read_stats(path: Path) -> dict:
    for _ in range(50):
        with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
            return json.loads(path.read_text())
        time.sleep(0.1)
    raise RuntimeError(f"no stats from the server in {path}")


def wait_steps_settle(path: Path, quiet: float = 3.0, timeout: float = 600.0) -> dict:
    """The server's stats once its step count has not moved for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    stats, since = read_stats(path), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = read_stats(path)
        if now["steps"] != stats["steps"]:
            stats, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise RuntimeError("the server kept training")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def server(workdir: Path, name: str, cap: int, extra_args: tuple[str, ...] = ()):
    stats = workdir / f"{name}.stats.json"
    env = {
        "RNN_EXPLORER_RUN_STORE": str(workdir / f"{name}-runs"),  # empty: runs train
        "RNN_EXPLORER_STEP_CAP": str(cap),
        "RNN_EXPLORER_BENCH_STATS": str(stats),
    }
    with running_app(
        workdir, name=name, env=env, launcher="bench.counted_server", extra_args=extra_args
    ) as url:
        yield url, stats


def same_run(browser, workdir: Path, n: int, preset: str, cap: int, window: float) -> dict:
    spec = PRESETS[preset]
    chart = LOSS_CHART[spec.page]
    models = 1 + len(spec.alongside)
    with server(workdir, f"same-{n}", cap) as (url, stats_path):
        viewers = [open_viewer(browser, f"{url}/?preset={preset}") for _ in range(n)]
        try:
            # Each page presses Start (where its button still says Start) and times its
            # own first loss point in its own clock: the pages run at once, not in turn.
            first = press_all_and_time(viewers, chart, queue=False, timeout=120)
            seen = [f for f in first if f is not None]
            # A window of training with every viewer watching.
            before, browsers_before = read_stats(stats_path), browsers_cpu_seconds()
            for viewer in viewers:
                viewer.received[0] = 0
            # Playwright hands websocket events over while it waits, not during a sleep.
            viewers[0].page.wait_for_timeout(window * 1000)
            after, browsers_after = read_stats(stats_path), browsers_cpu_seconds()
            received = [viewer.received[0] / window for viewer in viewers]
            done = wait_steps_settle(stats_path)
        finally:
            for viewer in viewers:
                viewer.close()
    seconds = after["time"] - before["time"]
    return {
        "n": n,
        "ratio": done["steps"] / (cap * models),
        "first_p50": statistics.median(seen) if seen else float("nan"),
        "first_p95": pct(seen, 0.95) if seen else float("nan"),
        "missing": first.count(None),
        "rss_mb": after["rss_mb"],
        "cpu": (after["cpu_s"] - before["cpu_s"]) / seconds,
        # Everything but training: the viewers' page runs, Streamlit, the store.
        "serving_cpu": (
            after["cpu_s"] - before["cpu_s"] - after["training_cpu_s"] + before["training_cpu_s"]
        )
        / seconds,
        "browsers_cpu": (browsers_after - browsers_before) / seconds,
        "steps_s": (after["steps"] - before["steps"]) / seconds,
        "bytes_s": statistics.mean(received),
    }


def floor(browser, workdir: Path, n: int) -> dict:
    """Press-to-first-point on bench/floor_app.py for N sessions (see the docstring)."""
    script = Path(__file__).resolve().parent / "floor_app.py"
    args = ("--runner.postScriptGC", "false")  # as the app's .streamlit/config.toml
    with running_app(workdir, name=f"floor-{n}", script=script, extra_args=args) as url:
        viewers = [open_viewer(browser, url) for _ in range(n)]
        try:
            first = press_all_and_time(viewers, "loss_chart", queue=False, timeout=120)
        finally:
            for viewer in viewers:
                viewer.close()
    seen = [f for f in first if f is not None]
    return {
        "p50": statistics.median(seen) if seen else float("nan"),
        "p95": pct(seen, 0.95) if seen else float("nan"),
        "missing": first.count(None),
    }


def distinct_runs(browser, workdir: Path, n: int, cap: int) -> dict:
    with server(workdir, f"distinct-{n}", cap) as (url, stats_path):
        viewers = [
            open_viewer(browser, f"{url}/playground?{SMALL}&seed={1000 + i}") for i in range(n)
        ]
        try:
            told = press_all_and_time(viewers, "loss_chart", queue=True, timeout=60)
            started = time.monotonic()
            finished = [None] * n
            deadline = started + 180
            while None in finished and time.monotonic() < deadline:
                for i, viewer in enumerate(viewers):
                    if finished[i] is None and last_step(viewer.page, "loss_chart") >= cap:
                        finished[i] = time.monotonic() - started
                time.sleep(0.2)
            steps = read_stats(stats_path)["steps"]
            shown = [
                (
                    last_step(viewer.page, "loss_chart"),
                    viewer.page.evaluate("() => window.benchPressed"),
                )
                for viewer in viewers
            ]
        finally:
            for viewer in viewers:
                viewer.close()
    seen = [t for t in told if t is not None]
    return {
        "n": n,
        "told_max": max(seen) if seen else float("nan"),
        "told_p50": statistics.median(seen) if seen else float("nan"),
        "untold": told.count(None),
        "starved": finished.count(None),
        "last_done": max((f for f in finished if f is not None), default=float("nan")),
        "shown": shown,
        "ratio": steps / (cap * n),
    }


def soak(browser, workdir: Path, cycles: int, cap: int, ttl: int) -> dict:
    args = ("--server.disconnectedSessionTTL", str(ttl))
    with server(workdir, "soak", cap, extra_args=args) as (url, stats_path):
        marks = {}

        def cycle(i: int) -> None:
            viewer = open_viewer(browser, f"{url}/playground?{SMALL}&seed={5000 + i}")
            try:
                toggle(viewer.page).click()
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not (
                    last_step(viewer.page, "loss_chart") >= 1
                    or viewer.page.get_by_text("waiting for a free training slot").count()
                ):
                    time.sleep(0.1)
            finally:
                viewer.close()

        t0 = time.monotonic()
        for i in range(min(10, cycles)):
            cycle(i)
        time.sleep(ttl + 5)
        marks["after_10"] = wait_steps_settle(stats_path)
        for i in range(10, cycles):
            cycle(i)
            if (i + 1) % 50 == 0:
                print(f"  soak: {i + 1} cycles, {time.monotonic() - t0:.0f} s", flush=True)
        time.sleep(ttl + 5)
        marks["end"] = wait_steps_settle(stats_path)
        time.sleep(5)
        marks["later"] = read_stats(stats_path)
        marks["seconds"] = time.monotonic() - t0
    return marks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["same", "distinct", "soak"])
    parser.add_argument("--viewers", default="1,10,30")
    parser.add_argument("--preset", default="vanishing")
    parser.add_argument("--cap", type=int, default=1000, help="step cap of the shared run")
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--distinct", type=int, default=10)
    parser.add_argument("--soak-cycles", type=int, default=200)
    parser.add_argument("--ttl", type=int, default=5, help="seconds a closed session lasts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        workdir = Path(tmp)
        browser = launch_chromium(playwright)
        if args.only in (None, "same"):
            results = []
            for n in args.viewers.split(","):
                results.append(
                    same_run(browser, workdir, int(n), args.preset, args.cap, args.window)
                )
                results[-1]["floor"] = floor(browser, workdir, int(n))
            print(f"same run: ?preset={args.preset}, step cap {args.cap}")
            print(
                "  N  steps/one run  first point p50  p95   missing  server RSS  CPU (cores)"
                "  browsers (cores)  steps/s  bytes/viewer/s"
            )
            for r in results:
                print(
                    f"{r['n']:>3}  {r['ratio']:>13.3f}  {r['first_p50']:>13.2f} s"
                    f"  {r['first_p95']:.2f} s  {r['missing']:>7}  {r['rss_mb']:>7.0f} MB"
                    f"  {r['cpu']:>11.2f}  {r['browsers_cpu']:>16.2f}"
                    f"  {r['steps_s']:>7.0f}  {r['bytes_s']:>14,.0f}"
                )
            print("  the floor (bench/floor_app.py: a button and one live chart, no model):")
            for r in results:
                f = r["floor"]
                print(
                    f"{r['n']:>3}  first point p50 {f['p50']:.2f} s  p95 {f['p95']:.2f} s"
                    f"  missing {f['missing']}"
                )
            one = results[0]
            for r in results[1:]:
                extra = r["n"] - one["n"]
                print(
                    f"  per extra viewer at N = {r['n']}: "
                    f"{(r['rss_mb'] - one['rss_mb']) / extra:.2f} MB, "
                    f"{100 * (r['serving_cpu'] - one['serving_cpu']) / extra:.2f}% of a core "
                    f"(server CPU outside the trainers' steps: {r['serving_cpu']:.2f} cores "
                    f"against {one['serving_cpu']:.2f} at N = {one['n']})"
                )
        if args.only in (None, "distinct"):
            r = distinct_runs(browser, workdir, args.distinct, cap=300)
            print(
                f"distinct runs: {r['n']} sessions, time to see training or its queue place "
                f"p50 {r['told_p50']:.2f} s, slowest {r['told_max']:.2f} s ({r['untold']} never "
                f"told); {r['starved']} starved; "
                f"the last reached the cap after {r['last_done']:.0f} s; "
                f"steps executed / steps of the runs {r['ratio']:.3f}"
            )
            if r["starved"]:
                print(
                    f"  each page's last step and what its button said when pressed: {r['shown']}"
                )
        if args.only in (None, "soak"):
            m = soak(browser, workdir, args.soak_cycles, cap=200, ttl=args.ttl)
            a, e, later = m["after_10"], m["end"], m["later"]
            print(
                f"soak: {args.soak_cycles} cycles in {m['seconds']:.0f} s; server RSS after 10 "
                f"cycles {a['rss_mb']:.0f} MB, at the end {e['rss_mb']:.0f} MB "
                f"({e['rss_mb'] - a['rss_mb']:+.0f} MB); threads {a['threads']} -> "
                f"{e['threads']} ({later['threads']} 5 s later); steps in those 5 s: "
                f"{later['steps'] - e['steps']}"
            )
            extra = sorted(set(later["python_threads"]) - set(a["python_threads"]))
            if extra:
                print(f"  Python threads not there after 10 cycles: {', '.join(extra)}")
        browser.close()


if __name__ == "__main__":
    main()
