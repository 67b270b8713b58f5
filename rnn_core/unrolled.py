"""Manual recurrent cells that reuse a fused torch module's own weights.

The fused kernels hide the per-step states from autograd: ``output.grad`` of a fused
LSTM is only the direct path of dL/dh_t. Unrolling the same weights step by step makes
every h_t a graph node, so autograd gives the total derivative through all later steps,
and exposes the gates and pre-activations the fused kernels never return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rnn_core.models import gate_names


@dataclass
class Unrolled:
    """The result of ``unroll``. Tensors stay on the autograd graph."""

    output: torch.Tensor  # (B, T, H): last layer's hidden states, equals module(x)[0]
    hidden: list[torch.Tensor]  # per layer, (B, T, H)
    cell: list[torch.Tensor] | None  # LSTM only: per layer, (B, T, H)
    gates: dict[str, torch.Tensor]  # last layer, post-activation, (B, T, H) each
    preactivations: dict[str, torch.Tensor]  # last layer, same keys, before nonlinearity
    steps: list[torch.Tensor] = field(repr=False)  # last layer's h_t, T tensors (B, H)


def _layer_weights(module: nn.RNNBase, layer: int):
    w_ih = getattr(module, f"weight_ih_l{layer}")
    w_hh = getattr(module, f"weight_hh_l{layer}")
    b_ih = getattr(module, f"bias_ih_l{layer}", None)
    b_hh = getattr(module, f"bias_hh_l{layer}", None)
    return w_ih, w_hh, b_ih, b_hh


def _check_module(module: nn.Module) -> None:
    if not isinstance(module, nn.RNN | nn.LSTM | nn.GRU):
        raise TypeError(f"unroll needs a torch.nn.RNN, LSTM or GRU, not {type(module).__name__}")
    if not module.batch_first:
        raise ValueError("unroll needs a module built with batch_first=True")
    if module.bidirectional or getattr(module, "proj_size", 0):
        raise ValueError("unroll supports neither bidirectional nor projected modules")


def unroll(
    module: nn.RNNBase,
    x: torch.Tensor,
    record: bool = True,
    initial: list[tuple[torch.Tensor, torch.Tensor | None]] | None = None,
) -> Unrolled:
    """Run ``module`` on x (B, T, I) step by step with its own weights.

    ``record=False`` skips stacking the last layer's gates (the gradient-only path).
    ``initial``: each layer's starting (h, c) (c for an LSTM, else None), (B, H) each, as
    a decoder starts from its encoder's last state; zeros when not given.
    """
    _check_module(module)
    is_lstm = isinstance(module, nn.LSTM)
    is_gru = isinstance(module, nn.GRU)
    relu = isinstance(module, nn.RNN) and module.nonlinearity == "relu"
    names = gate_names(module)
    batch, _, _ = x.shape
    hsize = module.hidden_size
    layer_in = x
    hidden_layers: list[torch.Tensor] = []
    cell_layers: list[torch.Tensor] = []
    gates: dict[str, list[torch.Tensor]] = {}
    pre: dict[str, list[torch.Tensor]] = {}
    steps: list[torch.Tensor] = []
    last = module.num_layers - 1
    for layer in range(module.num_layers):
        w_ih, w_hh, b_ih, b_hh = _layer_weights(module, layer)
        # Project every input step at once, then unbind once: indexing xw[:, t] inside
        # the loop makes backward quadratic in T.
        xw = torch.nn.functional.linear(layer_in, w_ih, b_ih).unbind(1)  # T x (B, G*H)
        if initial is None:
            h = x.new_zeros(batch, hsize)
            c = x.new_zeros(batch, hsize) if is_lstm else None
        else:
            h, c = initial[layer]
        keep = record and layer == last
        hs, cs = [], []
        if keep:
            gates = {n: [] for n in names} if not isinstance(module, nn.RNN) else {}
            pre = {n: [] for n in gates}
        for xw_t in xw:
            hw = torch.nn.functional.linear(h, w_hh, b_hh)  # (B, G*H)
            if is_lstm:
                zi, zf, zg, zo = (xw_t + hw).chunk(4, dim=1)
                i, f, g, o = zi.sigmoid(), zf.sigmoid(), zg.tanh(), zo.sigmoid()
                c = f * c + i * g
                h = o * c.tanh()
                cs.append(c)
                if keep:
                    for n, z, a in zip(names, (zi, zf, zg, zo), (i, f, g, o), strict=True):
                        pre[n].append(z)
                        gates[n].append(a)
            elif is_gru:
                xr, xz, xn = xw_t.chunk(3, dim=1)
                hr, hz, hn = hw.chunk(3, dim=1)
                zr, zz = xr + hr, xz + hz
                r, z = zr.sigmoid(), zz.sigmoid()
                zn = xn + r * hn  # torch's GRU: the reset gate scales W_hn h + b_hn
                n = zn.tanh()
                h = (1 - z) * n + z * h
                if keep:
                    for name, zv, a in zip(names, (zr, zz, zn), (r, z, n), strict=True):
                        pre[name].append(zv)
                        gates[name].append(a)
            else:
                zh = xw_t + hw
                h = zh.relu() if relu else zh.tanh()
            hs.append(h)
        if layer == last:
            steps = hs
        layer_in = torch.stack(hs, dim=1)  # (B, T, H)
        hidden_layers.append(layer_in)
        if is_lstm:
            cell_layers.append(torch.stack(cs, dim=1))
    return Unrolled(
        output=hidden_layers[-1],
        hidden=hidden_layers,
        cell=cell_layers if is_lstm else None,
        gates={n: torch.stack(v, dim=1) for n, v in gates.items()},
        preactivations={n: torch.stack(v, dim=1) for n, v in pre.items()},
        steps=steps,
    )


def grad_h_through_time(unrolled: Unrolled, loss: torch.Tensor) -> torch.Tensor:
    """Total dL/dh_t for the last layer, (B, T, H), leaving parameter .grad untouched."""
    grads = torch.autograd.grad(loss, unrolled.steps, allow_unused=True)
    grads = [
        torch.zeros_like(h) if g is None else g for g, h in zip(grads, unrolled.steps, strict=True)
    ]
    return torch.stack(grads, dim=1)


def grad_norms_through_time(
    module: nn.RNNBase, x: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor]
) -> np.ndarray:
    """Mean over the batch of ||dL/dh_{b,t}||_2 for every step t, (T,), L being the
    scalar ``loss_fn`` returns for the last layer's output sequence (B, T, H).

    The derivative is the total one, through every later step, not only the direct
    path. Its size follows L's definition: with a batch-mean loss each sequence's states
    get 1/B of the gradient of that sequence's own loss (the app's probes scale the loss
    by B, so their ``grad_norm`` is of each sequence's own loss, whatever the batch).
    """
    unrolled = unroll(module, x, record=False)
    grad_h = grad_h_through_time(unrolled, loss_fn(unrolled.output))
    return grad_h.norm(dim=2).mean(dim=0).detach().cpu().numpy()
