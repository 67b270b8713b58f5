"""Translation figures: attention over training, accuracy by source length, the boundary
between an encoder's steps and its decoder's."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn_core.viz.look import FONT_SIZE, PALETTE, SEQUENTIAL, style_figure
from rnn_core.viz.states import animated_heatmap


def mark_decoder_start(fig: go.Figure, decoder_start: int | None) -> go.Figure:
    """A dashed line between an encoder-decoder's last encoder step and its first decoder
    step on a figure whose x axis is the time step (nothing for other models)."""
    if decoder_start is not None:
        fig.add_vline(
            x=decoder_start - 0.5,
            line={"color": "#000000", "dash": "dash", "width": 2},
            annotation_text="encoder | decoder",
            annotation_position="top",
            annotation_font_size=FONT_SIZE - 2,
        )
    return fig


def attention_over_training(
    frames,
    frame_labels,
    *,
    source_words: list[str],
    target_pieces: list[str],
    title: str,
    x_title: str = "source word (attended to)",
    y_title: str = "piece written",
) -> go.Figure:
    """The decoder's attention over the source (rows: the pieces it writes, columns: the
    source's words, or an image's regions), one (D, S) frame per training snapshot,
    animated. Each row sums to 1: where the decoder looked while writing that piece."""
    fig = animated_heatmap(
        frames,
        frame_labels,
        zmin=0.0,
        zmax=1.0,
        colorscale=SEQUENTIAL,
        title=title,
        x_title=x_title,
        y_title=y_title,
        colorbar_title="weight",
        key_prefix="attention",
    )
    rows, cols = np.asarray(frames[0]).shape
    fig.update_xaxes(tickvals=np.arange(cols), ticktext=list(source_words), tickangle=0)
    # Matrix layout: the first piece on top, read down as the decoder writes.
    fig.update_yaxes(tickvals=np.arange(rows), ticktext=list(target_pieces), autorange="reversed")
    return fig


def accuracy_by_length_figure(
    accuracy: dict[str, np.ndarray], counts: np.ndarray, *, title: str
) -> go.Figure:
    """Grouped bars: exact-match accuracy per source length (1, 2, ... words), one colour
    per run (``accuracy``: label -> (lengths,) array, NaN where there is no example)."""
    counts = np.asarray(counts)
    x = [f"{n} word{'s' if n > 1 else ''} ({c} held out)" for n, c in enumerate(counts, 1)]
    fig = go.Figure()
    for i, (label, values) in enumerate(accuracy.items()):
        values = np.asarray(values, dtype=np.float64)
        fig.add_trace(
            go.Bar(
                x=x,
                y=100 * values,
                name=label,
                marker={"color": PALETTE[i % len(PALETTE)]},
                text=[("–" if np.isnan(v) else f"{100 * v:.0f}%") for v in values],
                textposition="outside",
                hovertemplate=f"{label}<br>%{{x}}<br>exact match %{{y:.1f}}%<extra></extra>",
            )
        )
    style_figure(fig, title, "source length", "exact match (%)")
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 110])
    return fig
