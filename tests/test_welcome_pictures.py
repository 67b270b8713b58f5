"""The Welcome page's pictures: the diagrams, the demos' loss thumbnails, and the store's
history-only reader they are drawn from."""

import base64
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from rnn_core.preset_curves import preset_runs, stored_curves
from rnn_core.presets import PRESETS, RUN_OPTIONS
from rnn_core.replay import keep_run, open_run
from rnn_core.run_store import RunStore
from rnn_core.train import Trainer
from rnn_core.viz.thumbnail import loss_thumbnail_svg

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
DIAGRAMS = sorted((ROOT / "assets" / "diagrams").glob("*.svg"))
SVG = "{http://www.w3.org/2000/svg}"


def _points(path_d: str) -> np.ndarray:
    """(x, y) of every point of an SVG path made of M and L commands."""
    return np.array([[float(a), float(b)] for a, b in re.findall(r"([-\d.]+),([-\d.]+)", path_d)])


def _curves(svg: str) -> dict[str, np.ndarray]:
    root = ET.fromstring(svg)
    return {
        p.get("data-label"): _points(p.get("d"))
        for p in root.iter(f"{SVG}path")
        if p.get("class") == "curve"
    }


# ---------------------------------------------------------------- the thumbnail builder
def test_the_curve_is_lowest_where_the_loss_is_lowest_and_later_steps_lie_further_right():
    steps = np.arange(1, 61)
    loss = 0.3 + (steps - 41) ** 2 / 2000.0  # lowest at step 41
    svg = loss_thumbnail_svg([("GRU", steps, loss)], baseline=0.5, title="t")
    points = _curves(svg)["GRU"]
    assert len(points) == len(steps)
    assert np.all(np.diff(points[:, 0]) > 0)
    # SVG's y grows downwards: the lowest point on screen has the largest y
    assert steps[np.argmax(points[:, 1])] == 41


def test_the_baseline_is_drawn_where_the_curve_would_be_at_that_loss():
    steps = np.arange(10)
    loss = np.linspace(0.9, 0.1, 10)
    svg = loss_thumbnail_svg([("LSTM", steps, loss)], baseline=0.4, title="t")
    points = _curves(svg)["LSTM"]
    # the axis is linear: two of the curve's points fix it; the baseline must lie on it
    slope, intercept = np.polyfit(loss, points[:, 1], 1)
    (line,) = [e for e in ET.fromstring(svg).iter(f"{SVG}line") if e.get("class") == "baseline"]
    assert float(line.get("y1")) == pytest.approx(slope * 0.4 + intercept, abs=0.05)
    assert float(line.get("y1")) == float(line.get("y2"))
    assert slope < 0  # a higher loss is drawn higher up


def test_each_run_is_one_curve_and_a_diverged_run_ends_in_a_cross_at_its_last_finite_point():
    steps = np.arange(1, 6)
    ok = np.array([1.0, 0.8, 0.6, 0.5, 0.4])
    diverged = np.array([1.0, 0.9, np.inf, np.nan, np.nan])
    svg = loss_thumbnail_svg(
        [("LSTM", steps, ok), ("ReLU RNN", steps, diverged)], baseline=1.0, title="two runs"
    )
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "two runs"
    curves = _curves(svg)
    assert set(curves) == {"LSTM", "ReLU RNN"}
    assert len(curves["ReLU RNN"]) == 2  # the finite steps before the loss blew up
    (cross,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "diverged"]
    assert cross.get("data-label") == "ReLU RNN"
    centre = _points(cross.get("d")).mean(axis=0)
    assert centre == pytest.approx(curves["ReLU RNN"][-1], abs=0.01)


def test_a_run_that_diverged_at_its_second_step_is_one_point_and_a_cross():
    svg = loss_thumbnail_svg([("ReLU RNN", [1, 2], [0.2, np.nan])], baseline=0.17, title="t")
    assert len(_curves(svg)["ReLU RNN"]) == 1
    assert 'class="diverged"' in svg


def test_a_long_history_is_drawn_with_few_points_following_its_trend():
    steps = np.arange(5000)
    loss = np.exp(-steps / 1000.0) + np.random.default_rng(0).normal(0, 0.01, 5000)
    points = _curves(loss_thumbnail_svg([("GRU", steps, loss)], None, "t"))["GRU"]
    assert 20 <= len(points) <= 300  # a thumbnail, not 5,000 points per demo
    assert points[-1, 1] > points[0, 1]  # the loss falls: the end is drawn lower


# ---------------------------------------------------------------- the diagrams
def test_there_are_the_three_diagrams_each_in_provenance():
    assert {p.name for p in DIAGRAMS} >= {"rnn_unrolled.svg", "lstm_cell.svg", "gru_cell.svg"}
    provenance = (ROOT / "assets" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert all(f"diagrams/{p.name}" in provenance for p in DIAGRAMS)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.name)
def test_each_diagram_is_svg_that_scales_and_says_what_it_shows(path):
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    width, height = map(float, root.get("viewBox").split()[2:])
    assert width > 0 and height > 0
    assert root.find(f"{SVG}title").text.strip()
    assert len(root.find(f"{SVG}desc").text) > 40
    text = path.read_text(encoding="utf-8")
    # nothing fetched from elsewhere: no images, no web fonts, no links out
    assert "<image" not in text and "@import" not in text and "@font-face" not in text
    assert not re.search(r"href=|url\((?!#)", text)
    # labels stay at 16 px or more when the diagram is drawn 530 px wide (about the main
    # column of a 1024 x 768 screen with the sidebar open)
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)px", text)]
    assert sizes and min(sizes) * 530 / width >= 16


def test_the_cell_diagrams_state_torchs_equations():
    lstm = (ROOT / "assets/diagrams/lstm_cell.svg").read_text(encoding="utf-8")
    gru = (ROOT / "assets/diagrams/gru_cell.svg").read_text(encoding="utf-8")
    assert "c_t = f * c_(t-1) + i * g; h_t = o * tanh(c_t)" in lstm
    assert "n = tanh(W_in x_t + b_in + r * (W_hn h_(t-1) + b_hn))" in gru
    assert "h_t = (1 - z) * n + z * h_(t-1)" in gru


# ---------------------------------------------------------------- the store's reader
def _stored_memory_run(store: RunStore, steps: int = 4) -> Trainer:
    (_, cfg, _), *_ = preset_runs("memory")
    trainer = open_run(store, cfg, **RUN_OPTIONS)
    trainer.step(steps)
    keep_run(store, trainer)
    return trainer


def test_the_history_reader_gives_the_stored_history_and_never_raises(tmp_path):
    store = RunStore(tmp_path / "runs")
    (_, cfg, options), *_ = preset_runs("memory")
    assert store.history(cfg, options) is None
    trainer = _stored_memory_run(store)
    history = store.history(cfg, options)
    assert list(history["step"]) == [1, 2, 3, 4]
    assert np.array_equal(history["loss"].to_numpy(), trainer.history["loss"].to_numpy())
    curves = stored_curves(store, "memory")
    assert curves.steps == 4 and [t for t, _, _ in curves.curves] == ["GRU"]
    # a damaged history file: no history, no exception
    (store.path(cfg, options) / "history.npz").write_bytes(b"PK\x03\x04 not a zip")
    assert store.history(cfg, options) is None


# ---------------------------------------------------------------- the page
def _svg_images(at) -> list[str]:
    """The SVG text of every st.image on the page (sent as data: URIs)."""
    found = []
    for element in at.get("image"):
        for image in element.proto.imgs:
            head, _, data = image.url.partition(",")
            if head == "data:image/svg+xml;base64":
                found.append(base64.b64decode(data).decode("utf-8"))
    return found


def test_welcome_shows_the_diagrams_and_a_thumbnail_only_for_a_stored_demo():
    from rnn_core.run_store import default_store_dir

    store = RunStore(default_store_dir())  # the test's empty store (conftest)
    _stored_memory_run(store)

    at = AppTest.from_file(str(APP), default_timeout=30).run()

    assert not at.exception
    images = _svg_images(at)
    for title in (
        "A recurrent network unrolled in time",
        "An LSTM cell and its four gates",
        "A GRU cell and its gates",
    ):
        assert sum(f">{title}</title>" in svg for svg in images) == 1, title
    thumbnails = [svg for svg in images if 'class="curve"' in svg]
    assert len(thumbnails) == 1
    assert 'data-label="GRU"' in thumbnails[0]
    assert any("4 steps" in c.value for c in at.caption)
    not_yet = [c.value for c in at.caption if "once it has been trained" in c.value]
    assert len(not_yet) == len(PRESETS) + 2 - 1  # every other demo on the page
