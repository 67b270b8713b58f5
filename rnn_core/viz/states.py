"""Hidden states and gates: what the units do over time and over training.

``animated_heatmap`` plays units x time steps over the training snapshots (uint8
codes, columns thinned to fit the payload budget), ``time_step_bars`` plays one
sequence's activations step by step, ``saturation_figure`` places each gate's units by
how often they saturate, and ``pca_trajectory`` draws the path of h_t through its
principal components. The numbers behind the last two come from
``rnn_core.state_stats``.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnn_core.state_stats import pca_project, saturation_fractions
from rnn_core.viz.encoding import (
    FLOAT32_BYTES,
    INT8_BYTES,
    PAYLOAD_BUDGET,
    colorbar_ticks,
    quantize_codes,
)
from rnn_core.viz.look import DIVERGING, PALETTE, SEQUENTIAL, style_figure
from rnn_core.viz.playback import animate, frame_names


def _centred(zmin: float, zmax: float, zmid: float | None) -> tuple[float, float]:
    # plotly ignores zmid once zmin/zmax are set, so centre the range itself
    if zmid is None:
        return zmin, zmax
    half = max(zmid - zmin, zmax - zmid)
    return zmid - half, zmid + half


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
    per_cell = INT8_BYTES if quantize else FLOAT32_BYTES
    k = max(1, math.ceil(len(arrays) * rows * cols * per_cell / PAYLOAD_BUDGET))
    x = np.arange(0, cols, k)
    if k > 1:
        title = f"{title} (1 in {k} time steps shown)"
    if quantize:
        zs = [quantize_codes(a[:, ::k], zmin, zmax)[0] for a in arrays]
        _, q, offset = quantize_codes(np.zeros(0), zmin, zmax)  # one range: one quantum for all
        cmin, cmax = (zmin - offset) / q, (zmax - offset) / q
        tickvals, ticktext = colorbar_ticks(zmin, zmax, q, offset)
        colorbar = {"title": {"text": colorbar_title}, "tickvals": tickvals, "ticktext": ticktext}
        value = f"%{{z}} × {q:g}" if offset == 0 else f"{offset:.4g} + %{{z}} × {q:g}"
        meta = {"quantum": q, "offset": offset, "column_stride": k}
    else:
        zs = [a[:, ::k].astype(np.float32) for a in arrays]
        cmin, cmax, colorbar, value = zmin, zmax, {"title": {"text": colorbar_title}}, "%{z:.3f}"
        meta = {"quantum": 0.0, "offset": 0.0, "column_stride": k}
    names = frame_names(key_prefix, labels)
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
    style_figure(fig, title, x_title, y_title, bottom=150, meta=meta)
    animate(fig, names, labels, prefix="training step ", duration=300)
    return fig


def signed_over_training(
    frames, frame_labels, *, bound: float | None = None, colorbar_title: str, title: str
) -> go.Figure:
    """``animated_heatmap`` of a signed state (h, the LSTM cell state c, a tanh
    candidate): red positive, blue negative, centred on 0, within ±``bound`` (a tanh's
    1), or, for an unbounded state (bound None), ±its largest |value| over all frames
    (so the colours mean the same in every frame)."""
    top = bound if bound is not None else max(float(np.nanmax(np.abs(f))) for f in frames) or 1.0
    return animated_heatmap(
        frames,
        frame_labels,
        zmin=-top,
        zmax=top,
        zmid=0,
        colorscale=DIVERGING,
        colorbar_title=colorbar_title,
        title=title,
    )


def gate_over_training(frames, frame_labels, *, name: str, title: str) -> go.Figure:
    """``animated_heatmap`` of a sigmoid gate: 0 (closed) to 1 (open)."""
    return animated_heatmap(
        frames,
        frame_labels,
        zmin=0,
        zmax=1,
        colorscale=SEQUENTIAL,
        colorbar_title=name,
        title=title,
    )


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
    k = max(1, math.ceil(T * H * (FLOAT32_BYTES + INT8_BYTES) / PAYLOAD_BUDGET))
    ts = np.unique(np.append(np.arange(0, T, k), T - 1)) if T else np.arange(0)
    if k > 1:
        title = f"{title} (1 in {k} time steps shown)"
    units = np.arange(H)
    colorscale = [[0, DIVERGING[1][1]], [0.5, "rgb(170,170,170)"], [1, DIVERGING[-2][1]]]

    def bars(t):
        return go.Bar(x=units, y=hidden[t], marker={"color": np.sign(hidden[t]).astype(np.int8)})

    names = frame_names("t", [int(t) for t in ts])
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
    style_figure(fig, title, "hidden unit", "activation", bottom=150)
    fig.update_yaxes(range=[-lim, lim])
    if T:
        animate(fig, names, [str(int(t)) for t in ts], prefix="t = ", duration=120)
    return fig


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
    style_figure(
        fig,
        title,
        f"fraction of time left-saturated (< {low:g})",
        f"fraction of time right-saturated (> {high:g})",
        height=560,
    )
    fig.update_xaxes(range=[-0.03, 1.03], constrain="domain")
    fig.update_yaxes(range=[-0.03, 1.03], scaleanchor="x", scaleratio=1)
    return fig


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
    trace, coords = (go.Scatter, "xy") if dims == 2 else (go.Scatter3d, "xyz")
    fig.add_trace(
        trace(
            **{c: proj[:, i] for i, c in enumerate(coords)},
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
    style_figure(fig, title, height=560, legend={"orientation": "h", "y": -0.15})
    if dims == 2:
        fig.update_xaxes(title_text=axes[0], automargin=True)
        fig.update_yaxes(title_text=axes[1], automargin=True)
    else:
        fig.update_scenes(
            xaxis_title_text=axes[0], yaxis_title_text=axes[1], zaxis_title_text=axes[2]
        )
    return fig
