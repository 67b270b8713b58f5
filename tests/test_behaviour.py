"""What the defaults must show: the literature results, reproduced at small budgets."""

import numpy as np
import pytest
import torch

from rnn_core import RunConfig, Trainer

BASELINE = 1 / 6  # adding problem: predicting 1 always


def _train_adding(model: str, steps: int = 1000) -> Trainer:
    trainer = Trainer(
        RunConfig(model=model, task="adding", seq_len=50, hidden_size=32, batch_size=64),
        probe_every=10_000,
    )
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


# ------------------------------------------------ Bai, Kolter & Koltun 2018, small budgets
# "An empirical evaluation of generic convolutional and recurrent networks for sequence
# modeling": at equal parameter counts a plain TCN learns copy memory where the LSTM is
# stuck at chance, and TCN, LSTM and GRU all learn the adding problem. Every run below
# uses the library defaults (Adam lr 1e-2, clip 1.0, batch 64, seed 0, TCN kernel 8 with
# the fewest levels covering the sequence); only model, task, length and parameter budget
# are set, so the comparison is not tuned per model. Measured at one torch thread.
def _train_until(cfg: RunConfig, max_steps: int, solved, every: int = 100) -> Trainer:
    """Train in chunks of ``every`` steps, stopping early once ``solved(history)``."""
    trainer = Trainer(cfg, probe_every=10**9)
    while trainer.steps_done < max_steps and trainer.status == "ok":
        trainer.step(min(every, max_steps - trainer.steps_done))
        if solved(trainer.history):
            break
    return trainer


COPY_T100 = RunConfig(task="copy_memory", seq_len=100, param_budget=10_000)
COPY_CHANCE = 1 / 8  # the recalled digits are uniform over 1..8


def _copy_recall_on_fresh_batch(trainer: Trainer) -> float:
    """Accuracy on the last 10 steps of 256 sequences the trainer never saw."""
    x, y = trainer.task.sample(256, trainer.config.seq_len, torch.Generator().manual_seed(2018))
    trainer.model.eval()
    with torch.no_grad():
        return float(trainer.task.metric(trainer.model(x), y))


@pytest.mark.slow
def test_tcn_solves_copy_memory_t100_with_10k_parameters():
    trainer = _train_until(
        COPY_T100.replace(model="tcn"), 1000, lambda h: h["metric"].tail(20).mean() >= 0.95
    )
    assert trainer.status == "ok"
    assert trainer.num_parameters == pytest.approx(10_000, rel=0.1)
    # Measured (4 levels x 12-13 channels, 9,859 parameters): the metric over the last
    # 20 steps is ~0.13 until step 300, 0.34 at 400, 0.78 at 500 and 1.00 at 600, where
    # this stops (seed 1: the same, 0.81 at 500, 1.00 at 600). Fresh-batch recall 1.00.
    recent = trainer.history["metric"].tail(20).mean()
    assert recent >= 0.95, f"TCN recall {recent:.3f} after {trainer.steps_done} steps"
    fresh = _copy_recall_on_fresh_batch(trainer)
    assert fresh >= 0.95, f"TCN recall on a fresh batch {fresh:.3f}"


@pytest.mark.slow
def test_lstm_stays_at_chance_on_copy_memory_t100_with_10k_parameters():
    trainer = Trainer(COPY_T100.replace(model="lstm"), probe_every=10**9)
    trainer.step(1000)  # the step budget in which the TCN above solves the task
    assert trainer.status == "ok"
    assert trainer.num_parameters == pytest.approx(10_000, rel=0.1)
    tail = trainer.history.tail(50)
    # Measured (hidden 43, 9,900 parameters; seeds 0 and 1): recall 0.12-0.13 from step
    # 100 to 1,000 and loss 0.1735 against the blanks-then-guess baseline 0.17329: it
    # outputs blanks and guesses. (The GRU, not asserted here, creeps up: ~0.33 at
    # step 1,000 and ~0.43 at 3,000, loss ~0.11.)
    recall = tail["metric"].mean()
    assert recall < COPY_CHANCE + 0.075, f"LSTM recall {recall:.3f}"
    loss = tail["loss"].mean()
    assert loss == pytest.approx(trainer.baseline_loss, rel=0.03), f"LSTM loss {loss:.4f}"
    assert _copy_recall_on_fresh_batch(trainer) < COPY_CHANCE + 0.075


ADDING_T50 = RunConfig(task="adding", seq_len=50, param_budget=10_000)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tcn", "lstm", "gru"])
def test_tcn_lstm_and_gru_solve_adding_t50_with_10k_parameters(model):
    # Mean loss of the last 50 steps below a tenth of the baseline: five times below the
    # 1/12 of remembering only one of the two values (where the TCN can sit for a while).
    target = BASELINE / 10
    trainer = _train_until(
        ADDING_T50.replace(model=model), 1500, lambda h: h["loss"].tail(50).mean() < target
    )
    assert trainer.status == "ok"
    assert trainer.num_parameters == pytest.approx(10_000, rel=0.1)
    # Measured, 10k parameters, seeds 0-3, loss of the last 20 steps below BASELINE / 20
    # by step: TCN 400 / 500-700 / 300 / 500, LSTM 800 / 600 / 700 / 700, GRU 300 (all
    # seeds); after 1,500 steps every run is at 0.0001-0.002. At 5k parameters the TCN
    # with seed 1 sits at ~1/12 until step 1,200 (0.018 at 1,500), at 2k seed 2 stalls
    # at 0.012-0.019: 10k is the smallest of 2k / 5k / 10k where all four seeds pass.
    final = trainer.history["loss"].tail(50).mean()
    assert final < target, f"{model} MSE {final:.4f} after {trainer.steps_done} steps"


@pytest.mark.slow
def test_tanh_rnn_stays_at_the_baseline_on_adding_t50_with_10k_parameters():
    trainer = Trainer(ADDING_T50.replace(model="rnn_tanh"), probe_every=10**9)
    trainer.step(1500)  # the step budget in which the TCN, LSTM and GRU above solve it
    assert trainer.num_parameters == pytest.approx(10_000, rel=0.1)
    # Measured (hidden 98, 10,095 parameters; seeds 0 and 1; also at 2k and 5k): the loss
    # of the last 20 steps never drops below 0.159, with occasional spikes above 1.
    final = trainer.history["loss"].tail(200).mean()
    assert final > 0.6 * BASELINE, f"tanh RNN MSE {final:.4f}"  # above 1/12 too
