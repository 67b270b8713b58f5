"""Training curves: the loss (or any per-step series) over training steps.

``loss_figure`` draws a run's loss with its trivial baseline, clipping events, the
held-out loss and divergence; ``curve_points`` prepares one curve (non-finite values
dropped, optional smoothing, thinned) for it and for the race page's curves.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rnn_core.viz.encoding import thin
from rnn_core.viz.look import PALETTE, style_figure


def curve_points(steps, loss, smooth: float, log_y: bool, max_points: int, x_dtype=np.int64):
    """(x, y, first non-finite step or None) of one loss curve, ready to draw. ``x_dtype``
    float64 draws against seconds instead of steps. Sent compact (a live chart is sent to
    every viewer twice a second): steps as int32, seconds and values as float32, whose 7
    digits are more than a chart or its 4-digit hover shows."""
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
    keep = thin(x.size, max_points)
    x_sent = np.int32 if np.issubdtype(x.dtype, np.integer) else np.float32
    return x[keep].astype(x_sent), y[keep].astype(np.float32), diverged_at


# Points per drawn curve: about one per pixel of a full-width chart at 1280 px. Fewer
# points are what the browser of each viewer re-renders at every refresh.
CURVE_POINTS = 1000
BASELINE_STYLE = {"color": "#555555", "dash": "dash", "width": 2}


def add_baseline(
    fig: go.Figure,
    value: float | None,
    span: tuple,
    *,
    log_y: bool,
    name: str = "trivial baseline",
    line: dict = BASELINE_STYLE,
    meaning: str = "the loss of ignoring the input",
) -> None:
    """A horizontal line at a task's baseline loss across ``span`` (first, last x), named
    with its value; left out when there is none to draw (None, not finite, or not above 0
    on a log axis)."""
    if value is None or not math.isfinite(value) or (log_y and value <= 0):
        return
    label = f"{name} ({value:.3g})"
    fig.add_trace(
        go.Scatter(
            x=np.array(span),
            y=np.array([value, value]),
            mode="lines",
            name=label,
            line=line,
            hovertemplate=f"{label}: {meaning}<extra></extra>",
        )
    )


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
    max_points=CURVE_POINTS,
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
    x, y, diverged_at = curve_points(steps, loss, smooth, log_y, max_points)

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
        keep = thin(tx.size, max_points)
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
        clipped = clipped[thin(clipped.size, max_points)]
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
        ox, oy, _ = curve_points(other_steps, other_loss, smooth, log_y, max_points)
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
    add_baseline(fig, baseline, (lo, hi), log_y=log_y)
    if drew_test:
        add_baseline(
            fig,
            test_baseline,
            (lo, hi),
            log_y=log_y,
            name="held-out baseline",
            line={"color": PALETTE[1], "dash": "dash", "width": 2},
            meaning="the loss of ignoring the input, on the held-out split",
        )

    if diverged_at is not None:
        fig.add_vline(
            x=diverged_at,
            line={"color": PALETTE[1], "dash": "dot", "width": 2},
            annotation_text="diverged",
            annotation_position="top left",
        )
    style_figure(fig, title, "training step", f"{y_title} (log scale)" if log_y else y_title)
    if log_y:
        fig.update_yaxes(type="log")
    else:
        fig.update_yaxes(rangemode="tozero")  # losses are never negative; nor is an empty axis
    return fig
