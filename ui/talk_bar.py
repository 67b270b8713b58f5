"""The talk's bar above every page: previous and next demo (the arrow keys), "3 of 4".

A talk (``?talk=vanishing,exploding,gates,race_copy``, parsed by rnn_core.talks) is a
list of presets; each demo opens exactly as its button on the Welcome page does
(``go_to_preset`` of the run set that holds it: the race presets open the CNN vs RNN
page). Where the speaker is lives in ``ui.page_params`` and in every page's URL
(``at=3``), so a reload or a shared link lands on the same demo.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rnn_core.talks import neighbour
from ui import page_params
from ui.race import RACE
from ui.run import RUN
from ui.run_set import RunSet
from ui.text import escape_markdown


def _runs(name: str) -> RunSet:
    return RACE if name in RACE.presets else RUN


def go(at: int) -> None:
    """Open demo number ``at`` (from 0) of the talk, as its Welcome page button does."""
    names, _ = page_params.talk()
    st.session_state[page_params.AT] = at
    _runs(names[at]).go_to_preset(names[at])


def open_linked_demo(first_run: bool, url_path: str) -> None:
    """A talk link to the site's address (the Welcome page) opens the demo it is at, on
    the session's first run only: later visits to Welcome stay there."""
    names, at = page_params.talk()
    if first_run and url_path == "" and names and "preset" not in st.query_params:
        go(at)


def talk_bar(extra: Callable[[], None] | None = None) -> None:
    """Previous, next and where the talk is, then ``extra()`` (more buttons for the same
    row); without a talk, ``extra()`` alone."""
    names, at = page_params.talk()
    if not names:
        if extra is not None:
            with st.container(horizontal=True, key="talk.bar"):
                extra()
        return
    preset = _runs(names[at]).presets[names[at]]
    previous = neighbour(at, -1, len(names))
    following = neighbour(at, +1, len(names))
    # One row that wraps on a narrow screen: the buttons keep their labels whole.
    with st.container(horizontal=True, vertical_alignment="center", key="talk.bar"):
        pressed_back = st.button(
            "Previous",
            key="talk.previous",
            shortcut="Left",
            disabled=previous is None,
            help="The talk's previous demo (left arrow key).",
        )
        pressed_forward = st.button(
            "Next",
            key="talk.next",
            shortcut="Right",
            disabled=following is None,
            type="primary",
            help="The talk's next demo (right arrow key).",
        )
        st.markdown(
            f"**Talk: {page_params.position()}** · {escape_markdown(preset.title)}",
            width="stretch",
        )
        if extra is not None:
            extra()
    if pressed_back and previous is not None:
        go(previous)
    if pressed_forward and following is not None:
        go(following)
