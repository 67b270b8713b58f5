"""unroll() against torch's fused modules, and dL/dh_t against independent computations."""

import numpy as np
import pytest
import torch
from torch import nn

from rnn_core import grad_norms_through_time, unroll

CELLS = [
    ("rnn_tanh", lambda i, h, layers: nn.RNN(i, h, layers, batch_first=True)),
    ("rnn_relu", lambda i, h, layers: nn.RNN(i, h, layers, nonlinearity="relu", batch_first=True)),
    ("lstm", lambda i, h, layers: nn.LSTM(i, h, layers, batch_first=True)),
    ("gru", lambda i, h, layers: nn.GRU(i, h, layers, batch_first=True)),
]


def _module(cell, layers, seed=0, i=3, h=5):
    torch.manual_seed(seed)
    return dict(CELLS)[cell](i, h, layers)


@pytest.mark.parametrize("cell", [k for k, _ in CELLS])
@pytest.mark.parametrize("layers", [1, 2])
def test_unroll_matches_fused_outputs_and_parameter_gradients(cell, layers):
    module = _module(cell, layers)
    x = torch.randn(4, 9, 3, generator=torch.Generator().manual_seed(1))
    target = torch.randn(4, 9, 5, generator=torch.Generator().manual_seed(2))

    fused = module(x)[0]
    ((fused - target) ** 2).sum().backward()
    fused_grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()

    unrolled = unroll(module, x)
    ((unrolled.output - target) ** 2).sum().backward()
    assert unrolled.output.shape == (4, 9, 5)
    assert torch.allclose(unrolled.output, fused, atol=1e-5)
    for p, g in zip(module.parameters(), fused_grads, strict=True):
        assert torch.allclose(p.grad, g, atol=1e-5), cell
    assert len(unrolled.hidden) == layers
    assert all(h.shape == (4, 9, 5) for h in unrolled.hidden)
    assert torch.equal(unrolled.hidden[-1], unrolled.output)


def test_unroll_exposes_lstm_gates_consistent_with_states():
    module = _module("lstm", 2)
    x = torch.randn(3, 6, 3)
    u = unroll(module, x)
    assert set(u.gates) == {"input", "forget", "cell", "output"}
    assert set(u.preactivations) == set(u.gates)
    c = u.cell[-1]
    assert len(u.cell) == 2
    # h = o * tanh(c) and c_t = f c_{t-1} + i g must hold for the recorded tensors.
    assert torch.allclose(u.output, u.gates["output"] * torch.tanh(c), atol=1e-6)
    c_prev = torch.cat([torch.zeros_like(c[:, :1]), c[:, :-1]], dim=1)
    assert torch.allclose(
        c, u.gates["forget"] * c_prev + u.gates["input"] * u.gates["cell"], atol=1e-6
    )
    assert torch.allclose(u.gates["forget"], torch.sigmoid(u.preactivations["forget"]))
    assert torch.allclose(u.gates["cell"], torch.tanh(u.preactivations["cell"]))
    # The last layer's gates really are the last layer's: the final cell state of the
    # fused module equals ours.
    _, (_, c_n) = module(x)
    assert torch.allclose(c[:, -1], c_n[-1], atol=1e-5)


def test_unroll_gru_gates_reproduce_the_update():
    module = _module("gru", 1)
    x = torch.randn(3, 6, 3)
    u = unroll(module, x)
    assert set(u.gates) == {"reset", "update", "new"}
    h = u.output
    h_prev = torch.cat([torch.zeros_like(h[:, :1]), h[:, :-1]], dim=1)
    z, n = u.gates["update"], u.gates["new"]
    assert torch.allclose(h, (1 - z) * n + z * h_prev, atol=1e-6)
    assert u.cell is None


def test_unroll_plain_rnn_has_no_gates():
    u = unroll(_module("rnn_tanh", 1), torch.randn(2, 4, 3))
    assert u.gates == {} and u.preactivations == {} and u.cell is None


def test_unroll_rejects_unsupported_modules():
    with pytest.raises(ValueError):
        unroll(nn.LSTM(3, 4, batch_first=False), torch.randn(2, 4, 3))
    with pytest.raises(TypeError):
        unroll(nn.Linear(3, 4), torch.randn(2, 4, 3))


def _cell_reference(cell, module, x, loss_of_states):
    """Independent total dL/dh_t: torch's own *Cell modules with the layer's weights,
    run one step at a time; each h_t is both the output and the next state."""
    hsize = module.hidden_size
    cell_cls = {"rnn_tanh": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[cell]
    torch_cell = cell_cls(module.input_size, hsize).double()
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(torch_cell, name).copy_(getattr(module, f"{name}_l0"))
    x = x.double()
    h = x.new_zeros(x.shape[0], hsize)
    c = x.new_zeros(x.shape[0], hsize)
    states = []
    for t in range(x.shape[1]):
        if cell == "lstm":
            h, c = torch_cell(x[:, t], (h, c))
        else:
            h = torch_cell(x[:, t], h)
        states.append(h)
    loss = loss_of_states(torch.stack(states, dim=1))
    grads = torch.autograd.grad(loss, states)
    return torch.stack([g.norm(dim=1).mean() for g in grads]).numpy()


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_grad_norms_match_an_independent_cell_computation(cell):
    module = _module(cell, 1).double()
    x = torch.randn(5, 12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    w = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def loss_fn(states):  # (B, T, H): only the last step is scored
        return (states[:, -1] @ w).square().mean()

    ours = grad_norms_through_time(module, x, loss_fn)
    reference = _cell_reference(cell, module, x, loss_fn)
    assert ours.shape == (12,)
    np.testing.assert_allclose(ours, reference, rtol=1e-6, atol=1e-12)
    # The loss reads only h_T, so the direct path is zero before T: a non-zero total
    # derivative at t < T proves the gradient flows through later steps.
    assert ours[:-1].min() > 0


def test_grad_norms_match_finite_differences():
    """Perturb h_t itself inside an independent float64 loop and difference the loss."""
    torch.manual_seed(5)
    module = nn.RNN(2, 3, batch_first=True).double()
    x = torch.randn(1, 6, 2, dtype=torch.float64)
    w_ih, w_hh = module.weight_ih_l0.detach(), module.weight_hh_l0.detach()
    b = (module.bias_ih_l0 + module.bias_hh_l0).detach()

    def loss_with_perturbation(t_star, delta):
        h = torch.zeros(3, dtype=torch.float64)
        total = 0.0
        for t in range(6):
            h = torch.tanh(w_ih @ x[0, t] + w_hh @ h + b)
            if t == t_star:
                h = h + delta
            total = total + h.sum() * (t + 1) / 10
        return float(total)

    def loss_fn(states):
        weights = torch.arange(1, 7, dtype=torch.float64) / 10
        return (states.sum(dim=2) * weights).sum()

    ours = grad_norms_through_time(module, x, loss_fn)
    eps = 1e-6
    fd = []
    for t in range(6):
        g = []
        for i in range(3):
            e = torch.zeros(3, dtype=torch.float64)
            e[i] = eps
            g.append((loss_with_perturbation(t, e) - loss_with_perturbation(t, -e)) / (2 * eps))
        fd.append(np.linalg.norm(g))
    np.testing.assert_allclose(ours, fd, rtol=1e-6)


def test_grad_norms_do_not_touch_parameter_gradients():
    module = _module("lstm", 2)
    grad_norms_through_time(module, torch.randn(2, 5, 3), lambda s: s.sum())
    assert all(p.grad is None for p in module.parameters())
