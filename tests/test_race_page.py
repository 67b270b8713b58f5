"""AppTest for the CNN vs RNN page: defaults, presets, hostile URLs, controls, settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from rnn_core import RunConfig
from rnn_core.presets import RACE_PRESETS
from ui import race
from ui.run import PAGES
from ui.session import job_manager

SWEEP = "Memory-horizon sweep"

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


def _race_app(query: dict[str, str] | None = None) -> AppTest:
    """The race page as a link opens it: the first run sees only the link's parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # AppTest needs one run of app.py (st.navigation) before a page switch
    for key in list(at.query_params):
        del at.query_params[key]  # AppTest keeps the last page's URL; a link would not
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(race.PAGE).run()
    return at


@pytest.fixture(autouse=True)
def _stop_jobs():
    """The JobManager is process-wide: each test starts and ends with no jobs, and no
    worker thread still inside a torch op (one alive at interpreter exit aborts it)."""
    job_manager().shutdown()
    yield
    job_manager().shutdown()


def _racers() -> dict:
    """model -> job of the race on screen (the only one: the fixture stops the rest)."""
    return {j.trainer.config.model: j for j in job_manager().jobs() if j.label != SWEEP}


def test_page_runs_with_the_default_race():
    at = _race_app()
    assert not at.exception, at.exception
    assert at.session_state["race.state.config"] == race.DEFAULT.config
    assert at.session_state["race.state.models"] == race.DEFAULT.models
    assert at.query_params["models"] == "tcn,lstm,gru"  # the race lives in the URL
    assert at.query_params["param_budget"] == "10000"
    assert "model" not in at.query_params
    table = at.dataframe[0].value
    assert list(table["model"]) == ["TCN", "LSTM", "GRU"]
    for count in table["parameters"]:
        assert abs(int(count.replace(",", "")) - 10_000) <= 1_000
    keys = {b.key for b in at.button}
    assert {"train_toggle", "train_step", "train_reset", "sweep.run"} <= keys
    assert {f"race.preset.{name}" for name in RACE_PRESETS} <= keys
    charts = {c.proto.id for c in at.get("plotly_chart")}
    assert len(charts) >= 4  # loss by step and by time, receptive field, digit readings


@pytest.mark.parametrize("name", list(RACE_PRESETS))
def test_every_race_preset_link_opens_its_race(name):
    preset = RACE_PRESETS[name]
    at = _race_app({"preset": name})
    assert not at.exception, at.exception
    assert at.session_state["race.state.config"] == preset.config
    assert at.session_state["race.state.models"] == preset.models
    assert at.query_params["models"] == ",".join(preset.models)


def test_hostile_race_parameters_give_one_warning_and_a_valid_race():
    hostile = {
        "models": "tcn,<script>x</script>,lstm,lstm,cnn2d",
        "param_budget": "999999",
        "seq_len": "abc",
        "tcn_kernel": "99",
        "seed": "7",
        "attn_heads": "-1",
    }
    at = _race_app(hostile)
    assert not at.exception, at.exception
    assert len(at.warning) == 1
    raw = at.warning[0].value
    assert "\\<script\\>" in raw  # markdown-escaped: shown as text, never as markup
    text = raw.replace("\\", "")
    for name in ("param_budget", "seq_len", "tcn_kernel", "attn_heads", "cnn2d"):
        assert name in text
    cfg = at.session_state["race.state.config"]
    assert cfg == race.DEFAULT.config.replace(seed=7)  # the good field is kept
    assert at.session_state["race.state.models"] == ("tcn", "lstm")  # deduplicated
    assert at.query_params["models"] == "tcn,lstm"


@pytest.mark.parametrize(
    "query",
    [
        {"models": "tcn"},
        {"models": ""},
        {"models": "x" * 5000},
        {"task": "char_lm"},
        {"preset": "nope", "models": "gru,lstm"},
        {"param_budget": "none"},
        {"param_budget": "none", "batch_size": "256", "seq_len": "2000", "hidden_size": "1"},
    ],
)
def test_races_that_cannot_run_fall_back_with_a_message(query):
    at = _race_app(query)
    assert not at.exception, at.exception
    assert len(at.warning) == 1
    cfg = at.session_state["race.state.config"]
    assert cfg.param_budget is not None  # a race is always at equal size
    models = at.session_state["race.state.models"]
    assert race.MIN_MODELS <= len(models) <= race.MAX_MODELS
    assert at.session_state["race.state.config"].task in race.RACE_TASKS


def test_step_trains_every_racer_ten_steps_on_the_same_data():
    at = _race_app({"preset": "race_adding", "seq_len": "20"})
    at.button(key="train_step").click().run()
    jobs = _racers()
    assert set(jobs) == {"tcn", "lstm", "gru", "rnn_tanh"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(j.steps_done < 10 for j in jobs.values()):
        time.sleep(0.1)
    assert all(j.steps_done == 10 for j in jobs.values())
    at.run()
    table = at.dataframe[0].value
    assert list(table["steps"]) == [10, 10, 10, 10]
    # Same seed, same data stream: every racer's probe batch is the same sequences.
    probes = [j.trainer.snapshots[0].inputs for j in jobs.values()]
    assert all((p == probes[0]).all() for p in probes)


def test_changing_the_models_resets_the_race_and_the_url():
    at = _race_app()
    at.multiselect(key="race.models").set_value(["transformer", "lstm"]).run()
    assert not at.exception, at.exception
    assert at.session_state["race.state.models"] == ("transformer", "lstm")
    assert at.query_params["models"] == "transformer,lstm"
    assert list(at.dataframe[0].value["model"]) == ["Transformer", "LSTM"]


def test_a_single_model_is_not_applied():
    at = _race_app()
    at.multiselect(key="race.models").set_value(["tcn"]).run()
    assert not at.exception
    assert at.session_state["race.state.models"] == race.DEFAULT.models  # unchanged
    assert any("at least" in w.value for w in at.warning)


def test_a_short_receptive_field_is_warned_about():
    at = _race_app({"tcn_levels": "2"})
    assert not at.exception
    assert any("receptive field" in w.value and "shorter" in w.value for w in at.warning)
    at2 = _race_app()
    assert not any("shorter" in w.value for w in at2.warning)


def test_the_digits_race_offers_the_cnn_and_other_tasks_do_not():
    at = _race_app({"preset": "race_digits"})
    assert (
        "cnn2d" in at.multiselect(key="race.models").options
        or "2-D CNN (image)" in at.multiselect(key="race.models").options
    )
    at.selectbox(key="race.task").set_value("copy_memory").run()
    assert not at.exception, at.exception
    assert "cnn2d" not in at.session_state["race.state.models"]
    cfg = at.session_state["race.state.config"]
    assert cfg.task == "copy_memory" and cfg.seq_len >= 1


def test_sweep_button_runs_the_sweep_as_a_background_job():
    at = _race_app({"preset": "race_adding", "seq_len": "20"})
    at.button(key="sweep.run").click().run()
    assert not at.exception, at.exception
    sweeps = [j for j in job_manager().jobs() if j.label == SWEEP]
    assert len(sweeps) == 1 and sweeps[0].state in ("running", "queued")
    assert any(b.key == "sweep.pause" for b in at.button)
    at.button(key="sweep.pause").click().run()
    assert sweeps[0].state == "paused"
    assert any(b.key == "sweep.run" for b in at.button)  # now "Resume the sweep"


def test_race_url_round_trips():
    cfg = RunConfig(task="adding", seq_len=30, param_budget=5_000, seed=3, tcn_levels=4)
    query = race.to_query(cfg, ("tcn", "gru"))
    parsed, models, problems = race.parse_query(query)
    assert (parsed, models, problems) == (cfg, ("tcn", "gru"), [])


@pytest.mark.parametrize("task", race.RACE_TASKS)
def test_a_task_alone_in_the_link_gets_a_length_it_accepts(task):
    cfg, models, problems = race.parse_query({"task": task})
    assert problems == [] and cfg.task == task
    cfg, _, problems = race.parse_query({"task": task, "seq_len": "99999"})
    assert cfg.task == task and any("seq_len" in p for p in problems)


HOSTILE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "none",
            "nan",
            "-1",
            "0",
            "99999999",
            "1e400",
            "tcn,lstm",
            "cnn2d,tcn",
            "digits_rows",
            "transformer,transformer",
            "<script>",
            "",
            " 8 ",
            "gru,lstm,tcn,transformer,rnn_tanh,rnn_relu",
        ]
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    query=st.dictionaries(
        st.sampled_from([*RunConfig().to_query(), "models", "preset", "x"]), HOSTILE, max_size=7
    )
)
def test_any_race_link_gives_a_race_that_can_be_built(query):
    cfg, models, problems = race.parse_query(query)
    assert isinstance(cfg, RunConfig) and cfg.param_budget is not None
    assert cfg.task in race.RACE_TASKS
    assert race.MIN_MODELS <= len(models) <= race.MAX_MODELS
    assert len(set(models)) == len(models)
    assert all(m in race.model_choices(cfg.task) for m in models)
    assert race.parse_query(race.to_query(cfg, models))[:2] == (cfg, models)


def test_the_form_shows_the_race_again_after_another_page():
    # Streamlit clears the state of widgets a finished page run did not draw (here: the
    # Welcome page's run); back on this page the form must show the race on screen, not
    # empty widgets that would read as the visitor clearing them.
    at = _race_app({"preset": "race_adding"})
    models = list(at.multiselect(key="race.models").value)
    assert len(models) >= 2
    at.switch_page(PAGES["welcome"]).run()
    at.switch_page(race.PAGE).run()
    assert not at.exception
    assert list(at.multiselect(key="race.models").value) == models
    assert at.number_input(key="race.seq_len").value == 50
    assert not [w for w in at.warning if "Pick at least" in w.value]


def test_the_sidebar_shows_the_run_again_after_the_race_page():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["hidden_size"] = "24"
    at.run()
    at.switch_page(race.PAGE).run()  # no run sidebar there
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception
    assert at.number_input(key="cfg.hidden_size").value == 24
    assert at.session_state["run.state.config"].hidden_size == 24
