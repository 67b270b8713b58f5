"""Presenter mode and talks through the app (AppTest): the URL forms, the talk's bar moving
across the run and race pages, bad talk links, and the projector form of a figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_core import viz
from rnn_core.presets import PRESETS, RACE_PRESETS
from ui.presenter import ProjectorFigure, projector_spec
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
TALK = "vanishing,gates,race_copy"


def _app(query: dict[str, str], page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(PAGES[page]).run()
    assert not at.exception, at.exception
    return at


def _marker(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Talk:"))


def _styled(at: AppTest) -> bool:
    """Whether the presenter's style sheet is on the page."""
    return any("--presenter-scale" in str(el.proto) for el in at.get("html"))


def test_a_talk_link_opens_its_first_demo_and_moves_through_run_and_race_pages():
    at = _app({"talk": TALK})
    assert "1 of 3" in _marker(at)
    assert at.title[0].value == "Gradients through time"  # vanishing opens on Gradients
    assert at.session_state["run.state.config"] == PRESETS["vanishing"].config
    assert at.query_params["talk"] == TALK and at.query_params["at"] == "1"
    assert at.button(key="talk.previous").disabled

    at.button(key="talk.next").click().run()
    assert "2 of 3" in _marker(at) and at.title[0].value == "Hidden states"
    assert at.session_state["run.state.config"] == PRESETS["gates"].config
    assert at.query_params["at"] == "2"

    at.button(key="talk.next").click().run()
    assert not at.exception, at.exception
    assert "3 of 3" in _marker(at) and at.title[0].value.startswith("CNN vs RNN")
    assert at.session_state["race.state.config"] == RACE_PRESETS["race_copy"].config
    assert at.query_params["models"] == ",".join(RACE_PRESETS["race_copy"].models)
    assert at.query_params["talk"] == TALK and at.query_params["at"] == "3"
    assert at.button(key="talk.next").disabled

    at.button(key="talk.previous").click().run()
    assert "2 of 3" in _marker(at) and at.title[0].value == "Hidden states"
    assert not at.warning  # a clean link, nothing to warn about


def test_a_link_mid_talk_lands_on_the_same_demo():
    at = _app({"talk": TALK, "at": "race_copy"})
    assert "3 of 3" in _marker(at) and at.title[0].value.startswith("CNN vs RNN")
    assert at.query_params["at"] == "3"


@pytest.mark.parametrize(
    ("raw", "said", "marker"),
    [
        ("gates,bogus,gates,vanishing", ["'bogus'", "1 repeat: 'gates'"], "1 of 2"),
        (",,", ["no demo left"], None),
        (",".join(f"x{i}" for i in range(1000)), ["1,000 unknown names", "995 more"], None),
    ],
    ids=["unknown-and-repeat", "empty", "a-thousand-names"],
)
def test_a_bad_talk_list_gives_one_warning_naming_what_was_dropped(raw, said, marker):
    at = _app({"talk": raw, "at": "7"})
    assert len(at.warning) == 1
    warning = at.warning[0].value
    assert all(s in warning for s in said), warning
    if marker is None:
        assert not [m for m in at.markdown if m.value.startswith("**Talk:")]
        assert "talk" not in at.query_params  # no talk left to keep
    else:
        assert marker in _marker(at) and "at: '7'" in warning
    at.run()
    assert not at.warning  # said once


def test_presenter_mode_from_the_url_is_kept_on_every_page_and_left_with_its_button():
    at = _app({"present": "1", "hidden_size": "8", "seq_len": "12"}, page="playground")
    assert _styled(at)
    at.button(key="train_step").click().run()
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert charts and '"size":22.4' in charts[0].proto.spec  # 16 px fonts at 1.4x
    assert at.query_params["present"] == "1"
    at.switch_page(PAGES["gradients"]).run()  # the sidebar's page list clears the URL
    assert _styled(at) and at.query_params["present"] == "1"
    at.button(key="presenter.leave").click().run()
    assert not _styled(at)
    assert "present" not in at.query_params
    assert not at.toggle(key="presenter.toggle").value
    at.toggle(key="presenter.toggle").set_value(True).run()  # and back, with the toggle
    assert _styled(at) and at.query_params["present"] == "1"


def test_a_bad_present_value_is_said_and_leaves_the_normal_layout():
    at = _app({"present": "<b>yes</b>"})
    assert len(at.warning) == 1 and "present:" in at.warning[0].value
    assert not _styled(at)


def test_the_run_controls_take_their_keys():
    at = _app({}, page="playground")
    shortcuts = {
        key: at.button(key=key).proto.shortcut
        for key in ("train_toggle", "train_step", "train_reset")
    }
    assert shortcuts == {"train_toggle": "space", "train_step": "s", "train_reset": "0"}


def test_a_projector_figure_is_larger_and_black_and_leaves_the_shared_figure_alone():
    fig = viz.loss_figure(
        np.arange(30), np.linspace(1, 0.2, 30), 0.5, clipped_steps=np.array([3]), title="loss"
    )
    before = fig.to_dict()
    shown = ProjectorFigure(fig).to_dict()
    assert fig.to_dict() == before
    assert shown["layout"]["font"]["size"] == pytest.approx(before["layout"]["font"]["size"] * 1.4)
    assert shown["layout"]["font"]["color"] == "#000000"
    assert shown["layout"]["xaxis"]["tickfont"]["color"] == "#000000"
    assert shown["layout"]["height"] == pytest.approx(450 * 1.4)
    assert shown["layout"]["margin"]["l"] == pytest.approx(before["layout"]["margin"]["l"] * 1.4)
    # a size set deep inside (a slider's label) grows too
    spec = {"layout": {"sliders": [{"currentvalue": {"font": {"size": 10}}}]}}
    assert projector_spec(spec, 2.0)["layout"]["sliders"][0]["currentvalue"]["font"]["size"] == 20
