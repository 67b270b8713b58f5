"""One probe sequence: its inputs, targets and the network's outputs, step by step.

Regression tasks draw target and prediction as lines; classification tasks draw the
output probabilities as a heatmap with the targets marked on it. Inputs are shown as
symbols when they are one-hot, as grey cells otherwise (pixels).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.viz.look import FONT_SIZE, INK, PALETTE, SEQUENTIAL, style_figure


def _symbol_labels(alphabet, n: int) -> list[str]:
    """Visible, unique labels for symbols (newline, space and tab get glyphs)."""
    glyphs = {"\n": "↵", " ": "␣", "\t": "⇥"}
    raw = list(alphabet) if alphabet is not None else [str(i) for i in range(n)]
    labels = [glyphs.get(s, s if s.isprintable() else repr(s)) for s in raw[:n]]
    labels += [str(i) for i in range(len(labels), n)]
    return [lab if labels.count(lab) == 1 else f"{lab} ({i})" for i, lab in enumerate(labels)]


def _scored_index(scored_steps, T: int) -> np.ndarray:
    if isinstance(scored_steps, slice):
        return np.arange(T)[scored_steps]
    return np.asarray(scored_steps, dtype=np.int64).reshape(-1)


def sequence_figure(
    inputs,
    targets,
    outputs,
    *,
    target_type: str,
    scored_steps,
    alphabet=None,
    class_names=None,
    title: str = "One probe sequence",
) -> go.Figure:
    """Inputs, targets and the net's outputs for one sequence.

    inputs (T, I), outputs (T, O). ``target_type`` is the task's: "regression", targets
    (T, 1), or (1,) for a single scored step (adding); or "classification", targets (T,)
    symbol indices, or one label (shape (1,) or ()) for a single scored step (digits),
    and outputs logits.
    ``scored_steps``: the task's slice (``task.scored_steps(seq_len)``) or indices.
    One-hot inputs are shown as their symbols (zero vectors, padding after a sequence's
    end, as blanks); other inputs (pixels) as a grey heatmap, one column per step,
    channel 0 at the top. ``class_names`` names the output classes when they are not the
    input symbols (the task's ``class_names``).
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    outputs = np.asarray(outputs, dtype=np.float32)
    T = inputs.shape[0]
    t = np.arange(T)
    scored = _scored_index(scored_steps, T)
    if target_type == "regression":
        return _regression_sequence(
            inputs, np.asarray(targets, dtype=np.float32), outputs, t, scored, title
        )
    if target_type == "classification":
        return _classification_sequence(
            inputs,
            np.asarray(targets).reshape(-1),
            outputs,
            t,
            scored,
            alphabet,
            title,
            class_names,
        )
    raise ValueError(f"target_type must be 'regression' or 'classification', got {target_type!r}")


def _regression_sequence(inputs, targets, outputs, t, scored, title) -> go.Figure:
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("input", "target and prediction"),
    )
    channels = inputs.shape[1]
    for c in range(channels):
        name = "input" if channels == 1 else f"input channel {c}"
        fig.add_trace(
            go.Scatter(
                x=t,
                y=inputs[:, c],
                mode="lines",
                name=name,
                line={"color": PALETTE[(c + 2) % len(PALETTE)]},
            ),
            row=1,
            col=1,
        )
    target = targets.reshape(-1)
    # (T, 1) targets cover every step; fewer values belong to the scored steps only
    target = target[scored] if target.size == t.size else target[: scored.size]
    prediction = outputs[:, 0]
    mode = "lines+markers" if scored.size <= 50 else "lines"
    if scored.size < t.size:
        fig.add_trace(
            go.Scatter(
                x=t,
                y=prediction,
                mode="lines",
                name="output (not scored)",
                line={"color": PALETTE[0], "dash": "dot", "width": 1},
            ),
            row=2,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=target,
            mode=mode,
            name="target",
            line={"color": "#000000"},
            marker={"size": 10},
        ),
        row=2,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=prediction[scored],
            mode=mode,
            name="prediction",
            line={"color": PALETTE[1]},
            marker={"size": 10, "symbol": "diamond"},
        ),
        row=2,
        col=1,
    )
    style_figure(fig, title, height=560)
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    fig.update_yaxes(title_text="input", row=1, col=1)
    fig.update_yaxes(title_text="value", row=2, col=1)
    return fig


def _is_one_hot(inputs: np.ndarray) -> bool:
    """Every step is one symbol or none (a zero vector: padding after a sequence's end):
    values 0 or 1, at most one 1 a step, at least one symbol, several channels."""
    if inputs.ndim != 2 or inputs.shape[1] <= 1 or not np.isin(inputs, (0, 1)).all():
        return False
    per_step = inputs.sum(axis=1)
    return bool((per_step <= 1).all() and (per_step == 1).any())


def _classification_sequence(inputs, targets, outputs, t, scored, alphabet, title, class_names):
    n_symbols = outputs.shape[1]
    n_inputs = inputs.shape[1]
    symbols = _is_one_hot(inputs)
    labels = _symbol_labels(alphabet, max(n_symbols, n_inputs if symbols else 0))
    input_labels = labels
    if class_names is not None:
        labels = _symbol_labels(class_names, n_symbols)
    logits = outputs.astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # whole percent in uint8: 1 byte a cell and an exact hover value
    percent = np.rint(100 * p.T).astype(np.uint8)  # (O, T)
    shown = []
    if symbols:
        present = inputs.sum(axis=1) > 0  # zero vectors: padding, drawn blank
        shown = [
            input_labels[i] if real else ""
            for i, real in zip(inputs.argmax(axis=1), present, strict=True)
        ]
    # Words (symbols of several characters) overlap at one step's width: they go on three
    # staggered lines, in a smaller font, step t on line t mod 3 from the top.
    staggered = max((len(w) for w in shown), default=0) > 2
    # pixel inputs get a taller top row: 0.09 of the plot for one channel, 0.3 for eight
    top_share = (0.2 if staggered else 0.1) if symbols else min(0.35, 0.06 + 0.03 * n_inputs)
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[top_share, 1 - top_share],
        vertical_spacing=0.04,
    )
    if symbols:
        fig.add_trace(
            go.Scatter(
                x=t,
                y=(2 - t % 3) if staggered else ["input"] * t.size,
                mode="text",
                text=shown,
                name="input",
                showlegend=False,
                textfont={"size": FONT_SIZE - 3 if staggered else FONT_SIZE},
                hovertemplate="t = %{x}<br>input %{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    else:
        _input_heatmap(fig, inputs, t)
    fig.add_trace(
        go.Heatmap(
            x=t,
            y=labels[:n_symbols],
            z=percent,
            zmin=0,
            zmax=100,
            colorscale=SEQUENTIAL,
            name="P(symbol)",
            colorbar={"title": {"text": "P (%)"}, "len": 0.85, "y": 0.42},
            hovertemplate="t = %{x}<br>symbol %{y}<br>P = %{z}%<extra></extra>",
        ),
        row=2,
        col=1,
    )
    target = targets[scored] if targets.size == t.size else targets[: scored.size]
    fig.add_trace(
        go.Scatter(
            x=scored,
            y=[labels[int(i)] for i in target],
            mode="markers",
            name="target",
            marker={"symbol": "circle-open", "size": 14, "color": PALETTE[1], "line": {"width": 3}},
            hovertemplate="t = %{x}<br>target %{y}<extra></extra>",
        ),
        row=2,
        col=1,
    )
    extra = 0 if symbols else 12 * n_inputs
    # showlegend: plotly hides a legend of one entry when the other traces are heatmaps
    style_figure(
        fig,
        title,
        height=int(np.clip(200 + 16 * n_symbols, 420, 900)) + extra,
        showlegend=True,
        legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        top=110,
    )
    fig.update_yaxes(showgrid=False, row=1, col=1)
    if staggered:
        fig.update_yaxes(
            range=[-0.6, 2.6], tickvals=[1], ticktext=["input"], zeroline=False, row=1, col=1
        )
    fig.update_yaxes(
        title_text="output symbol",
        categoryorder="array",
        categoryarray=labels[:n_symbols],
        row=2,
        col=1,
    )
    fig.update_xaxes(title_text="time step t", row=2, col=1)
    return fig


def _input_heatmap(fig: go.Figure, inputs: np.ndarray, t: np.ndarray) -> None:
    """Real-valued inputs (T, I) as grey cells, dark = high (ink), channel 0 on top."""
    lo, hi = float(inputs.min()), float(inputs.max())
    if not hi > lo:
        hi = lo + 1.0
    n_inputs = inputs.shape[1]
    channels = ["input"] if n_inputs == 1 else [f"input {c}" for c in range(n_inputs)]
    fig.add_trace(
        go.Heatmap(
            x=t,
            y=channels,
            z=inputs.T,
            zmin=lo,
            zmax=hi,
            colorscale=INK,
            showscale=False,
            name="input",
            hovertemplate="t = %{x}<br>%{y}<br>value %{z:.3g}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(
        categoryorder="array", categoryarray=channels, autorange="reversed", row=1, col=1
    )
