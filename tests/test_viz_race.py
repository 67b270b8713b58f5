"""Figure builders of the CNN vs RNN race page (rnn_core/viz/race.py), tested on the
figures' data."""

import numpy as np
import pandas as pd
import pytest

from rnn_core.tasks import TASKS
from rnn_core.viz import race


def _xy(trace):
    return np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)


def test_race_figure_draws_each_model_and_the_baseline_in_fixed_colours():
    curves = {
        "TCN": (np.array([0.5, 1.25, 2.0]), np.array([1.0, np.nan, 0.5])),
        "LSTM": (np.arange(1, 5), np.array([0.9, 0.8, 0.7, 0.6])),
    }
    colours = race.model_colours(["LSTM", "TCN"])
    fig = race.race_figure(curves, 0.75, x_title="seconds", title="t", colours=colours)
    names = [t.name for t in fig.data]
    assert names[:2] == ["TCN", "LSTM"] and names[2].startswith("trivial baseline")
    x, y = _xy(fig.data[0])
    np.testing.assert_array_equal(x, [0.5, 2.0])  # the NaN step is dropped, floats kept
    np.testing.assert_array_equal(y, [1.0, 0.5])
    assert fig.data[0].line.color == colours["TCN"] != fig.data[1].line.color
    bx, by = _xy(fig.data[2])
    np.testing.assert_array_equal(bx, [0.5, 4.0])
    np.testing.assert_array_equal(by, [0.75, 0.75])


def test_race_figure_smoothing_and_log_scale():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    fig = race.race_figure({"a": (np.arange(4), y)}, None, x_title="s", title="t", smooth=0.5)
    smoothed = _xy(fig.data[0])[1]
    assert smoothed[0] == 1.0 and 0 < smoothed[1] < 1  # a debiased moving average
    fig = race.race_figure({"a": (np.arange(4), y)}, 0.5, x_title="s", title="t", log_y=True)
    assert _xy(fig.data[0])[1].tolist() == [1.0, 1.0]  # zeros cannot be drawn on a log axis
    assert fig.layout.yaxis.type == "log"
    with pytest.raises(ValueError):
        race.race_figure({}, None, x_title="s", title="t", smooth=1.0)


@pytest.mark.parametrize(("field", "colour"), [(151, race.GOOD), (43, race.BAD)])
def test_receptive_field_figure_compares_the_field_with_the_need(field, colour):
    task = TASKS["copy_memory"]
    total, need = task.total_len(100), task.memory_span(100)
    fig = race.receptive_field_figure(total, field, need, task.scored_steps(100), title="rf")
    needed, sees = fig.data
    out = total - 1
    assert needed.base[0] == out - need + 1 == 9  # the first digit shown (step 0..9)
    assert needed.x[0] == need
    assert sees.base[0] == max(0, out - field + 1) and sees.marker.color == colour


def test_saliency_figure_plots_each_models_values_over_t():
    sal = {"TCN": np.array([0.0, 2.0, 3.0]), "LSTM": np.array([1e-3, 1e-4, 1e-5])}
    fig = race.saliency_figure(sal, scored_steps=slice(2, 3), title="s")
    tx, ty = _xy(fig.data[0])
    np.testing.assert_array_equal(tx, [1, 2])  # log scale: the exact zero is left out
    np.testing.assert_array_equal(ty, [2.0, 3.0])
    np.testing.assert_allclose(_xy(fig.data[1])[1], sal["LSTM"])
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
    assert len(fig.layout.shapes) == 1  # the scored steps
    every = race.saliency_figure(sal, scored_steps=slice(0, 3), title="s")
    assert len(every.layout.shapes) == 0  # no shading when every step is scored
    linear = race.saliency_figure(sal, scored_steps=None, title="s", log_y=False)
    assert _xy(linear.data[0])[1].tolist() == [0.0, 2.0, 3.0]


def test_attention_figure_animates_one_frame_per_snapshot():
    frames = [np.tri(5) / np.tri(5).sum(1, keepdims=True) for _ in range(3)]
    fig = race.attention_figure(frames, [0, 25, 50], stride=2, title="head")
    assert len(fig.frames) == 3
    assert fig.layout.yaxis.autorange == "reversed"  # query 0 on top, like a matrix
    assert "each cell: 2 steps" in fig.layout.title.text
    quantum = fig.layout.meta["quantum"]
    z = np.asarray(fig.data[0].z, dtype=float) * quantum + fig.layout.meta["offset"]
    np.testing.assert_allclose(z, frames[-1], atol=quantum / 2 + 1e-12)


def test_sweep_figure_draws_scores_and_marks_runs_that_could_not_train():
    results = pd.DataFrame(
        {
            "model": ["TCN", "TCN", "LSTM", "LSTM"],
            "seq_len": [25, 50, 25, 50],
            "status": ["ok", "ok", "ok", "skipped"],
            "reason": ["", "", "", "too costly"],
            "metric": [1.0, 0.9, 0.5, np.nan],
        }
    )
    fig = race.sweep_figure(
        results, y="metric", y_title="acc", reference=0.125, reference_name="chance", title="s"
    )
    by_name = {t.name: t for t in fig.data}
    np.testing.assert_array_equal(_xy(by_name["TCN"])[1], [1.0, 0.9])
    np.testing.assert_array_equal(_xy(by_name["LSTM"])[0], [25])
    failed = by_name["LSTM: not trained"]
    assert list(failed.x) == [50] and list(failed.text) == ["too costly"]
    assert list(by_name["chance"].y) == [0.125, 0.125]
    assert fig.layout.xaxis.type == "log"


def test_digit_readings_show_the_same_pixels_three_ways():
    image = np.arange(64, dtype=np.float32).reshape(8, 8) / 63
    fig = race.digit_readings_figure(image, 3)
    as_image, by_rows, by_pixels = (np.asarray(t.z, dtype=np.float32) for t in fig.data)
    np.testing.assert_array_equal(as_image, image)
    np.testing.assert_array_equal(by_rows[:, 2], image[2])  # time step 2 = row 2
    np.testing.assert_array_equal(by_pixels.reshape(-1), image.reshape(-1))
    assert "a 3" in fig.layout.annotations[0].text
