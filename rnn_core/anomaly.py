"""Anomaly detection by forecast error, beside a threshold on the value itself.

A net trained to forecast the next value of a normal series forecasts normal stretches
well and abnormal ones badly, so its error says where the series stops looking normal.
Both detectors score every point, smooth the score over the last ``window`` points (a
single sharp error is one bad sample; an abnormal heartbeat is a stretch), and flag the
points whose smoothed score passes a threshold: the ``quantile`` of the scores over a
NORMAL stretch the net never trained on, so that about (1 - quantile) of normal points
are flagged by construction, whichever detector. The baseline scores a point by how far
its value lies from the normal stretch's median. Flags are then counted against the
labels on the watched stretch: precision (how many flags are right) and recall (how many
abnormal points are flagged). Arrays in, numbers out; numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DETECTORS = ("model", "value")  # the net's forecast error; the distance of the value


def rolling_mean(values, window: int) -> np.ndarray:
    """The mean of the last ``window`` values at every point (fewer at the start), so a
    point's score uses nothing after it."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    sums = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, values.size + 1)
    starts = np.maximum(0, ends - window)
    return (sums[ends] - sums[starts]) / (ends - starts)


def precision_recall(flags, labels) -> tuple[float, float]:
    """(precision, recall) of boolean ``flags`` against boolean ``labels``: precision
    is NaN when nothing is flagged, recall NaN when nothing is abnormal."""
    flags = np.asarray(flags, dtype=bool)
    labels = np.asarray(labels, dtype=bool)
    hits = int(np.sum(flags & labels))
    precision = hits / int(flags.sum()) if flags.any() else math.nan
    recall = hits / int(labels.sum()) if labels.any() else math.nan
    return precision, recall


@dataclass(frozen=True)
class Detection:
    """One detector on one series: its smoothed score and flags at every forecast
    point, its threshold, and its precision and recall on the watched stretch."""

    score: np.ndarray  # (N - 1,) float64, the point values[i + 1]
    threshold: float
    flags: np.ndarray  # (N - 1,) bool
    precision: float
    recall: float


def detect(
    values,
    forecasts,
    labels,
    *,
    normal: slice,
    watched: slice,
    window: int,
    quantile: float,
) -> dict[str, Detection]:
    """Both detectors on one series: {"model": ..., "value": ...}.

    ``values`` (N,) the series, ``forecasts`` (N - 1,) the net's forecasts of
    ``values[1:]``, ``labels`` (N,) bool, True where a point is abnormal. ``normal`` and
    ``watched`` are slices of the forecast points (index i is ``values[i + 1]``): the
    normal stretch that sets each threshold and the stretch that is scored. ``quantile``
    in (0, 1).
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    forecasts = np.asarray(forecasts, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    if forecasts.size != values.size - 1 or labels.size != values.size:
        raise ValueError("need N values, N - 1 forecasts and N labels")
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile}")
    actual, truth = values[1:], labels[1:]
    if truth[normal].any():
        raise ValueError("the normal stretch has abnormal points")
    raw = {
        "model": (forecasts - actual) ** 2,
        "value": np.abs(actual - np.median(actual[normal])),
    }
    out = {}
    for name, score in raw.items():
        smooth = rolling_mean(score, window)
        threshold = float(np.quantile(smooth[normal], quantile))
        flags = smooth > threshold
        precision, recall = precision_recall(flags[watched], truth[watched])
        out[name] = Detection(smooth, threshold, flags, precision, recall)
    return out


PERCENTILE_RANGE = (50.0, 99.9)  # of the normal stretch's scores; 99.9 of ~370 is its max


def parse_percentile(text: str) -> float:
    """A threshold percentile typed by a visitor ("99", "99.5%") as a quantile in (0, 1);
    ValueError with a message fit for the page for anything else."""
    low, high = PERCENTILE_RANGE
    wanted = f"a number from {low:g} to {high:g} (a percentile, such as 99)"
    raw = str(text)
    if len(raw) > 20:
        raise ValueError(f"That is too long for a percentile: type {wanted}.")
    cleaned = raw.strip().removesuffix("%").strip()
    if not cleaned:
        raise ValueError(f"The threshold is empty: type {wanted}.")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{raw.strip()!r} is not a number: type {wanted}.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{cleaned} is out of range: type {wanted}.")
    return value / 100.0
