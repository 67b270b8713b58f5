"""Captioning figures: an image with, under it, where the decoder looked for each word."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.viz.look import INK, SEQUENTIAL, style_figure


def caption_attention_figure(
    picture: np.ndarray, weights: np.ndarray | None, words: list[str], *, title: str
) -> go.Figure:
    """The image (rows x columns, in [0, 1]) on top; under it, one row per word written,
    the attention over the image's regions (``weights`` (words, regions), each region a
    stretch of columns), drawn under the columns it covers. Without attention, the image
    alone."""
    picture = np.asarray(picture, dtype=np.float32)
    height, width = picture.shape
    rows = 1 if weights is None else 2
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        row_heights=[0.45, 0.55] if rows == 2 else [1.0],
    )
    fig.add_trace(
        go.Heatmap(
            z=picture,
            x=np.arange(width),
            y=np.arange(height),
            zmin=0.0,
            zmax=1.0,
            colorscale=INK,
            showscale=False,
            hovertemplate="column %{x}, row %{y}<br>ink %{z:.2f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=1)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float32)[: len(words)]
        stride = width // weights.shape[1]  # columns per region
        centres = np.arange(weights.shape[1]) * stride + (stride - 1) / 2
        fig.add_trace(
            go.Heatmap(
                z=np.rint(100 * weights).astype(np.uint8),
                x=centres,
                y=list(words),
                zmin=0,
                zmax=100,
                colorscale=SEQUENTIAL,
                colorbar={"title": {"text": "attention (%)"}, "len": 0.5, "y": 0.25},
                hovertemplate="word %{y}<br>columns around %{x}<br>%{z}%<extra></extra>",
            ),
            row=2,
            col=1,
        )
        fig.update_yaxes(autorange="reversed", title_text="word written", row=2, col=1)
    style_figure(fig, title, height=520 if rows == 2 else 300)
    fig.update_xaxes(title_text="image column", row=rows, col=1)
    return fig
