"""The Welcome page's pictures: our diagrams of the cells, and a thumbnail of each demo.

The diagrams are SVG files in assets/diagrams/, drawn for this project (see
assets/PROVENANCE.md), inlined in the page so their titles and descriptions reach a
screen reader. A demo's thumbnail is its runs' loss curves against the baseline as
the run store holds them (``rnn_core.preset_curves``): nothing is trained or loaded
for it, and a demo whose runs are not stored yet gets a sentence, never a made-up
curve.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import streamlit as st

from rnn_core.preset_curves import store_signature, stored_curves
from rnn_core.presets import PRESETS, RACE_PRESETS
from rnn_core.run_store import RunStore
from rnn_core.viz.look import PALETTE
from rnn_core.viz.thumbnail import loss_thumbnail_svg
from ui.session import run_store

_LOG = logging.getLogger(__name__)

DIAGRAM_DIR = Path(__file__).resolve().parent.parent / "assets" / "diagrams"
_SVG = "{http://www.w3.org/2000/svg}"

# The widest a diagram is drawn. Its viewBox is 960 units wide with labels of 29-40
# units, so they stay 16 px or more down to a 530 px column (the main column of a
# 1024 x 768 screen with the sidebar open is about 535 px) and about 1.5x that on a
# projector.
DIAGRAM_MAX_PX = 860
CELL_DIAGRAM_MAX_PX = 760  # the cells are taller (960 x 660): keep them within a screen

# How long a visitor's thumbnails are reused without asking the store again. The
# store's steps are part of the cache key, so a newly stored run shows at the next
# visit anyway; the TTL only bounds how long an unused set of pictures is kept.
THUMBNAIL_TTL_S = 600

THUMBNAIL_MAX_PX = 320  # a 240 x 96 viewBox: at most 128 px tall on a wide screen

NOT_YET = "Its picture appears here once it has been trained on this server."


@st.cache_data(show_spinner=False)
def _diagram(file_name: str) -> tuple[str, str]:
    """(SVG text, its title and description as one alt text) of a diagram file."""
    svg = (DIAGRAM_DIR / file_name).read_text(encoding="utf-8")
    root = ET.fromstring(svg)
    words = [root.findtext(f"{_SVG}{tag}", "").strip() for tag in ("title", "desc")]
    return svg, ": ".join(w for w in words if w)


def diagram(file_name: str, max_px: int = DIAGRAM_MAX_PX) -> None:
    """One diagram of assets/diagrams as wide as its column, up to ``max_px``. Shown
    with st.image (an <img> of the SVG: st.html's sanitiser drops inline SVG, and
    markdown takes its indented lines for code); its title and description are the
    image's alt text."""
    svg, alt = _diagram(file_name)
    st.image(svg, width=max_px, alt=alt)


def section_picture(heading: str) -> None:
    """The diagram that belongs under a Welcome section's text, if it has one."""
    if heading == "Recurrence and memory":
        diagram("rnn_unrolled.svg")
    elif heading == "How LSTM and GRU gates fix it":
        lstm, gru = st.tabs(["LSTM cell", "GRU cell"], key="welcome.cell_diagrams")
        with lstm:
            diagram("lstm_cell.svg", CELL_DIAGRAM_MAX_PX)
        with gru:
            diagram("gru_cell.svg", CELL_DIAGRAM_MAX_PX)


def _legend(titles: list[str], steps: int, diverged: list[tuple[str, int]]) -> str:
    keys = [
        f'<span style="white-space:nowrap"><span style="color:{PALETTE[i % len(PALETTE)]};'
        f'font-weight:bold">━</span>&nbsp;{escape(t)}</span>'
        for i, t in enumerate(titles)
    ]
    keys.append('<span style="white-space:nowrap;color:#555">╍&nbsp;baseline</span>')
    keys.append(f'<span style="white-space:nowrap">{steps:,} steps</span>')
    keys += [
        f'<span style="white-space:nowrap;color:#D55E00">✕&nbsp;{escape(t)} diverged at '
        f"step {at:,}</span>"
        for t, at in diverged
    ]
    return " · ".join(keys)


@dataclass(frozen=True)
class Thumbnail:
    svg: str
    title: str  # the picture's alt text
    legend: str  # HTML: a line of coloured keys, the baseline, the steps


def thumbnail(store: RunStore, name: str) -> Thumbnail | None:
    """The demo's thumbnail, or None while its runs are not all stored."""
    found = stored_curves(store, name)
    if found is None:
        return None
    titles = [title for title, _, _ in found.curves]
    diverged = [
        (title, int(steps[~np.isfinite(loss)][0]))
        for title, steps, loss in found.curves
        if not np.isfinite(loss).all()
    ]
    title = (
        f"Training loss of {', '.join(titles)} over {found.steps:,} steps, "
        f"against the trivial baseline {found.baseline:.3g}"
    )
    svg = loss_thumbnail_svg(found.curves, found.baseline, title=title)
    return Thumbnail(svg, title, _legend(titles, found.steps, diverged))


@st.cache_data(ttl=THUMBNAIL_TTL_S, show_spinner=False, max_entries=8)
def _thumbnails(store_dir: str, signature: tuple[int, ...]) -> dict[str, Thumbnail | None]:
    """Every demo's thumbnail; ``signature`` (the stored steps of every demo's runs) is
    what makes a changed store draw again."""
    del signature  # part of the cache key only
    store = RunStore(store_dir)
    pictures = {}
    for name in (*PRESETS, *RACE_PRESETS):
        try:
            pictures[name] = thumbnail(store, name)
        except Exception:  # a picture is a nicety: the page and its buttons must still show
            _LOG.exception("welcome: no thumbnail for %s", name)
            pictures[name] = None
    return pictures


def forget_thumbnails() -> None:
    """Draw every thumbnail again at the next ``thumbnails()`` (a cold start, for timing)."""
    _thumbnails.clear()


def thumbnails() -> dict[str, Thumbnail | None]:
    """Every demo's thumbnail (None: not stored yet), cached for the store's state."""
    store = run_store()
    signature = store_signature(store, (*PRESETS, *RACE_PRESETS))
    return _thumbnails(str(store.directory), signature)


def demo_thumbnail(container, name: str, pictures: dict[str, Thumbnail | None]) -> None:
    """Under a demo's button: its thumbnail, or the sentence that it comes later."""
    picture = pictures.get(name)
    if picture is None:
        container.caption(NOT_YET)
        return
    container.image(picture.svg, width=THUMBNAIL_MAX_PX, alt=picture.title)
    container.caption(picture.legend, unsafe_allow_html=True)


def demo_columns(count: int) -> int:
    """Columns for a section's ``count`` demos: four side by side leave a button about
    125 px wide on a 1024 x 768 screen (its title wraps to five lines), so four go in
    two rows of two."""
    return 2 if count == 4 else count
