"""Previews of a visitor's upload: the series with its training and held-out parts, and
how many rows each label has."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn_core.viz.look import PALETTE, style_figure

HELD_OUT_FILL = "rgba(0, 114, 178, 0.10)"


def upload_series_figure(
    times, values, names: list[str], held_out_from: float, *, time_name: str, unit: str
) -> go.Figure:
    """``values`` (N, C) at ``times`` (N,), one line per column, the held-out part (from
    ``held_out_from`` on) shaded: what the net is scored on."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float32)
    fig = go.Figure()
    for k, name in enumerate(names):
        fig.add_scatter(
            x=times, y=values[:, k], name=name, line={"color": PALETTE[k % len(PALETTE)]}
        )
    fig.add_vrect(
        x0=held_out_from,
        x1=float(times[-1]),
        fillcolor=HELD_OUT_FILL,
        line_width=0,
        annotation_text="held out",
        annotation_position="top left",
    )
    return style_figure(fig, "Your series", time_name, unit, height=340, showlegend=True)


def label_counts_figure(class_names: list[str], counts) -> go.Figure:
    """One bar per label: how many rows carry it."""
    counts = np.asarray(counts, dtype=np.int64)
    fig = go.Figure(go.Bar(x=list(class_names), y=counts, marker_color=PALETTE[0]))
    return style_figure(fig, "Rows per label", "label", "rows", height=300)
