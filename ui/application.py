"""What every application page shares: when the session's run is on another task, a few
lines about the application and one button that opens its preset."""

from __future__ import annotations

import streamlit as st

from rnn_core import TASKS
from ui.run import RUN


def open_or_explain(task_name: str, about: str, preset: str, key: str) -> None:
    """Return when the session's run is on ``task_name``; otherwise say what the page
    shows (``about``, markdown), offer ``preset`` as one button, and stop the page."""
    if RUN.config().task == task_name:
        return
    st.markdown(about)
    st.info(
        f"The session's run is on **{TASKS[RUN.config().task].title}**, so there is nothing "
        f"of this kind to show yet: open the demo, or pick "
        f"**{TASKS[task_name].title}** as the task in the sidebar.",
        icon=":material/info:",
    )
    chosen = RUN.presets[preset]
    if st.button(
        chosen.title, key=key, type="primary", icon=":material/play_arrow:", help=chosen.blurb
    ):
        RUN.go_to_preset(preset)
    st.stop()
