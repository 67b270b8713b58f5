"""AppTest for every page: defaults, presets, hostile URLs, controls, settings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core import RunConfig
from rnn_core.presets import PRESETS
from ui.session import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


def _app(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()  # AppTest needs one run of app.py (st.navigation) before a page switch
    if page is not None:
        at.switch_page(PAGES[page]).run()
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_runs_with_defaults(page):
    at = _app(page=page)
    assert not at.exception, at.exception
    assert at.session_state["run.config"] == RunConfig()
    assert at.title  # every page has a heading


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_link_opens_with_its_configuration(name):
    preset = PRESETS[name]
    at = _app({"preset": name}, page=preset.page)
    assert not at.exception, at.exception
    assert at.session_state["run.config"] == preset.config
    assert at.session_state["run.compare"] == preset.compare
    assert at.query_params["model"] == preset.config.model  # the URL holds the run


@pytest.mark.parametrize("page", list(PAGES))
def test_hostile_query_parameters_give_one_warning_and_defaults(page):
    hostile = {"hidden_size": "-5", "lr": "nan", "model": "<script>alert(1)</script>",
               "seq_len": "9" * 400, "seed": "12", "compare": "gru,evil"}
    at = _app(hostile)  # the link's first page shows the warning
    assert not at.exception, at.exception
    assert len(at.warning) == 1
    raw = at.warning[0].value
    assert "\\<script\\>" in raw  # markdown-escaped: shown as text, never as markup
    text = raw.replace("\\", "")
    for name in ("hidden_size", "lr", "model", "seq_len", "compare"):
        assert name in text
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    cfg = at.session_state["run.config"]
    assert cfg == RunConfig(seed=12)  # the good field is kept, bad ones at defaults
    assert at.session_state["run.compare"] == ("gru",)


def test_partial_query_is_accepted_and_completed_in_the_url():
    at = _app({"model": "gru", "seq_len": "20"}, page="playground")
    assert not at.exception
    assert at.session_state["run.config"] == RunConfig(model="gru", seq_len=20)
    assert at.query_params["hidden_size"] == str(RunConfig().hidden_size)


def test_step_advances_the_run_by_ten():
    at = _app(page="playground")
    assert _metric(at, "Step") == "0"
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _metric(at, "Step") != "10" and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert _metric(at, "Step") == "10"
    assert not at.exception


def test_start_trains_in_the_background_and_pause_stops_it():
    at = _app(page="playground")
    at.button(key="train_toggle").click().run()
    assert at.button(key="train_toggle").label == "Pause"
    deadline = time.monotonic() + 30
    while _metric(at, "Step") in ("0", "1") and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    at.button(key="train_toggle").click().run()
    assert at.button(key="train_toggle").label == "Start"
    time.sleep(0.6)
    at.run()
    first = _metric(at, "Step")
    time.sleep(0.8)
    at.run()
    assert _metric(at, "Step") == first != "0"


# AppTest runs a switched-to page's file on its own (not through app.py), so the shared
# sidebar is exercised on the first page.
def test_widget_changes_give_a_new_valid_config_and_url():
    at = _app()
    at.selectbox(key="cfg.model").set_value("gru").run()
    at.number_input(key="cfg.seq_len").set_value(30).run()
    assert not at.exception
    assert at.session_state["run.config"] == RunConfig(model="gru", seq_len=30)
    assert at.query_params["model"] == "gru"
    assert at.query_params["seq_len"] == "30"


def test_an_over_budget_setting_is_explained_not_applied():
    at = _app()
    at.number_input(key="cfg.batch_size").set_value(256).run()
    at.number_input(key="cfg.hidden_size").set_value(256).run()
    at.number_input(key="cfg.seq_len").set_value(2000).run()
    assert not at.exception
    assert any("Not applied" in e.value for e in at.error)
    assert at.session_state["run.config"].cost <= RunConfig().cost * 10**4


def test_welcome_demo_buttons_open_their_pages():
    at = _app()
    at.button(key="welcome.vanishing").click().run()
    assert not at.exception
    assert at.session_state["run.config"] == PRESETS["vanishing"].config
    assert at.session_state["run.compare"] == ("lstm",)


@pytest.mark.parametrize("query", [
    {"hidden_size": "8", "seq_len": "12"},
    {"task": "char_lm", "hidden_size": "8", "seq_len": "30", "batch_size": "8"},
    {"model": "gru", "task": "copy_memory", "hidden_size": "8", "seq_len": "5",
     "num_layers": "2"},
    {"model": "rnn_relu", "task": "co2", "hidden_size": "8", "seq_len": "20"},
])
def test_pages_with_snapshots_render_their_charts(query):
    at = _app(query, page="playground")
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _metric(at, "Step") != "10" and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    for page in ("hidden_states", "gradients", "inside_cell"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
        assert not at.info, [i.value for i in at.info]  # "no snapshots yet" is gone
        if page != "inside_cell":
            assert len(at.get("plotly_chart")) >= 3
    if query.get("task") == "char_lm":
        at.switch_page(PAGES["hidden_states"]).run()
        assert any("background" in h.proto.body for h in at.get("html"))  # coloured text


def test_a_diverged_run_says_so_and_offers_reset():
    query = {"model": "rnn_relu", "init": "identity", "clip": "none", "optimizer": "sgd",
             "lr": "1.0", "seq_len": "100", "hidden_size": "16", "batch_size": "16"}
    at = _app(query, page="playground")
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while not at.error and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception
    assert any("diverged" in e.value and "Reset" in e.value for e in at.error)
    at.button(key="train_reset").click().run()
    assert not at.error
    assert _metric(at, "Step") == "0"


def _step_until(at: AppTest, target: str) -> None:
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _metric(at, "Step") != target and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert _metric(at, "Step") == target


def test_earlier_runs_of_the_session_are_overlaid_on_the_gradients_page():
    at = _app({"model": "rnn_tanh", "hidden_size": "8", "seq_len": "12"})
    at.switch_page(PAGES["playground"]).run()
    _step_until(at, "10")
    at.switch_page(PAGES["welcome"]).run()
    at.selectbox(key="cfg.model").set_value("lstm").run()  # a new run; the old one is kept
    at.switch_page(PAGES["playground"]).run()
    _step_until(at, "10")
    at.switch_page(PAGES["gradients"]).run()
    assert not at.exception
    overlay = next(c for c in at.get("plotly_chart") if c.proto.id and "overlay" in c.proto.id)
    names = [t["name"] for t in json.loads(overlay.proto.spec)["data"]]
    assert any("LSTM" in n and "now" in n for n in names)
    assert any("tanh RNN" in n and "earlier" in n for n in names)
