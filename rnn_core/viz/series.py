"""Time series: a forecast against the naive forecasts, and anomaly flags against labels.

``forecast_figure`` draws a held-out series, the net's one-step forecast and the naive
forecasts it is scored against (persistence; seasonal persistence for seasonal series),
so a visitor sees how little room persistence leaves. ``anomaly_figure`` draws a series
with its labelled abnormal stretches shaded and the points each detector flags, over the
detectors' smoothed scores divided by their thresholds (a point is flagged above 1).
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rnn_core.viz.look import FONT_SIZE, PALETTE, style_figure

ACTUAL = "#000000"
NET, PERSISTENCE, SEASONAL = PALETTE[0], PALETTE[1], PALETTE[2]
DETECTOR_LOOK = {  # name -> (label, colour, marker symbol)
    "model": ("flagged by the net's forecast error", PALETTE[1], "circle"),
    "value": ("flagged by the value threshold", PALETTE[3], "x"),
}
ABNORMAL_FILL = "rgba(213, 94, 0, 0.15)"


def _f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def forecast_figure(
    times,
    values,
    forecasts,
    *,
    season: int | None = None,
    unit: str,
    time_name: str,
    title: str,
) -> go.Figure:
    """``values`` (N,) a series at ``times`` (N,), ``forecasts`` (N - 1,) the net's
    forecasts of ``values[1:]``. Persistence forecasts value i by value i - 1; seasonal
    persistence (with ``season``) by value i - season."""
    times, values, forecasts = _f32(times), _f32(values), _f32(forecasts)
    fig = go.Figure()
    fig.add_scatter(x=times, y=values, name="actual", line={"color": ACTUAL, "width": 2})
    fig.add_scatter(
        x=times[1:],
        y=values[:-1],
        name="persistence (the last value)",
        line={"color": PERSISTENCE, "width": 2, "dash": "dash"},
    )
    if season is not None and values.size > season:
        fig.add_scatter(
            x=times[season:],
            y=values[:-season],
            name="seasonal persistence (a season ago)",
            line={"color": SEASONAL, "width": 2, "dash": "dot"},
        )
    fig.add_scatter(
        x=times[1:], y=forecasts, name="the net's forecast", line={"color": NET, "width": 2}
    )
    fig.update_xaxes(tickformat=".2~f")  # decimal years without a thousands separator
    return style_figure(
        fig,
        title,
        time_name,
        unit,
        height=420,
        legend={"orientation": "h", "y": -0.22, "x": 0, "font": {"size": FONT_SIZE - 2}},
        bottom=110,
    )


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of every run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def anomaly_figure(
    times,
    values,
    abnormal,
    detections: dict,
    *,
    shown_from: int = 0,
    watched_from: float,
    unit: str,
    time_name: str,
    title: str,
) -> go.Figure:
    """``values`` (N,) at ``times`` (N,), ``abnormal`` (N,) bool labels; ``detections``
    maps a detector's name ("model", "value") to its ``rnn_core.anomaly.Detection``,
    whose scores and flags are of the points ``values[1:]``. ``watched_from``: the time
    from which flags are counted (drawn as a line; flags before it are on normal data).
    ``shown_from``: the first point drawn (the points a net trained on say nothing)."""
    times, values = _f32(times), _f32(values)
    abnormal = np.asarray(abnormal, dtype=bool)
    keep = np.arange(values.size) >= shown_from  # (N,)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.58, 0.42], vertical_spacing=0.06
    )
    fig.add_scatter(
        x=times[keep],
        y=values[keep],
        name="series",
        line={"color": ACTUAL, "width": 1.5},
        row=1,
        col=1,
    )
    for name, detection in detections.items():
        label, colour, symbol = DETECTOR_LOOK[name]
        flagged = np.flatnonzero(detection.flags) + 1  # score i is the point values[i + 1]
        flagged = flagged[flagged >= shown_from]
        fig.add_scatter(
            x=times[flagged],
            y=values[flagged],
            mode="markers",
            name=label,
            marker={"color": colour, "symbol": symbol, "size": 8},
            row=1,
            col=1,
        )
        ratio = np.asarray(detection.score) / max(detection.threshold, 1e-12)
        fig.add_scatter(
            x=times[1:][keep[1:]],
            y=_f32(ratio[keep[1:]]),
            name=f"{name} score / threshold",
            line={"color": colour, "width": 1.5},
            showlegend=False,
            row=2,
            col=1,
        )
    fig.add_hline(y=1.0, line={"color": "#555", "dash": "dash", "width": 1}, row=2, col=1)
    for first, last in _stretches(abnormal & keep):
        fig.add_vrect(
            x0=float(times[first]),
            x1=float(times[last]),
            fillcolor=ABNORMAL_FILL,
            line_width=0,
            row="all",
            col=1,
        )
    fig.add_vline(x=float(watched_from), line={"color": "#555", "dash": "dot", "width": 1})
    fig.update_yaxes(title_text=unit, row=1, col=1)
    fig.update_yaxes(title_text="score / threshold", type="log", dtick=1, row=2, col=1)
    fig.update_xaxes(title_text=time_name, tickformat=".2~f", row=2, col=1)
    return style_figure(
        fig,
        title,
        height=600,
        legend={"orientation": "h", "y": -0.16, "x": 0, "font": {"size": FONT_SIZE - 2}},
        bottom=110,
    )
