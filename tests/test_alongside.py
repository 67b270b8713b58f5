"""Runs trained alongside (rnn_core/alongside.py, ui/alongside_form.py): the URL form,
old and new, hostile lists, their names, and a run added in the sidebar."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core import RunConfig
from rnn_core.alongside import member_config, parse_list, relative_to, title
from ui.run import PAGES, parse_query, to_query
from ui.session import job_manager

RELU_IRNN = RunConfig(model="rnn_relu", init="identity", seq_len=20)


def test_old_links_open_the_same_cells():
    cfg, specs, problems = parse_query({"model": "rnn_tanh", "compare": "gru,lstm"})
    assert specs == ("gru", "lstm") and problems == []
    assert [member_config(cfg, s) for s in specs] == [
        cfg.replace(model="gru"),
        cfg.replace(model="lstm"),
    ]
    assert to_query(cfg, specs)["compare"] == "gru,lstm"  # written back as it came


def test_new_form_changes_settings_and_round_trips():
    specs, problems = parse_list("gru, init:default ,clip:0.5+lr:0.001,gru+clip:none", RELU_IRNN, 4)
    assert problems == []
    assert specs == ("gru", "init:default", "lr:0.001+clip:0.5", "gru+clip:none")
    configs = [member_config(RELU_IRNN, s) for s in specs]
    assert configs[1] == RELU_IRNN.replace(init="default")
    assert configs[2] == RELU_IRNN.replace(clip=0.5, lr=0.001)
    assert configs[3] == RELU_IRNN.replace(model="gru", clip=None)
    again, _ = parse_list(",".join(specs), RELU_IRNN, 4)
    assert again == specs
    # a run equal to the main one, or a repeat, trains nothing more and is no error
    assert parse_list("init:identity,rnn_relu,gru,gru", RELU_IRNN, 4) == (
        ("gru",),
        [],
    )


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("evil", "'evil'"),
        ("task:copy_memory", "'task'"),  # the task and length are the main run's
        ("seq_len:10", "'seq_len'"),
        ("colour:red", "'colour'"),
        ("lr:5", "lr: 5.0 is out of range"),
        ("clip:nan", "clip: 'nan' is not a number"),
        ("hidden_size:-3", "hidden_size: -3 is out of range"),
        ("init:<script>", "init: '<script>' is not one of"),
        ("gru+lstm", "names a second cell"),
        ("lr:0.1+lr:0.2", "sets lr twice"),
    ],
)
def test_hostile_entries_are_dropped_and_named(raw, named):
    specs, problems = parse_list(f"gru,{raw},init:default", RELU_IRNN, 3)
    assert specs == ("gru", "init:default")  # the good entries stay
    assert len(problems) == 1 and named in problems[0] and problems[0].startswith("compare:")


def test_too_long_a_list_or_too_many_entries_are_dropped_and_said():
    specs, problems = parse_list("gru," * 2500, RELU_IRNN, 3)
    assert specs == () and "10,000 characters" in problems[0]
    specs, problems = parse_list("gru,lstm,rnn_tanh,seed:1,seed:2", RELU_IRNN, 3)
    assert specs == ("gru", "lstm", "rnn_tanh")
    assert problems == ["compare: at most 3 runs train alongside; 'seed:1', 'seed:2' were dropped."]


def test_every_run_is_named_by_what_differs():
    specs = ("init:default", "gru", "lr:0.001+clip:0.5")
    assert title(RELU_IRNN, specs, "init:default") == "ReLU RNN (init default)"
    assert title(RELU_IRNN, specs, "gru") == "GRU"
    assert title(RELU_IRNN, specs, "lr:0.001+clip:0.5") == "ReLU RNN (lr 0.001, clip 0.5)"
    # the main run names its own values of every setting the others change
    assert title(RELU_IRNN, specs, "rnn_relu") == "ReLU RNN (lr default, clip 1, init identity)"
    assert title(RELU_IRNN, ("gru",), "rnn_relu") == "ReLU RNN"


def test_a_changed_main_run_keeps_what_its_runs_alongside_change():
    assert relative_to(("init:default", "gru"), RELU_IRNN.replace(lr=0.01)) == (
        "init:default",
        "gru",
    )
    # the main run now has the default init: that run alongside would be a copy of it
    assert relative_to(("init:default", "gru"), RELU_IRNN.replace(init="default")) == ("gru",)


def test_a_hostile_compare_link_gives_one_warning_naming_each_part():
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.query_params["compare"] = "gru,foo:1,lr:99," + "x" * 30
    at.run()
    assert not at.exception, at.exception
    assert len(at.warning) == 1
    text = at.warning[0].value.replace("\\", "")
    assert "'foo'" in text and "lr: 99.0 is out of range" in text and "'xxxxx" in text
    assert at.session_state["run.state.models"] == ("gru",)


def _trace_names(at: AppTest, key: str) -> list[str]:
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id)
    return [trace.get("name") for trace in spec["data"]]


def test_a_run_added_in_the_sidebar_trains_and_is_named_by_its_difference():
    job_manager().shutdown()
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    for key, value in {"model": "rnn_tanh", "hidden_size": "8", "seq_len": "12"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGES["playground"]).run()
    at.multiselect(key="cfg.add.fields").set_value(["init"]).run()
    at.selectbox(key="cfg.add.init").set_value("orthogonal").run()
    at.button(key="cfg.add.button").click().run()
    assert not at.exception, at.exception
    assert at.session_state["run.state.models"] == ("init:orthogonal",)
    assert at.query_params["compare"] == "init:orthogonal"  # the link holds it
    at.button(key="train_step").click().run()
    jobs = {j.trainer.config: j for j in job_manager().jobs()}
    added = jobs[RunConfig(model="rnn_tanh", hidden_size=8, seq_len=12, init="orthogonal")]
    deadline = time.monotonic() + 30
    while added.steps_done < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert added.steps_done == 10  # the run alongside trains with the main one
    names = _trace_names(at, "loss_chart")
    assert "tanh RNN (init orthogonal)" in names and "tanh RNN (init default)" in names
    # and it goes with its remove button
    at.button(key="cfg.add.remove.0").click().run()
    assert at.session_state["run.state.models"] == ()
    job_manager().shutdown()
