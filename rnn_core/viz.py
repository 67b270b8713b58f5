"""Figure builders: numpy arrays in, ``plotly.graph_objects.Figure`` out.

No streamlit and no torch here: the pages pass arrays from ``Probe`` snapshots and
the training history, and render what comes back. Everything sent to the browser
is a numpy array, because plotly serializes those as base64 typed arrays (about
1.5 bytes a cell for int8, 7 for float32) where Python lists cost about 20.
Animations use plotly frames, so Play and the slider run in the browser with no
server rerun.

Colours are colour-blind safe: ``DIVERGING`` (blue negative, red positive, always
centred on zero) for activations, ``SEQUENTIAL`` (Viridis) for magnitudes and
probabilities, ``PALETTE`` (Okabe-Ito) for lines, ``INK`` (white to black) for
pixel inputs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.text_units import DIVERGING_RGB

DIVERGING = [
    [i / (len(DIVERGING_RGB) - 1), f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(DIVERGING_RGB)
]
SEQUENTIAL = "Viridis"
INK = [[0.0, "#ffffff"], [1.0, "#000000"]]  # grey levels, high values dark (pixel inputs)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

FONT_SIZE = 16  # readable from the back of a room on a projector
# Serialized bytes we allow one animated figure; the GUIDE's 50x64x200 case fits.
PAYLOAD_BUDGET = 1_400_000
# Serialized bytes per cell, measured with plotly 7's to_json: base64 is 4/3 of the raw
# bytes, and plotly escapes every "/" as "\u002f" (6 characters), which float32 data
# near +-1 hits often (its exponent bytes) and int8 codes rarely.
_INT8_BYTES, _FLOAT32_BYTES = 1.6, 7.0
GRAD_LABEL = "‖∂L/∂h_t‖"
_GRID = "#ebf0f8"  # plotly_white's grid colour


# ---------------------------------------------------------------------- shared helpers
def _style(
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
        gridcolor=_GRID,
        zerolinecolor=_GRID,
        linecolor=_GRID,
        automargin=True,
        **({} if x_title is None else {"title_text": x_title}),
    )
    fig.update_yaxes(
        gridcolor=_GRID,
        zerolinecolor=_GRID,
        linecolor=_GRID,
        automargin=True,
        **({} if y_title is None else {"title_text": y_title}),
    )
    return fig


def _thin(n: int, max_points: int) -> np.ndarray:
    """At most max_points indices of range(n), evenly spread, first and last kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(max_points, 2)).round().astype(np.int64))


def _nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x > 0."""
    power = 10.0 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= x * (1 - 1e-12):
            return m * power
    return 10 * power


def _centred(zmin: float, zmax: float, zmid: float | None) -> tuple[float, float]:
    # plotly ignores zmid once zmin/zmax are set, so centre the range itself
    if zmid is None:
        return zmin, zmax
    half = max(zmid - zmin, zmax - zmid)
    return zmid - half, zmid + half


def quantize_codes(values, zmin: float, zmax: float) -> tuple[np.ndarray, float, float]:
    """Integer codes of values clipped to [zmin, zmax]: value ~ offset + code * quantum.

    The quantum is a round number (1, 2, 2.5 or 5 x 10^k) so hover text reads simply.
    Codes are uint8 in 0..254, never 255, and zero is 0 or 128: plotly's JSON writes
    each "/" of the base64 payload as six characters, and runs of bytes whose low six
    bits are all ones (0xFF: int8 -1, every slightly negative activation; 0x7F) encode
    to "/"-rich text, which made real heatmaps 50% larger than random ones. Mixed-sign
    ranges put zero at code 128 exactly (offset -128 quanta), so a diverging scale stays
    centred; non-negative ranges start at zero; ranges away from zero start at zmin.
    Error <= quantum / 2 inside the range; NaN (which integers cannot hold) becomes the
    range's middle.
    """
    if not zmax > zmin:
        raise ValueError(f"need zmax > zmin, got [{zmin}, {zmax}]")
    v = np.clip(
        np.nan_to_num(np.asarray(values, dtype=np.float64), nan=(zmin + zmax) / 2), zmin, zmax
    )
    if zmin >= 0 and _nice(zmax / 254) <= 2 * _nice((zmax - zmin) / 254):
        q = _nice(zmax / 254)
        offset = 0.0
    elif zmin < 0 < zmax or zmax <= 0 and _nice(-zmin / 126) <= 2 * _nice((zmax - zmin) / 252):
        q = _nice(max(-zmin, zmax) / 126)
        offset = -128 * q
    else:
        q, offset = _nice((zmax - zmin) / 254), zmin
    codes = np.clip(np.rint((v - offset) / q), 0, 254).astype(np.uint8)
    return codes, q, offset


def _colorbar_ticks(zmin: float, zmax: float, q: float, offset: float):
    """Code positions and real-value labels for a colour bar over [zmin, zmax]."""
    step = _nice((zmax - zmin) / 6)
    values = np.arange(math.ceil(zmin / step - 1e-9), math.floor(zmax / step + 1e-9) + 1) * step
    return (values - offset) / q, [f"{v:.4g}" for v in values]


def _animate(
    fig: go.Figure,
    names: list[str],
    labels: list[str],
    *,
    prefix: str,
    duration: int,
    redraw: bool = True,
) -> None:
    """Slider plus Play/Pause over fig.frames, starting on the last frame."""

    def go_to(name, ms):
        return [
            [name],
            {
                "mode": "immediate",
                "frame": {"duration": ms, "redraw": redraw},
                "transition": {"duration": 0},
            },
        ]

    # Buttons stacked at the left, the slider after them with its "training step N"
    # read-out on the right, so neither covers the other in a narrow column.
    fig.update_layout(
        sliders=[
            {
                "active": len(names) - 1,
                "x": 0.13,
                "len": 0.87,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 60},
                "currentvalue": {"prefix": prefix, "xanchor": "right", "font": {"size": FONT_SIZE}},
                "steps": [
                    {"label": lab, "method": "animate", "args": go_to(name, 0)}
                    for name, lab in zip(names, labels, strict=True)
                ],
            }
        ],
        updatemenus=[
            {
                "type": "buttons",
                "direction": "down",
                "showactive": False,
                "font": {"size": FONT_SIZE - 2},
                "x": 0,
                "y": 0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 60},
                "buttons": [
                    {
                        "label": "▶ Play",
                        "method": "animate",
                        "args": [
                            None,
                            {
                                "frame": {"duration": duration, "redraw": redraw},
                                "fromcurrent": True,
                                "transition": {"duration": 0},
                            },
                        ],
                    },
                    {"label": "❚❚ Pause", "method": "animate", "args": go_to(None, 0)},
                ],
            }
        ],
    )


def _frame_names(prefix: str, labels) -> list[str]:
    # plotly needs unique frame names; repeated labels get their index appended
    names, seen = [], set()
    for i, label in enumerate(labels):
        name = f"{prefix} {label}"
        if name in seen:
            name = f"{name} #{i}"
        seen.add(name)
        names.append(name)
    return names


def _log_floor(*arrays) -> float:
    """Where zeros and underflows are drawn on a log axis: min positive / 10, or 1e-45."""
    positive = [a[np.isfinite(a) & (a > 0)] for a in arrays]
    positive = np.concatenate(positive) if positive else np.array([])
    return float(positive.min()) / 10 if positive.size else 1e-45


def _log_range(floor: float, *arrays) -> list[float]:
    finite = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in arrays] or [np.array([])])
    top = float(finite.max()) if finite.size else 10.0
    return [math.log10(floor) - 0.2, math.log10(max(top, floor * 10)) + 0.2]


# ----------------------------------------------------------------------- loss curves
def _curve(steps, loss, smooth: float, log_y: bool, max_points: int, x_dtype=np.int64):
    """(x, y, first non-finite step or None) of one loss curve, ready to draw. ``x_dtype``
    float64 draws against seconds instead of steps."""
    steps = np.asarray(steps, dtype=x_dtype).reshape(-1)
    loss = np.asarray(loss, dtype=np.float64).reshape(-1)
    finite = np.isfinite(loss)
    diverged_at = steps[~finite][0].item() if (~finite).any() else None
    x, y = steps[finite], loss[finite]
    if smooth > 0 and y.size:
        # adjust=True is the debiased EMA, so early values are not pulled towards 0
        y = pd.Series(y).ewm(alpha=1.0 - smooth, adjust=True).mean().to_numpy()
    if log_y:
        x, y = x[y > 0], y[y > 0]
    keep = _thin(x.size, max_points)
    return x[keep], y[keep], diverged_at


def loss_figure(
    steps,
    loss,
    baseline,
    *,
    clipped_steps=None,
    log_y=False,
    smooth=0.0,
    test_steps=None,
    test_loss=None,
    test_baseline=None,
    max_points=2000,
    title="Training loss",
    others=None,
    label=None,
    y_title="loss",
) -> go.Figure:
    """Training loss over steps, with the trivial baseline, clipping events and divergence.

    ``test_steps``/``test_loss`` draw the held-out loss; ``test_baseline`` is the trivial
    baseline of the held-out split, drawn beside it in the held-out curve's colour (the
    splits' baselines differ: each curve is read against its own).

    Trace 0 is always "training loss". ``clipped_steps``: either a boolean mask aligned
    with ``steps`` (the history's "clipped" column) or the step numbers themselves.
    ``smooth`` in [0, 1) is the weight of a debiased exponential moving average.
    Non-finite losses are dropped and the first one is marked "diverged".
    ``others``: label -> (steps, loss) of runs trained alongside, drawn thinner after
    the main traces with the same smoothing and thinning. ``label`` names trace 0 (the
    run's name when others are drawn beside it); ``y_title`` reuses the figure for other
    per-step series (the gradient norm).
    """
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {smooth}")
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    x, y, diverged_at = _curve(steps, loss, smooth, log_y, max_points)

    fig = go.Figure()
    trace_name = label or "training loss"
    name = trace_name + (f" (smoothed {smooth:g})" if smooth > 0 else "")
    fig.add_trace(
        go.Scatter(
            x=x,
            y=y,
            mode="lines",
            name=trace_name,
            line={"color": PALETTE[0], "width": 2},
            hovertemplate=f"step %{{x}}<br>{name} %{{y:.4g}}<extra></extra>",
        )
    )

    xs = [x]
    drew_test = test_steps is not None and test_loss is not None
    if drew_test:
        tx = np.asarray(test_steps, dtype=np.int64).reshape(-1)
        ty = np.asarray(test_loss, dtype=np.float64).reshape(-1)
        ok = np.isfinite(ty) & ((ty > 0) if log_y else True)
        tx, ty = tx[ok], ty[ok]
        keep = _thin(tx.size, max_points)
        tx, ty = tx[keep], ty[keep]
        xs.append(tx)
        fig.add_trace(
            go.Scatter(
                x=tx,
                y=ty,
                mode="lines+markers",
                name="held-out loss",
                line={"color": PALETTE[1], "width": 2},
                marker={"size": 6},
                hovertemplate="step %{x}<br>held-out loss %{y:.4g}<extra></extra>",
            )
        )

    if clipped_steps is not None:
        clipped = np.asarray(clipped_steps).reshape(-1)
        if clipped.dtype == bool:
            if clipped.shape != steps.shape:
                raise ValueError("a boolean clipped_steps must align with steps")
            clipped = steps[clipped]
        clipped = clipped.astype(np.int64)
        # only events within the drawn curve, placed on it by linear interpolation
        clipped = clipped[(clipped >= x[0]) & (clipped <= x[-1])] if x.size else clipped[:0]
        clipped = clipped[_thin(clipped.size, max_points)]
        fig.add_trace(
            go.Scatter(
                x=clipped,
                y=np.interp(clipped, x, y) if x.size else np.zeros(0),
                mode="markers",
                name="clipped",
                marker={
                    "symbol": "x-thin-open",
                    "size": 9,
                    "color": PALETTE[1],
                    "line": {"width": 2, "color": PALETTE[1]},
                },
                hovertemplate="step %{x}: gradient clipped<extra></extra>",
            )
        )

    for i, (label, (other_steps, other_loss)) in enumerate((others or {}).items()):
        ox, oy, _ = _curve(other_steps, other_loss, smooth, log_y, max_points)
        xs.append(ox)
        fig.add_trace(
            go.Scatter(
                x=ox,
                y=oy,
                mode="lines",
                name=str(label),
                line={"color": PALETTE[2 + i % (len(PALETTE) - 2)], "width": 1.5},
                hovertemplate=f"step %{{x}}<br>{label} %{{y:.4g}}<extra></extra>",
            )
        )

    span = np.concatenate(xs)
    lo, hi = (int(span.min()), int(span.max())) if span.size else (0, 1)
    if baseline is not None and math.isfinite(baseline) and (baseline > 0 or not log_y):
        label = f"trivial baseline ({baseline:.3g})"
        fig.add_trace(
            go.Scatter(
                x=np.array([lo, hi]),
                y=np.array([baseline, baseline]),
                mode="lines",
                name=label,
                line={"color": "#555555", "dash": "dash", "width": 2},
                hovertemplate=f"{label}: the loss of ignoring the input<extra></extra>",
            )
        )

    if (
        drew_test
        and test_baseline is not None
        and math.isfinite(test_baseline)
        and (test_baseline > 0 or not log_y)
    ):
        label = f"held-out baseline ({test_baseline:.3g})"
        fig.add_trace(
            go.Scatter(
                x=np.array([lo, hi]),
                y=np.array([test_baseline, test_baseline]),
                mode="lines",
                name=label,
                line={"color": PALETTE[1], "dash": "dash", "width": 2},
                hovertemplate=f"{label}: the loss of ignoring the input, on the held-out "
                f"split<extra></extra>",
            )
        )

    if diverged_at is not None:
        fig.add_vline(
            x=diverged_at,
            line={"color": PALETTE[1], "dash": "dot", "width": 2},
            annotation_text="diverged",
            annotation_position="top left",
        )
    _style(fig, title, "training step", f"{y_title} (log scale)" if log_y else y_title)
    if log_y:
        fig.update_yaxes(type="log")
    else:
        fig.update_yaxes(rangemode="tozero")  # losses are never negative; nor is an empty axis
    return fig


# ------------------------------------------------------------------ one probe sequence
def _symbol_labels(alphabet, n: int) -> list[str]:
    """Visible, unique labels for symbols (newline, space and tab get glyphs)."""
    glyphs = {"\n": "↵", " ": "␣", "\t": "⇥"}
    raw = list(alphabet) if alphabet is not None else [str(i) for i in range(n)]
    labels = [glyphs.get(s, s if s.isprintable() else repr(s)) for s in raw[:n]]
    labels += [str(i) for i in range(len(labels), n)]
    return [lab if labels.count(lab) == 1 else f"{lab} ({i})" for i, lab in enumerate(labels)]


def _scored_index(scored_steps, T: int) -> np.ndarray:
    if isinstance(scored_steps, slice):
        return np.arange(T)[scored_steps]
    return np.asarray(scored_steps, dtype=np.int64).reshape(-1)


def sequence_figure(
    inputs,
    targets,
    outputs,
    *,
    kind: str,
    scored_steps,
    alphabet=None,
    title: str = "One probe sequence",
) -> go.Figure:
    """Inputs, targets and the net's outputs for one sequence.

    inputs (T, I), outputs (T, O). Regression: targets (T, 1), or (1,) for a single
    scored step (adding); classification: targets (T,) symbol indices, or one label
    (shape (1,) or ()) for a single scored step (digits), and outputs logits.
    ``scored_steps``: the task's slice (``task.scored_steps(seq_len)``) or indices.
    One-hot inputs are shown as their symbols; other inputs (pixels) as a grey heatmap,
    one column per step, channel 0 at the top.
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    outputs = np.asarray(outputs, dtype=np.float32)
    T = inputs.shape[0]
    t = np.arange(T)
    scored = _scored_index(scored_steps, T)
    if kind == "regression":
        return _regression_sequence(
            inputs, np.asarray(targets, dtype=np.float32), outputs, t, scored, title
        )
    if kind == "classification":
        return _classification_sequence(
            inputs, np.asarray(targets).reshape(-1), outputs, t, scored, alphabet, title
        )
    raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")


def _regression_sequence(inputs, targets, outputs, t, scored, title) -> go.Figure:
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("input", "target and prediction"),
    )
    channels = inputs.shape[1]
    for c in range(channels):
        name = "input" if channels == 1 else f"input channel {c}"
        fig.add_trace(
            go.Scatter(
                x=t,
                y=inputs[:, c],
                mode="lines",
                name=name,
                line={"color": PALETTE[(c + 2) % len(PALETTE)]},
            ),
            row=1,
            col=1,
        )
    target = targets.reshape(-1)
    # (T, 1) targets cover every step; fewer values belong to the scored steps only
    target = target[scored] if target.size == t.size else target[: scored.size]
    prediction = outputs[:, 0]
    mode = "lines+markers" if scored.size <= 50 else "lines"
    if scored.size < t.size:
        fig.add_trace(
            go.Scatter(
                x=t,
                y=prediction,
                mode="lines",
                name="output (not scored)",
                line={"color": PALETTE[0], "dash": "dot", "width": 1},
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=target,
            mode=mode,
            name="target",
            line={"color": "#000000"},
            marker={"size": 10},
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=prediction[scored],
            mode=mode,
            name="prediction",
            line={"color": PALETTE[1]},
            marker={"size": 10, "symbol": "diamond"},
        ),
        row=2,
        col=1,
    )
    _style(fig, title, height=560)
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    fig.update_yaxes(title_text="input", row=1, col=1)
    fig.update_yaxes(title_text="value", row=2, col=1)
    return fig


def _is_one_hot(inputs: np.ndarray) -> bool:
    """Every step is exactly one symbol: values 0 or 1, one 1 a step, several channels."""
    return (
        inputs.ndim == 2
        and inputs.shape[1] > 1
        and bool(np.isin(inputs, (0, 1)).all())
        and bool((inputs.sum(axis=1) == 1).all())
    )


def _classification_sequence(inputs, targets, outputs, t, scored, alphabet, title):
    n_symbols = outputs.shape[1]
    n_inputs = inputs.shape[1]
    symbols = _is_one_hot(inputs)
    labels = _symbol_labels(alphabet, max(n_symbols, n_inputs if symbols else 0))
    logits = outputs.astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # whole percent in uint8: 1 byte a cell and an exact hover value
    percent = np.rint(100 * p.T).astype(np.uint8)  # (O, T)
    # pixel inputs get a taller top row: 0.09 of the plot for one channel, 0.3 for eight
    top_share = 0.1 if symbols else min(0.35, 0.06 + 0.03 * n_inputs)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[top_share, 1 - top_share],
        vertical_spacing=0.04,
    )
    if symbols:
        shown = [labels[i] for i in inputs.argmax(axis=1)]
        fig.add_trace(
            go.Scatter(
                x=t,
                y=["input"] * t.size,
                mode="text",
                text=shown,
                name="input",
                showlegend=False,
                textfont={"size": FONT_SIZE},
                hovertemplate="t = %{x}<br>input %{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    else:
        _input_heatmap(fig, inputs, t)
    fig.add_trace(
        go.Heatmap(
            x=t,
            y=labels[:n_symbols],
            z=percent,
            zmin=0,
            zmax=100,
            colorscale=SEQUENTIAL,
            name="P(symbol)",
            colorbar={"title": {"text": "P (%)"}, "len": 0.85, "y": 0.42},
            hovertemplate="t = %{x}<br>symbol %{y}<br>P = %{z}%<extra></extra>",
        ),
        row=2,
        col=1,
    )
    target = targets[scored] if targets.size == t.size else targets[: scored.size]
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=[labels[int(i)] for i in target],
            mode="markers",
            name="target",
            marker={"symbol": "circle-open", "size": 14, "color": PALETTE[1], "line": {"width": 3}},
            hovertemplate="t = %{x}<br>target %{y}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    extra = 0 if symbols else 12 * n_inputs
    # showlegend: plotly hides a legend of one entry when the other traces are heatmaps
    _style(
        fig,
        title,
        height=int(np.clip(200 + 16 * n_symbols, 420, 900)) + extra,
        showlegend=True,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        top=110,
    )
    fig.update_yaxes(showgrid=False, row=1, col=1)
    fig.update_yaxes(
        title_text="output symbol",
        categoryorder="array",
        categoryarray=labels[:n_symbols],
        row=2,
        col=1,
    )
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    return fig


def _input_heatmap(fig: go.Figure, inputs: np.ndarray, t: np.ndarray) -> None:
    """Real-valued inputs (T, I) as grey cells, dark = high (ink), channel 0 on top."""
    lo, hi = float(inputs.min()), float(inputs.max())
    if not hi > lo:
        hi = lo + 1.0
    n_inputs = inputs.shape[1]
    channels = ["input"] if n_inputs == 1 else [f"input {c}" for c in range(n_inputs)]
    fig.add_trace(
        go.Heatmap(
            x=t,
            y=channels,
            z=inputs.T,
            zmin=lo,
            zmax=hi,
            colorscale=INK,
            showscale=False,
            name="input",
            hovertemplate="t = %{x}<br>%{y}<br>value %{z:.3g}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(
        categoryorder="array", categoryarray=channels, autorange="reversed", row=1, col=1
    )


# --------------------------------------------------------------- animated over training
def animated_heatmap(
    frames,
    frame_labels,
    *,
    zmin: float,
    zmax: float,
    colorscale,
    zmid: float | None = None,
    title: str,
    x_title: str = "time step t",
    y_title: str = "hidden unit",
    colorbar_title: str = "",
    quantize: bool = True,
    key_prefix: str = "step",
) -> go.Figure:
    """One heatmap per training snapshot (rows = units, cols = time), played in the browser.

    With ``quantize`` the cells are integer codes (``quantize_codes``; the quantum and
    offset are in ``fig.layout.meta``) and the colour bar is labelled in real values.
    Columns are thinned to every k-th time step when the frames would not fit
    ``PAYLOAD_BUDGET``; the title says so. The base data shows the last frame.
    """
    arrays = [np.asarray(f) for f in frames]
    labels = [str(lab) for lab in frame_labels]
    if not arrays:
        raise ValueError("animated_heatmap needs at least one frame")
    if len(labels) != len(arrays):
        raise ValueError(f"{len(arrays)} frames but {len(labels)} labels")
    rows, cols = arrays[0].shape
    if not (math.isfinite(zmin) and math.isfinite(zmax) and zmax > zmin):
        # e.g. a diverged ReLU run's max |h|: fall back to the finite data range
        finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        zmin, zmax = (lo, hi) if hi > lo else (lo - 1.0, lo + 1.0)
    zmin, zmax = _centred(float(zmin), float(zmax), zmid)
    per_cell = _INT8_BYTES if quantize else _FLOAT32_BYTES
    k = max(1, math.ceil(len(arrays) * rows * cols * per_cell / PAYLOAD_BUDGET))
    x = np.arange(0, cols, k)
    if k > 1:
        title = f"{title} (1 in {k} time steps shown)"
    if quantize:
        zs = [quantize_codes(a[:, ::k], zmin, zmax)[0] for a in arrays]
        _, q, offset = quantize_codes(np.zeros(0), zmin, zmax)  # one range: one quantum for all
        cmin, cmax = (zmin - offset) / q, (zmax - offset) / q
        tickvals, ticktext = _colorbar_ticks(zmin, zmax, q, offset)
        colorbar = {"title": {"text": colorbar_title}, "tickvals": tickvals, "ticktext": ticktext}
        value = f"%{{z}} × {q:g}" if offset == 0 else f"{offset:.4g} + %{{z}} × {q:g}"
        meta = {"quantum": q, "offset": offset, "column_stride": k}
    else:
        zs = [a[:, ::k].astype(np.float32) for a in arrays]
        cmin, cmax, colorbar, value = zmin, zmax, {"title": {"text": colorbar_title}}, "%{z:.3f}"
        meta = {"quantum": 0.0, "offset": 0.0, "column_stride": k}
    names = _frame_names(key_prefix, labels)
    hover = f"{y_title} %{{y}}<br>{x_title} = %{{x}}<br>value ≈ {value}<extra></extra>"
    fig = go.Figure(
        data=[
            go.Heatmap(
                z=zs[-1],
                x=x,
                y=np.arange(rows),
                zmin=cmin,
                zmax=cmax,
                colorscale=colorscale,
                colorbar=colorbar,
                hovertemplate=hover,
            )
        ],
        frames=[
            go.Frame(data=[go.Heatmap(z=z)], traces=[0], name=name)
            for z, name in zip(zs, names, strict=True)
        ],
    )
    _style(fig, title, x_title, y_title, bottom=150, meta=meta)
    _animate(fig, names, labels, prefix="training step ", duration=300)
    return fig


def time_step_bars(hidden, *, title: str = "Hidden state at each time step") -> go.Figure:
    """Bars of the H unit activations of one sequence, one frame per time step t.

    The y range is [-1, 1] when every value fits (tanh/sigmoid cells), the
    symmetric data range otherwise, and stays fixed while playing.
    """
    hidden = np.asarray(hidden, dtype=np.float32)
    T, H = hidden.shape
    finite = hidden[np.isfinite(hidden)]
    peak = float(np.abs(finite).max()) if finite.size else 1.0
    lim = 1.0 if peak <= 1.0 else peak * 1.05
    # y as float32 plus an int8 sign per bar for the colour
    k = max(1, math.ceil(T * H * (_FLOAT32_BYTES + _INT8_BYTES) / PAYLOAD_BUDGET))
    ts = np.unique(np.append(np.arange(0, T, k), T - 1)) if T else np.arange(0)
    if k > 1:
        title = f"{title} (1 in {k} time steps shown)"
    units = np.arange(H)
    colorscale = [[0, DIVERGING[1][1]], [0.5, "rgb(170,170,170)"], [1, DIVERGING[-2][1]]]

    def bars(t):
        return go.Bar(x=units, y=hidden[t], marker={"color": np.sign(hidden[t]).astype(np.int8)})

    names = _frame_names("t", [int(t) for t in ts])
    fig = go.Figure(
        data=[
            go.Bar(
                x=units,
                y=hidden[ts[-1]] if T else np.zeros(H, np.float32),
                marker={
                    "color": np.sign(hidden[ts[-1]]).astype(np.int8) if T else None,
                    "colorscale": colorscale,
                    "cmin": -1,
                    "cmax": 1,
                },
                hovertemplate="unit %{x}<br>h = %{y:.3f}<extra></extra>",
            )
        ],
        frames=[
            go.Frame(data=[bars(t)], traces=[0], name=n) for t, n in zip(ts, names, strict=True)
        ],
    )
    _style(fig, title, "hidden unit", "activation", bottom=150)
    fig.update_yaxes(range=[-lim, lim])
    if T:
        _animate(fig, names, [str(int(t)) for t in ts], prefix="t = ", duration=120)
    return fig


def grad_norm_figure(
    frames,
    frame_labels,
    *,
    title: str = f"Gradient through time {GRAD_LABEL}",
    label: str = GRAD_LABEL,
) -> go.Figure:
    """||dL/dh_t|| (or what ``label`` names) over t on a log axis, one frame per
    training snapshot.

    Zeros, underflows and non-finite values are drawn at a floor (the smallest
    positive value / 10, or 1e-45) as a separate marked trace, so the log axis holds.
    """
    arrays = [np.asarray(f, dtype=np.float64).reshape(-1) for f in frames]
    labels = [str(lab) for lab in frame_labels]
    if not arrays:
        raise ValueError("grad_norm_figure needs at least one frame")
    if len(labels) != len(arrays):
        raise ValueError(f"{len(arrays)} frames but {len(labels)} labels")
    floor = _log_floor(*arrays)
    floor_text = f"zero, underflow or non-finite: drawn at {floor:.1e}"

    def traces(a):
        bad = ~(np.isfinite(a) & (a > 0))
        t = np.arange(a.size)
        return [
            go.Scatter(x=t, y=np.where(bad, floor, a)),
            go.Scatter(x=t[bad], y=np.full(int(bad.sum()), floor)),
        ]

    names = _frame_names("step", labels)
    line, flagged = traces(arrays[-1])
    line.update(
        mode="lines+markers",
        name=label,
        line={"color": PALETTE[0], "width": 2},
        marker={"size": 4},
        hovertemplate=f"t = %{{x}}<br>{label} = %{{y:.3e}}<extra></extra>",
    )
    any_flagged = any((~(np.isfinite(a) & (a > 0))).any() for a in arrays)
    flagged.update(
        mode="markers",
        name=f"at floor ({floor:.0e})",
        showlegend=any_flagged,
        marker={"symbol": "triangle-down", "size": 9, "color": PALETTE[1]},
        hovertemplate=f"t = %{{x}}<br>{floor_text}<extra></extra>",
    )
    fig = go.Figure(
        data=[line, flagged],
        frames=[
            go.Frame(data=traces(a), traces=[0, 1], name=n)
            for a, n in zip(arrays, names, strict=True)
        ],
    )
    _style(fig, title, "time step t", label, bottom=150)
    length = max(a.size for a in arrays)
    fig.update_xaxes(range=[-0.5, max(length - 0.5, 0.5)])
    fig.update_yaxes(type="log", range=_log_range(floor, *arrays))
    _animate(fig, names, labels, prefix="training step ", duration=300)
    return fig


# --------------------------------------------------------------------- static figures
def grad_heatmap(
    steps, grad_norms, *, title: str = f"log10 {GRAD_LABEL} over training", label: str = GRAD_LABEL
) -> go.Figure:
    """log10 of grad_norms (S snapshots, T steps): training step × time step t.

    Zeros and underflows are drawn at the floor (smallest positive / 10, or 1e-45);
    NaN and inf stay empty cells.
    """
    norms = np.asarray(grad_norms, dtype=np.float64)
    if norms.ndim != 2:
        raise ValueError(f"grad_norms must be (S, T), got shape {norms.shape}")
    floor = _log_floor(norms)
    finite = np.isfinite(norms)
    z = np.where(finite, np.log10(np.where(finite & (norms > 0), norms, floor)), np.nan)
    if (finite & (norms <= 0)).any():
        title = f"{title} (zeros drawn at {floor:.0e})"
    fig = go.Figure(
        go.Heatmap(
            x=np.arange(norms.shape[1]),
            y=np.asarray(steps, dtype=np.int64).reshape(-1),
            z=z.astype(np.float32),
            colorscale=SEQUENTIAL,
            colorbar={"title": {"text": f"log10 {label}"}},
            hovertemplate="training step %{y}<br>t = %{x}<br>log10 norm = %{z:.2f}<extra></extra>",
        )
    )
    return _style(fig, title, "time step t", "training step")


def spectra_figure(
    steps,
    radius: dict,
    singular: dict,
    *,
    gamma: float | None = 1.0,
    title: str = "Recurrent weight spectra over training",
) -> go.Figure:
    """Spectral radius (solid) and largest singular value (dashed) per block, with 1/γ
    unless ``gamma`` is None.

    gamma bounds the activation's derivative (tanh 1, relu 1). Pascanu et al. (2013),
    for a plain RNN h_t = f(W h_(t-1) + ...): a largest singular value of W below 1/γ
    makes gradients vanish; above it they can explode. The bound says nothing about
    gated cells (LSTM, GRU), whose memory runs through gates, not through W alone: pass
    gamma=None for them.
    """
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    fig = go.Figure()
    for i, block in enumerate(dict.fromkeys([*radius, *singular])):
        colour = PALETTE[i % len(PALETTE)]
        for values, dash, kind in (
            (radius.get(block), "solid", "spectral radius"),
            (singular.get(block), "dash", "largest singular value"),
        ):
            if values is None:
                continue
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.shape != steps.shape:
                raise ValueError(f"{kind} of {block!r}: {values.shape}, expected {steps.shape}")
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=values,
                    mode="lines+markers",
                    name=f"{kind}: {block}",
                    legendgroup=block,
                    line={"color": colour, "dash": dash, "width": 2},
                    marker={"size": 5},
                    hovertemplate=f"step %{{x}}<br>{kind} ({block}) %{{y:.3f}}<extra></extra>",
                )
            )
    if gamma is not None:
        bound = 1.0 / gamma
        lo, hi = (int(steps.min()), int(steps.max())) if steps.size else (0, 1)
        fig.add_trace(
            go.Scatter(
                x=np.array([lo, hi]),
                y=np.array([bound, bound]),
                mode="lines",
                name=f"1/γ = {bound:g}",
                line={"color": "#000000", "dash": "dot", "width": 2},
                hovertemplate=f"1/γ = {bound:g}<extra></extra>",
            )
        )
        fig.add_annotation(
            x=1,
            xref="paper",
            xanchor="right",
            y=bound,
            yanchor="bottom",
            showarrow=False,
            text=f"1/γ = {bound:g}: above it gradients can explode (Pascanu et al. 2013)",
        )
    return _style(fig, title, "training step", "spectral radius ρ / largest singular value σ")


def overlay_grad_norms(
    runs: dict, *, title: str = f"{GRAD_LABEL} by run", label: str = GRAD_LABEL
) -> go.Figure:
    """One ||dL/dh_t|| (or ``label``) line per run on a shared log axis."""
    arrays = {name: np.asarray(v, dtype=np.float64).reshape(-1) for name, v in runs.items()}
    floor = _log_floor(*arrays.values())
    fig = go.Figure()
    for i, (name, a) in enumerate(arrays.items()):
        fig.add_trace(
            go.Scatter(
                x=np.arange(a.size),
                y=np.where(np.isfinite(a) & (a > 0), a, floor),
                mode="lines",
                name=str(name),
                line={"color": PALETTE[i % len(PALETTE)], "width": 2},
                hovertemplate=f"{name}<br>t = %{{x}}<br>{label} = %{{y:.3e}}"
                f"<br>(zeros and non-finite drawn at {floor:.0e})<extra></extra>",
            )
        )
    _style(fig, title, "time step t", label)
    fig.update_yaxes(type="log", range=_log_range(floor, *arrays.values()))
    return fig


def carry_figure(
    carry, *, gate: str, target_step: int, title: str = "How much of each unit's memory survives"
) -> go.Figure:
    """A gated cell's carry: ``carry`` (T, H) from ``probes.carry_products``, against t
    on a log axis: the median unit, the band of the middle 80% of units, and the unit
    that carries most from t = 0."""
    carry = np.asarray(carry, dtype=np.float64)
    if carry.ndim != 2:
        raise ValueError(f"carry must be (T, H), got shape {carry.shape}")
    t = np.arange(carry.shape[0])
    upto = t <= target_step
    kept = carry[upto]
    floor = _log_floor(kept)
    shown = np.where(np.isfinite(kept) & (kept > 0), kept, floor)
    low, mid, high = np.percentile(shown, [10, 50, 90], axis=1)
    best = int(np.argmax(shown[0]))
    symbol = "∏ f" if gate == "forget" else "∏ z"
    fig = go.Figure(
        [
            go.Scatter(
                x=t[upto],
                y=high,
                mode="lines",
                line={"width": 0},
                showlegend=False,
                hoverinfo="skip",
            ),
            go.Scatter(
                x=t[upto],
                y=low,
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(0,114,178,0.2)",
                name="middle 80% of units",
                hoverinfo="skip",
            ),
            go.Scatter(
                x=t[upto],
                y=mid,
                mode="lines",
                name="median unit",
                line={"color": PALETTE[0], "width": 2},
                hovertemplate=f"t = %{{x}}<br>median {symbol} = %{{y:.3e}}<extra></extra>",
            ),
            go.Scatter(
                x=t[upto],
                y=shown[:, best],
                mode="lines",
                name=f"unit {best} (carries most)",
                line={"color": PALETTE[1], "width": 2, "dash": "dash"},
                hovertemplate=f"t = %{{x}}<br>unit {best}: {symbol} = %{{y:.3e}}<extra></extra>",
            ),
        ]
    )
    _style(fig, title, "time step t", f"{symbol} from t + 1 to {target_step}")
    fig.update_yaxes(type="log", range=_log_range(floor, shown))
    return fig


def saturation_fractions(
    values, low: float = 0.1, high: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Per unit, the fraction of (batch and) time below low and above high.

    values (T, H) or (B, T, H); non-finite entries are not counted.
    """
    values = np.asarray(values, dtype=np.float64)
    flat = values.reshape(-1, values.shape[-1])  # (B*T, H)
    finite = np.isfinite(flat)
    count = np.maximum(finite.sum(axis=0), 1)
    return (
        (finite & (flat < low)).sum(axis=0) / count,
        (finite & (flat > high)).sum(axis=0) / count,
    )


def saturation_figure(
    gates: dict, *, low: float = 0.1, high: float = 0.9, title: str = "Gate saturation per unit"
) -> go.Figure:
    """Left- vs right-saturation fraction per unit and gate (Karpathy et al. 2015, Fig. 4).

    Only sigmoid gates (values in [0, 1]) belong here; a gate with negative values
    (a tanh candidate such as LSTM "cell" or GRU "new") is skipped and named in the title.
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.array([0.0, 1.0]),
            y=np.array([1.0, 0.0]),
            mode="lines",
            name="x + y = 1",
            showlegend=False,
            hoverinfo="skip",
            line={"color": "#999999", "dash": "dash", "width": 1},
        )
    )
    skipped = []
    for i, (name, values) in enumerate(gates.items()):
        values = np.asarray(values, dtype=np.float64)
        if np.nanmin(values, initial=0.0) < 0:
            skipped.append(name)
            continue
        left, right = saturation_fractions(values, low, high)
        fig.add_trace(
            go.Scatter(
                x=left,
                y=right,
                mode="markers",
                name=name,
                customdata=np.arange(left.size),
                marker={
                    "color": PALETTE[i % len(PALETTE)],
                    "size": 10,
                    "opacity": 0.8,
                    "line": {"width": 1, "color": "#ffffff"},
                },
                hovertemplate=f"{name} gate, unit %{{customdata}}<br>< {low:g}: %{{x:.0%}}"
                f"<br>> {high:g}: %{{y:.0%}}<extra></extra>",
            )
        )
    if skipped:
        title = f"{title} (not sigmoid gates, skipped: {', '.join(skipped)})"
    _style(
        fig,
        title,
        f"fraction of time left-saturated (< {low:g})",
        f"fraction of time right-saturated (> {high:g})",
        height=560,
    )
    fig.update_xaxes(range=[-0.03, 1.03], constrain="domain")
    fig.update_yaxes(range=[-0.03, 1.03], scaleanchor="x", scaleratio=1)
    return fig


def pca_project(hidden, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Projection (T, dims) of hidden (T, H) on its principal components, and the
    fraction of variance each explains (dims,). Missing components are zeros."""
    X = np.asarray(hidden, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]  # one unit
    if X.ndim != 2:
        raise ValueError(f"hidden must be (T, H), got shape {X.shape}")
    proj = np.zeros((X.shape[0], dims))
    explained = np.zeros(dims)
    if X.shape[0] == 0 or X.shape[1] == 0:
        return proj, explained
    X = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    # deterministic signs: each component's largest loading is positive
    signs = np.sign(Vt[np.arange(len(S)), np.abs(Vt).argmax(axis=1)])
    signs[signs == 0] = 1
    k = min(dims, len(S))
    proj[:, :k] = U[:, :k] * S[:k] * signs[:k]
    total = float((S * S).sum())
    if total > 0:
        explained[:k] = S[:k] ** 2 / total
    return proj, explained


def pca_trajectory(
    hidden, *, dims: int = 2, title: str = "Hidden-state trajectory (PCA)"
) -> go.Figure:
    """The path of h_t through the first 2 or 3 principal components, coloured by t."""
    if dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims}")
    proj, explained = pca_project(hidden, dims)
    T = proj.shape[0]
    t = np.arange(T)
    axes = [f"PC{i + 1} ({100 * e:.0f}%)" for i, e in enumerate(explained)]
    marker = {
        "color": t,
        "colorscale": SEQUENTIAL,
        "size": 5 if dims == 3 else 7,
        "colorbar": {"title": {"text": "time step t"}},
        "cmin": 0,
        "cmax": max(T - 1, 1),
    }
    line = {"color": "rgba(120,120,120,0.5)", "width": 2}
    hover = "t = %{customdata}<extra></extra>"
    fig = go.Figure()
    if dims == 2:
        fig.add_trace(
            go.Scatter(
                x=proj[:, 0],
                y=proj[:, 1],
                mode="lines+markers",
                name="h_t",
                marker=marker,
                line=line,
                customdata=t,
                hovertemplate=hover,
            )
        )
    else:
        fig.add_trace(
            go.Scatter3d(
                x=proj[:, 0],
                y=proj[:, 1],
                z=proj[:, 2],
                mode="lines+markers",
                name="h_t",
                marker=marker,
                line=line,
                customdata=t,
                hovertemplate=hover,
            )
        )
    for idx, label, symbol in ((0, "start", "circle"), (T - 1, "end", "square")):
        if T == 0:
            break
        point = {"x": proj[idx : idx + 1, 0], "y": proj[idx : idx + 1, 1]}
        style = {
            "mode": "markers",
            "name": f"{label} (t = {idx})",
            "marker": {
                "symbol": symbol,
                "size": 14 if dims == 2 else 7,
                "color": PALETTE[0 if label == "start" else 1],
                "line": {"width": 2, "color": "#000000"},
            },
        }
        if dims == 2:
            fig.add_trace(go.Scatter(**point, **style))
        else:
            fig.add_trace(go.Scatter3d(**point, z=proj[idx : idx + 1, 2], **style))
    _style(fig, title, height=560, legend={"orientation": "h", "y": -0.15})
    if dims == 2:
        fig.update_xaxes(title_text=axes[0], automargin=True)
        fig.update_yaxes(title_text=axes[1], automargin=True)
    else:
        fig.update_scenes(
            xaxis_title_text=axes[0], yaxis_title_text=axes[1], zaxis_title_text=axes[2]
        )
    return fig
