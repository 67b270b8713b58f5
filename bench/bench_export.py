"""What a figure export costs: kaleido on the system Chromium against a bare rasteriser.

A hidden-state heatmap over training (``viz.signed_over_training``, 30 snapshots of 32 units
x 100 time steps, the app's own figure) and a gradient-through-time line chart
(``viz.grad_norm_figure``, 30 snapshots). Prints:

- the first image of a process (Chromium starts) and then one PNG and one SVG with the
  browser kept open (``ui.figure_files``), against ``plotly.io.to_image``, which starts a
  browser for every image;
- the seconds per GIF frame with kaleido (the whole chart: axes, colour bar, slider) and
  with a bare numpy + Pillow rasteriser of the heatmap cells alone (no axes, no text),
  with their ratio: what drawing our own pictures would save, and lose;
- the size of the standalone HTML page and of each GIF.

Not a test: ``python3 bench/bench_export.py`` (needs Chromium; about a minute).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import plotly.io as pio
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from rnn_core import viz  # noqa: E402
from rnn_core.viz.look import DIVERGING  # noqa: E402
from ui import figure_files  # noqa: E402

SNAPSHOTS, UNITS, STEPS = 30, 32, 100


def states(rng) -> list[np.ndarray]:
    # activations that sharpen over training, as a trained tanh state does
    return [np.tanh(rng.normal(size=(UNITS, STEPS)) * (0.2 + i / 10)) for i in range(SNAPSHOTS)]


def timed(fn, rounds: int = 1):
    times, value = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return value, statistics.median(times)


def colour_table(scale, levels: int = 256) -> np.ndarray:
    """(levels, 3) uint8 RGB of a plotly colour scale, interpolated linearly."""
    stops = np.array([s for s, _ in scale], dtype=float)
    rgb = np.array(
        [[int(c) for c in col[col.index("(") + 1 : -1].split(",")[:3]] for _, col in scale],
        dtype=float,
    )
    at = np.linspace(0, 1, levels)
    return np.stack([np.interp(at, stops, rgb[:, k]) for k in range(3)], axis=1).astype(np.uint8)


def bare_gif(frames, width: int, height: int) -> bytes:
    """The cells of every frame, colour-mapped and scaled to the plot's size: no axes."""
    palette = colour_table(DIVERGING).reshape(-1).tolist()
    pictures = []
    for z in frames:
        codes = np.clip(((z + 1) / 2 * 255).round(), 0, 255).astype(np.uint8)[::-1]
        cells = Image.fromarray(codes, mode="P")  # the codes index the colour scale
        cells.putpalette(palette)
        pictures.append(cells.resize((width, height), Image.Resampling.NEAREST))
    return figure_files.encode_gif(pictures)


def main() -> None:
    if figure_files.chromium_path() is None:
        sys.exit("no Chromium here: install Debian's chromium (bash .ci/run does)")
    rng = np.random.default_rng(7)
    frames = states(rng)
    labels = [25 * i for i in range(SNAPSHOTS)]
    heatmap = viz.signed_over_training(
        frames, labels, bound=1.0, colorbar_title="h", title="Hidden state over training"
    )
    norms = [np.exp(-np.arange(STEPS) / (1 + 3 * i)) for i in range(SNAPSHOTS)]
    lines = viz.grad_norm_figure(norms, labels)
    width, height = figure_files.image_size(heatmap)

    html, html_s = timed(lambda: figure_files.html_bytes(heatmap))
    _, first_s = timed(lambda: figure_files.image_bytes(heatmap, "png"))
    _, png_s = timed(lambda: figure_files.image_bytes(heatmap, "png"), rounds=5)
    _, svg_s = timed(lambda: figure_files.image_bytes(heatmap, "svg"), rounds=5)
    still = heatmap.to_plotly_json()
    still.pop("frames")
    _, oneshot_s = timed(
        lambda: pio.to_image(still, format="png", width=width, height=height, scale=2), rounds=2
    )
    print(f"HTML page: {len(html) / 2**20:.1f} MB in {html_s:.2f} s")
    print(f"first PNG of a process (Chromium starts): {first_s:.2f} s")
    print(f"PNG {width}x{height} at scale {figure_files.PNG_SCALE}, browser kept: {png_s:.3f} s")
    print(f"SVG, browser kept: {svg_s:.3f} s")
    print(f"PNG through plotly.io.to_image (a browser per image): {oneshot_s:.2f} s")
    print(f"  ratio one-shot / kept browser: {oneshot_s / png_s:.1f}x")

    stills = list(figure_files.still_figures(heatmap))
    pngs, render_s = timed(
        lambda: [figure_files.render_dict(f, "png", width, height, 1) for f in stills[:10]]
    )
    _, encode_s = timed(
        lambda: figure_files.encode_gif([Image.open(io.BytesIO(p)).convert("RGB") for p in pngs])
    )
    print(
        f"  of a kaleido GIF frame: drawing {render_s / 10:.3f} s, "
        f"decoding and GIF encoding {encode_s / 10:.3f} s"
    )
    for name, fig in (("heatmap", heatmap), ("gradient lines", lines)):
        gif, gif_s = timed(lambda fig=fig: figure_files.gif_bytes(fig))
        print(
            f"GIF of the {name}, {SNAPSHOTS} frames (kaleido): {gif_s:.1f} s, "
            f"{gif_s / SNAPSHOTS:.3f} s a frame, {len(gif) / 2**20:.2f} MB"
        )
        if name == "heatmap":
            kaleido_frame_s = gif_s / SNAPSHOTS

    bare, bare_s = timed(lambda: bare_gif(frames, width, height), rounds=3)
    print(
        f"GIF of the heatmap's cells alone, {SNAPSHOTS} frames (numpy + Pillow): {bare_s:.2f} s, "
        f"{bare_s / SNAPSHOTS * 1000:.1f} ms a frame, {len(bare) / 2**20:.2f} MB"
    )
    ratio = kaleido_frame_s * SNAPSHOTS / bare_s
    print(f"  ratio kaleido / bare rasteriser per frame: {ratio:.0f}x")
    check = Image.open(io.BytesIO(bare))
    assert check.n_frames == SNAPSHOTS, check.n_frames
    figure_files.close_browser()


if __name__ == "__main__":
    main()
