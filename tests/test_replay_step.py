"""Replay at a training step (ui/replay_step.py): a paused run's pages show the snapshot
and the history of the step the slider picks; a training run has no slider."""

from __future__ import annotations

import gc
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ui import race
from ui.run import PAGES
from ui.session import job_manager

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
SMALL = {"model": "gru", "hidden_size": "8", "seq_len": "12", "batch_size": "16"}


@pytest.fixture(autouse=True)
def _stop_jobs():
    """Each test starts and ends with no jobs (the JobManager is process-wide). The
    test's sessions are collected first: a session released later (by the garbage
    collector) would stop and keep its runs in the next test's run store."""
    job_manager().shutdown()
    yield
    gc.collect()
    job_manager().shutdown()


def _open(query: dict[str, str], page) -> AppTest:
    """``page`` opened by a link with ``query`` (the race's own settings are read on its
    page, the run's in the sidebar of the first page)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()  # one run of app.py (st.navigation) before a page switch
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page).run()
    return at


def _job(cfg):
    """The job training ``cfg`` (the test's main run)."""
    return next(j for j in job_manager().jobs() if j.trainer.config == cfg)


def _train(at: AppTest, job, steps: int, others=()) -> None:
    """Step ×10 until the run has ``steps`` steps, then a rerun that sees it stand still
    (and the ``others`` the same button steps, such as a race's other models)."""
    deadline = time.monotonic() + 60
    every = (job, *others)
    while job.steps_done < steps:
        assert time.monotonic() < deadline, f"the run stopped at step {job.steps_done}"
        at.button(key="train_step").click().run()
        while (
            any(j.state.active or j.steps_done % 10 for j in every) and time.monotonic() < deadline
        ):
            time.sleep(0.1)
    at.run()
    assert not at.exception, at.exception


def _slider(at: AppTest, key: str):
    return next((s for s in at.select_slider if s.key == key), None)


def _earlier(job) -> int:
    """An earlier snapshot's step than the last (what a visitor would move back to)."""
    steps = [s.step for s in job.snapshots]
    assert steps[0] == 0 and len(steps) >= 2
    return steps[-1] if steps[-1] < job.steps_done else steps[-2]


def _spec(at: AppTest, key: str) -> dict:
    return next(
        json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in (c.proto.id or "")
    )


def _max_step(spec: dict) -> float:
    """The largest step drawn by a loss chart's traces (x, plain or base64 typed)."""
    import base64

    largest = -np.inf
    for trace in spec["data"]:
        x = trace.get("x")
        if isinstance(x, dict) and "bdata" in x:
            x = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
        if x is not None and len(x):
            largest = max(largest, float(np.max(np.asarray(x, dtype=float))))
    return largest


def test_every_run_page_shows_the_snapshot_and_history_of_the_chosen_step():
    at = _open(SMALL, PAGES["playground"])
    cfg = at.session_state["run.state.config"]
    job = _job(cfg)
    assert _slider(at, "play.step") is None  # nothing trained: nothing to replay
    _train(at, job, 30)
    step = _earlier(job)
    snaps = {s.step: s for s in job.snapshots}

    # Playground: the step, the loss curve up to it, the probe sequence of its snapshot.
    slider = _slider(at, "play.step")
    assert slider.options[-1] == "30 (now)" and len(slider.options) == len(snaps) + 1
    slider.set_value(step).run()
    assert not at.exception, at.exception
    assert at.metric[0].value == f"{step:,}"
    assert _max_step(_spec(at, "loss_chart")) == step
    assert f"at step {step}:" in _spec(at, "play.sequence")["layout"]["title"]["text"]

    # Hidden states: the heatmap over training ends at that snapshot, the bars are its.
    at.switch_page(PAGES["hidden_states"]).run()
    assert _slider(at, "hidden.step").value == step  # the pick follows the visitor
    heat = _spec(at, "hidden_heatmap")
    assert len(heat["frames"]) == sum(s <= step for s in snaps)
    assert f"training step {step})" in _spec(at, "hidden.time_bars")["layout"]["title"]["text"]

    # Gradients: the curves through time stop at that snapshot; the loss at that step.
    at.switch_page(PAGES["gradients"]).run()
    assert len(_spec(at, "grad.norm_anim")["frames"]) == sum(s <= step for s in snaps)
    assert _max_step(_spec(at, "grad.loss")) == step

    # Inside a cell: the equations' numbers are those of the snapshot at that step.
    at.switch_page(PAGES["inside_cell"]).run()
    assert not at.exception, at.exception
    assert any(f"training step {step}." in c.value for c in at.caption)
    table = at.table[0].value
    h_t = table.loc["h_t"].to_numpy(dtype=float)
    expected = snaps[step].hidden[0, 0, : len(h_t)].astype(float)  # sequence 0, t = 0
    assert np.allclose(h_t, expected, atol=2e-3)  # float16 states in a snapshot

    # Training again: no slider, the page shows the run as it is now.
    at.button(key="train_toggle").click().run()
    assert _slider(at, "cell.step") is None
    at.button(key="train_toggle").click().run()


@pytest.mark.parametrize(
    ("query", "page", "key"),
    [
        (
            {"task": "sentiment", "model": "gru", "hidden_size": "8", "seq_len": "18"},
            "sentiment",
            "sentiment",
        ),
        ({"task": "co2", "model": "gru", "hidden_size": "8", "seq_len": "26"}, "series", "series"),
    ],
)
def test_application_pages_show_the_chosen_step(query, page, key):
    at = _open(query, PAGES[page])
    job = _job(at.session_state["run.state.config"])
    _train(at, job, 30)
    step = _earlier(job)
    step_metric = next(m for m in at.metric if m.label == "Step")
    assert step_metric.value == "30"
    _slider(at, f"{key}.step").set_value(step).run()
    assert not at.exception, at.exception
    assert next(m for m in at.metric if m.label == "Step").value == f"{step:,}"
    # what asks the live model says so
    assert any("shows the model as it is now" in c.value for c in at.caption)


def test_the_race_page_shows_the_chosen_step():
    query = {
        "task": "copy_memory",
        "seq_len": "5",
        "models": "lstm,gru",
        "param_budget": "1000",
        "batch_size": "16",
    }
    at = _open(query, race.PAGE)
    jobs = {j.trainer.config.model: j for j in job_manager().jobs()}
    main = jobs["lstm"]
    _train(at, main, 30, [j for j in jobs.values() if j is not main])
    step = _earlier(main)
    assert list(at.dataframe[0].value["steps"]) == [30, 30]
    _slider(at, "race.step").set_value(step).run()
    assert not at.exception, at.exception
    # the race table counts the steps up to the one shown, for every model
    assert list(at.dataframe[0].value["steps"]) == [step, step]
    assert _max_step(_spec(at, "race.loss_steps")) == step
