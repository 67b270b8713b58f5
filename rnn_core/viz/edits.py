"""An edited probe sequence against the original: the states on the edit, and the
difference (edited minus original) on one colour scale centred at 0.

Arrays are (T, H) per sequence, as a Probe holds them; the figures draw units as rows
and time steps as columns, as the Hidden states page's heatmaps do. The steps whose
input was edited are marked with dashed lines (the first only, when there are many), so
the eye finds where a change starts.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn_core.viz.look import DIVERGING, INK, SEQUENTIAL, style_figure

MAX_MARKED_STEPS = 5  # more dashed lines than this hide the heatmap under them


def _mark_steps(fig: go.Figure, steps) -> None:
    """Dashed lines at the edited steps; at the first one only when there are many (a
    typed string): nothing can change before it."""
    steps = np.asarray(steps, dtype=int)
    if len(steps):
        for t in steps if len(steps) <= MAX_MARKED_STEPS else steps[:1]:
            fig.add_vline(x=int(t), line={"color": "#000000", "width": 1, "dash": "dash"})


def _heatmap(z: np.ndarray, zmin, zmax, colorscale, colorbar_title, hover_name):
    H, T = z.shape
    return go.Heatmap(
        z=z.astype(np.float32),
        x=np.arange(T),
        y=np.arange(H),
        zmin=zmin,
        zmax=zmax,
        colorscale=colorscale,
        colorbar={"title": {"text": colorbar_title}},
        hovertemplate=f"unit %{{y}}<br>time step t = %{{x}}<br>{hover_name} = %{{z:.3f}}"
        "<extra></extra>",
    )


def edited_states_figure(
    states,
    *,
    title: str,
    colorbar_title: str,
    gate: bool = False,
    bound: float | None = None,
    changed_steps=(),
) -> go.Figure:
    """States (T, H) on the edited sequence: a gate on 0..1 (``gate``), else a signed
    state centred on 0 within ±``bound`` (±its largest |value| when None)."""
    z = np.asarray(states, dtype=np.float64).T  # (H, T)
    if gate:
        zmin, zmax, scale = 0.0, 1.0, SEQUENTIAL
    else:
        top = bound if bound is not None else float(np.nanmax(np.abs(z), initial=0.0)) or 1.0
        zmin, zmax, scale = -top, top, DIVERGING
    fig = go.Figure(_heatmap(z, zmin, zmax, scale, colorbar_title, colorbar_title))
    style_figure(fig, title, "time step t", "hidden unit")
    _mark_steps(fig, changed_steps)
    return fig


def difference_figure(
    edited, original, *, title: str, colorbar_title: str, changed_steps=()
) -> go.Figure:
    """Edited minus original, (T, H) each (over the steps both have), units as rows:
    red where the edit raised a unit's value, blue where it lowered it, white where it
    left it. The scale is ±the largest |difference|, so the colours show where the
    change went; the title gives that largest difference."""
    edited = np.asarray(edited, dtype=np.float64)
    original = np.asarray(original, dtype=np.float64)
    n = min(len(edited), len(original))
    diff = (edited[:n] - original[:n]).T  # (H, n)
    top = float(np.nanmax(np.abs(diff), initial=0.0))
    shown = top if top > 0 else 1.0
    fig = go.Figure(
        _heatmap(diff, -shown, shown, DIVERGING, f"Δ{colorbar_title}", f"Δ{colorbar_title}")
    )
    style_figure(fig, f"{title} (largest |Δ| = {top:.3g})", "time step t", "hidden unit")
    _mark_steps(fig, changed_steps)
    return fig


def image_figure(image, *, title: str) -> go.Figure:
    """A small digit image (height, width) in [0, 1], ink dark, row 0 at the top, with
    an invisible marker on every pixel (trace 1): a heatmap's cells cannot be selected,
    markers can, so a page that selects points learns which pixel was clicked."""
    image = np.asarray(image, dtype=np.float64)
    height, width = image.shape
    rows, cols = np.mgrid[0:height, 0:width]
    fig = go.Figure(
        [
            go.Heatmap(
                z=image.astype(np.float32),
                zmin=0.0,
                zmax=1.0,
                colorscale=INK,
                showscale=False,
                hoverinfo="skip",
            ),
            go.Scatter(
                x=cols.ravel(),
                y=rows.ravel(),
                mode="markers",
                marker={"symbol": "square", "size": 18, "color": "rgba(0, 0, 0, 0)"},
                customdata=image.ravel().astype(np.float32),
                hovertemplate="row %{y}, column %{x}: %{customdata:.2f}<extra></extra>",
                showlegend=False,
            ),
        ]
    )
    style_figure(fig, title, "column", "row", bottom=40, height=340)
    fig.update_xaxes(range=[-0.5, width - 0.5], constrain="domain", showgrid=False)
    fig.update_yaxes(
        range=[height - 0.5, -0.5], scaleanchor="x", constrain="domain", showgrid=False
    )
    return fig
