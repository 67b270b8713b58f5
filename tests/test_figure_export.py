"""Figure exports (ui/figure_files.py, ui/figure_export.py): HTML, PNG, SVG, and a GIF with one
image per frame of an animated chart; the Export menu under every chart.

PNG, SVG and GIF need a Chromium (kaleido drives it). Where one is installed (.ci/run
installs Debian's for the browser tests) these tests require that it works; they are skipped
only on a machine without one, and never in CI.
"""

from __future__ import annotations

import base64
import io
import os
import xml.etree.ElementTree as ET

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image, ImageSequence
from streamlit.testing.v1 import AppTest

from rnn_core import viz
from ui import figure_files

HAS_CHROMIUM = figure_files.chromium_path() is not None
if os.environ.get("CI") == "true" and not HAS_CHROMIUM:
    raise RuntimeError("CI installs chromium (.ci/run): the image exports must be tested there")
needs_chromium = pytest.mark.skipif(not HAS_CHROMIUM, reason="no Chromium on this machine")

TITLE = "Export me: hidden state"


@pytest.fixture(scope="module", autouse=True)
def one_browser_for_the_module():
    yield
    figure_files.close_browser()


def heatmap_over_training(n_frames: int) -> go.Figure:
    """The app's own animated heatmap, each snapshot a different pattern."""
    rng = np.random.default_rng(0)
    frames = [np.tanh(rng.normal(size=(6, 12)) * (1 + i)) for i in range(n_frames)]
    return viz.signed_over_training(
        frames, [25 * i for i in range(n_frames)], bound=1.0, colorbar_title="h", title=TITLE
    )


def bar_figure() -> go.Figure:
    fig = go.Figure(go.Bar(x=["a", "b"], y=[0.125, 0.375], marker_color="rgb(255,0,0)"))
    fig.update_layout(title_text=TITLE, width=640, height=400)
    return fig


def test_html_is_a_whole_offline_page_with_the_figures_data():
    page = figure_files.html_bytes(bar_figure()).decode("utf-8")
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    assert 'src="http' not in page  # plotly.js is inside, not fetched
    assert len(page) > 1_000_000  # plotly.js itself is megabytes
    assert TITLE in page and "0.375" in page


def test_html_of_an_animated_figure_holds_every_frame():
    fig = heatmap_over_training(4)
    # plotly writes "/" as \u002f inside its <script>
    page = figure_files.html_bytes(fig).decode("utf-8").replace("\\u002f", "/")
    for frame in fig.frames:  # each frame's cells, as plotly sends numpy arrays (base64)
        z = np.asarray(frame.data[0].z)
        assert base64.b64encode(z.tobytes()).decode() in page


def decoded(values) -> np.ndarray:
    """Plotly's JSON form of a numpy array ({dtype, bdata}) as the array."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def test_a_still_shows_its_frames_data_and_slider_position_without_play_buttons():
    arrays = [np.full(10, 10.0**-k) for k in range(3)]
    fig = viz.grad_norm_figure(arrays, [0, 50, 100])
    stills = list(figure_files.still_figures(fig))
    assert len(stills) == 3
    for k, still in enumerate(stills):
        np.testing.assert_allclose(decoded(still["data"][0]["y"]), arrays[k])
        assert still["layout"]["sliders"][0]["active"] == k
        assert "updatemenus" not in still["layout"]
        assert "frames" not in still


def test_gif_frames_are_every_frame_or_a_spread_keeping_first_and_last():
    assert figure_files.gif_frame_indices(5, cap=60) == [0, 1, 2, 3, 4]
    spread = figure_files.gif_frame_indices(1000, cap=60)
    assert len(spread) == 60 and spread[0] == 0 and spread[-1] == 999
    assert spread == sorted(set(spread))


def test_a_figure_without_frames_has_no_gif():
    with pytest.raises(ValueError, match="no frames"):
        figure_files.gif_bytes(bar_figure())


@needs_chromium
def test_png_is_a_drawn_image_of_the_figures_shape():
    data = figure_files.image_bytes(bar_figure(), "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    assert width >= 640 and width * 400 == height * 640  # the layout's 640 x 400, scaled
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    red = (pixels[:, 0] > 200) & (pixels[:, 1] < 60) & (pixels[:, 2] < 60)
    assert red.mean() > 0.02  # the bars are drawn, not a blank page


@needs_chromium
def test_svg_parses_as_xml_and_holds_the_title():
    data = figure_files.image_bytes(bar_figure(), "svg")
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert TITLE in "".join(root.itertext())


@needs_chromium
def test_gif_has_one_image_per_snapshot_and_they_differ():
    fig = heatmap_over_training(5)
    seen = []
    data = figure_files.gif_bytes(fig, progress=lambda done, total: seen.append((done, total)))
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF"
    images = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    assert len(images) == 5
    assert all(not np.array_equal(a, b) for a, b in zip(images, images[1:], strict=False))
    assert seen == [(k, 5) for k in range(1, 6)]
    play = fig.layout.updatemenus[0].buttons[0].args[1]
    assert gif.info["duration"] == play["frame"]["duration"]  # the app's pace


@needs_chromium
def test_gif_over_the_cap_keeps_that_many_frames():
    gif = Image.open(io.BytesIO(figure_files.gif_bytes(heatmap_over_training(7), cap=3)))
    assert gif.n_frames == 3


def _chart_page():
    import numpy as np
    import plotly.graph_objects as go

    from rnn_core import viz
    from ui import controls

    rng = np.random.default_rng(0)
    frames = [np.tanh(rng.normal(size=(6, 12)) * (1 + i)) for i in range(3)]
    fig = viz.signed_over_training(frames, [0, 25, 50], bound=1.0, colorbar_title="h", title="h")
    controls.chart(fig, "test.heatmap", "rows are units.")
    controls.chart(go.Figure(go.Scatter(y=[1, 2])), "test.line", "a line.")


def _open_menu(key: str) -> AppTest:
    at = AppTest.from_function(_chart_page, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    popovers = [b for b in at.main.children.values() if getattr(b, "type", None) == "popover"]
    assert len(popovers) == 2  # one Export menu per chart
    assert not at.get("download_button")  # a closed menu makes nothing
    at.session_state[f"{key}.export"] = True  # what opening the popover sets
    at.run()
    assert not at.exception, at.exception
    return at


def _downloads(at: AppTest) -> dict[str, str]:
    return {d.proto.id.rsplit("-", 1)[-1]: d.proto.label for d in at.get("download_button")}


def test_an_open_menu_renders_no_image_until_a_button_is_pressed(monkeypatch):
    drawn = []
    monkeypatch.setattr(figure_files, "render_dict", lambda *a, **k: drawn.append(a) or b"")
    at = _open_menu("test.heatmap")
    at.run()  # a rerun (a live fragment's tick) with the menu open
    assert not at.exception, at.exception
    assert drawn == []
    labels = [d.label for d in at.get("download_button")]
    assert labels[0].startswith("HTML")
    assert any(b.key == "test.heatmap.export.make_gif" for b in at.button)


def test_without_chromium_the_menu_offers_html_and_says_what_the_camera_gives(monkeypatch):
    monkeypatch.setattr(figure_files, "chromium_path", lambda: None)
    at = _open_menu("test.heatmap")
    labels = [d.label for d in at.get("download_button")]
    assert labels == ["HTML (interactive)"]
    assert not any(b.key == "test.heatmap.export.make_gif" for b in at.button)
    assert any("camera" in c.value for c in at.caption)


@needs_chromium
def test_pressing_make_a_gif_gives_a_gif_download():
    at = _open_menu("test.heatmap")
    at.button(key="test.heatmap.export.make_gif").click().run()
    assert not at.exception, at.exception
    gifs = [d for d in at.get("download_button") if d.label.startswith("GIF of 3 snapshots")]
    assert len(gifs) == 1
    assert not at.warning  # no "No GIF: ..." note
