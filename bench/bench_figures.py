"""Payload and build time of an animated heatmap: uint8 codes vs float32 vs float64.

50 training snapshots x 64 hidden units x 200 time steps of random activations (an LSTM
with 64 units at T=200 keeps about that many snapshots within its budget). Prints JSON
bytes (what st.plotly_chart sends) and build time, with ratios against the quantized
figure. Not a test: `python3 bench/bench_figures.py`.

The float variants are built with plain plotly (no column thinning), so the numbers
compare encodings; ``animated_heatmap(quantize=False)`` would thin them to fit.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from rnn_core.viz import DIVERGING, animated_heatmap  # noqa: E402

FRAMES, UNITS, STEPS = 50, 64, 200


def quantized(frames, labels):
    return animated_heatmap(
        frames, labels, zmin=-1, zmax=1, zmid=0, colorscale=DIVERGING, title="hidden state"
    )


def plain(dtype):
    def build(frames, labels):
        # the same figure shape, cells in `dtype`, no quantizing and no thinning
        zs = [f.astype(dtype) for f in frames]
        return go.Figure(
            data=[go.Heatmap(z=zs[-1], zmin=-1, zmax=1, colorscale=DIVERGING)],
            frames=[
                go.Frame(data=[go.Heatmap(z=z)], traces=[0], name=str(lab))
                for z, lab in zip(zs, labels, strict=True)
            ],
        )

    return build


def measure(build, frames, labels, rounds=5):
    times, size = [], 0
    for _ in range(rounds):
        start = time.perf_counter()
        fig = build(frames, labels)
        size = len(pio.to_json(fig))  # serializing is part of the cost a rerun pays
        times.append(time.perf_counter() - start)
    return size, statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    frames = [np.tanh(rng.normal(0, 1, (UNITS, STEPS))) for _ in range(FRAMES)]
    labels = list(range(0, 25 * FRAMES, 25))
    cells = FRAMES * UNITS * STEPS
    print(f"{FRAMES} frames x {UNITS} units x {STEPS} steps = {cells:,} cells")
    print(
        f"{'encoding':>10} {'JSON bytes':>12} {'bytes/cell':>11} {'size ratio':>11} "
        f"{'build+json ms':>14} {'time ratio':>11}"
    )
    base_size, base_time = measure(quantized, frames, labels)
    for name, build in (
        ("uint8", quantized),
        ("float32", plain(np.float32)),
        ("float64", plain(np.float64)),
    ):
        size, seconds = (
            (base_size, base_time) if name == "uint8" else measure(build, frames, labels)
        )
        print(
            f"{name:>10} {size:>12,} {size / cells:>11.2f} {size / base_size:>11.2f} "
            f"{seconds * 1e3:>14.1f} {seconds / base_time:>11.2f}"
        )


if __name__ == "__main__":
    main()
