"""Figure builders (the rnn_core.viz package), the statistics they draw and text units,
tested on the figures' data (not screenshots). The race page's figures: test_viz_race.py."""

import ast
import json
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rnn_core import TASKS, RunConfig, Trainer, viz
from rnn_core.state_stats import pca_project, saturation_fractions
from rnn_core.text_units import rank_units, text_features
from rnn_core.viz import activation_text, gradients, look, race, sequence, states, training
from rnn_core.viz.encoding import quantize_codes

ROOT = Path(__file__).resolve().parents[1]
VIZ_MODULES = sorted(
    p.relative_to(ROOT / "rnn_core").as_posix() for p in (ROOT / "rnn_core" / "viz").glob("*.py")
)


@pytest.fixture(scope="module")
def trained():
    """A tiny LSTM on the adding problem with a snapshot every 5 steps."""
    trainer = Trainer(
        RunConfig(task="adding", hidden_size=8, batch_size=4, seq_len=15, clip=0.05), probe_every=5
    )
    trainer.step(30)
    return trainer


def trace(fig, name):
    matches = [t for t in fig.data if t.name == name]
    assert len(matches) == 1, [t.name for t in fig.data]
    return matches[0]


def slider_labels(fig):
    return [s.label for s in fig.layout.sliders[0].steps]


def assert_template_free_look(fig):
    """The "plotly_white" look set on the figure's own layout, property by property:
    ``look.style_figure`` assigns no template (that costs 12-17 ms a figure), so the
    backgrounds, font and grid must be on the layout itself."""
    layout = fig.layout
    assert layout.paper_bgcolor == "white" and layout.plot_bgcolor == "white"
    assert layout.font.size >= 14 and layout.font.color == "#2a3f5f"
    axes = [layout[name] for name in layout if name.startswith(("xaxis", "yaxis"))]
    assert axes and all(axis.gridcolor == look.GRID for axis in axes)


# ------------------------------------------------------------------------- boundaries
def test_the_viz_package_is_found():
    # the checks below run once per module found: an empty glob would check nothing
    assert {"viz/__init__.py", "viz/look.py", "viz/encoding.py", "viz/race.py"} <= set(VIZ_MODULES)


@pytest.mark.parametrize("module", [*VIZ_MODULES, "state_stats.py", "text_units.py"])
def test_no_streamlit_or_torch_import(module):
    tree = ast.parse((ROOT / "rnn_core" / module).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & {"streamlit", "torch"}
    if module == "text_units.py":
        assert imported <= {"__future__", "dataclasses", "numpy"}
    if module == "state_stats.py":
        assert imported <= {"__future__", "numpy"}


def test_every_figure_builder_is_reachable_as_viz_name():
    for module in (training, sequence, states, gradients, race, activation_text):
        for name, fn in vars(module).items():
            if name.startswith("_") or getattr(fn, "__module__", None) != module.__name__:
                continue
            # builders return a Figure (or, for activation_text, the HTML string)
            if getattr(fn, "__annotations__", {}).get("return") in ("go.Figure", "str"):
                assert getattr(viz, name) is fn, name
    assert all(hasattr(viz, name) for name in viz.__all__)


def test_colour_constants():
    first, mid, last = viz.DIVERGING[0][1], viz.DIVERGING[5][1], viz.DIVERGING[-1][1]
    r0, _, b0 = (int(v) for v in first[4:-1].split(","))
    r1, _, b1 = (int(v) for v in last[4:-1].split(","))
    assert b0 > r0 and r1 > b1  # negative blue, positive red
    assert viz.DIVERGING[5][0] == 0.5 and mid == "rgb(247,247,247)"  # white at zero
    assert viz.SEQUENTIAL == "Viridis"
    assert viz.PALETTE[:3] == ["#0072B2", "#D55E00", "#009E73"]


def test_the_look_check_fails_without_the_look():
    # a bare figure, and one that has plotly_white only as a template, are both unstyled
    for unstyled in (go.Figure(), go.Figure(layout={"template": "plotly_white"})):
        with pytest.raises(AssertionError):
            assert_template_free_look(unstyled)


_T = np.arange(6)
BUILDERS = {
    "loss": lambda: viz.loss_figure(_T, np.ones(6), 0.5),
    "sequence": lambda: viz.sequence_figure(
        np.ones((6, 1)),
        np.ones((6, 1)),
        np.ones((6, 1)),
        target_type="regression",
        scored_steps=slice(0, 6),
    ),
    "heatmap": lambda: viz.animated_heatmap(
        [np.zeros((2, 6))], [0], zmin=-1, zmax=1, colorscale=viz.DIVERGING, title="h"
    ),
    "bars": lambda: viz.time_step_bars(np.zeros((6, 3))),
    "saturation": lambda: viz.saturation_figure({"forget": np.full((6, 3), 0.5)}),
    "pca": lambda: viz.pca_trajectory(np.outer(_T, [1.0, 2.0])),
    "grad norms": lambda: viz.grad_norm_figure([np.ones(6)], [0]),
    "grad heatmap": lambda: viz.grad_heatmap([0], np.ones((1, 6))),
    "spectra": lambda: viz.spectra_figure([0], {"W": [1.0]}, {"W": [1.2]}),
    "carry": lambda: viz.carry_figure(np.ones((6, 3)), gate="forget", target_step=5),
    "race": lambda: viz.race_figure({"LSTM": (_T, np.ones(6))}, 0.5, x_title="s", title="r"),
    "digit": lambda: viz.digit_readings_figure(np.zeros((8, 8)), 3),
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_figures_carry_the_template_free_look(name):
    assert_template_free_look(BUILDERS[name]())


# --------------------------------------------------------------------------- loss
def test_loss_trace_zero_thinned_ends_at_latest_step():
    steps = np.arange(1, 10_001)
    loss = 1.0 / np.sqrt(steps)
    fig = viz.loss_figure(steps, loss, 1 / 6, max_points=500)
    line = fig.data[0]
    assert line.name == "training loss"
    assert len(line.x) <= 500
    assert line.x[0] == 1 and line.x[-1] == 10_000
    np.testing.assert_allclose(line.y, 1.0 / np.sqrt(line.x))
    assert_template_free_look(fig)
    assert fig.layout.xaxis.title.text == "training step"


def test_loss_baseline_trace_spans_x_range_with_value_in_name():
    fig = viz.loss_figure(np.arange(5, 50), np.ones(45), 1 / 6)
    baseline = fig.data[1]
    assert baseline.name == "trivial baseline (0.167)"
    assert list(baseline.y) == [1 / 6, 1 / 6]
    assert list(baseline.x) == [5, 49]


def test_loss_clipped_markers_from_mask_sit_on_curve():
    steps = np.arange(1, 101)
    loss = np.linspace(2.0, 1.0, 100)
    mask = np.zeros(100, dtype=bool)
    mask[[3, 40, 99]] = True
    fig = viz.loss_figure(steps, loss, 0.5, clipped_steps=mask)
    clipped = trace(fig, "clipped")
    assert list(clipped.x) == [4, 41, 100]
    np.testing.assert_allclose(clipped.y, loss[[3, 40, 99]])
    # step numbers work too, and markers are thinned with the curve
    fig = viz.loss_figure(steps, loss, 0.5, clipped_steps=steps, max_points=10)
    clipped = trace(fig, "clipped")
    assert len(clipped.x) <= 10 and clipped.x[-1] == 100


def test_loss_from_real_history_marks_clipping(trained):
    history = trained.history
    assert history.clipped.any()  # clip=0.05 makes clipping common
    fig = viz.loss_figure(
        history.step, history.loss, trained.baseline_loss, clipped_steps=history.clipped
    )
    assert list(trace(fig, "clipped").x) == history.step[history.clipped].tolist()
    assert fig.data[0].x[-1] == history.step.iloc[-1]


def test_loss_smoothing_is_debiased_ema():
    rng = np.random.default_rng(0)
    loss = 1.0 + rng.normal(0, 0.3, 500)
    fig = viz.loss_figure(np.arange(500), loss, 1.0, smooth=0.9)
    y = np.asarray(fig.data[0].y)
    assert y[0] == pytest.approx(loss[0])  # debiased: no pull towards 0 at the start
    assert y[1] == pytest.approx((0.9 * loss[0] + loss[1]) / 1.9)
    assert y[100:].std() < 0.5 * loss[100:].std()
    with pytest.raises(ValueError):
        viz.loss_figure(np.arange(3), np.ones(3), 1.0, smooth=1.0)


def test_loss_divergence_dropped_and_marked():
    loss = np.linspace(1, 2, 100)
    loss[60] = np.inf
    loss[61:] = np.nan
    fig = viz.loss_figure(np.arange(100), loss, 0.2, log_y=True)
    y = np.asarray(fig.data[0].y)
    assert np.isfinite(y).all() and fig.data[0].x[-1] == 59
    assert [s.x0 for s in fig.layout.shapes] == [60]
    assert [a.text for a in fig.layout.annotations] == ["diverged"]
    json.loads(fig.to_json())


def test_loss_log_scale_drops_non_positive():
    loss = np.array([1.0, 0.0, -0.5, 0.1, np.nan, 0.01])
    fig = viz.loss_figure(
        np.arange(6), loss, 0.3, log_y=True, test_steps=[0, 3, 5], test_loss=[0.5, 0.0, np.nan]
    )
    assert fig.layout.yaxis.type == "log"
    for t in fig.data:
        assert np.isfinite(t.y).all() and (np.asarray(t.y) > 0).all()
    assert list(fig.data[0].x) == [0, 3, 5]
    held_out = trace(fig, "held-out loss")
    assert list(held_out.x) == [0] and list(held_out.y) == [0.5]


def test_loss_other_runs_after_main_traces():
    others = {
        "tanh RNN": (np.arange(1, 5001), np.full(5000, 0.3)),
        "GRU": (np.arange(1, 11), np.array([1.0, np.nan] + [0.5] * 8)),
    }
    fig = viz.loss_figure(np.arange(1, 101), np.ones(100), 1 / 6, max_points=300, others=others)
    assert fig.data[0].name == "training loss"
    tanh = trace(fig, "tanh RNN")
    assert len(tanh.x) <= 300 and tanh.x[-1] == 5000
    assert np.isfinite(trace(fig, "GRU").y).all()
    assert list(trace(fig, "trivial baseline (0.167)").x) == [1, 5000]  # spans every run
    assert not fig.layout.shapes  # only the main run's divergence is marked


def test_loss_empty_input_has_baseline():
    fig = viz.loss_figure([], [], 0.693, clipped_steps=[], test_steps=[], test_loss=[])
    assert fig.data[0].name == "training loss" and len(fig.data[0].x) == 0
    baseline = trace(fig, "trivial baseline (0.693)")
    assert list(baseline.y) == [0.693, 0.693]
    json.loads(pio.to_json(fig))


# --------------------------------------------------------------- one probe sequence
@pytest.mark.parametrize("name", list(TASKS))
def test_sequence_figure_for_every_task(name):
    task = TASKS[name]
    seq_len = max(task.min_seq_len, min(12, task.max_seq_len or 12))  # digits: 8 or 64 only
    probe = Trainer(RunConfig(task=name, hidden_size=8, batch_size=4, seq_len=seq_len)).probe()
    # as the Playground draws it: a target scored at a sequence's own last real step
    # (variable lengths) is marked there, the others at the task's scored steps
    shown_target, steps = task.shown_target(probe.targets[0], seq_len)
    scored = np.arange(task.total_len(seq_len))[steps]
    fig = viz.sequence_figure(
        probe.inputs[0],
        shown_target,
        probe.outputs[0],
        target_type=task.target_type,
        scored_steps=steps,
        alphabet=task.alphabet,
        class_names=task.class_names,
        title=task.title,
    )
    target = trace(fig, "target")
    assert list(target.x) == scored.tolist()
    if task.target_type == "regression":
        expected = shown_target.reshape(-1)
        expected = expected if expected.size == scored.size else expected[scored]
        np.testing.assert_allclose(target.y, expected)
        np.testing.assert_allclose(trace(fig, "prediction").y, probe.outputs[0][scored, 0])
    else:
        heat = trace(fig, "P(symbol)")
        z = np.asarray(heat.z, dtype=np.int64)
        assert z.shape == (task.output_size, task.total_len(seq_len))
        assert np.abs(z.sum(axis=0) - 100).max() <= task.output_size  # rounded percent
        labels = list(heat.y)
        if task.class_names is not None:
            assert labels == task.class_names
        targets = np.asarray(shown_target).reshape(-1)  # digits: one label, the last step
        # translation: the decoder's targets, then their length (not drawn)
        targets = (
            targets[scored] if targets.size == task.total_len(seq_len) else targets[: scored.size]
        )
        assert list(target.y) == [labels[i] for i in targets]
        # captions: image columns of pixels, then symbols: drawn as cells like pixels
        if task.alphabet is not None and name != "captions":  # one-hot symbols, as text
            shown = list(trace(fig, "input").text)
            # inputs beyond the output symbols (translation's English words) by their names
            names = labels if task.input_size == task.output_size else task.alphabet
            present = probe.inputs[0].sum(axis=1) > 0  # zero vectors (padding): blank
            assert shown == [
                names[i] if real else ""
                for i, real in zip(probe.inputs[0].argmax(axis=1), present, strict=True)
            ]
        else:  # pixels, shown as grey cells
            np.testing.assert_array_equal(trace(fig, "input").z, probe.inputs[0].T)
    assert fig.layout.xaxis2.title.text == "time step t"
    json.loads(fig.to_json())


def test_sequence_labels_make_whitespace_visible():
    probe = Trainer(RunConfig(task="char_lm", hidden_size=4, batch_size=2, seq_len=5)).probe()
    fig = viz.sequence_figure(
        probe.inputs[0],
        probe.targets[0],
        probe.outputs[0],
        target_type="classification",
        scored_steps=slice(0, 5),
        alphabet=TASKS["char_lm"].alphabet,
    )
    labels = list(trace(fig, "P(symbol)").y)
    assert "↵" in labels and "␣" in labels and len(set(labels)) == len(labels)


@pytest.mark.parametrize("target_shape", [(), (1,)])
@pytest.mark.parametrize(("T", "n_inputs"), [(8, 8), (64, 1)])
def test_sequence_figure_single_label_and_pixel_inputs(T, n_inputs, target_shape):
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 17, size=(T, n_inputs)) / 16  # grey levels, not one-hot
    logits = np.zeros((T, 10))
    logits[:, 3] = np.log(9)  # P(3) = 1/2 at every step
    target = np.full(target_shape, 7)
    fig = viz.sequence_figure(
        inputs,
        target,
        logits,
        target_type="classification",
        scored_steps=slice(T - 1, T),
        title="digit",
    )
    marker = trace(fig, "target")
    assert list(marker.x) == [T - 1] and list(marker.y) == ["7"]
    assert fig.layout.showlegend is True  # one legend entry next to two heatmaps
    pixels = trace(fig, "input")
    assert pixels.type == "heatmap" and pixels.showscale is False
    np.testing.assert_array_equal(pixels.z, inputs.T)  # channels down, steps across
    assert list(pixels.x) == list(range(T)) and len(pixels.y) == n_inputs
    assert (pixels.zmin, pixels.zmax) == (inputs.min(), inputs.max())
    assert fig.layout.yaxis.autorange == "reversed"  # channel 0 (image column 0) on top
    z = np.asarray(trace(fig, "P(symbol)").z)
    assert z.shape == (10, T) and (z[3] == 50).all() and (z[7] == 6).all()
    json.loads(fig.to_json())


def test_sequence_figure_one_hot_inputs_stay_symbols():
    inputs = np.eye(4)[[0, 3, 1]]
    fig = viz.sequence_figure(
        inputs,
        np.array([3, 1, 1]),
        np.zeros((3, 4)),
        target_type="classification",
        scored_steps=slice(0, 3),
    )
    shown = trace(fig, "input")
    assert shown.type == "scatter" and list(shown.text) == ["0", "3", "1"]
    # a constant one-channel input is not a symbol stream
    flat = viz.sequence_figure(
        np.ones((3, 1)),
        np.array(2),
        np.zeros((3, 4)),
        target_type="classification",
        scored_steps=slice(2, 3),
    )
    assert trace(flat, "input").type == "heatmap"
    assert list(trace(flat, "target").x) == [2]


# ------------------------------------------------------------- animated heatmaps
def test_animated_heatmap_one_frame_per_snapshot(trained):
    snaps = trained.snapshots
    assert len(snaps) == 7  # steps 0, 5, ..., 30
    fig = viz.animated_heatmap(
        [s.hidden[0].T for s in snaps],
        [s.step for s in snaps],
        zmin=-1,
        zmax=1,
        zmid=0,
        colorscale=viz.DIVERGING,
        title="Hidden state",
        colorbar_title="h",
    )
    assert len(fig.frames) == len(snaps)
    assert slider_labels(fig) == [str(s.step) for s in snaps]
    assert fig.layout.sliders[0].currentvalue.prefix == "training step "
    assert fig.layout.sliders[0].active == len(snaps) - 1
    buttons = fig.layout.updatemenus[0].buttons
    assert [b.method for b in buttons] == ["animate", "animate"]
    assert "Play" in buttons[0].label and "Pause" in buttons[1].label
    np.testing.assert_array_equal(fig.data[0].z, fig.frames[-1].data[0].z)
    assert fig.data[0].z.shape == (8, 15)
    assert fig.layout.xaxis.title.text == "time step t"
    assert fig.layout.yaxis.title.text == "hidden unit"


def dequantized(fig, z):
    meta = fig.layout.meta
    return meta["offset"] + np.asarray(z, dtype=np.float64) * meta["quantum"]


def test_animated_heatmap_quantized_payload_and_accuracy():
    rng = np.random.default_rng(1)
    frames = [np.tanh(rng.normal(0, 1, (64, 200))) for _ in range(50)]
    fig = viz.animated_heatmap(
        frames,
        list(range(0, 500, 10)),
        zmin=-1,
        zmax=1,
        zmid=0,
        colorscale=viz.DIVERGING,
        title="h",
    )
    assert fig.layout.meta["column_stride"] == 1
    assert len(fig.to_json()) < 1.5e6
    assert len(pio.to_json(fig)) < 1.5e6
    quantum = fig.layout.meta["quantum"]
    for frame, original in zip(fig.frames, frames, strict=True):
        z = frame.data[0].z
        assert isinstance(z, np.ndarray) and z.dtype.kind in "iu" and z.itemsize == 1
        assert np.abs(dequantized(fig, z) - original).max() <= quantum
    # the colour bar is labelled in real values at the right codes
    bar = fig.data[0].colorbar
    reals = dequantized(fig, bar.tickvals)
    np.testing.assert_allclose(reals, [float(t) for t in bar.ticktext], atol=1e-9)
    # zero stays white: the code range is symmetric about the code of zero
    assert dequantized(fig, fig.data[0].zmin) == pytest.approx(-dequantized(fig, fig.data[0].zmax))


def test_quantized_payload_stays_small_for_near_zero_negative_activations():
    """Real hidden states are mostly slightly negative or positive; as int8 their -1
    codes (0xFF) encode to runs of "/" that plotly's JSON writes as six characters."""
    rng = np.random.default_rng(3)
    frames = [np.tanh(rng.normal(0, 0.004, (64, 200))) for _ in range(50)]
    fig = viz.animated_heatmap(
        frames,
        list(range(0, 500, 10)),
        zmin=-1,
        zmax=1,
        zmid=0,
        colorscale=viz.DIVERGING,
        title="h",
    )
    assert len(pio.to_json(fig, validate=False)) < 1.5e6
    assert fig.layout.meta["column_stride"] == 1


def test_animated_heatmap_thins_columns_over_budget():
    rng = np.random.default_rng(2)
    frames = [rng.uniform(0, 1, (64, 400)) for _ in range(100)]
    fig = viz.animated_heatmap(
        frames, range(100), zmin=0, zmax=1, colorscale=viz.SEQUENTIAL, title="gates"
    )
    stride = fig.layout.meta["column_stride"]
    assert stride > 1 and f"1 in {stride} time steps" in fig.layout.title.text
    assert fig.frames[0].data[0].z.shape == (64, math.ceil(400 / stride))
    assert list(fig.data[0].x[:2]) == [0, stride]
    assert len(fig.to_json()) < 1.5e6
    # float32 frames are thinned harder but fit too
    fig = viz.animated_heatmap(
        frames[:50],
        range(50),
        zmin=0,
        zmax=1,
        quantize=False,
        colorscale=viz.SEQUENTIAL,
        title="gates",
    )
    assert fig.frames[0].data[0].z.dtype == np.float32
    assert len(fig.to_json()) < 1.5e6


@pytest.mark.parametrize("quantize", [True, False])
def test_animated_heatmap_centres_on_zmid(quantize):
    # plotly ignores zmid once zmin/zmax are set: the range itself must be symmetric
    fig = viz.animated_heatmap(
        [np.zeros((2, 3))],
        [0],
        zmin=-0.5,
        zmax=2.0,
        zmid=0,
        colorscale=viz.DIVERGING,
        title="c",
        quantize=quantize,
    )
    heat = fig.data[0]
    if quantize:
        assert dequantized(fig, heat.zmin) == pytest.approx(-dequantized(fig, heat.zmax))
        assert dequantized(fig, heat.zmax) == pytest.approx(2.0)
    else:
        assert heat.zmin == -heat.zmax and heat.zmax == 2.0


def test_animated_heatmap_non_finite_range_falls_back_to_data():
    frame = np.array([[0.0, 3.0], [-2.0, np.inf]])
    fig = viz.animated_heatmap(
        [frame], [7], zmin=-np.inf, zmax=np.inf, zmid=0, colorscale=viz.DIVERGING, title="relu"
    )
    assert dequantized(fig, fig.data[0].zmax) == pytest.approx(3.0)
    assert np.abs(dequantized(fig, fig.data[0].z) - [[0, 3], [-2, 3]]).max() <= 0.05


def test_quantize_codes_clip_and_centre():
    values = np.random.default_rng(5).uniform(-2, 2, 1000)
    codes, q, offset = quantize_codes(values, -2, 2)
    assert codes.dtype == np.uint8 and codes.max() <= 254  # never 0xFF
    assert np.abs(offset + codes * q - values).max() <= q / 2 + 1e-12  # rounding
    codes, q, offset = quantize_codes(np.array([-3.0, -0.5, 0.0, 0.25, 9.0]), -0.5, 1.0)
    assert offset + codes[2] * q == 0  # zero is an exact code
    np.testing.assert_allclose(offset + codes * q, [-0.5, -0.5, 0.0, 0.25, 1.0], atol=q / 2)
    codes, q, offset = quantize_codes(np.array([100.0, 100.5, 101.0]), 100.0, 101.0)
    assert codes.dtype == np.uint8 and q < 0.01  # far from zero: offset keeps resolution
    np.testing.assert_allclose(offset + codes * q, [100.0, 100.5, 101.0], atol=q / 2)


def test_time_step_bars_frames_and_range(trained):
    hidden = trained.probe().hidden[0]  # (T, H), tanh-bounded
    fig = viz.time_step_bars(hidden, title="h_t")
    assert len(fig.frames) == hidden.shape[0]
    assert slider_labels(fig) == [str(t) for t in range(hidden.shape[0])]
    assert fig.layout.sliders[0].currentvalue.prefix == "t = "
    assert list(fig.layout.yaxis.range) == [-1, 1]
    np.testing.assert_array_equal(fig.frames[3].data[0].y, hidden[3])
    np.testing.assert_array_equal(fig.frames[3].data[0].marker.color, np.sign(hidden[3]))
    big = viz.time_step_bars(hidden * 5)
    assert big.layout.yaxis.range[1] >= np.abs(hidden * 5).max()


# ------------------------------------------------------------------ saturation
def test_saturation_fractions_hand_computed():
    values = np.array(
        [
            [0.05, 0.0],
            [0.1, 0.0],  # exactly at a threshold is not saturated
            [0.95, 0.0],
            [0.95, 0.9],
            [0.5, 1.0],
        ]
    )  # (T=5, H=2)
    left, right = saturation_fractions(values, 0.1, 0.9)
    np.testing.assert_allclose(left, [0.2, 0.6])
    np.testing.assert_allclose(right, [0.4, 0.2])
    batched = np.stack([values, values[::-1]])  # (B, T, H) pools over batch and time
    np.testing.assert_allclose(saturation_fractions(batched)[0], left)


def test_saturation_figure_from_lstm_gates(trained):
    gates = trained.probe().gates
    fig = viz.saturation_figure(gates)
    names = [t.name for t in fig.data if t.mode == "markers"]
    assert names == ["input", "forget", "output"]  # "cell" is tanh: skipped, and said so
    assert "cell" in fig.layout.title.text
    forget = trace(fig, "forget")
    left, right = saturation_fractions(gates["forget"])
    np.testing.assert_allclose(forget.x, left)
    np.testing.assert_allclose(forget.y, right)
    assert (np.asarray(forget.x) + np.asarray(forget.y) <= 1).all()


# ------------------------------------------------------------------------- PCA
def test_pca_recovers_planar_trajectory():
    t = np.linspace(0, 2 * np.pi, 60)
    plane = np.stack([3 * np.cos(t), np.sin(t)], axis=1)  # an ellipse, (T, 2)
    basis, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 2)))
    hidden = plane @ basis.T + np.array([1.0, -2.0, 0.5])  # tilted into 3-D
    proj, explained = pca_project(hidden, dims=3)
    assert explained[:2].sum() == pytest.approx(1.0)
    assert explained[0] > explained[1] > 0 and explained[2] == pytest.approx(0, abs=1e-12)

    # a rigid motion of the plane: pairwise distances are preserved
    def dist(a):
        return np.linalg.norm(a[:, None] - a[None], axis=-1)

    np.testing.assert_allclose(dist(proj[:, :2]), dist(plane - plane.mean(0)), atol=1e-9)
    fig = viz.pca_trajectory(hidden, dims=2, title="path")
    assert fig.layout.xaxis.title.text == f"PC1 ({100 * explained[0]:.0f}%)"
    assert fig.layout.yaxis.title.text.startswith("PC2 (")
    assert [t.name for t in fig.data] == ["h_t", "start (t = 0)", "end (t = 59)"]
    assert fig.data[0].marker.colorbar.title.text == "time step t"


def test_pca_signs_follow_the_largest_loading():
    t = np.linspace(-1, 1, 40)
    wiggle = 0.01 * np.sin(7 * t)
    for sign in (1, -1):
        hidden = np.stack([sign * t, wiggle, 0.3 * sign * t], axis=1)
        proj, _ = pca_project(hidden)
        # PC1 points along the unit with the largest loading (unit 0), whatever SVD returns
        assert np.corrcoef(proj[:, 0], hidden[:, 0])[0, 1] > 0.99


def test_pca_degenerate_inputs(trained):
    proj, explained = pca_project(np.ones((1, 1)), dims=3)
    assert proj.shape == (1, 3) and not proj.any() and not explained.any()
    for hidden in (np.arange(5.0)[:, None], np.zeros((2, 4)), np.zeros((0, 3))):
        for dims in (2, 3):
            json.loads(viz.pca_trajectory(hidden, dims=dims).to_json())
    fig = viz.pca_trajectory(trained.probe().hidden[0], dims=3)
    assert fig.data[0].type == "scatter3d" and fig.layout.scene.zaxis.title.text.startswith("PC3")


# ------------------------------------------------------------------- gradients
def test_grad_norm_figure_animates_over_snapshots(trained):
    snaps = trained.snapshots
    fig = viz.grad_norm_figure([s.grad_norm for s in snaps], [s.step for s in snaps], title="grad")
    assert len(fig.frames) == len(snaps)
    assert slider_labels(fig) == [str(s.step) for s in snaps]
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == "‖∂L/∂h_t‖"
    np.testing.assert_allclose(fig.frames[2].data[0].y, snaps[2].grad_norm, rtol=1e-6)


def test_grad_norm_log_guards():
    frames = [np.array([1e-3, 0.0, 1e-5, np.nan, np.inf]), np.array([0.0, 0.0, 2.0, 1.0, 3.0])]
    fig = viz.grad_norm_figure(frames, [0, 10], title="g")
    floor = 1e-6  # smallest positive / 10
    for frame in fig.frames:
        y = np.asarray(frame.data[0].y)
        assert np.isfinite(y).all() and (y > 0).all()
    np.testing.assert_allclose(fig.frames[0].data[0].y, [1e-3, floor, 1e-5, floor, floor])
    assert list(fig.frames[0].data[1].x) == [1, 3, 4]  # the floored points, marked
    assert "drawn at" in fig.data[1].hovertemplate
    low, high = fig.layout.yaxis.range
    assert low < math.log10(floor) and high > math.log10(3.0)
    only_zeros = viz.grad_norm_figure([np.zeros(4)], [0], title="z")
    assert np.asarray(only_zeros.data[0].y).min() == 1e-45


def test_grad_heatmap_log10_with_zeros():
    norms = np.array([[1.0, 0.1, 0.0], [10.0, 1e-3, np.nan]])
    fig = viz.grad_heatmap([0, 50], norms, title="gh")
    z = np.asarray(fig.data[0].z, dtype=np.float64)
    np.testing.assert_allclose(z[0, :2], [0, -1], atol=1e-6)
    assert z[0, 2] == pytest.approx(-4, abs=1e-5)  # zero drawn at 1e-3 / 10
    assert np.isnan(z[1, 2])  # unknown stays an empty cell
    assert list(fig.data[0].y) == [0, 50]
    assert fig.data[0].colorbar.title.text == "log10 ‖∂L/∂h_t‖"
    assert fig.layout.yaxis.title.text == "training step"


def test_spectra_figure_lines_and_bound(trained):
    snaps = trained.snapshots
    steps = [s.step for s in snaps]
    radius = {k: np.array([s.spectral_radius[k][0] for s in snaps]) for k in snaps[0].gates}
    sigma = {k: np.array([s.max_singular_value[k][0] for s in snaps]) for k in snaps[0].gates}
    fig = viz.spectra_figure(steps, radius, sigma, gamma=0.25, title="spectra")
    forget = trace(fig, "spectral radius: forget")
    np.testing.assert_allclose(forget.y, radius["forget"])
    assert trace(fig, "largest singular value: forget").line.dash == "dash"
    assert forget.line.dash == "solid"
    bound = trace(fig, "1/γ = 4")
    assert list(bound.y) == [4, 4] and list(bound.x) == [steps[0], steps[-1]]
    assert "above it gradients can explode (Pascanu et al. 2013)" in fig.layout.annotations[0].text


def test_overlay_grad_norms_one_line_per_run():
    runs = {"tanh RNN": np.array([1e-8, 0.0, 1.0]), "LSTM": np.array([0.5, 0.6, 0.7, 0.8])}
    fig = viz.overlay_grad_norms(runs, title="compare")
    assert [t.name for t in fig.data] == ["tanh RNN", "LSTM"]
    assert fig.layout.yaxis.type == "log"
    y = np.asarray(fig.data[0].y)
    assert np.isfinite(y).all() and y[1] == pytest.approx(1e-9)
    assert len(fig.data[1].x) == 4


# ------------------------------------------------------------------- text units
SNIPPET = 'def f(x):\n    s = \'a#(b\'  # it\'s\n    return [x, "q\\"r"]\n"""doc\nmore"""\n'


def test_text_features_on_python_snippet():
    feats = text_features(SNIPPET)
    assert all(v.shape == (len(SNIPPET),) for v in feats.values())
    quoted = "".join(c for c, q in zip(SNIPPET, feats["inside quotes"], strict=True) if q)
    # the string literals with their quotes; the comment's apostrophe opens nothing
    assert quoted == "'a#(b'" + '"q\\"r"' + '"""doc\nmore"""'
    line2 = SNIPPET.index("    s")
    assert feats["indentation"][line2 : line2 + 5].tolist() == [4] * 5
    assert feats["indentation"][0] == 0
    assert feats["position in line"][SNIPPET.index("s =")] == 4
    assert feats["position in line"][SNIPPET.index("\n")] == len("def f(x):")
    depth = feats["inside brackets"]
    assert depth[SNIPPET.index("(x)") : SNIPPET.index("(x)") + 4].tolist() == [1, 1, 1, 0]
    # the "(" inside the string does not open a bracket
    assert depth[SNIPPET.index("'a#")] == 0 and depth[SNIPPET.index("return")] == 0
    open_list = SNIPPET.index("[x")
    assert depth[open_list : open_list + 3].tolist() == [1, 1, 1]
    assert depth[SNIPPET.index("]")] == 1 and depth[SNIPPET.index("]") + 1] == 0


def test_rank_units_finds_the_constructed_unit():
    feats = text_features(SNIPPET)
    rng = np.random.default_rng(4)
    hidden = rng.normal(0, 1, (len(SNIPPET), 6))
    hidden[:, 4] = -0.5 * feats["inside quotes"] + 0.1
    hidden[:, 2] = 3.0  # constant: correlation 0, not NaN
    ranking = rank_units(hidden, feats)
    unit, feature, corr = ranking[0]
    assert (unit, feature) == (4, "inside quotes") and corr == pytest.approx(-1.0)
    assert len(ranking) == 6 * len(feats)
    assert all(r == 0.0 for u, _, r in ranking if u == 2)
    assert all(np.isfinite(r) for _, _, r in ranking)
    with pytest.raises(ValueError):
        rank_units(hidden[:-1], feats)


def test_activation_html_escapes_and_colours():
    text = "<script>&\"'\nx"
    values = np.array([-1.0, 0, 0, 0, 0, 0, 0, 0, 0.0, 0, 0, 0, 1.0])
    assert len(values) == len(text)
    out = viz.activation_html(text, values)
    assert "<script>" not in out
    for escaped in (">&lt;<", ">&gt;<", ">&amp;<", ">&quot;<", ">&#x27;<"):
        assert escaped in out
    assert out.count("<span") == len(text)
    assert "white-space:pre" in out and "monospace" in out
    assert ">\n</span>" in out  # the newline survives inside pre
    assert "background:rgb(5,48,97)" in out  # -1: darkest blue
    assert "background:rgb(103,0,31)" in out  # +1: darkest red
    assert "background:rgb(247,247,247)" in out  # 0: white
    with pytest.raises(ValueError):
        viz.activation_html("ab", [0.0])


def test_the_held_out_curve_has_its_own_baseline():
    fig = viz.loss_figure(
        [1, 2, 3], [3.0, 2.9, 2.8], 3.13, test_steps=[2], test_loss=[2.85], test_baseline=2.89
    )
    names = [t.name for t in fig.data]
    assert "trivial baseline (3.13)" in names and "held-out baseline (2.89)" in names
    held = next(t for t in fig.data if t.name == "held-out baseline (2.89)")
    assert list(held.y) == [2.89, 2.89]
    assert held.line.color == next(t for t in fig.data if t.name == "held-out loss").line.color
    # no held-out curve, no held-out baseline
    plain = viz.loss_figure([1, 2], [1.0, 0.9], 1.0, test_baseline=2.89)
    assert not any("held-out" in t.name for t in plain.data)


def _colour_range(fig) -> tuple[float, float]:
    """The real values at the two ends of a quantised heatmap's colour scale."""
    q, offset = fig.layout.meta["quantum"], fig.layout.meta["offset"]
    trace = fig.data[0]
    return offset + q * trace.zmin, offset + q * trace.zmax


def test_signed_states_are_centred_on_zero_over_all_frames():
    frames = [np.array([[0.5, -2.0], [1.0, 0.0]]), np.array([[3.0, 0.0], [0.0, 0.0]])]
    unbounded = viz.signed_over_training(frames, [1, 2], colorbar_title="c", title="c")
    assert _colour_range(unbounded) == pytest.approx((-3.0, 3.0))  # the largest |c| of both
    tanh = viz.signed_over_training(frames, [1, 2], bound=1.0, colorbar_title="h", title="h")
    assert _colour_range(tanh) == pytest.approx((-1.0, 1.0))
    assert unbounded.data[0].colorscale == tanh.data[0].colorscale
    gate = viz.gate_over_training([f.clip(0, 1) for f in frames], [1, 2], name="f", title="f")
    assert _colour_range(gate) == pytest.approx((0.0, 1.0))
    assert gate.data[0].colorscale != tanh.data[0].colorscale
