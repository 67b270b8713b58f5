"""Time series: skill scores, anomaly detection, held-out tiling, and the page.

Expected values are worked out by hand on small arrays, or measured on runs whose seeds
these tests choose (not the presets': tests/test_preset_claims.py has those)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_core import TASKS, RunConfig, Trainer, viz
from rnn_core.anomaly import detect, parse_percentile, precision_recall, rolling_mean
from rnn_core.held_out_series import record_detections, record_inputs, stitch, tile
from rnn_core.skill import forecast_skills, r_squared, skill
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SERIES_TASKS = ("co2", "stocks", "elnino", "ecg")


# ---------------------------------------------------------------- skill by hand


def test_skill_on_hand_made_arrays():
    # values 1 3 2 5, forecasts of 3 2 5: 2 3 4 -> errors 1 1 1 (MSE 1); persistence
    # 1 3 2 -> errors 2 1 3 (MSE 14/3): skill 1 - 3/14
    values, forecasts = np.array([1.0, 3, 2, 5]), np.array([2.0, 3, 4])
    out = forecast_skills([(values, forecasts)])
    assert out["persistence"] == pytest.approx(11 / 14)
    assert out["points"] == 3
    # R² against the mean of 3 2 5 (10/3): variance 14/9, so 1 - 9/14
    assert out["r2"] == pytest.approx(5 / 14)
    # season 2: points 2 and 5 only. Forecasts 3 4 (MSE 1); persistence 3 2 (MSE 5);
    # a season ago 1 3 (MSE 2.5)
    seasonal = forecast_skills([(values, forecasts)], season=2)
    assert seasonal["persistence"] == pytest.approx(0.8)
    assert seasonal["seasonal"] == pytest.approx(0.6)
    assert seasonal["points"] == 2


def test_skill_pools_series_and_handles_degenerate_cases():
    a = (np.array([0.0, 2.0]), np.array([1.0]))  # error 1, persistence error 2
    b = (np.array([5.0, 5.0, 9.0]), np.array([5.0, 7.0]))  # errors 0 2, persistence 0 4
    pooled = forecast_skills([a, b])
    assert pooled["persistence"] == pytest.approx(1 - (1 + 0 + 4) / (4 + 0 + 16))
    assert skill([1.0], [1.0], [1.0]) != skill([1.0], [1.0], [1.0])  # NaN: nothing to beat
    assert math.isnan(forecast_skills([(np.array([1.0]), np.array([]))])["persistence"])
    assert r_squared([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    with pytest.raises(ValueError, match="forecasts"):
        forecast_skills([(np.array([1.0, 2.0]), np.array([1.0, 2.0]))])


def test_the_sine_noise_caps_skill_at_about_09_as_its_description_says():
    """The best forecaster knows the clean wave and misses only the next step's noise;
    persistence misses the wave's step and both noises. Waves drawn as the task draws
    them (its own ranges), by numpy."""
    task = TASKS["sine"]
    rng = np.random.default_rng(0)
    n, k = 200_000, task.n_components
    freq = rng.uniform(*task.freq_range, (n, k))
    amp = rng.uniform(*task.amp_range, (n, k))
    phase = rng.uniform(0, 2 * np.pi, (n, k))
    t = rng.integers(0, 1000, (n, 1))
    now, after = ((amp * np.sin(2 * np.pi * freq * (t + d) + phase)).sum(1) for d in (0, 1))
    noise_now, noise_after = task.noise_std * rng.standard_normal((2, n))
    best = skill(after, after + noise_after, now + noise_now)
    assert best == pytest.approx(0.9, abs=0.01)
    assert "caps the skill at about 0.9" in task.description


# ---------------------------------------------------------------- anomaly by hand


def test_rolling_mean_uses_only_the_past():
    np.testing.assert_allclose(rolling_mean([4.0, 0, 2, 6], 2), [4, 2, 1, 4])
    np.testing.assert_allclose(rolling_mean([4.0, 0, 2, 6], 1), [4, 0, 2, 6])


def test_precision_and_recall_by_hand():
    flags = np.array([1, 1, 0, 0, 1], bool)
    labels = np.array([1, 0, 0, 1, 1], bool)
    assert precision_recall(flags, labels) == (2 / 3, 2 / 3)
    p, r = precision_recall(np.zeros(5, bool), labels)
    assert math.isnan(p) and r == 0.0


def test_detect_sets_each_threshold_on_normal_points_and_scores_the_watched_ones():
    # 11 values; forecast point i is value i + 1. Normal stretch: points 0-4, watched 5-9.
    values = np.array([0, 0, 1, 0, 1, 0, 0, 5, 0, 0, 0], dtype=float)
    labels = np.zeros(11, bool)
    labels[7] = True  # the spike
    forecasts = np.zeros(10)  # forecasts 0 everywhere: the error is the value squared
    found = detect(
        values, forecasts, labels, normal=slice(0, 5), watched=slice(5, 10), window=1, quantile=0.5
    )
    net = found["model"]
    # normal errors 0 1 0 1 0 -> median 0; watched errors 0 0 25 0 0 -> one flag, right
    assert net.threshold == 0.0
    assert np.flatnonzero(net.flags[5:]).tolist() == [1]  # point 6 is value 7
    assert (net.precision, net.recall) == (1.0, 1.0)
    # the value rule: |value - median of normal values (0)| is the same score here
    assert found["value"].threshold == 0.0 and found["value"].precision == 1.0
    with pytest.raises(ValueError, match="abnormal"):
        detect(
            values,
            forecasts,
            labels,
            normal=slice(4, 8),
            watched=slice(8, 10),
            window=1,
            quantile=0.5,
        )


@pytest.mark.parametrize(
    "typed, expected",
    [("99", 0.99), (" 99.5 % ", 0.995), ("50", 0.5), ("99.9", 0.999)],
)
def test_percentiles_are_read(typed, expected):
    assert parse_percentile(typed) == pytest.approx(expected)


@pytest.mark.parametrize(
    "typed, says",
    [
        ("", "empty"),
        ("x" * 10_000, "too long"),
        ("ninety", "not a number"),
        ("😀", "not a number"),
        ("100", "out of range"),
        ("nan", "out of range"),
        ("-5", "out of range"),
    ],
    ids=["empty", "10000-chars", "word", "emoji", "100", "nan", "negative"],
)
def test_bad_percentiles_get_a_clear_message(typed, says):
    with pytest.raises(ValueError, match=says):
        parse_percentile(typed)


# ---------------------------------------------------------------- held-out tiling


@pytest.mark.parametrize("name", SERIES_TASKS)
def test_tiles_cover_every_held_out_point_and_stitch_back(name):
    """A forecaster that knows the next value (the encoded targets) stitches back to the
    held-out series itself; persistence (the inputs) to the series shifted by one."""
    task = TASKS[name]
    seq_len = min(20, task.max_seq_len)
    tiles = tile(task, "test", seq_len)
    encoded = task.encode(tiles.windows)
    perfect = stitch(task, "test", tiles, encoded[:, 1:, None])
    lazy = stitch(task, "test", tiles, tiles.x)
    for (values, forecasts), (_, last), truth in zip(
        perfect, lazy, task.series_list("test"), strict=True
    ):
        np.testing.assert_allclose(values, truth)
        np.testing.assert_allclose(forecasts, truth[1:], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(last, truth[:-1], rtol=1e-5, atol=1e-5)
    assert forecast_skills(perfect)["persistence"] == pytest.approx(1.0, abs=1e-6)
    assert forecast_skills(lazy)["persistence"] == pytest.approx(0.0, abs=1e-4)


def test_the_ecg_record_keeps_its_abnormal_beat_out_of_training_and_thresholds():
    record = TASKS["ecg"].record()
    assert record.values.size == 1875  # every 4th of 7,500 samples
    abnormal = np.flatnonzero(record.abnormal)
    assert abnormal.size == 88 and abnormal.min() >= record.normal_end
    assert np.all(np.diff(abnormal) == 1)  # one stretch
    assert record.train_end == 1125 and record.normal_end == 1500


# ---------------------------------------------------------------- figures


def test_forecast_figure_draws_persistence_one_step_late():
    times = np.arange(30.0)
    values = np.sin(times / 3)
    fig = viz.forecast_figure(
        times, values, values[1:] + 0.1, season=12, unit="u", time_name="t", title="x"
    )
    by_name = {trace.name: trace for trace in fig.data}
    last = by_name["persistence (the last value)"]
    np.testing.assert_allclose(last.x, times[1:])
    np.testing.assert_allclose(last.y, values[:-1], rtol=1e-6)
    seasonal = by_name["seasonal persistence (a season ago)"]
    np.testing.assert_allclose(seasonal.x, times[12:])
    np.testing.assert_allclose(seasonal.y, values[:-12], rtol=1e-6)
    assert by_name["the net's forecast"].y.dtype == np.float32


def test_anomaly_figure_marks_flags_at_their_points_and_shades_the_labels():
    values = np.array([0, 0, 1, 0, 1, 0, 0, 5, 0, 0, 0], dtype=float)
    labels = np.zeros(11, bool)
    labels[6:9] = True
    found = detect(
        values,
        np.zeros(10),
        labels,
        normal=slice(0, 5),
        watched=slice(5, 10),
        window=1,
        quantile=0.5,
    )
    times = np.arange(11) / 10
    fig = viz.anomaly_figure(
        times, values, labels, found, watched_from=0.55, unit="mV", time_name="s", title="x"
    )
    flagged = next(t for t in fig.data if t.name == "flagged by the net's forecast error")
    expected = np.flatnonzero(found["model"].flags) + 1
    np.testing.assert_allclose(flagged.x, times[expected], rtol=1e-6)
    shaded = [shape for shape in fig.layout.shapes if shape.type == "rect"]
    assert shaded and {(round(r.x0, 3), round(r.x1, 3)) for r in shaded} == {(0.6, 0.8)}


# ---------------------------------------------------------------- behaviour


@pytest.fixture(scope="module", params=[("gru", 7), ("lstm", 11)], ids=["gru-7", "lstm-11"])
def ecg_run(request):
    model, seed = request.param
    trainer = Trainer(
        RunConfig(model=model, task="ecg", seq_len=150, batch_size=32, seed=seed),
        probe_every=10**9,
    )
    trainer.step(100)
    return trainer


def test_forecast_errors_beat_the_value_threshold_on_precision_and_recall(ecg_run):
    _, outputs = ecg_run.outputs(record_inputs(ecg_run.task))
    found = record_detections(ecg_run.task, outputs, window=30, quantile=0.99)
    net, value = found["model"], found["value"]
    assert net.precision > value.precision + 0.3
    assert net.recall > value.recall + 0.1
    held_out = ecg_run.history["test_metric"].dropna().iloc[-1]
    assert held_out > 0.5  # it forecasts normal beats far better than persistence


def test_a_stock_run_reports_a_skill_near_zero():
    trainer = Trainer(RunConfig(model="lstm", task="stocks", seq_len=20, seed=5), probe_every=10**9)
    trainer.step(150)
    tiles = tile(trainer.task, "test", 20)
    _, outputs = trainer.outputs(tiles.x)
    skills = forecast_skills(stitch(trainer.task, "test", tiles, outputs))
    assert abs(skills["persistence"]) < 0.1  # barely different from "tomorrow equals today"
    assert skills["r2"] > 0.9  # while R² looks excellent
    assert math.isfinite(trainer.history["test_metric"].dropna().iloc[-1])


# ---------------------------------------------------------------- the page


def _app(query: dict[str, str] | None = None, page: str = "series") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGES[page]).run()
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_explains_and_opens_a_preset_when_the_run_is_not_a_series():
    at = _app()
    assert not at.exception, at.exception
    assert "persistence" in at.markdown[0].value
    at.button(key="series.open.stocks").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run.state.config"].task == "stocks"


def _step_ten(at: AppTest) -> None:
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _metric(at, "Step") != "10" and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert _metric(at, "Step") == "10"


@pytest.fixture(scope="module")
def ecg_page():
    at = _app({"preset": "anomaly"})
    assert not at.exception, at.exception
    _step_ten(at)
    return at


def test_ecg_page_shows_forecast_skill_and_both_detectors(ecg_page):
    at = ecg_page
    assert not at.exception, at.exception
    assert float(_metric(at, "Skill vs persistence")) < 1.0
    for label in ("Net precision", "Net recall", "Value precision", "Value recall"):
        assert _metric(at, label) != ""
    keys = {c.proto.id for c in at.get("plotly_chart")}
    assert any("series.forecast" in k for k in keys) and any("series.anomaly" in k for k in keys)


@pytest.mark.parametrize(
    "typed",
    ["", "x" * 10_000, "abc", "🫀🫀", "100", "-1", "**9** <b>"],
    ids=["empty", "10000-chars", "letters", "emoji", "100", "negative", "markup"],
)
def test_bad_thresholds_get_a_message_not_a_traceback(ecg_page, typed):
    at = ecg_page
    at.text_input(key="series.percentile").set_value(typed).run()
    assert not at.exception, at.exception
    shown = [e.value.replace("\\", "") for e in at.error]  # markdown-escaped: inert
    assert any("type a number from 50 to 99.9" in text for text in shown), shown
    assert all("<b>" not in e.value and "**9**" not in e.value for e in at.error)
    at.text_input(key="series.percentile").set_value("95").run()
    assert not at.error


@pytest.mark.parametrize("task", ["co2", "stocks", "elnino"])
def test_forecast_tasks_show_their_skills(task):
    at = _app({"task": task, "model": "gru", "hidden_size": "8", "seq_len": "12"})
    assert not at.exception, at.exception
    _step_ten(at)
    assert _metric(at, "Skill vs persistence") != "–"
    if task == "elnino":
        assert _metric(at, "Skill vs last year") != "–"
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception, at.exception
    for page in ("hidden_states", "gradients", "inside_cell"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)


def test_the_other_run_pages_work_on_the_ecg():
    at = _app(
        {"task": "ecg", "model": "rnn_tanh", "hidden_size": "8", "seq_len": "30"}, "playground"
    )
    _step_ten(at)
    for page in ("hidden_states", "gradients", "inside_cell", "series"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
