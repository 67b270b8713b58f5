"""Figure files: a plotly figure as a standalone HTML page, as a PNG or SVG image, and an
animated figure (one with plotly frames) as a GIF with one image per frame.

No streamlit here: ``ui.figure_export`` puts these behind buttons. It lives in ``ui/``, not
in ``rnn_core``, because its images need kaleido and Pillow, which are the app's
dependencies (requirements/app.txt), not the engine's (tests/test_packaging.py).

PNG, SVG and GIF are drawn by kaleido driving a Chromium that is already installed
(Debian's ``/usr/bin/chromium``; kaleido finds it on PATH, or at ``BROWSER_PATH``). Nothing
is downloaded: without a Chromium ``chromium_path()`` is None and the page offers HTML only.
One browser serves every session of the server process: it opens on the first image and
closes after ``IDLE_SECONDS`` without one.
"""

from __future__ import annotations

import asyncio
import copy
import io
import logging
import os
import threading
from collections.abc import Callable, Iterator
from functools import cache

import plotly.graph_objects as go

_LOG = logging.getLogger(__name__)

# Bounds on the work one press can ask of the server's CPU. The image size follows the
# figure's own layout height (and width, where it sets one) within these.
DEFAULT_WIDTH, DEFAULT_HEIGHT = 960, 540
MAX_WIDTH, MAX_HEIGHT = 1600, 1200
PNG_SCALE = 2  # a PNG for a paper or a slide: twice the layout's pixels
GIF_SCALE = 1
MAX_GIF_FRAMES = 60
FRAME_MS = 300  # ms a GIF frame, where the figure's Play button says none
IDLE_SECONDS = 120.0
OPEN_TIMEOUT = 60.0  # Chromium's first start on a busy two-core machine
RENDER_TIMEOUT = 60.0


class ImageExportError(RuntimeError):
    """No image can be drawn here (no Chromium, or kaleido failed); the message says why."""


def html_bytes(fig: go.Figure) -> bytes:
    """A full HTML page holding the figure and plotly.js itself (about 4.8 MB of it), so it
    opens offline; frames, Play and the slider work as in the app."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


@cache
def chromium_path() -> str | None:
    """The Chromium (or Chrome) kaleido would drive, or None. Looked up once per process:
    a PATH search, no browser started."""
    try:
        from choreographer.browsers.chromium import Chromium
    except ImportError:  # kaleido (and its choreographer) not installed
        return None
    try:
        path = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - a lookup that fails means no browser to use
        return None
    # BROWSER_PATH is returned as set, even when nothing is there.
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def frame_count(fig: go.Figure) -> int:
    return len(fig.frames or ())


def frame_ms(fig: go.Figure) -> int:
    """How long the app's Play button shows each frame (rnn_core/viz/playback.py), so the
    GIF plays at the app's pace; ``FRAME_MS`` for a figure without one."""
    try:
        play = fig.layout.updatemenus[0].buttons[0].args[1]
        return int(play["frame"]["duration"]) or FRAME_MS
    except (IndexError, KeyError, TypeError, ValueError):
        return FRAME_MS


def frame_noun(fig: go.Figure) -> str:
    """What one frame is: a training snapshot for the charts over training (their slider
    reads "training step N"), else a frame (the per-time-step bars)."""
    sliders = fig.layout.sliders
    prefix = (sliders[0].currentvalue.prefix or "") if sliders else ""
    return "snapshot" if prefix.startswith("training step") else "frame"


def image_size(fig: go.Figure) -> tuple[int, int]:
    """(width, height) in layout pixels: the figure's own where set, within the caps."""
    width = fig.layout.width or DEFAULT_WIDTH
    height = fig.layout.height or DEFAULT_HEIGHT
    return min(int(width), MAX_WIDTH), min(int(height), MAX_HEIGHT)


class _Chromium:
    """One kaleido browser on its own event loop thread, shared by every caller; closed
    after ``IDLE_SECONDS`` without a render. kaleido's own sync server
    (``kaleido.start_sync_server``) hands results back through one shared queue, so two
    sessions rendering at once could swap images: this gives each call its own future."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido = None
        self._busy = 0
        self._timer: threading.Timer | None = None

    def render(self, fig_dict: dict, opts: dict) -> bytes:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._kaleido is None:
                self._open()
            loop, kaleido = self._loop, self._kaleido
            self._busy += 1
        try:
            future = asyncio.run_coroutine_threadsafe(kaleido.calc_fig(fig_dict, opts=opts), loop)
            return future.result(RENDER_TIMEOUT)
        finally:
            with self._lock:
                self._busy -= 1
                if self._busy == 0 and self._kaleido is kaleido:
                    self._timer = threading.Timer(IDLE_SECONDS, self.close)
                    self._timer.daemon = True
                    self._timer.start()

    def _open(self) -> None:
        import kaleido

        if chromium_path() is None:
            raise ImageExportError("no Chromium is installed on this server")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="figure-export", daemon=True)
        thread.start()
        # mathjax=False: kaleido would otherwise load MathJax from a CDN (no network here).
        browser = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT, mathjax=False)
        try:
            asyncio.run_coroutine_threadsafe(browser.open(), loop).result(OPEN_TIMEOUT)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            raise
        self._loop, self._kaleido = loop, browser

    def close(self) -> None:
        with self._lock:
            if self._busy or self._kaleido is None:
                return
            loop, browser = self._loop, self._kaleido
            self._loop, self._kaleido, self._timer = None, None, None
        try:
            asyncio.run_coroutine_threadsafe(browser.close(), loop).result(OPEN_TIMEOUT)
        except Exception:  # noqa: BLE001 - closing a browser that already died
            _LOG.warning("closing the export browser failed", exc_info=True)
        finally:
            loop.call_soon_threadsafe(loop.stop)


_CHROMIUM = _Chromium()


def render_dict(fig_dict: dict, fmt: str, width: int, height: int, scale: float) -> bytes:
    """A figure given as a plotly dict drawn by the shared browser, in format ``fmt``."""
    if chromium_path() is None:
        raise ImageExportError("no Chromium is installed on this server")
    opts = {"format": fmt, "width": width, "height": height, "scale": scale}
    try:
        return _CHROMIUM.render(fig_dict, opts)
    except ImageExportError:
        raise
    except Exception as exc:
        _LOG.exception("kaleido could not draw a %s", fmt)
        raise ImageExportError(f"Chromium could not draw the image ({exc})") from exc


def close_browser() -> None:
    """Close the shared browser now (tests and benchmarks; the app lets it idle out)."""
    _CHROMIUM.close()


def image_bytes(fig: go.Figure, fmt: str) -> bytes:
    """The figure as it stands (an animated one at its base data, the last snapshot, with
    its slider and without its Play/Pause buttons) as "png" or "svg". Raises
    ImageExportError with the reason when it cannot."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"unknown image format {fmt!r}")
    still = fig.to_plotly_json()
    still.pop("frames", None)  # the base data already shows the last frame
    still["layout"].pop("updatemenus", None)  # Play/Pause: a picture cannot be pressed
    width, height = image_size(fig)
    return render_dict(still, fmt, width, height, PNG_SCALE if fmt == "png" else 1)


def gif_frame_indices(n_frames: int, cap: int = MAX_GIF_FRAMES) -> list[int]:
    """Every frame when there are at most ``cap``, else ``cap`` evenly spaced ones that
    keep the first and the last."""
    if n_frames <= cap:
        return list(range(n_frames))
    return sorted({round(i * (n_frames - 1) / (cap - 1)) for i in range(cap)})


def still_figures(fig: go.Figure, indices: list[int] | None = None) -> Iterator[dict]:
    """For each chosen plotly frame, the figure (as a dict) showing that frame: its traces
    updated with the frame's data (as plotly.js's animate does), its slider set to it and
    the Play/Pause buttons left out (a picture cannot be pressed)."""
    base = fig.to_plotly_json()
    frames = base.pop("frames", None) or []
    layout = base["layout"]
    layout.pop("updatemenus", None)
    for i in range(len(frames)) if indices is None else indices:
        frame = frames[i]
        data = copy.copy(base["data"])
        targets = frame.get("traces") or range(len(frame.get("data", ())))
        for target, update in zip(targets, frame.get("data", ()), strict=False):
            data[target] = {**data[target], **update}
        still_layout = {**layout, **frame.get("layout", {})}
        if layout.get("sliders"):
            slider = {**layout["sliders"][0], "active": i}
            still_layout["sliders"] = [slider, *layout["sliders"][1:]]
        yield {"data": data, "layout": still_layout}


def gif_bytes(
    fig: go.Figure,
    *,
    progress: Callable[[int, int], None] | None = None,
    cap: int = MAX_GIF_FRAMES,
) -> bytes:
    """An animated figure as a looping GIF: one image per plotly frame (at most ``cap``,
    evenly spaced), each shown as long as the app's Play button shows it.
    ``progress(done, total)`` after each image. Raises ValueError for a figure without
    frames, ImageExportError when Chromium cannot draw."""
    from PIL import Image

    n = frame_count(fig)
    if n == 0:
        raise ValueError("this figure has no frames to animate")
    indices = gif_frame_indices(n, cap)
    width, height = image_size(fig)
    images = []
    for done, still in enumerate(still_figures(fig, indices), start=1):
        png = render_dict(still, "png", width, height, GIF_SCALE)
        images.append(Image.open(io.BytesIO(png)).convert("RGB"))
        if progress is not None:
            progress(done, len(indices))
    return encode_gif(images, frame_ms(fig))


def encode_gif(images, ms: int = FRAME_MS) -> bytes:
    """PIL images (or H x W x 3 uint8 arrays) as a looping GIF, ``ms`` a frame.
    Pillow folds an image identical to the one before it into that one (a longer
    duration); the stills of ``still_figures`` never are, since each shows its own slider
    position, so the GIF holds one image per frame."""
    from PIL import Image

    pictures = [im if isinstance(im, Image.Image) else Image.fromarray(im) for im in images]
    # One adaptive palette per frame (Pillow's default); charts have few colours.
    out = io.BytesIO()
    pictures[0].save(
        out,
        format="GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=ms,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return out.getvalue()
