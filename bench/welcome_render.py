"""How long the Welcome page's script takes, with its pictures and without.

    RNN_EXPLORER_RUN_STORE=DIR python3 -m bench.welcome_render [--runs 7]

Runs the app's script headless (AppTest) on the store in $RNN_EXPLORER_RUN_STORE (warm it
first, e.g. ``python3 -m rnn_core.warm_store --steps 300``) and prints the median time
of one run of the whole script (app.py with the Welcome page) in three ways, side by
side in one process: without the pictures (the diagrams and thumbnails switched off),
with them when the thumbnails' cache is cold (every run reads the store's histories
and draws), and with them cached (what every visitor after the first gets until the
store changes). Also the bytes of SVG the page sends.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

import ui.welcome_pictures as pictures

APP = Path(__file__).resolve().parents[1] / "app.py"


def _timed_run(at: AppTest) -> float:
    start = time.perf_counter()
    at.run()
    assert not at.exception, at.exception
    return time.perf_counter() - start


def _svg_bytes(at: AppTest) -> int:
    total = 0
    for element in at.get("image"):
        for image in element.proto.imgs:
            head, _, data = image.url.partition(",")
            if head.startswith("data:image/svg+xml"):
                total += len(base64.b64decode(data))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    at = AppTest.from_file(str(APP), default_timeout=60)
    _timed_run(at)  # imports, task data, the diagrams' files: paid once per server
    shown = sum(p is not None for p in pictures.thumbnails().values())
    svg = _svg_bytes(at)
    real = (pictures.thumbnails, pictures.section_picture, pictures.demo_thumbnail)

    def bare() -> float:
        pictures.thumbnails = dict
        pictures.section_picture = lambda heading: None
        pictures.demo_thumbnail = lambda container, name, found: None
        try:
            return _timed_run(at)
        finally:
            pictures.thumbnails, pictures.section_picture, pictures.demo_thumbnail = real

    def cold() -> float:
        pictures.forget_thumbnails()
        return _timed_run(at)

    # interleaved, so a slower moment of a shared machine falls on all three alike
    times = {"bare": [], "cold": [], "cached": []}
    for _ in range(args.runs):
        times["bare"].append(bare())
        times["cold"].append(cold())
        times["cached"].append(_timed_run(at))

    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(
        f"{shown} thumbnails, {svg / 1024:.0f} KiB of SVG on the page; median of {args.runs} runs"
    )
    print(f"without pictures        {med['bare']:7.1f} ms")
    print(f"pictures, cache cold    {med['cold']:7.1f} ms  ({med['cold'] / med['bare']:.2f}x)")
    print(f"pictures, cached        {med['cached']:7.1f} ms  ({med['cached'] / med['bare']:.2f}x)")


if __name__ == "__main__":
    main()
