"""Trainer: history, determinism, divergence, probes, snapshots, thread safety."""

import math
import threading
import time

import numpy as np
import pytest
import torch

from rnn_core import CHOICES, TASKS, RunConfig, Trainer
from rnn_core.models import RECURRENT
from rnn_core.probes import spectra_over_training
from rnn_core.train import HISTORY_COLUMNS, history_digest

SMALL = {"hidden_size": 8, "batch_size": 8, "seq_len": 12}


def test_history_has_the_documented_columns():
    tr = Trainer(RunConfig(**SMALL))
    assert tr.step(5) == 5
    h = tr.history
    assert list(h.columns) == list(HISTORY_COLUMNS)
    assert h["step"].tolist() == [1, 2, 3, 4, 5]
    assert h["clipped"].dtype == bool
    assert (h["seconds"].diff().dropna() > 0).all()
    assert np.isfinite(h[["loss", "metric", "grad_norm"]].to_numpy()).all()
    assert tr.steps_done == 5 and tr.status == "ok"


def test_clipping_is_recorded_against_the_unclipped_norm():
    tr = Trainer(RunConfig(clip=0.01, **SMALL))
    tr.step(3)
    h = tr.history
    assert (h["clipped"] == (h["grad_norm"] > 0.01)).all()
    assert h["clipped"].any()
    tr_free = Trainer(RunConfig(clip=None, **SMALL))
    tr_free.step(3)
    assert not tr_free.history["clipped"].any()


# The image CNN reads image tasks only (RunConfig refuses the rest: test_config).
@pytest.mark.parametrize(
    ("task", "model"),
    [
        (task, model)
        for task in TASKS
        for model in CHOICES["model"]
        if model != "cnn2d" or TASKS[task].image_shape is not None
        # an encoder-decoder task takes recurrent cells only (test_translation.py)
        if model in RECURRENT or TASKS[task].architecture == "sequence"
    ],
)
def test_every_model_trains_on_every_task(task, model):
    t = TASKS[task]
    seq_len = min(max(t.min_seq_len, 10), t.max_seq_len or 10)
    tr = Trainer(
        RunConfig(model=model, task=task, seq_len=seq_len, hidden_size=6, batch_size=4),
        eval_every=2,
    )
    tr.step(2)
    h = tr.history
    assert np.isfinite(h["loss"]).all()
    assert math.isfinite(tr.baseline_loss)
    if t.has_split:
        assert math.isfinite(h["test_metric"].iloc[-1])
    else:
        assert h["test_metric"].isna().all()


def test_same_config_same_history_whatever_thread_and_probe_cadence():
    cfg = RunConfig(model="gru", **SMALL)
    a = Trainer(cfg, probe_every=1)
    a.step(7)
    a.probe()
    a.step(8)

    b = Trainer(cfg, probe_every=1000)
    worker = threading.Thread(target=b.step, args=(15,))
    worker.start()
    worker.join()

    np.testing.assert_array_equal(history_digest(a.history), history_digest(b.history))
    c = Trainer(cfg.replace(seed=1))
    c.step(15)
    assert not np.array_equal(history_digest(a.history), history_digest(c.history))


def test_training_does_not_touch_the_global_rng():
    state = torch.get_rng_state()
    tr = Trainer(RunConfig(**SMALL))
    tr.step(3)
    tr.probe()
    assert torch.equal(torch.get_rng_state(), state)


def diverging_trainer():
    # An IRNN trained by SGD at lr 1 without clipping: one finite step, then NaN.
    return Trainer(
        RunConfig(
            model="rnn_relu",
            init="identity",
            clip=None,
            optimizer="sgd",
            lr=1.0,
            seq_len=100,
            hidden_size=16,
            batch_size=16,
        )
    )


def test_divergence_stops_training_and_restores_finite_weights():
    tr = diverging_trainer()
    ran = tr.step(50)
    assert tr.status == "diverged"
    assert ran < 50
    assert "diverged" in tr.message.lower()
    assert all(torch.isfinite(p).all() for p in tr.model.parameters())
    h = tr.history
    assert len(h) == ran
    assert np.isfinite(h["loss"].iloc[0]) and not np.isfinite(h["loss"].iloc[-1])
    # Further steps are no-ops, and the history is kept.
    assert tr.step(5) == 0
    assert len(tr.history) == ran
    probe = tr.probe()  # a diverged run can still be looked at
    assert np.isfinite(probe.hidden).all()


def test_an_infinite_gradient_with_a_finite_loss_also_diverges():
    tr = Trainer(
        RunConfig(
            model="rnn_relu",
            init="identity",
            recurrent_scale=1.5,
            clip=None,
            seq_len=100,
            hidden_size=16,
            batch_size=16,
        )
    )
    initial = [p.detach().clone() for p in tr.model.parameters()]
    assert tr.step(10) == 1
    h = tr.history
    assert tr.status == "diverged"
    assert np.isfinite(h["loss"].iloc[0]) and not np.isfinite(h["grad_norm"].iloc[0])
    for p, saved in zip(tr.model.parameters(), initial, strict=True):
        assert torch.equal(p, saved)


def test_divergence_restores_the_last_finite_loss_weights():
    tr = diverging_trainer()
    snapshots = []
    for _ in range(50):
        snapshots.append([p.detach().clone() for p in tr.model.parameters()])
        tr.step(1)
        if tr.status != "ok":
            break
    h = tr.history
    finite_rows = np.flatnonzero(np.isfinite(h["loss"].to_numpy()))
    last_finite = finite_rows[-1]  # the weights before this step gave a finite loss
    for p, saved in zip(tr.model.parameters(), snapshots[last_finite], strict=True):
        assert torch.equal(p, saved)


@pytest.mark.parametrize("model", RECURRENT)
def test_probe_arrays(model):
    cfg = RunConfig(model=model, num_layers=2, **SMALL)
    tr = Trainer(cfg, probe_batch=5)
    tr.step(2)
    p = tr.probe()
    b, t, h = 5, 12, 8
    assert p.step == 2
    assert p.inputs.shape == (b, t, 2)
    assert p.outputs.shape == (b, t, 1)
    assert p.hidden.shape == (b, t, h) and p.hidden_layers.shape == (2, b, t, h)
    assert p.grad_h.shape == (b, t, h)
    assert p.grad_norm.shape == (t,)
    np.testing.assert_allclose(p.grad_norm, np.linalg.norm(p.grad_h, axis=2).mean(0), rtol=1e-5)
    # Adding scores only the last step; earlier steps get gradient only through time.
    assert p.grad_norm[0] > 0
    # The unrolled outputs agree with the fused model.
    with torch.no_grad():
        fused = tr.model(torch.from_numpy(p.inputs)).numpy()
    np.testing.assert_allclose(p.outputs, fused, atol=1e-5)
    expected = {
        "rnn_tanh": [],
        "rnn_relu": [],
        "lstm": ["input", "forget", "cell", "output"],
        "gru": ["reset", "update", "new"],
    }[model]
    assert list(p.gates) == expected
    assert (p.cell is not None) == (model == "lstm")
    blocks = expected or ["recurrent"]
    assert list(p.spectral_radius) == blocks
    for name in blocks:
        assert p.spectral_radius[name].shape == (2,)
        # rho <= sigma_max for any matrix
        assert (p.spectral_radius[name] <= p.max_singular_value[name] + 1e-9).all()


def test_probe_loss_matches_task_loss_on_the_probe_batch():
    tr = Trainer(RunConfig(**SMALL))
    p = tr.probe()
    loss = tr.task.loss(torch.from_numpy(p.outputs), torch.from_numpy(p.targets))
    assert p.loss == pytest.approx(float(loss), rel=1e-6)


def test_snapshots_thin_evenly_within_their_byte_budget():
    tr = Trainer(RunConfig(**SMALL), probe_every=1, snapshot_bytes=40_000)
    one = tr.probe().compact(tr.snapshot_sequences).nbytes
    tr.step(200)
    snaps = tr.snapshots
    assert sum(s.nbytes for s in snaps) <= 40_000
    assert tr.probe_every > 1
    assert len(snaps) >= 40_000 // one // 2
    steps = [s.step for s in snaps]
    assert steps[0] == 0  # early training stays visible
    assert all(s % tr.probe_every == 0 for s in steps)
    assert steps == sorted(steps)
    assert snaps[0].hidden.shape[0] == tr.snapshot_sequences
    full = tr.probe()
    assert snaps[-1].hidden.dtype == np.float16 and snaps[-1].grad_h is None
    assert snaps[-1].grad_norm.shape == full.grad_norm.shape


def test_history_and_snapshots_are_readable_while_training():
    tr = Trainer(RunConfig(**SMALL), probe_every=2)
    errors = []
    worker = threading.Thread(target=tr.step, args=(100,))
    worker.start()
    lengths = []
    try:
        while worker.is_alive():
            h = tr.history
            lengths.append(len(h))
            assert h["step"].tolist() == list(range(1, len(h) + 1))
            _ = [s.step for s in tr.snapshots]
            time.sleep(0.002)  # a UI polls; a tight loop would only starve the trainer
    except Exception as err:  # noqa: BLE001 - surfaced below
        errors.append(err)
    worker.join()
    assert not errors
    assert lengths == sorted(lengths)
    assert len(tr.history) == 100


def test_held_out_metric_comes_from_the_test_split():
    tr = Trainer(RunConfig(task="char_lm", seq_len=30, hidden_size=16, batch_size=8), eval_every=5)
    tr.step(10)
    h = tr.history
    assert h["test_metric"].notna().tolist() == [False] * 4 + [True] + [False] * 4 + [True]
    loss, metric = tr.evaluate()
    assert metric == pytest.approx(loss / math.log(2), rel=1e-5)  # bits per character


def test_training_leaves_ieee_subnormals_working_on_the_callers_thread():
    tr = Trainer(RunConfig(**SMALL))
    tr.step(2)
    tr.probe()
    tiny = np.float32(1e-39)  # subnormal in float32
    assert float(torch.tensor(tiny) * 1) != 0.0


def test_subnormals_are_flushed_for_every_step_even_after_a_snapshot():
    """Vanishing gradients crawl through subnormals (5x slower at T=500): every
    step must run with them flushed, including the steps after a snapshot probe."""
    tr = Trainer(RunConfig(**SMALL), probe_every=2)
    flushed = []
    task = tr.task

    class Spy:
        def __getattr__(self, name):
            return getattr(task, name)

        def loss(self, outputs, y):
            flushed.append(float(torch.tensor(np.float32(1e-39)) * 1) == 0.0)
            return task.loss(outputs, y)

    tr.task = Spy()
    tr.step(6)
    assert flushed and all(flushed)


def test_tracked_units_of_an_untrained_model_equal_the_untrained_column():
    """Before any step the model is its initial weights: both columns agree exactly."""
    for model, state in (("lstm", "cell state c"), ("gru", "h")):
        tr = Trainer(
            RunConfig(model=model, task="char_lm", seq_len=30, hidden_size=8, batch_size=4)
        )
        tracking = tr.answer("track_units", length=3000, excerpt=100)
        assert tracking.state == state and tracking.step == 0 and tracking.chars == 3000
        assert tracking.trained_best == tracking.untrained_best
        assert tracking.excerpt_hidden.shape == (100, 8) and len(tracking.excerpt) == 100
        tr.step(20)
        moved = tr.answer("track_units", length=3000, excerpt=100)
        assert moved.step == 20 and moved.untrained_best == tracking.untrained_best
        assert moved.trained_best != tracking.trained_best
    with pytest.raises(ValueError, match="not a character task"):
        Trainer(RunConfig(**SMALL)).answer("track_units")


def test_spectra_over_training_follow_the_last_layers_recurrent_matrix():
    # 2 layers: the figures are of the last layer's blocks, one per LSTM gate (i, f, g, o)
    trainer = Trainer(
        RunConfig(model="lstm", hidden_size=6, num_layers=2, batch_size=4, seq_len=10),
        probe_every=5,
    )
    trainer.step(10)  # snapshots at steps 0, 5, 10; the weights now are step 10's
    radius, singular = spectra_over_training(trainer.snapshots)
    assert list(radius) == list(singular) == ["input", "forget", "cell", "output"]
    w_hh = trainer.model.rnn.weight_hh_l1.detach().double().numpy()
    for i, block in enumerate(np.split(w_hh, 4)):
        name = list(radius)[i]
        assert radius[name].shape == singular[name].shape == (3,)
        assert radius[name][-1] == pytest.approx(np.abs(np.linalg.eigvals(block)).max(), 1e-5)
        assert singular[name][-1] == pytest.approx(np.linalg.svd(block, compute_uv=False)[0], 1e-5)
    assert radius["forget"][0] != radius["forget"][-1]  # one value per snapshot, as trained
    assert spectra_over_training([]) == ({}, {})
