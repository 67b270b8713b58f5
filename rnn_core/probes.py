"""Probes: what a model does inside, on one fixed batch, as plain numpy arrays.

A probe unrolls the trained weights step by step (``cells.unroll``), so it sees the
hidden and cell states, every gate, and the total dL/dh_t through time. It never
touches parameter gradients or any RNG, so taking probes cannot change training.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from rnn_core.cells import grad_h_through_time, unroll
from rnn_core.models import RecurrentModel, recurrent_blocks, spectral_radius

_F16_MAX = float(np.finfo(np.float16).max)


@dataclass
class Probe:
    """A model's inside on the probe batch at one training step.

    Arrays are float32 numpy, batch-first (training snapshots are ``compact``: float16
    states, no pre-activations or grad_h). ``grad_h[b]`` is the derivative of sequence
    b's own loss (so its size does not depend on the probe batch size); ``grad_norm``
    is its norm over units, averaged over the batch. ``spectral_radius`` and
    ``max_singular_value`` map each recurrent block ("recurrent" for a plain RNN, the
    gate names for LSTM and GRU) to one value per layer.
    """

    step: int
    loss: float
    metric: float
    inputs: np.ndarray  # (B, T, I)
    targets: np.ndarray  # task-specific shape
    outputs: np.ndarray  # (B, T, O): the head's output
    hidden_layers: np.ndarray  # (L, B, T, H)
    cell: np.ndarray | None  # (B, T, H), LSTM last layer
    gates: dict[str, np.ndarray]  # last layer, post-activation, (B, T, H)
    preactivations: dict[str, np.ndarray]  # same keys, before the nonlinearity
    grad_h: np.ndarray | None  # (B, T, H): total dL_b/dh_t, last layer (None in snapshots)
    grad_norm: np.ndarray  # (T,)
    spectral_radius: dict[str, np.ndarray]  # block -> (L,)
    max_singular_value: dict[str, np.ndarray]  # block -> (L,)

    @property
    def hidden(self) -> np.ndarray:
        """(B, T, H): the last layer's hidden states."""
        return self.hidden_layers[-1]

    @property
    def nbytes(self) -> int:
        total = 0
        for f in fields(self):
            value = getattr(self, f.name)
            values = value.values() if isinstance(value, dict) else [value]
            total += sum(v.nbytes for v in values if isinstance(v, np.ndarray))
        return total

    def compact(self, n: int) -> Probe:
        """A lighter copy for training snapshots: the first n sequences, states and gates
        in float16 (the pages quantize them further), and without what only a fresh
        probe serves (pre-activations, per-unit grad_h; grad_norm and spectra stay)."""
        def cut(a, half=False):
            if a is None:
                return None
            # float16 tops out at 65504: clip exploding ReLU states rather than make inf.
            return np.clip(a[:n], -_F16_MAX, _F16_MAX).astype(np.float16) if half \
                else a[:n].copy()
        return Probe(
            step=self.step, loss=self.loss, metric=self.metric,
            inputs=cut(self.inputs), targets=cut(self.targets), outputs=cut(self.outputs),
            hidden_layers=np.stack([cut(h, half=True) for h in self.hidden_layers]),
            cell=cut(self.cell, half=True),
            gates={k: cut(v, half=True) for k, v in self.gates.items()},
            preactivations={}, grad_h=None, grad_norm=self.grad_norm,
            spectral_radius=self.spectral_radius,
            max_singular_value=self.max_singular_value,
        )


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).cpu().numpy() if t.is_floating_point() \
        else t.detach().cpu().numpy()


def recurrent_spectra(model: RecurrentModel) -> tuple[dict, dict]:
    """Spectral radius and largest singular value of every recurrent block, per layer."""
    rho: dict[str, list[float]] = {}
    sigma: dict[str, list[float]] = {}
    with torch.no_grad():
        for layer in range(model.rnn.num_layers):
            for name, block in recurrent_blocks(model.rnn, layer).items():
                rho.setdefault(name, []).append(spectral_radius(block))
                sigma.setdefault(name, []).append(
                    float(torch.linalg.matrix_norm(block.double(), ord=2)))
    return ({k: np.array(v) for k, v in rho.items()},
            {k: np.array(v) for k, v in sigma.items()})


def take_probe(model: RecurrentModel, task, x: torch.Tensor, y: torch.Tensor,
               step: int) -> Probe:
    """Unroll ``model`` on (x, y) and collect everything the pages draw."""
    unrolled = unroll(model.rnn, x)
    outputs = model.head(unrolled.output)
    # Scale the batch-mean loss by B so grad_h[b] is sequence b's own gradient.
    loss = task.loss(outputs, y)
    grad_h = grad_h_through_time(unrolled, loss * x.shape[0])
    rho, sigma = recurrent_spectra(model)
    with torch.no_grad():
        metric = float(task.metric(outputs, y))
    return Probe(
        step=step,
        loss=float(loss.detach()),
        metric=metric,
        inputs=_np(x),
        targets=_np(y),
        outputs=_np(outputs),
        hidden_layers=np.stack([_np(h) for h in unrolled.hidden]),
        cell=_np(unrolled.cell[-1]) if unrolled.cell is not None else None,
        gates={k: _np(v) for k, v in unrolled.gates.items()},
        preactivations={k: _np(v) for k, v in unrolled.preactivations.items()},
        grad_h=_np(grad_h),
        grad_norm=_np(grad_h.norm(dim=2).mean(dim=0)),
        spectral_radius=rho,
        max_singular_value=sigma,
    )
