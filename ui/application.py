"""What every application page shares: when the session's run is on another task, a few
lines about the application and a button for each of its presets."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from rnn_core import TASKS
from ui.run import RUN


def open_or_explain(
    tasks: str | Sequence[str], about: str, presets: str | Sequence[str], key: str
) -> None:
    """Return when the session's run is on one of ``tasks``; otherwise say what the page
    shows (``about``, markdown), offer each of ``presets`` as a button (key ``key``, or
    ``key.NAME`` for several), and stop the page."""
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    if RUN.config().task in tasks:
        return
    st.markdown(about)
    picks = " or ".join(f"**{TASKS[name].title}**" for name in tasks)
    st.info(
        f"The session's run is on **{TASKS[RUN.config().task].title}**, so there is nothing "
        f"of this kind to show yet: open the demo, or pick {picks} as the task in the "
        "sidebar.",
        icon=":material/info:",
    )
    presets = (presets,) if isinstance(presets, str) else tuple(presets)
    for col, name in zip(st.columns(len(presets)), presets, strict=True):
        chosen = RUN.presets[name]
        if col.button(
            chosen.title,
            key=key if len(presets) == 1 else f"{key}.{name}",
            type="primary",
            icon=":material/play_arrow:",
            help=chosen.blurb,
            wrap=True,
            width="stretch" if len(presets) > 1 else "content",
        ):
            RUN.go_to_preset(name)
    st.stop()
