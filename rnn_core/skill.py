"""Skill scores: a forecast's error against a naive forecast's, on the same points.

skill = 1 - MSE_forecast / MSE_reference. 1 is a perfect forecast, 0 no better than
the reference, below 0 worse. The reference here is persistence (the next value equals
the last one) and, for seasonal series, seasonal persistence (the value one season ago).
A smooth series makes persistence hard to beat, which R² (against the series' mean)
hides: repeating this week's Mauna Loa CO₂ value already scores R² 0.97
(tests/test_tasks.py measures it). Arrays in, numbers out; numpy only.
"""

from __future__ import annotations

import math

import numpy as np


def mse(predicted, actual) -> float:
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if predicted.shape != actual.shape:
        raise ValueError(f"shapes differ: {predicted.shape} and {actual.shape}")
    return float(np.mean((predicted - actual) ** 2)) if actual.size else math.nan


def skill(predicted, actual, reference) -> float:
    """1 - MSE(predicted) / MSE(reference), both against ``actual`` on the same points;
    NaN when there are no points or the reference is exact (nothing left to beat)."""
    ref = mse(reference, actual)
    if not math.isfinite(ref) or ref == 0.0:
        return math.nan
    return 1.0 - mse(predicted, actual) / ref


def r_squared(predicted, actual) -> float:
    """1 - MSE / variance of ``actual``: skill against the points' own mean."""
    actual = np.asarray(actual, dtype=np.float64)
    return skill(predicted, actual, np.full_like(actual, actual.mean()))


def forecast_skills(series, season: int | None = None) -> dict[str, float]:
    """Skill of one-step forecasts of one or more series against their naive forecasts.

    ``series`` is a list of pairs ``(values, forecasts)``: values (N,) a series and
    forecasts (N - 1,) the forecasts of ``values[1:]``, each made from the values up to
    the one before it. The points of every series are pooled, and every score is taken
    on the same points: those for which every reference exists (from index ``season``
    of each series on, when a season is given). Returns "persistence" (skill against the
    last value), "seasonal" (against the value ``season`` steps before the forecast one;
    only with ``season``), "r2" (R² of the pooled points) and "points" (how many).
    """
    first = 1 if season is None else int(season)  # the first point of a series scored
    if first < 1:
        raise ValueError(f"season must be at least 1, got {season}")
    actual, predicted, last, seasonal = [], [], [], []
    for values, forecasts in series:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        forecasts = np.asarray(forecasts, dtype=np.float64).reshape(-1)
        n = values.shape[0]
        if forecasts.shape[0] != n - 1:
            raise ValueError(f"{n} values need {n - 1} forecasts, got {forecasts.shape[0]}")
        if n <= first:
            continue
        actual.append(values[first:])
        predicted.append(forecasts[first - 1 :])
        last.append(values[first - 1 : -1])
        if season is not None:
            seasonal.append(values[: n - season])
    if not actual:
        nan = {"persistence": math.nan, "r2": math.nan, "points": 0}
        return nan if season is None else {**nan, "seasonal": math.nan}
    actual_all, predicted_all = np.concatenate(actual), np.concatenate(predicted)
    out = {
        "persistence": skill(predicted_all, actual_all, np.concatenate(last)),
        "r2": r_squared(predicted_all, actual_all),
        "points": int(actual_all.size),
    }
    if season is not None:
        out["seasonal"] = skill(predicted_all, actual_all, np.concatenate(seasonal))
    return out
