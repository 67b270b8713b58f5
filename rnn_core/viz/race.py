"""The CNN vs RNN race page's figures: race curves, receptive field, saliency, attention,
the memory-horizon sweep, the three readings of a digit, and one fixed colour per model
(``model_colours``). The shared look (fonts for a projector, colour-blind palettes)
comes from ``look``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.viz.look import INK, PALETTE, SEQUENTIAL, log_range, style_figure
from rnn_core.viz.states import animated_heatmap
from rnn_core.viz.training import BASELINE_STYLE, CURVE_POINTS, add_baseline, curve_points

GOOD, BAD = "#009E73", "#D55E00"  # Okabe-Ito green and vermilion


def model_colours(labels) -> dict[str, str]:
    """One fixed colour per model label, the same on every chart of the page."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _shade_scored(fig: go.Figure, scored_steps: slice, total_len: int) -> None:
    """Shade the output steps that enter the loss, unless that is every step."""
    start, stop = scored_steps.start or 0, scored_steps.stop or total_len
    if start > 0 or stop < total_len:
        fig.add_vrect(
            x0=start - 0.5,
            x1=stop - 0.5,
            fillcolor=PALETTE[5],
            opacity=0.15,
            line_width=0,
            annotation_text="scored outputs",
            annotation_position="top left",
        )


def race_figure(
    curves: dict,
    baseline: float | None,
    *,
    x_title: str,
    title: str,
    smooth: float = 0.0,
    log_y: bool = False,
    y_title: str = "loss",
    colours: dict | None = None,
    max_points: int = CURVE_POINTS,
) -> go.Figure:
    """One line per model: ``curves`` maps label -> (x, y), x steps or seconds (floats
    allowed). Non-finite y values are dropped; ``smooth`` is a debiased EMA weight."""
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {smooth}")
    colours = colours or model_colours(curves)
    fig = go.Figure()
    spans = []
    for label, (x, y) in curves.items():
        x, y, _ = curve_points(x, y, smooth, log_y, max_points, x_dtype=np.float64)
        spans.append(x)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                name=str(label),
                line={"color": colours.get(label, PALETTE[0]), "width": 2.5},
                hovertemplate=f"{label}<br>{x_title} %{{x:.4g}}<br>{y_title} %{{y:.4g}}"
                "<extra></extra>",
            )
        )
    span = np.concatenate(spans) if spans else np.zeros(0)
    lo, hi = (float(span.min()), float(span.max())) if span.size else (0.0, 1.0)
    add_baseline(fig, baseline, (lo, hi), log_y=log_y)
    style_figure(
        fig,
        title,
        x_title,
        f"{y_title} (log scale)" if log_y else y_title,
        legend={"orientation": "h", "y": -0.25},
        bottom=110,
    )
    if log_y:
        fig.update_yaxes(type="log")
    else:
        fig.update_yaxes(rangemode="tozero")
    return fig


def receptive_field_figure(
    total_len: int, receptive_field: int, needed_span: int, scored_steps: slice, *, title: str
) -> go.Figure:
    """The input sequence as a time line, the inputs the last scored output can see
    (the receptive field) against the inputs it needs (``needed_span`` steps ending at
    it). Green when the field covers the need, vermilion when it falls short."""
    out = (scored_steps.stop or total_len) - 1  # the last scored output step
    seen_from = max(0, out - receptive_field + 1)
    need_from = max(0, out - needed_span + 1)
    covered = receptive_field >= needed_span
    fig = go.Figure()
    rows = [
        (
            "needed",
            need_from,
            "#555555",
            f"the output at step {out} needs inputs from step {need_from}",
        ),
        (
            "TCN sees",
            seen_from,
            GOOD if covered else BAD,
            f"its receptive field ({receptive_field} steps) starts at step {seen_from}",
        ),
    ]
    for name, start, colour, text in rows:
        fig.add_trace(
            go.Bar(
                x=[out - start + 1],
                y=[name],
                base=[start],
                orientation="h",
                marker={"color": colour},
                name=name,
                width=0.5,
                hovertemplate=text + "<extra></extra>",
            )
        )
    _shade_scored(fig, scored_steps, total_len)
    fig.add_vline(x=out, line={"color": "#2a3f5f", "width": 2})
    style_figure(
        fig, title, "time step t (input sequence)", None, showlegend=False, height=260, top=70
    )
    fig.update_xaxes(range=[-0.5, total_len - 0.5])
    return fig


def saliency_figure(
    saliency: dict,
    *,
    scored_steps: slice | None,
    title: str,
    log_y: bool = True,
    colours: dict | None = None,
) -> go.Figure:
    """‖∂L/∂x_t‖ over t, one line per model (label -> (T,) array)."""
    colours = colours or model_colours(saliency)
    fig = go.Figure()
    arrays = []
    for label, values in saliency.items():
        y = np.asarray(values, dtype=np.float64).reshape(-1)
        arrays.append(y)
        t = np.arange(y.size)
        if log_y:
            t, y = t[y > 0], y[y > 0]
        fig.add_trace(
            go.Scatter(
                x=t,
                y=y,
                mode="lines",
                name=str(label),
                line={"color": colours.get(label, PALETTE[0]), "width": 2},
                hovertemplate=f"{label}<br>t = %{{x}}<br>‖∂L/∂x_t‖ %{{y:.3g}}<extra></extra>",
            )
        )
    if scored_steps is not None and arrays:
        _shade_scored(fig, scored_steps, arrays[0].size)
    y_title = "‖∂L/∂x_t‖" + (" (log scale)" if log_y else "")
    style_figure(
        fig,
        title,
        "input time step t",
        y_title,
        legend={"orientation": "h", "y": -0.25},
        bottom=110,
    )
    if log_y:
        # 10⁻⁴ rather than plotly's SI "100µ", which reads as a unit on a gradient axis
        fig.update_yaxes(exponentformat="power")
        positive = [a for a in arrays if (a > 0).any()]
        if positive:
            floor = min(float(a[a > 0].min()) for a in positive)
            fig.update_yaxes(type="log", range=log_range(floor, *positive))
        else:
            fig.update_yaxes(type="log")
    return fig


def attention_figure(frames, frame_labels, *, stride: int = 1, title: str) -> go.Figure:
    """One head's attention map (query step x key step) per training snapshot, animated.
    ``frames``: (T', T') arrays whose cells each cover ``stride`` steps a side."""
    cell = "" if stride == 1 else f" (each cell: {stride} steps)"
    fig = animated_heatmap(
        frames,
        frame_labels,
        zmin=0.0,
        zmax=1.0,
        colorscale=SEQUENTIAL,
        title=title + cell,
        x_title="key step (attended to)",
        y_title="query step",
        colorbar_title="weight",
        key_prefix="attention",
    )
    # Matrix layout: query 0 on top, so the masked future is the upper-right triangle.
    fig.update_yaxes(autorange="reversed")
    return fig


def sweep_figure(
    results: pd.DataFrame,
    *,
    y: str,
    y_title: str,
    reference: float,
    reference_name: str,
    title: str,
    colours: dict | None = None,
) -> go.Figure:
    """Final score against sequence length per model (Bai et al.'s memory-horizon plot).
    ``results`` has columns model (label), seq_len, status and the ``y`` column; cells
    that were skipped or diverged appear as open markers at the reference line."""
    colours = colours or model_colours(results["model"].unique() if len(results) else [])
    fig = go.Figure()
    for label, rows in results.groupby("model", sort=False):
        rows = rows.sort_values("seq_len")
        ok = rows["status"] == "ok"
        colour = colours.get(label, PALETTE[0])
        fig.add_trace(
            go.Scatter(
                x=rows.loc[ok, "seq_len"].to_numpy(),
                y=rows.loc[ok, y].to_numpy(dtype=float),
                mode="lines+markers",
                name=str(label),
                line={"color": colour, "width": 2.5},
                marker={"size": 10},
                hovertemplate=f"{label}<br>T = %{{x}}<br>{y_title} %{{y:.3g}}<extra></extra>",
            )
        )
        if (~ok).any():
            failed = rows.loc[~ok]
            fig.add_trace(
                go.Scatter(
                    x=failed["seq_len"].to_numpy(),
                    y=np.full(len(failed), reference),
                    mode="markers",
                    name=f"{label}: not trained",
                    showlegend=False,
                    marker={"symbol": "x-open", "size": 12, "color": colour},
                    text=failed["reason"].astype(str).to_numpy(),
                    hovertemplate=f"{label}, T = %{{x}}: %{{text}}<extra></extra>",
                )
            )
    lengths = results["seq_len"].to_numpy() if len(results) else np.array([1, 2])
    fig.add_trace(
        go.Scatter(
            x=np.array([lengths.min(), lengths.max()]),
            y=np.array([reference, reference]),
            mode="lines",
            name=reference_name,
            line=BASELINE_STYLE,
            hoverinfo="skip",
        )
    )
    style_figure(
        fig,
        title,
        "sequence length T (log scale)",
        y_title,
        legend={"orientation": "h", "y": -0.25},
        bottom=110,
    )
    fig.update_xaxes(type="log", tickvals=np.unique(lengths))
    fig.update_yaxes(rangemode="tozero")
    return fig


def digit_readings_figure(image, label: int) -> go.Figure:
    """One digit three ways: the image a 2-D CNN sees, the 8 steps of 8 inputs a
    row-by-row RNN reads, the 64 steps of one input a pixel-by-pixel RNN reads."""
    image = np.asarray(image, dtype=np.float32)
    h, w = image.shape
    fig = make_subplots(
        rows=2,
        cols=2,
        column_widths=[0.35, 0.65],
        row_heights=[0.8, 0.2],
        specs=[[{}, {}], [{"colspan": 2}, None]],
        vertical_spacing=0.22,
        horizontal_spacing=0.12,
        subplot_titles=(
            f"as an image (CNN): a {label}",
            f"row by row: {h} steps × {w} inputs",
            f"pixel by pixel: {h * w} steps × 1 input",
        ),
    )
    common = {"colorscale": INK, "zmin": 0.0, "zmax": 1.0, "showscale": False}
    fig.add_trace(
        go.Heatmap(
            z=image, hovertemplate="row %{y}, column %{x}: %{z:.2f}<extra></extra>", **common
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(
            z=image.T, hovertemplate="step %{x}, input %{y}: %{z:.2f}<extra></extra>", **common
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Heatmap(
            z=image.reshape(1, -1), hovertemplate="step %{x}: %{z:.2f}<extra></extra>", **common
        ),
        row=2,
        col=1,
    )
    style_figure(fig, "The same digit, read three ways", height=520, top=90)
    fig.update_yaxes(autorange="reversed", row=1, col=1, scaleanchor="x", title_text="row")
    fig.update_xaxes(title_text="column", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2, title_text="input (column)")
    fig.update_xaxes(title_text="time step (row)", row=1, col=2)
    fig.update_yaxes(showticklabels=False, row=2, col=1)
    fig.update_xaxes(title_text="time step (pixel)", row=2, col=1)
    return fig
