"""AppTest for every page: defaults, presets, hostile URLs, controls, settings."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core import TASKS, RunConfig
from rnn_core.presets import PRESETS
from ui.run import PAGES

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
    assert at.session_state["run.state.config"] == RunConfig()
    assert at.title  # every page has a heading


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_link_opens_with_its_configuration(name):
    preset = PRESETS[name]
    at = _app({"preset": name}, page=preset.page)
    assert not at.exception, at.exception
    assert at.session_state["run.state.config"] == preset.config
    assert at.session_state["run.state.models"] == preset.alongside
    assert at.query_params["model"] == preset.config.model  # the URL holds the run


@pytest.mark.parametrize("page", list(PAGES))
def test_hostile_query_parameters_give_one_warning_and_defaults(page):
    hostile = {
        "hidden_size": "-5",
        "lr": "nan",
        "model": "<script>alert(1)</script>",
        "seq_len": "9" * 400,
        "seed": "12",
        "compare": "gru,evil",
    }
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
    cfg = at.session_state["run.state.config"]
    assert cfg == RunConfig(seed=12)  # the good field is kept, bad ones at defaults
    assert at.session_state["run.state.models"] == ("gru",)


def test_partial_query_is_accepted_and_completed_in_the_url():
    at = _app({"model": "gru", "seq_len": "20"}, page="playground")
    assert not at.exception
    assert at.session_state["run.state.config"] == RunConfig(model="gru", seq_len=20)
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
    assert at.session_state["run.state.config"] == RunConfig(model="gru", seq_len=30)
    assert at.query_params["model"] == "gru"
    assert at.query_params["seq_len"] == "30"


@pytest.mark.parametrize(("task", "length"), [("digits_rows", 8), ("digits_pixels", 64)])
def test_picking_a_task_fits_the_length_into_its_range(task, length):
    at = _app({"seq_len": "50"})
    at.selectbox(key="cfg.task").set_value(task).run()
    assert not at.exception and not at.error
    assert at.session_state["run.state.config"].task == task
    assert at.session_state["run.state.config"].seq_len == length
    at.selectbox(key="cfg.task").set_value("adding").run()  # allows 8 and 64: kept
    assert at.session_state["run.state.config"].seq_len == length


def test_an_over_budget_setting_is_explained_not_applied():
    at = _app()
    at.number_input(key="cfg.batch_size").set_value(256).run()
    at.number_input(key="cfg.hidden_size").set_value(256).run()
    at.number_input(key="cfg.seq_len").set_value(2000).run()
    assert not at.exception
    assert any("Not applied" in e.value for e in at.error)
    assert at.session_state["run.state.config"].cost <= RunConfig().cost * 10**4


def test_welcome_demo_buttons_open_their_pages():
    at = _app()
    at.button(key="welcome.vanishing").click().run()
    assert not at.exception
    assert at.session_state["run.state.config"] == PRESETS["vanishing"].config
    assert at.session_state["run.state.models"] == ("lstm",)


@pytest.mark.parametrize(
    "query",
    [
        {"hidden_size": "8", "seq_len": "12"},
        {"task": "char_lm", "hidden_size": "8", "seq_len": "30", "batch_size": "8"},
        {
            "model": "gru",
            "task": "copy_memory",
            "hidden_size": "8",
            "seq_len": "5",
            "num_layers": "2",
        },
        {"model": "rnn_relu", "task": "co2", "hidden_size": "8", "seq_len": "20"},
    ],
)
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
    query = {
        "model": "rnn_relu",
        "init": "identity",
        "clip": "none",
        "optimizer": "sgd",
        "lr": "1.0",
        "seq_len": "100",
        "hidden_size": "16",
        "batch_size": "16",
    }
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
    assert any("tanh RNN (same settings), earlier" in n for n in names)
    # A run on another length is not "the same task": it is not overlaid.
    at.switch_page(PAGES["welcome"]).run()
    at.number_input(key="cfg.seq_len").set_value(14).run()
    at.switch_page(PAGES["playground"]).run()
    _step_until(at, "10")
    at.switch_page(PAGES["gradients"]).run()
    assert not at.exception
    assert not [c for c in at.get("plotly_chart") if c.proto.id and "overlay" in c.proto.id]
    # Back to T = 12: the runs at 12 are overlaid again, the one at 14 is not. The LSTM
    # at T = 12 was kept in the run store at step 10: it opens there, and Step goes on.
    at.switch_page(PAGES["welcome"]).run()
    at.number_input(key="cfg.seq_len").set_value(12).run()
    at.switch_page(PAGES["playground"]).run()
    assert _metric(at, "Step") == "10"
    _step_until(at, "20")
    at.switch_page(PAGES["gradients"]).run()
    overlay = next(c for c in at.get("plotly_chart") if c.proto.id and "overlay" in c.proto.id)
    spec = json.loads(overlay.proto.spec)
    names = [t["name"] for t in spec["data"]]
    assert sum("earlier" in n for n in names) == 2, names
    assert any("tanh RNN (same settings), earlier" in n for n in names)
    assert "T = 12" in spec["layout"]["title"]["text"]


def _chart_specs(at: AppTest) -> dict[str, dict]:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id}


def _spec_with(at: AppTest, key: str) -> dict | None:
    return next((spec for cid, spec in _chart_specs(at).items() if key in cid), None)


@pytest.mark.parametrize("model", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_the_singular_value_bound_is_drawn_for_plain_rnns_only(model):
    at = _app({"model": model, "hidden_size": "8", "seq_len": "12"}, page="gradients")
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _spec_with(at, "grad.spectra") is None and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert not at.exception, at.exception
    spectra = _spec_with(at, "grad.spectra")
    bounds = [t for t in spectra["data"] if t["name"].startswith("1/γ")]
    carry = _spec_with(at, "grad.carry")
    if model in ("lstm", "gru"):
        assert bounds == [] and not spectra["layout"].get("annotations")
        gate = "∏ f" if model == "lstm" else "∏ z"
        assert carry is not None and gate in carry["layout"]["yaxis"]["title"]["text"]
    else:
        assert [t["name"] for t in bounds] == ["1/γ = 1"]
        assert carry is None


def test_gradients_page_says_which_gradient_it_draws():
    """Parity is scored at every step: the page offers the last step's loss term (by
    default) and the whole loss, and draws the one chosen."""
    at = _app(
        {"model": "rnn_tanh", "task": "parity", "hidden_size": "8", "seq_len": "12"},
        page="gradients",
    )
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while _spec_with(at, "grad.norm_anim") is None and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    anim = _spec_with(at, "grad.norm_anim")
    assert anim["layout"]["yaxis"]["title"]["text"] == "‖∂ℓ_11/∂h_t‖"
    at.radio(key="grad.whole").set_value(True).run()
    assert _spec_with(at, "grad.norm_anim")["layout"]["yaxis"]["title"]["text"] == "‖∂L/∂h_t‖"
    assert not at.exception
    # the adding problem is scored at one step: no choice to make, and the page says why
    at = _app({"hidden_size": "8", "seq_len": "12"}, page="gradients")
    assert not at.exception
    at.button(key="train_step").click().run()
    assert not [r for r in at.radio if r.key == "grad.whole"]


# Every task whose runs have a recurrent state at every step: a captioner reads its image
# with a CNN, and the page says so (tests/test_captions.py).
@pytest.mark.parametrize("task", sorted(t for t in TASKS if TASKS[t].architecture != "captioning"))
@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_inside_a_cell_works_for_every_task_and_depth(task, layers):
    t = TASKS[task]
    seq_len = max(t.min_seq_len, min(12, t.max_seq_len or 12))
    at = _app(
        {
            "task": task,
            "num_layers": str(layers),
            "hidden_size": "6",
            "seq_len": str(seq_len),
            "batch_size": "4",
        },
        page="inside_cell",
    )
    assert not at.exception, at.exception
    at.button(key="train_step").click().run()
    total = t.total_len(seq_len)
    for step in range(total):  # every time step, as the t+1 button walks them
        at.slider(key="cell.t").set_value(step).run()
        assert not at.exception, (task, layers, step, at.exception)
    if layers > 1:
        assert any(f"layer {layers - 1}'s hidden state" in m.value for m in at.markdown)
        assert not any("one-hot symbol" in c.value for c in at.code)


def test_inside_a_cell_of_a_one_step_sequence():
    """T = 1 leaves one time step: no slider (its range would be empty), no exception."""
    at = _app({"task": "sine", "seq_len": "1", "hidden_size": "4"}, page="inside_cell")
    assert not at.exception, at.exception
    assert at.session_state["run.state.config"].seq_len == 1
    assert not [s for s in at.slider if s.key == "cell.t"]
    assert any("one time step" in c.value for c in at.caption)
    assert at.table  # the step's table is there


def test_a_character_model_whose_state_overflows_gets_a_warning_not_a_traceback():
    at = _app(
        {
            "model": "rnn_relu",
            "task": "char_lm",
            "init": "identity",
            "recurrent_scale": "1.5",
            "seq_len": "20",
            "hidden_size": "8",
        },
        page="playground",
    )
    assert not at.exception, at.exception
    assert any("not a finite number" in w.value for w in at.warning)
    at.run()  # the next refresh reuses the cached answer: the note stays with it
    assert any("not a finite number" in w.value for w in at.warning)


def test_a_replay_redraws_the_run_at_training_speed_without_training():
    at = _app({"hidden_size": "24", "seq_len": "30"}, page="playground")
    assert at.toggle(key="play.replay").disabled  # nothing to replay yet
    for target in ("10", "20", "30"):
        _step_until(at, target)
    at.toggle(key="play.replay").set_value(True).run()
    assert not at.exception
    early = int(_metric(at, "Step"))
    assert early < 30  # the curve starts again from where training started
    deadline = time.monotonic() + 30
    while _metric(at, "Step") != "30" and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert _metric(at, "Step") == "30"
    assert at.button(key="train_toggle").label == "Start"  # nothing trained meanwhile


def test_a_start_pressed_on_a_run_already_started_does_not_pause_it():
    # Two pages on one run (AppTest instances share one session): both show Start; the
    # first starts it, then the second, whose button still says Start, is pressed too.
    # In a class this is many students pressing Start at once: the run must go on.
    first = _app({"hidden_size": "24", "seq_len": "30"}, page="playground")
    second = _app({"hidden_size": "24", "seq_len": "30"}, page="playground")
    assert second.button(key="train_toggle").label == "Start"
    first.button(key="train_toggle").click().run()
    second.button(key="train_toggle").click().run()
    assert second.button(key="train_toggle").label == "Pause"
    before = int(_metric(second, "Step").replace(",", ""))
    deadline = time.monotonic() + 30
    while int(_metric(second, "Step").replace(",", "")) <= before + 20:
        assert time.monotonic() < deadline, "the run stopped training"
        time.sleep(0.3)
        second.run()
    assert not first.exception and not second.exception
