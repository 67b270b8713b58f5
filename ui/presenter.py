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
from typing import Any

import plotly.graph_objects as go
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


# Figures: plotly sizes text in pixels, so the CSS above does not reach it. Fonts,
# margins and the figure's size grow by SCALE; text and axis lines turn black and the
# grid darker (the figures' own, rnn_core/viz/look.py, are pale on a projector).
FONT_KEYS = ("font", "textfont", "tickfont", "insidetextfont", "outsidetextfont")
PLOTLY_FONT_SIZE = 12  # plotly.js's default, for a figure that sets none
PLOTLY_HEIGHT = 450  # plotly.js's default height
INK, GRID = "#000000", "#9a9a9a"


def _scale_fonts(node: Any, scale: float) -> None:
    """Every font size set anywhere in a figure's dict (titles, legends, ticks, slider
    labels, annotations, trace text), times ``scale``, in place. Arrays are leaves."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in FONT_KEYS and isinstance(value, dict):
                if isinstance(value.get("size"), int | float):
                    value["size"] = value["size"] * scale
                if key == "font" and "color" in value:
                    value["color"] = INK
            _scale_fonts(value, scale)
    elif isinstance(node, list):
        for item in node:
            _scale_fonts(item, scale)


def projector_spec(spec: dict, scale: float = SCALE) -> dict:
    """A figure's dict (``Figure.to_dict()``) for a projector, changed in place: fonts,
    margins, height and a set width times ``scale``; black text and axes, a darker grid."""
    layout = spec.setdefault("layout", {})
    font = layout.setdefault("font", {})
    font.setdefault("size", PLOTLY_FONT_SIZE)
    font["color"] = INK
    _scale_fonts(spec, scale)
    layout["height"] = (layout.get("height") or PLOTLY_HEIGHT) * scale
    if "width" in layout:
        layout["width"] = layout["width"] * scale
    margin = layout.get("margin", {})
    for side in ("l", "r", "t", "b"):
        if isinstance(margin.get(side), int | float):
            margin[side] = margin[side] * scale
    # What a figure leaves unset, Streamlit's chart theme sets in grey at its own small
    # size (ticks, axis titles, legends, colour bars): set here, in black at the base size.
    size = font["size"]

    def ink(holder: dict, key: str = "font") -> None:
        holder[key] = {"size": size, **holder.get(key, {}), "color": INK}

    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            axis.update(gridcolor=GRID, linecolor=INK, zerolinecolor=GRID)
            ink(axis, "tickfont")
            if isinstance(axis.get("title"), dict):
                ink(axis["title"])
    ink(layout.setdefault("legend", {}))
    for trace in spec.get("data", []):
        if "colorbar" in trace or trace.get("type") == "heatmap":
            ink(trace.setdefault("colorbar", {}), "tickfont")
    return spec


class ProjectorFigure(go.Figure):
    """``fig`` as st.plotly_chart reads it in presenter mode. Streamlit reads a figure
    only through ``to_dict()`` (a deep copy; st.plotly_chart in Streamlit 1.67), so the
    projector's changes are made to that copy: the figure itself is shared by every
    viewer of a run (ui.live_view) and must not change, and copying it as a Figure costs
    30-200 ms (plotly validates every value; measured here on a loss curve and a 50-frame
    heatmap) where this costs a walk over its dict."""

    def __init__(self, fig: go.Figure):
        # go.Figure's own state is never built: only to_dict below is read.
        self._shown = fig

    def to_dict(self) -> dict:
        return projector_spec(self._shown.to_dict())


def for_screen(fig: go.Figure) -> go.Figure:
    """The figure as the screen should show it: ``fig``, or in presenter mode its
    projector form (``ProjectorFigure``)."""
    return ProjectorFigure(fig) if page_params.presenting() else fig


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
    talk_bar.talk_bar(_leave_button if on else None)


def _leave_button() -> None:
    # The sidebar's toggle is hidden with the sidebar: this takes its place.
    st.button(
        "Leave presenter mode",
        key="presenter.leave",
        on_click=_leave,
        icon=":material/close_fullscreen:",
        type="tertiary",
        help=SHORTCUTS,
    )
