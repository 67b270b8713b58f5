"""What the defaults must show: the literature results, reproduced at small budgets."""

import numpy as np
import pytest

from rnn_core import RunConfig, Trainer
from rnn_core.presets import PRESETS

BASELINE = 1 / 6  # adding problem: predicting 1 always


def _train_adding(model: str, steps: int = 1000) -> Trainer:
    trainer = Trainer(RunConfig(model=model, task="adding", seq_len=50, hidden_size=32,
                                batch_size=64), probe_every=10_000)
    trainer.step(steps)
    return trainer


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_gated_cells_solve_the_adding_problem_at_t50(model):
    trainer = _train_adding(model)
    assert trainer.status == "ok"
    final = trainer.history["loss"].tail(50).mean()
    assert final < BASELINE / 10, f"{model} final MSE {final:.4f}"
    assert trainer.baseline_loss == pytest.approx(BASELINE)


@pytest.mark.slow
def test_tanh_rnn_stays_at_the_baseline_on_adding_t50():
    trainer = _train_adding("rnn_tanh")
    final = trainer.history["loss"].tail(200).mean()
    # Vanishing gradients: it never learns to remember the two marked values.
    assert final > 0.6 * BASELINE, f"tanh RNN final MSE {final:.4f}"


def _grad_norm(**overrides) -> np.ndarray:
    cfg = RunConfig(task="adding", seq_len=50, **overrides)
    return Trainer(cfg).probe().grad_norm  # (T,), loss at the last step


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contracting_tanh_rnn_gradients_vanish_geometrically(seed):
    g = _grad_norm(model="rnn_tanh", recurrent_scale=0.5, seed=seed)
    log_g = np.log(g)
    # Geometric decay away from the loss: log-norm falls on a line as t goes back.
    slope, intercept = np.polyfit(np.arange(len(g)), log_g, 1)
    residual = log_g - (slope * np.arange(len(g)) + intercept)
    assert slope > 0.3  # per step, at least e^0.3 ~ 1.35x smaller each step back
    assert np.abs(residual).max() < 3
    assert g[0] < 1e-8 * g[-1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_rnn_gradients_explode_at_recurrent_scale_3(seed):
    g = _grad_norm(model="rnn_tanh", recurrent_scale=3.0, seed=seed)
    assert g[0] > 100 * g[-1]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_rnn_gradients_grow_above_radius_1(seed):
    g = _grad_norm(model="rnn_relu", init="identity", recurrent_scale=1.1, seed=seed)
    assert g[0] > 10 * g[-1]


# ---------------------------------------------------------------- the talk presets
def _final_loss(cfg: RunConfig, steps: int) -> tuple[float, Trainer]:
    trainer = Trainer(cfg, probe_every=10_000)
    trainer.step(steps)
    return float(trainer.history["loss"].tail(50).mean()), trainer


@pytest.mark.slow
def test_vanishing_preset_tanh_fails_where_the_lstm_succeeds():
    preset = PRESETS["vanishing"]
    tanh, _ = _final_loss(preset.config, 1000)
    lstm, _ = _final_loss(preset.config.replace(model=preset.compare[0]), 1000)
    assert tanh > 0.6 * BASELINE and lstm < BASELINE / 10


@pytest.mark.slow
def test_exploding_preset_explodes_and_clipping_fixes_it():
    cfg = PRESETS["exploding"].config
    g = Trainer(cfg).probe().grad_norm
    assert g[0] > 10 * g[-1]  # grows with distance from the loss
    _, trainer = _final_loss(cfg, 1000)
    assert trainer.history["grad_norm"].head(5).max() > 1e4  # the blow-up, early on
    assert trainer.status == "diverged"
    clipped, trainer = _final_loss(cfg.replace(clip=1.0), 1000)
    assert trainer.status == "ok" and clipped < 1.5 * BASELINE


@pytest.mark.slow
def test_irnn_preset_learns_where_the_default_relu_rnn_does_not():
    cfg = PRESETS["irnn"].config
    irnn, _ = _final_loss(cfg, 1500)
    default, _ = _final_loss(cfg.replace(init="default"), 1500)
    assert irnn < BASELINE / 5 and default > 0.6 * BASELINE
