"""Presenter mode (``?present=1`` or the sidebar's toggle) and the talk bar on every page.

The projector layout is CSS only (assets/presenter.css): larger type (SCALE times the
theme's), black on white, the sidebar hidden, and the secondary widgets a speaker does not
need hidden (expanders: About this task, downloads, more settings; the race page's preset
buttons). The pages draw what they always draw, so leaving presenter mode (the toggle, or
the button that takes its place while the sidebar is hidden) restores everything at the
next rerun. The state and its URL live in ui.page_params.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import page_params, talk_bar
from ui.text import escape_markdown

SCALE = 1.4  # type and charts, against the theme's size: readable from a room's back rows
CSS = Path(__file__).resolve().parents[1] / "assets" / "presenter.css"
TOGGLE = "presenter.toggle"
SHORTCUTS = (
    "Keys: Space start or pause, S step ×10, 0 reset to step 0, "
    "← → the talk's previous and next demo."
)


def _css() -> str:
    base = st.get_option("theme.baseFontSize") or 16
    root = (
        f":root {{ --presenter-scale: {SCALE}; }}\n"
        f"html {{ font-size: {base * SCALE:g}px !important; }}"
    )
    return f"<style>{root}\n{CSS.read_text(encoding='utf-8')}</style>"


def _follow_toggle() -> None:
    st.session_state[page_params.PRESENT] = st.session_state[TOGGLE]


def _leave() -> None:
    st.session_state[page_params.PRESENT] = False


def _show_url_warnings() -> None:
    problems = st.session_state.pop(page_params.WARNINGS, None)
    if problems:
        lines = "\n".join(f"- {escape_markdown(p)}" for p in problems)
        st.warning(
            f"This link's talk or presenter setting could not all be used:\n{lines}",
            icon=":material/link_off:",
        )


def presenter_frame() -> None:
    """Every page's frame for a speaker, drawn before the page: the presenter toggle (in
    the sidebar), the projector layout when it is on, the talk's bar when a talk is
    loaded, and one warning for what the link had that could not be used."""
    on = page_params.presenting()
    st.session_state[TOGGLE] = on  # the toggle shows the mode, however it was set
    st.sidebar.toggle(
        "Presenter mode",
        key=TOGGLE,
        on_change=_follow_toggle,
        help="A projector layout: larger type, no sidebar, only the run's controls. "
        "Same as ?present=1 in the address. " + SHORTCUTS,
    )
    _show_url_warnings()
    if on:
        st.html(_css())
        note, leave = st.columns([5, 1], vertical_alignment="center")
        note.caption(SHORTCUTS)
        leave.button(
            "Leave presenter mode",
            key="presenter.leave",
            on_click=_leave,
            icon=":material/close_fullscreen:",
            type="tertiary",
            width="stretch",
        )
    talk_bar.talk_bar()
