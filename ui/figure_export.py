"""The Export menu under every chart (``ui.controls.chart``): the chart as a standalone
HTML page, a PNG or an SVG, and an animated chart as a GIF.

Nothing is made until it is asked for. The popover tracks whether it is open
(``on_change="rerun"``), so a closed one is one small widget: live fragments rerun
twice a second and every chart of theirs has this menu. Open, HTML, PNG and SVG are
deferred downloads (Streamlit calls the function when the button is pressed, on its own
thread, with no rerun); a GIF takes seconds and shows a progress bar, so it is made on a
button press and kept, for its download button, while the menu stays open.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from ui import figure_files

NO_CHROMIUM = (
    "PNG and SVG are drawn by Chromium, which this server does not have. The camera "
    "icon in the chart's toolbar (top right, when the pointer is over the chart) "
    "downloads a PNG of the chart as you see it."
)


def _file_stem(key: str) -> str:
    return "rnn-explorer-" + key.replace(".", "-").replace("_", "-")


def export_menu(fig: go.Figure, key: str) -> None:
    """A compact Export popover for the chart drawn with ``key``; its own widgets' keys
    are ``{key}.export...``."""
    menu_key = f"{key}.export"
    gif_key = f"{menu_key}.gif_file"
    menu = st.popover(
        "Export",
        icon=":material/ios_share:",
        key=menu_key,
        on_change="rerun",
        type="tertiary",
        help="Save this chart as a file (made when you press a button).",
    )
    if not menu.open:
        st.session_state.pop(gif_key, None)  # a made GIF lives while its menu is open
        return
    stem = _file_stem(key)
    with menu:
        row = st.container(horizontal=True, gap="small")
        row.download_button(
            "HTML (interactive)",
            data=lambda: figure_files.html_bytes(fig),
            file_name=f"{stem}.html",
            mime="text/html",
            key=f"{menu_key}.html",
            icon=":material/code:",
            on_click="ignore",
            help="One page with the chart and plotly.js inside (about 5 MB): opens "
            "offline, hover and zoom work, animations play.",
        )
        if figure_files.chromium_path() is None:
            st.caption(NO_CHROMIUM)
        else:
            width, height = figure_files.image_size(fig)
            for fmt, mime, icon in (
                ("png", "image/png", ":material/image:"),
                ("svg", "image/svg+xml", ":material/draw:"),
            ):
                row.download_button(
                    fmt.upper(),
                    data=lambda fmt=fmt: figure_files.image_bytes(fig, fmt),
                    file_name=f"{stem}.{fmt}",
                    mime=mime,
                    key=f"{menu_key}.{fmt}",
                    icon=icon,
                    on_click="ignore",
                )
            scale = figure_files.PNG_SCALE
            st.caption(
                f"The chart as it stands ({width}×{height} px; the PNG at {scale}× that), "
                "drawn by Chromium on the server: the first takes a few seconds."
            )
        if figure_files.frame_count(fig) > 1:  # a single frame is the PNG
            _gif_part(fig, menu_key, gif_key, stem)


def _gif_part(fig: go.Figure, menu_key: str, gif_key: str, stem: str) -> None:
    n = figure_files.frame_count(fig)
    shown = len(figure_files.gif_frame_indices(n))
    width, height = figure_files.image_size(fig)
    cap = figure_files.MAX_GIF_FRAMES
    noun = figure_files.frame_noun(fig)
    if figure_files.chromium_path() is None:
        st.caption("A GIF of the animation needs Chromium too.")
        return
    pressed = st.button(
        f"Make a GIF ({shown} frames)",
        key=f"{menu_key}.make_gif",
        icon=":material/animated_images:",
        help=f"One image per {noun}, {width}×{height} px, "
        f"{figure_files.frame_ms(fig)} ms each, looping.",
    )
    st.caption(
        f"One image per {noun}: all {n}."
        if shown == n
        else f"At most {cap} images: {shown} of the {n} {noun}s, evenly spaced, with the "
        "first and the last."
    )
    if pressed:
        bar = st.progress(0.0, text=f"Drawing frame 1 of {shown}…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"Drew frame {done} of {total}")

        try:
            st.session_state[gif_key] = (
                shown,
                noun,
                figure_files.gif_bytes(fig, progress=progress),
            )
        except figure_files.ImageExportError as exc:
            st.session_state.pop(gif_key, None)
            st.warning(f"No GIF: {exc}.")
        bar.empty()
    made = st.session_state.get(gif_key)
    if made is not None:
        frames, noun, data = made
        st.download_button(
            f"GIF of {frames} {noun}s ({len(data) / 2**20:.1f} MB)",
            data=data,
            file_name=f"{stem}.gif",
            mime="image/gif",
            key=f"{menu_key}.gif",
            icon=":material/download:",
            on_click="ignore",
        )
