"""Speech figures: one utterance's frames with the speaker guessed after each frame, the
held-out confusion matrix, and accuracy against the number of frames heard.

Frames are numbered from 1 on every axis (frame 1 is the first one heard); the
functions take 0-based indices, as ``rnn_core.speech`` returns them.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.viz.look import DIVERGING, FONT_SIZE, PALETTE, SEQUENTIAL, style_figure

OTHER = "#9aa5b1"  # the speakers it is not: grey lines behind the one that matters


def utterance_figure(
    frames,
    probabilities,
    speaker: int,
    sure_from: int | None,
    *,
    names: list[str],
    title: str,
) -> go.Figure:
    """Top: the utterance's frames, (T, C) coefficients drawn coefficient by frame on a
    diverging scale. Below, on the same frame axis: the probability of every class after
    each frame, (T, K), the true one (``speaker``) in colour, the others grey; a dashed
    line at ``sure_from`` (0-based: from that frame on the guess stays right; None: it is
    wrong at the end). ``names``: the K class names."""
    frames = np.asarray(frames, dtype=np.float32)
    probabilities = np.asarray(probabilities, dtype=np.float32)
    T, n_coefficients = frames.shape
    if probabilities.shape[0] != T:
        raise ValueError(f"{T} frames but {probabilities.shape[0]} rows of probabilities")
    x = np.arange(1, T + 1, dtype=np.int32)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.45, 0.55],
        vertical_spacing=0.08,
    )
    bound = float(max(np.abs(frames).max(), 1e-6))
    coefficients = [f"c{k}" for k in range(1, n_coefficients + 1)]
    fig.add_trace(
        go.Heatmap(
            x=x,
            y=coefficients,
            z=frames.T,
            zmin=-bound,
            zmax=bound,
            colorscale=DIVERGING,
            name="frames",
            colorbar={"title": {"text": "value (sd)"}, "len": 0.42, "y": 1.0, "yanchor": "top"},
            hovertemplate="frame %{x}<br>%{y} = %{z:.2f} sd<extra></extra>",
        ),
        row=1,
        col=1,
    )
    order = [k for k in range(probabilities.shape[1]) if k != speaker] + [speaker]
    for k in order:  # the true speaker last, so drawn on top
        true = k == speaker
        fig.add_trace(
            go.Scatter(
                x=x,
                y=probabilities[:, k],
                mode="lines+markers" if true else "lines",
                name=f"{names[k]} (who spoke)" if true else "the other speakers",
                legendgroup="true" if true else "others",
                showlegend=true or k == order[0],
                line={"color": PALETTE[1] if true else OTHER, "width": 4 if true else 1.5},
                marker={"size": 8},
                hovertemplate=f"frame %{{x}}<br>{names[k]}: P = %{{y:.2f}}<extra></extra>",
            ),
            row=2,
            col=1,
        )
    if sure_from is not None:
        fig.add_vline(
            x=sure_from + 0.5,
            line={"color": "#000000", "dash": "dash", "width": 2},
            annotation={
                "text": f"sure from frame {sure_from + 1}",
                "font": {"size": FONT_SIZE - 2},
            },
            annotation_position="top right" if sure_from < T / 2 else "top left",
            row=2,
            col=1,
        )
    style_figure(
        fig,
        title,
        height=620,
        showlegend=True,
        legend={"orientation": "h", "y": -0.16, "yanchor": "top", "x": 0, "xanchor": "left"},
        bottom=110,
    )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=coefficients,
        tickmode="array",
        tickvals=coefficients,
        autorange="reversed",
        showgrid=False,
        title_text="coefficient",
        row=1,
        col=1,
    )
    fig.update_yaxes(range=[-0.03, 1.03], title_text="P(speaker)", row=2, col=1)
    fig.update_xaxes(title_text="frames heard", dtick=2 if T > 14 else 1, row=2, col=1)
    return fig


def confusion_figure(confusion, *, names: list[str], title: str) -> go.Figure:
    """A (K, K) confusion matrix: rows the true class, columns the predicted one, each cell
    coloured by its share of its row and labelled with its count."""
    counts = np.asarray(confusion, dtype=np.int64)
    totals = np.maximum(counts.sum(axis=1, keepdims=True), 1)
    share = np.rint(100 * counts / totals).astype(np.uint8)  # whole percent: 1 byte a cell
    fig = go.Figure(
        go.Heatmap(
            x=names,
            y=names,
            z=share,
            zmin=0,
            zmax=100,
            colorscale=SEQUENTIAL,
            text=counts.astype(np.int32),
            texttemplate="%{text}",
            textfont={"size": FONT_SIZE - 2},
            colorbar={"title": {"text": "% of row"}},
            hovertemplate="spoken by %{y}<br>named %{x}<br>%{text} utterances (%{z}% of row)"
            "<extra></extra>",
        )
    )
    style_figure(fig, title, "named by the model", "who spoke", height=520, width=620)
    # category axes: the names are digits, which plotly would otherwise place on a
    # numeric axis and label every other one
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False)
    fig.update_xaxes(type="category", showgrid=False)
    return fig


def accuracy_by_frames_figure(accuracy, *, chance: float, title: str) -> go.Figure:
    """Accuracy when every utterance is cut after k = 1..T frames, (T,), with the
    accuracy of always naming the most frequent class (``chance``) as a dashed line."""
    accuracy = np.asarray(accuracy, dtype=np.float32)
    k = np.arange(1, accuracy.size + 1, dtype=np.int32)
    fig = go.Figure(
        [
            go.Scatter(
                x=k,
                y=accuracy,
                mode="lines+markers",
                name="held-out accuracy",
                line={"color": PALETTE[0], "width": 3},
                hovertemplate="after %{x} frames: %{y:.1%}<extra></extra>",
            ),
            go.Scatter(
                x=k[[0, -1]],
                y=np.array([chance, chance], dtype=np.float32),
                mode="lines",
                name="always the most frequent speaker",
                line={"color": "#000000", "dash": "dash"},
                hoverinfo="skip",
            ),
        ]
    )
    style_figure(
        fig,
        title,
        "frames heard",
        "accuracy",
        height=420,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        top=110,
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    return fig
