"""AppTest of the Speech page, and of the run pages on the speakers task."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.presets import PRESETS
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


def _chart(at: AppTest, key: str) -> dict | None:
    return next((spec for cid, spec in _charts_by_id(at).items() if key in cid), None)


def _charts_by_id(at: AppTest) -> dict[str, dict]:
    return {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart") if c.proto.id}


def _array(value) -> np.ndarray:
    """A figure's array as the page sends it: plotly's {dtype, bdata, shape} or a list."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        shape = value.get("shape")
        return flat.reshape([int(n) for n in str(shape).split(",")]) if shape else flat
    return np.asarray(value)


def _metric(at: AppTest, label: str) -> str | None:
    return next((m.value for m in at.metric if m.label == label), None)


@pytest.fixture(scope="module")
def speech_page() -> AppTest:
    """The speech preset's page, trained 20 steps (shared by the tests that only read)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["preset"] = "speech"
    at.run()
    at.switch_page(PAGES["speech"]).run()
    for expected in ("10", "20"):
        at.button(key="train_step").click().run()
        deadline = time.monotonic() + 30
        while _metric(at, "Step") != expected and time.monotonic() < deadline:
            time.sleep(0.2)
            at.run()
    return at


def test_the_page_explains_and_opens_the_preset_from_another_task():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(PAGES["speech"]).run()
    assert not at.exception
    assert not at.get("plotly_chart")
    assert "Adding problem" in at.info[0].value
    at.button(key="speech.open_preset").click().run()
    assert not at.exception
    assert at.session_state["run.state.config"] == PRESETS["speech"].config


def test_the_page_shows_the_utterance_the_accuracy_and_the_confusion(speech_page):
    at = speech_page
    assert not at.exception, at.exception
    assert _metric(at, "Step") == "20"
    accuracy = _metric(at, "Held-out accuracy")
    assert accuracy is not None and accuracy.endswith("%")
    for key in ("speech.loss", "speech.utterance", "speech.by_frames", "speech.confusion"):
        assert _chart(at, key) is not None, key
    utterance = _chart(at, "speech.utterance")
    assert "Test utterance 1: speaker 1" in utterance["layout"]["title"]["text"]
    confusion = _chart(at, "speech.confusion")["data"][0]
    assert int(_array(confusion["text"]).sum()) == 370  # every test utterance
    assert any("At step" in m.value for m in at.markdown)


@pytest.mark.parametrize(
    "typed, says",
    [
        ("", "Type the utterance number"),
        ("7" * 10_000, "whole number from 1 to 370"),
        ("seven", "whole number from 1 to 370"),
        ("🎤🎤", "whole number from 1 to 370"),
        ("0", "from 1 to 370; 0 is not"),
        ("371", "from 1 to 370; 371 is not"),
    ],
    ids=["empty", "10000 chars", "word", "emoji", "zero", "too big"],
)
def test_bad_utterance_numbers_get_a_message_not_a_traceback(speech_page, typed, says):
    at = speech_page
    at.text_input(key="speech.number").set_value(typed).run()
    assert not at.exception, at.exception
    assert any(says in w.value for w in at.warning)
    assert _chart(at, "speech.utterance") is None  # no utterance, the rest stays
    assert _chart(at, "speech.confusion") is not None
    at.text_input(key="speech.number").set_value("12").run()
    assert not at.warning
    assert "Test utterance 12:" in _chart(at, "speech.utterance")["layout"]["title"]["text"]


@pytest.mark.parametrize(
    "typed",
    ["", "x" * 10_000, "-1", "🙂", "99999999999999"],
    ids=["empty", "10000 chars", "negative", "emoji", "too long"],
)
def test_a_random_pick_takes_a_seed_and_refuses_bad_ones(speech_page, typed):
    at = speech_page
    at.radio(key="speech.random").set_value(True).run()
    at.text_input(key="speech.seed").set_value("5").run()
    assert not at.exception and not at.warning
    title = _chart(at, "speech.utterance")["layout"]["title"]["text"]
    at.run()
    assert _chart(at, "speech.utterance")["layout"]["title"]["text"] == title  # same seed
    at.text_input(key="speech.seed").set_value(typed).run()
    assert not at.exception
    assert any("seed" in w.value for w in at.warning)
    at.radio(key="speech.random").set_value(False).run()


@pytest.mark.parametrize("page", ["playground", "hidden_states", "gradients", "inside_cell"])
def test_the_run_pages_work_on_the_speakers_task(speech_page, page):
    at = speech_page
    at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    assert not at.error
    if page == "playground":
        # the probe sequence's target is marked once, at the utterance's own last frame
        sequence = _chart(at, "play.sequence")
        target = next(t for t in sequence["data"] if t.get("name") == "target")
        assert len(_array(target["y"])) == 1
    if page == "gradients":
        assert any("own last real step" in c.value for c in at.caption)
        assert _chart(at, "grad.norm_anim") is not None
    if page == "hidden_states":
        assert len(at.get("plotly_chart")) >= 3
    at.switch_page(PAGES["speech"]).run()
