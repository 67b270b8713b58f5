"""The look every figure shares: colours, colour ramps and the template-free styling.

Colours are colour-blind safe: ``DIVERGING`` (blue negative, red positive, always
centred on zero) for activations, ``SEQUENTIAL`` (Viridis) for magnitudes and
probabilities, ``PALETTE`` (Okabe-Ito) for lines, ``INK`` (white to black) for pixel
inputs. ``diverging_rgb`` puts values on the diverging ramp as RGB, for what is not a
plotly figure (the HTML text of ``activation_text``). ``style_figure`` gives a figure the
"plotly_white" look with fonts readable on a projector; ``log_floor`` and ``log_range``
place zeros and underflows on a log axis.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

# ColorBrewer RdBu (11 classes) reversed: negative blue, zero white, positive red.
# The same stops as plotly's "RdBu_r"; ``DIVERGING`` and ``diverging_rgb`` use this tuple.
DIVERGING_RGB: tuple[tuple[int, int, int], ...] = (
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
)
DIVERGING = [
    [i / (len(DIVERGING_RGB) - 1), f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(DIVERGING_RGB)
]
SEQUENTIAL = "Viridis"
INK = [[0.0, "#ffffff"], [1.0, "#000000"]]  # grey levels, high values dark (pixel inputs)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

FONT_SIZE = 16  # readable from the back of a room on a projector
GRID = "#ebf0f8"  # plotly_white's grid colour


def diverging_rgb(values: np.ndarray, vmin: float = -1.0, vmax: float = 1.0) -> np.ndarray:
    """(N, 3) uint8 colours of values on the diverging ramp, linear over [vmin, vmax]."""
    ramp = np.array(DIVERGING_RGB, dtype=np.float64)
    pos = (np.asarray(values, dtype=np.float64) - vmin) / max(vmax - vmin, 1e-12)
    pos = np.clip(np.nan_to_num(pos, nan=0.5), 0.0, 1.0) * (len(ramp) - 1)
    lo = np.minimum(pos.astype(np.int64), len(ramp) - 2)
    frac = (pos - lo)[..., None]
    return np.rint(ramp[lo] * (1 - frac) + ramp[lo + 1] * frac).astype(np.uint8)


def style_figure(
    fig: go.Figure,
    title: str,
    x_title: str | None = None,
    y_title: str | None = None,
    *,
    bottom: int = 70,
    top: int = 80,
    **layout,
) -> go.Figure:
    # The "plotly_white" look, set property by property: assigning a template object
    # costs 12-17 ms per figure (plotly validates and copies it), too much for charts
    # rebuilt twice a second while a model trains in another thread of this process.
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"size": FONT_SIZE, "color": "#2a3f5f"},
        hoverlabel={"font_size": FONT_SIZE - 2},
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 80, "r": 40, "t": top, "b": bottom},
        **layout,
    )
    fig.update_xaxes(
        gridcolor=GRID,
        zerolinecolor=GRID,
        linecolor=GRID,
        automargin=True,
        **({} if x_title is None else {"title_text": x_title}),
    )
    fig.update_yaxes(
        gridcolor=GRID,
        zerolinecolor=GRID,
        linecolor=GRID,
        automargin=True,
        **({} if y_title is None else {"title_text": y_title}),
    )
    return fig


def log_floor(*arrays) -> float:
    """Where zeros and underflows are drawn on a log axis: min positive / 10, or 1e-45."""
    positive = [a[np.isfinite(a) & (a > 0)] for a in arrays]
    positive = np.concatenate(positive) if positive else np.array([])
    return float(positive.min()) / 10 if positive.size else 1e-45


def log_range(floor: float, *arrays) -> list[float]:
    finite = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] or [np.array([])])
    top = float(finite.max()) if finite.size else 10.0
    return [math.log10(floor) - 0.2, math.log10(max(top, floor * 10)) + 0.2]
