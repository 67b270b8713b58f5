"""What every application page shares: when the session's run is on another task, a few
lines on the application and one button that opens its preset."""

from __future__ import annotations

import streamlit as st

from ui.run_set import RunSet


def offer_preset(runs: RunSet, preset_name: str, about: str, key: str) -> None:
    """Say what the application shows (``about``, markdown) and offer its preset as one
    button; then stop the page, which has nothing else to show for another task."""
    st.markdown(about)
    preset = runs.presets[preset_name]
    if st.button(
        preset.title,
        key=key,
        type="primary",
        icon=":material/play_arrow:",
        help=preset.blurb,
    ):
        runs.go_to_preset(preset_name)
    st.caption(preset.blurb)
    st.stop()
