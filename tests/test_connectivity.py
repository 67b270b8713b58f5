"""Connectivity: the gradient of one output step's loss term at every earlier h_t.

On a task scored at every step, the whole loss's dL/dh_t includes h_t's own output term,
so it stays flat while the long-range gradient vanishes. The probe's ``connectivity``
follows one step's term alone; checked here against a direct computation of that term.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_core import RunConfig, Trainer
from rnn_core.unrolled import unroll


def direct_connectivity(trainer: Trainer, target_step: int) -> np.ndarray:
    """batch mean over b of ||d ce_{b,tau} / dh_{b,t}||, the loss term written out by hand:
    the symbol tasks' loss is the mean over B*T cross-entropies, so sequence b's own loss
    (the batch mean scaled by B) has the term ce_{b,tau} / T at step tau."""
    x, y = trainer._probe_x, trainer._probe_y
    unrolled = unroll(trainer.model.rnn, x)
    outputs = trainer.model.head(unrolled.output)  # (B, T, V)
    T = outputs.shape[1]
    per_seq = F.cross_entropy(outputs[:, target_step], y[:, target_step], reduction="none") / T
    norms = []
    for t in range(T):
        (g,) = torch.autograd.grad(
            per_seq.sum(), unrolled.steps[t], retain_graph=True, allow_unused=True
        )
        norms.append(torch.zeros(x.shape[0]) if g is None else g.norm(dim=1))
    return torch.stack(norms, dim=1).mean(dim=0).detach().numpy()


@pytest.mark.parametrize("model", ["rnn_tanh", "lstm", "gru"])
def test_connectivity_is_the_gradient_of_one_steps_loss_term(model):
    trainer = Trainer(
        RunConfig(model=model, task="parity", seq_len=12, hidden_size=6, num_layers=2, batch_size=4)
    )
    trainer.step(3)
    for target in (11, 5):
        probe = trainer.probe(target_step=target)
        assert probe.target_step == target
        want = direct_connectivity(trainer, target)
        np.testing.assert_allclose(probe.connectivity, want, rtol=1e-4, atol=1e-9)
        assert (probe.connectivity[target + 1 :] == 0).all()  # causal: no later state
        assert (probe.connectivity[: target + 1] > 0).all()


def test_the_default_target_is_the_last_scored_step_and_snapshots_keep_it():
    trainer = Trainer(RunConfig(task="copy_memory", seq_len=10, hidden_size=8, batch_size=4))
    assert trainer.last_scored_step == 10 + 20 - 1
    trainer.step(1)
    snap = trainer.snapshots[0]
    assert snap.target_step == trainer.last_scored_step
    assert snap.connectivity.shape == (30,)


def test_on_a_task_scored_at_its_last_step_connectivity_is_the_whole_gradient():
    trainer = Trainer(RunConfig(task="adding", seq_len=15, hidden_size=8, batch_size=4))
    trainer.step(2)
    probe = trainer.probe()
    np.testing.assert_allclose(probe.connectivity, probe.grad_norm, rtol=1e-5)


def test_on_an_every_step_task_the_whole_gradient_hides_the_vanishing():
    """Parity with a tanh RNN: the whole loss's gradient at h_0 stays within a few orders
    of its value at the end (h_0 has its own output's term), while the last step's term
    reaches h_0 many orders of magnitude weaker."""
    trainer = Trainer(RunConfig(model="rnn_tanh", task="parity", seq_len=50, batch_size=8))
    probe = trainer.probe()
    whole, one = probe.grad_norm, probe.connectivity
    assert whole[0] > 1e-3 * whole[-1]
    assert one[0] < 1e-6 * one[-1]
