"""The running sentiment of one sentence: P(positive) after each word, for the recurrent
net and the bag-of-words baseline side by side."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn_core.viz.look import PALETTE, style_figure


def running_sentiment_figure(
    words: list[str],
    rnn_positive,
    bow_positive,
    *,
    unknown=None,
    rnn_label: str = "recurrent net",
    title: str = "P(positive) after each word",
) -> go.Figure:
    """Words along x (in reading order), P(positive) after each word on y for the
    recurrent net (``rnn_positive``, (T,)) and the bag of words (``bow_positive``, (T,)),
    with 0.5, the line between the two verdicts. ``unknown`` (T,) bool marks the words
    read as the unknown word (drawn in brackets on the axis)."""
    rnn = np.asarray(rnn_positive, dtype=np.float32)
    bow = np.asarray(bow_positive, dtype=np.float32)
    T = len(words)
    if rnn.shape != (T,) or bow.shape != (T,):
        raise ValueError(f"need one probability per word ({T}), got {rnn.shape} and {bow.shape}")
    unknown = np.zeros(T, dtype=bool) if unknown is None else np.asarray(unknown, dtype=bool)
    t = np.arange(T, dtype=np.int64)
    ticks = [f"[{w}]" if u else w for w, u in zip(words, unknown, strict=True)]
    fig = go.Figure()
    fig.add_hrect(y0=0.5, y1=1.0, fillcolor=PALETTE[2], opacity=0.06, line_width=0)
    fig.add_hrect(y0=0.0, y1=0.5, fillcolor=PALETTE[1], opacity=0.06, line_width=0)
    fig.add_hline(y=0.5, line={"color": "#888888", "dash": "dot", "width": 1})
    fig.add_trace(
        go.Scatter(
            x=t,
            y=bow,
            mode="lines+markers",
            name="bag of words",
            line={"color": PALETTE[4], "dash": "dash", "width": 2},
            marker={"size": 9, "symbol": "square"},
            customdata=np.array(ticks, dtype=object),
            hovertemplate="after %{customdata}<br>bag of words: P = %{y:.2f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=rnn,
            mode="lines+markers",
            name=rnn_label,
            line={"color": PALETTE[0], "width": 3},
            marker={"size": 11},
            customdata=np.array(ticks, dtype=object),
            hovertemplate=f"after %{{customdata}}<br>{rnn_label}: P = %{{y:.2f}}<extra></extra>",
        )
    )
    style_figure(
        fig,
        title,
        "word read",
        "P(positive)",
        height=420,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        top=100,
        bottom=90,
    )
    fig.update_xaxes(tickmode="array", tickvals=t, ticktext=ticks, tickangle=-30 if T > 8 else 0)
    fig.update_yaxes(range=[-0.03, 1.03], tickvals=[0, 0.25, 0.5, 0.75, 1])
    fig.add_annotation(
        x=1,
        xref="paper",
        y=0.97,
        text="positive",
        showarrow=False,
        xanchor="right",
        font={"color": PALETTE[2]},
    )
    fig.add_annotation(
        x=1,
        xref="paper",
        y=0.03,
        text="negative",
        showarrow=False,
        xanchor="right",
        font={"color": PALETTE[1]},
    )
    return fig
