"""The net's forecast over a whole held-out series, for the Time series page.

A run trains on windows of ``seq_len`` steps; its held-out series are longer. ``tile``
cuts each series of a split into consecutive windows of that length (the last one
shifted back to end with the series), encoded as the task's batches are, so a page can
send them to the run in one question (``job.ask("outputs", x=tiles.x)``). ``stitch``
puts the answers back together, in the series' own units: for every series, its values
and the forecast of each value after the first (where two windows overlap, the earlier
window's, which has seen more of the series). For a task with a labelled record (the
ECG), ``record_inputs`` is the whole record as one sequence and ``record_detections``
runs both anomaly detectors on the run's answer. Arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_core.anomaly import Detection, detect


@dataclass(frozen=True)
class Tiles:
    x: np.ndarray  # (B, T, 1) float32: the model's inputs
    windows: np.ndarray  # (B, T + 1) float64: the same windows in the series' units
    series: np.ndarray  # (B,) int: which series of the split
    start: np.ndarray  # (B,) int: the position of each window's first value in it


def tile(task, split: str, seq_len: int) -> Tiles:
    """Every series of a ``SeriesTask``'s split cut into windows of ``seq_len + 1``."""
    task.check_seq_len(seq_len)
    windows, series, starts = [], [], []
    for k, values in enumerate(task.series_list(split)):
        last = len(values) - seq_len - 1
        if last < 0:
            continue  # shorter than one window (the task's max_seq_len prevents it)
        positions = list(range(0, last + 1, seq_len))
        if positions[-1] != last:
            positions.append(last)
        for s in positions:
            windows.append(values[s : s + seq_len + 1])
            series.append(k)
            starts.append(s)
    stacked = np.stack(windows).astype(np.float64)
    x = task.encode(stacked)[:, :-1, None].astype(np.float32)
    return Tiles(x, stacked, np.array(series), np.array(starts))


def stitch(
    task, split: str, tiles: Tiles, outputs: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(values (N,), forecasts (N - 1,)), ...] for every series of the split, from the
    run's ``outputs`` (B, T, 1) on ``tiles.x``; forecasts in the series' units."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.shape != tiles.x.shape:
        raise ValueError(f"outputs must have shape {tiles.x.shape}, got {outputs.shape}")
    forecasts = task.decode(outputs[..., 0], tiles.windows)  # (B, T)
    result = []
    for k, values in enumerate(task.series_list(split)):
        stitched = np.full(len(values) - 1, np.nan)
        # later windows first, so an earlier window's forecast wins where they overlap
        for row in np.flatnonzero(tiles.series == k)[::-1]:
            s = tiles.start[row]
            stitched[s : s + forecasts.shape[1]] = forecasts[row]
        result.append((values, stitched))
    return result


def record_inputs(task) -> np.ndarray:
    """(1, N - 1, 1) float32: the whole labelled record as one input sequence (its
    encoding is fixed, not per window, so one long sequence means what windows did)."""
    values = task.record().values
    return task.encode(values)[None, :-1, None].astype(np.float32)


def record_forecasts(task, outputs: np.ndarray) -> np.ndarray:
    """(N - 1,) the run's forecasts of the record's values after the first, in its units,
    from its ``outputs`` (1, N - 1, 1) on ``record_inputs``."""
    record = task.record()
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.shape != (1, record.values.size - 1, 1):
        raise ValueError(f"outputs must have shape (1, {record.values.size - 1}, 1)")
    return task.decode(outputs[0, :, 0], record.values)


def record_detections(
    task, outputs: np.ndarray, *, window: int, quantile: float
) -> dict[str, Detection]:
    """Both detectors on the labelled record: thresholds from its normal held-out
    stretch, precision and recall on the stretch after it (``rnn_core.anomaly``)."""
    record = task.record()
    n = record.values.size
    # forecast point i is the value i + 1
    return detect(
        record.values,
        record_forecasts(task, outputs),
        record.abnormal,
        normal=slice(record.train_end - 1, record.normal_end - 1),
        watched=slice(record.normal_end - 1, n - 1),
        window=window,
        quantile=quantile,
    )
