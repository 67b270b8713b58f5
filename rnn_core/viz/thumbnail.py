"""Loss thumbnails: a few runs' loss curves and their baseline as one small inline SVG.

The Welcome page shows one beside each one-click demo. A plotly chart each would be some
fifteen charts (and their JavaScript) on the first page a visitor opens; an SVG of a few
hundred bytes draws at once and scales with its column. Arrays in, an SVG string out,
like the figure builders.

The y axis is linear from 0 (a loss is never negative), as the Playground's loss chart
by default. Its top is the highest curve or the baseline, whichever is higher, but at
most ``TOP_OVER_BASELINE`` times the baseline: the first steps' loss can be many times
the baseline (copy memory starts at ln 10 against 0.17), and drawn to scale they would
flatten everything after them against the floor. Points above the top are drawn on it.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np

from rnn_core.viz.look import PALETTE

WIDTH, HEIGHT = 240, 96  # the viewBox; the page scales it to its column
PAD = 4  # keeps the curves' stroke inside the box
TOP_OVER_BASELINE = 3.0
MAX_POINTS = 120  # about two per pixel of a thumbnail at its usual width
BASELINE_COLOUR = "#555555"  # as the loss charts' baseline (viz.training.BASELINE_STYLE)
DIVERGED_COLOUR = "#D55E00"


def binned_curve(steps, loss, max_points: int = MAX_POINTS):
    """(x, y, first non-finite step or None) of one curve: its finite points up to the
    first non-finite loss (training stops there), averaged in at most ``max_points``
    consecutive bins. The mean of a bin is also what smooths the per-batch noise."""
    steps = np.asarray(steps, dtype=np.float64).reshape(-1)
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    bad = ~np.isfinite(loss)
    diverged_at = None
    if bad.any():
        first = int(np.argmax(bad))
        diverged_at = int(steps[first])
        steps, loss = steps[:first], loss[:first]
    if steps.size > max_points:
        bins = np.array_split(np.arange(steps.size), max_points)
        steps = np.array([steps[b].mean() for b in bins])
        loss = np.array([loss[b].mean() for b in bins])
    return steps, loss, diverged_at


def loss_thumbnail_svg(curves, baseline: float | None, title: str) -> str:
    """An SVG of ``curves`` (a list of (label, steps, loss), drawn in PALETTE's order)
    against ``baseline`` (a dashed line; None or not finite: none). ``title`` is the
    picture's accessible name. Each curve is one ``<path>`` with its label in
    ``data-label``; a run that diverged ends in a cross at its last finite point."""
    drawn = [(label, *binned_curve(steps, loss)) for label, steps, loss in curves]
    xs = [x for _, x, _, _ in drawn if x.size]
    ys = [y for _, _, y, _ in drawn if y.size]
    has_baseline = baseline is not None and math.isfinite(baseline) and baseline > 0
    x_min = min((x[0] for x in xs), default=0.0)
    x_max = max((x[-1] for x in xs), default=1.0)
    top = max((float(y.max()) for y in ys), default=1.0)
    if has_baseline:
        top = min(max(top, baseline), TOP_OVER_BASELINE * baseline)
    top = top if top > 0 else 1.0
    y_floor = min(0.0, min((float(y.min()) for y in ys), default=0.0))

    def px(x):
        span = x_max - x_min
        where = (np.asarray(x, dtype=np.float64) - x_min) / span if span > 0 else 0.0 * x
        return PAD + (WIDTH - 2 * PAD) * where

    def py(y):
        y = np.minimum(y, top)
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (y - y_floor) / (top - y_floor)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{HEIGHT - 1}" rx="4" fill="#ffffff" '
        f'stroke="#d0d4dc"/>',
    ]
    if has_baseline:
        y = py(baseline)
        parts.append(
            f'<line class="baseline" x1="{PAD}" x2="{WIDTH - PAD}" y1="{y:.2f}" y2="{y:.2f}" '
            f'stroke="{BASELINE_COLOUR}" stroke-width="2" stroke-dasharray="6 4" '
            f'vector-effect="non-scaling-stroke"/>'
        )
    for i, (label, x, y, diverged_at) in enumerate(drawn):
        colour = PALETTE[i % len(PALETTE)]
        if x.size:
            points = " L".join(f"{a:.2f},{b:.2f}" for a, b in zip(px(x), py(y), strict=True))
            parts.append(
                f'<path class="curve" data-label="{escape(label)}" d="M{points}" fill="none" '
                f'stroke="{colour}" stroke-width="2.5" stroke-linejoin="round" '
                f'vector-effect="non-scaling-stroke"/>'
            )
        if diverged_at is not None:
            cx = px(x[-1]) if x.size else px(x_min)
            cy = py(y[-1]) if y.size else PAD + 8
            parts.append(
                f'<path class="diverged" data-label="{escape(label)}" '
                f'd="M{cx - 6:.2f},{cy - 6:.2f} L{cx + 6:.2f},{cy + 6:.2f} '
                f'M{cx - 6:.2f},{cy + 6:.2f} L{cx + 6:.2f},{cy - 6:.2f}" '
                f'stroke="{DIVERGED_COLOUR}" stroke-width="3" '
                f'vector-effect="non-scaling-stroke"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
