"""AppTest of the Translation page, and of the run pages on a translation run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.presets import PRESETS
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PRESET = PRESETS["translation"]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _charts(at: AppTest) -> list[str]:
    return [c.proto.id for c in at.get("plotly_chart")]


def _step_until(at: AppTest, key: str, done) -> None:
    at.button(key=key).click().run()
    deadline = time.monotonic() + 30
    while not done() and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    assert done()


@pytest.fixture(scope="module")
def stepped():
    """The translation preset's page after ten steps of the run and of the race."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "translation"
    at.run()
    at.switch_page(PAGES["translation"]).run()
    _step_until(at, "train_step", lambda: _metric(at, "Step") == "10")
    race = at.session_state["attention_race.state.config"]
    assert race.param_budget == PRESET.config.param_budget
    return at


def test_another_task_explains_and_opens_the_preset():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGES["translation"]).run()
    assert not at.exception
    assert any("encoder" in m.value for m in at.markdown)
    at.button(key="translation.open").click().run()
    assert not at.exception
    assert at.session_state["run.state.config"] == PRESET.config


def test_the_preset_page_shows_attention_decoding_and_the_race(stepped):
    at = stepped
    assert not at.exception
    assert any(key.endswith("translation.loss") for key in _charts(at))
    at.button(key="translation.refresh").click().run()
    assert any(key.endswith("translation.attention_chart") for key in _charts(at))
    # the typed example is decoded (whatever an untrained model writes) and judged
    assert any("374 is trained on" in m.value for m in at.markdown)
    # the race: its own buttons train both members; its scores are read on the page
    _step_until(
        at,
        "translation.race.train_step",
        lambda: any(key.endswith("translation.by_length") for key in _charts(at)),
    )
    assert not at.exception


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "Type a number"),
        ("x" * 10_000, "10,000 characters"),
        ("twenty 🙂 one", "Not known"),
        ("quarante deux", "Not known"),
        ("one two three four five", "5 words"),
    ],
)
def test_bad_typed_input_gets_a_message_not_a_traceback(stepped, text, needle):
    at = stepped
    at.text_input(key="translation.text").set_value(text).run()
    assert not at.exception
    assert any(needle in w.value for w in at.warning)
    at.text_input(key="translation.text").set_value("twenty-one").run()
    assert not at.warning and not at.exception


@pytest.mark.parametrize("page", ["playground", "hidden_states", "gradients", "inside_cell"])
def test_every_run_page_works_on_a_translation_run(stepped, page):
    at = stepped
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    assert at.session_state["run.state.config"] == PRESET.config
    at.switch_page(PAGES["translation"]).run()


def test_the_sidebar_offers_attention_on_translation_only():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not [s for s in at.selectbox if s.key == "cfg.attention"]
    at.selectbox(key="cfg.task").set_value("translation").run()
    assert not at.exception and not at.error
    cfg = at.session_state["run.state.config"]
    assert (cfg.task, cfg.seq_len, cfg.attention) == ("translation", 10, "off")
    at.selectbox(key="cfg.attention").set_value("luong").run()
    assert at.session_state["run.state.config"].attention == "luong"
    at.selectbox(key="cfg.task").set_value("adding").run()
    assert not at.error
    cfg = at.session_state["run.state.config"]
    assert (cfg.task, cfg.attention) == ("adding", "off")
