"""Gradients through time and the recurrent weights' spectra.

``grad_norm_figure`` plays ||dL/dh_t|| over t across training snapshots,
``grad_heatmap`` shows the same as training step x time step, ``overlay_grad_norms``
puts several runs on one log axis, ``spectra_figure`` follows the spectral radius and
largest singular value of each recurrent block, and ``carry_figure`` shows how much of a
gated cell's memory survives. Zeros and underflows are drawn at ``look.log_floor``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn_core.viz.look import PALETTE, SEQUENTIAL, log_floor, log_range, style_figure
from rnn_core.viz.playback import animate, frame_names

GRAD_LABEL = "‖∂L/∂h_t‖"


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
    floor = log_floor(*arrays)
    floor_text = f"zero, underflow or non-finite: drawn at {floor:.1e}"

    def traces(a):
        bad = ~(np.isfinite(a) & (a > 0))
        t = np.arange(a.size)
        return [
            go.Scatter(x=t, y=np.where(bad, floor, a)),
            go.Scatter(x=t[bad], y=np.full(int(bad.sum()), floor)),
        ]

    names = frame_names("step", labels)
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
    style_figure(fig, title, "time step t", label, bottom=150)
    length = max(a.size for a in arrays)
    fig.update_xaxes(range=[-0.5, max(length - 0.5, 0.5)])
    fig.update_yaxes(type="log", range=log_range(floor, *arrays))
    animate(fig, names, labels, prefix="training step ", duration=300)
    return fig


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
    floor = log_floor(norms)
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
    return style_figure(fig, title, "time step t", "training step")


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
        for values, dash, measure in (
            (radius.get(block), "solid", "spectral radius"),
            (singular.get(block), "dash", "largest singular value"),
        ):
            if values is None:
                continue
            values = np.asarray(values, dtype=np.float64).reshape(-1)
            if values.shape != steps.shape:
                raise ValueError(f"{measure} of {block!r}: {values.shape}, expected {steps.shape}")
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=values,
                    mode="lines+markers",
                    name=f"{measure}: {block}",
                    legendgroup=block,
                    line={"color": colour, "dash": dash, "width": 2},
                    marker={"size": 5},
                    hovertemplate=f"step %{{x}}<br>{measure} ({block}) %{{y:.3f}}<extra></extra>",
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
    return style_figure(fig, title, "training step", "spectral radius ρ / largest singular value σ")


def overlay_grad_norms(
    runs: dict, *, title: str = f"{GRAD_LABEL} by run", label: str = GRAD_LABEL
) -> go.Figure:
    """One ||dL/dh_t|| (or ``label``) line per run on a shared log axis."""
    arrays = {name: np.asarray(v, dtype=np.float64).reshape(-1) for name, v in runs.items()}
    floor = log_floor(*arrays.values())
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
    style_figure(fig, title, "time step t", label)
    fig.update_yaxes(type="log", range=log_range(floor, *arrays.values()))
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
    floor = log_floor(kept)
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
    style_figure(fig, title, "time step t", f"{symbol} from t + 1 to {target_step}")
    fig.update_yaxes(type="log", range=log_range(floor, shown))
    return fig
