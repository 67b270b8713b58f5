"""Probes: what a model does inside, on one fixed batch, as plain numpy arrays.

A full probe (recurrent models) unrolls the trained weights step by step
(``unroll`` in ``unrolled.py``), so it sees the hidden and cell states, every gate, and the total
dL/dh_t through time. A light probe works for every model: the input saliency
||dL/dx_t|| (where the model looks, comparable across RNN, TCN and attention) and, for
the transformer, its attention maps. Probes never touch parameter gradients or any RNG,
so taking them cannot change training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from rnn_core.attention import Transformer
from rnn_core.captioner import Captioner
from rnn_core.models import RecurrentModel, recurrent_blocks, spectral_radius
from rnn_core.seq2seq import Seq2Seq
from rnn_core.unrolled import Unrolled, grad_h_through_time, unroll

_F16_MAX = float(np.finfo(np.float16).max)
# Attention maps kept per snapshot are pooled to at most this many steps a side: a
# T x T map at T = 1000 would be 2 MB a frame, and a page cannot show more cells anyway.
MAX_ATTENTION_SIDE = 128
# Units whose rows of the last layer's weights a training snapshot keeps: "Inside a cell"
# shows the first 8 units' equations, so a replayed step needs those rows only. For each
# gate block, SNAPSHOT_UNITS x (I + H + 2) float32 numbers: for an LSTM at hidden 64 on
# the adding problem, 8.7 kB a snapshot: 5.5% more than the rest of it at T = 100.
SNAPSHOT_UNITS = 8


@dataclass
class Probe:
    """A model's inside on the probe batch at one training step.

    Arrays are float32 numpy, batch-first (training snapshots are ``compact``: float16
    states, no pre-activations or grad_h). ``grad_h[b]`` is the derivative of sequence
    b's own loss (so its size does not depend on the probe batch size); ``grad_norm``
    is its norm over units, averaged over the batch: the gradient of the whole loss,
    every scored step's term included. ``connectivity`` is the same for the loss term of
    one output step only, ``target_step`` (the last scored step): on a task scored at
    every step, each h_t has its own output's direct term in ``grad_norm``, which hides
    how little of a late step's loss reaches back to early states. ``spectral_radius`` and
    ``max_singular_value`` map each recurrent block ("recurrent" for a plain RNN, the
    gate names for LSTM and GRU) to one value per layer.

    A light probe (``take_light_probe``; every model) has no recurrent fields (None or
    empty) and instead ``saliency``, (B, T): ||dL_b/dx_t|| of each sequence b, and for the
    transformer ``attention``, (layers, heads, T', T') for the first sequence, pooled
    by ``attention_stride`` steps when T is long.

    ``weights`` (full probes only) holds the last recurrent layer's ``weight_ih``,
    ``weight_hh``, ``bias_ih`` and ``bias_hh`` as taken with the states, so a reader can
    recompute a step from this probe alone, never from a model that may be training.

    An encoder-decoder's probe (``rnn_core.seq2seq``) holds the encoder's states and then
    the decoder's along T, the decoder's from step ``decoder_start`` on (None for other
    models); ``weights`` are the encoder's, ``decoder_weights`` the decoder's, and the
    spectra are the encoder's. ``cross_attention``, (B, D, S), holds each decoder step's
    attention over the source's steps (light and full probes alike; None without
    attention).
    """

    step: int
    loss: float
    metric: float
    inputs: np.ndarray  # (B, T, I)
    targets: np.ndarray  # task-specific shape
    outputs: np.ndarray  # (B, T, O): the head's output
    hidden_layers: np.ndarray | None  # (L, B, T, H)
    cell: np.ndarray | None  # (B, T, H), LSTM last layer
    gates: dict[str, np.ndarray]  # last layer, post-activation, (B, T, H)
    preactivations: dict[str, np.ndarray]  # same keys, before the nonlinearity
    grad_h: np.ndarray | None  # (B, T, H): total dL_b/dh_t, last layer (None in snapshots)
    grad_norm: np.ndarray | None  # (T,) float64: the whole loss, batch mean of ||dL_b/dh_t||
    spectral_radius: dict[str, np.ndarray]  # block -> (L,)
    max_singular_value: dict[str, np.ndarray]  # block -> (L,)
    saliency: np.ndarray | None = None  # (B, T): ||dL_b/dx_t|| per sequence (light probes)
    attention: np.ndarray | None = None  # (layers, heads, T', T'), sequence 0 (transformer)
    attention_stride: int = 1  # steps pooled into one cell of ``attention``
    weights: dict[str, np.ndarray] = field(default_factory=dict)  # last layer, full probes
    connectivity: np.ndarray | None = None  # (T,) float64: one step's loss term
    target_step: int | None = None  # the output step whose loss term ``connectivity`` is
    decoder_start: int | None = None  # encoder-decoders: the first decoder step
    decoder_weights: dict[str, np.ndarray] = field(default_factory=dict)  # its last layer
    cross_attention: np.ndarray | None = None  # (B, D, S): decoder step over source step

    def weights_at(self, t: int) -> dict[str, np.ndarray]:
        """The last layer's weights that computed step t (the decoder's from
        ``decoder_start`` on)."""
        if self.decoder_start is not None and t >= self.decoder_start:
            return self.decoder_weights
        return self.weights

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
        in float16 (the pages quantize them further), the weights' rows of the first
        SNAPSHOT_UNITS units (what "Inside a cell" recomputes), and without what only a
        fresh probe serves (pre-activations, per-unit grad_h; grad_norm and spectra
        stay)."""

        def cut(a, half=False):
            if a is None:
                return None
            # float16 tops out at 65504: clip exploding ReLU states rather than make inf.
            return np.clip(a[:n], -_F16_MAX, _F16_MAX).astype(np.float16) if half else a[:n].copy()

        return Probe(
            step=self.step,
            loss=self.loss,
            metric=self.metric,
            inputs=cut(self.inputs),
            targets=cut(self.targets),
            outputs=cut(self.outputs),
            hidden_layers=None
            if self.hidden_layers is None
            else np.stack([cut(h, half=True) for h in self.hidden_layers]),
            cell=cut(self.cell, half=True),
            gates={k: cut(v, half=True) for k, v in self.gates.items()},
            preactivations={},
            grad_h=None,
            grad_norm=self.grad_norm,
            spectral_radius=self.spectral_radius,
            max_singular_value=self.max_singular_value,
            saliency=cut(self.saliency),
            attention=None if self.attention is None else self.attention.astype(np.float16),
            attention_stride=self.attention_stride,
            connectivity=self.connectivity,
            target_step=self.target_step,
            decoder_start=self.decoder_start,
            cross_attention=None
            if self.cross_attention is None
            else self.cross_attention[:n].astype(np.float16),
            weights=unit_rows(self.weights, SNAPSHOT_UNITS),
            decoder_weights=unit_rows(self.decoder_weights, SNAPSHOT_UNITS),
        )


def unit_rows(weights: dict[str, np.ndarray], units: int) -> dict[str, np.ndarray]:
    """The rows of a layer's ``weights`` (``last_layer_weights``) that compute its first
    ``units`` units, in every gate block: enough to recompute those units' step
    (rnn_core.cell_step), at a fraction of the whole matrices' size."""
    if not weights:
        return {}
    hidden = weights["weight_hh"].shape[1]
    blocks = weights["weight_hh"].shape[0] // hidden
    rows = np.concatenate(
        [np.arange(b * hidden, b * hidden + min(units, hidden)) for b in range(blocks)]
    )
    return {name: value[rows].copy() for name, value in weights.items()}


# The gate that multiplies a gated cell's carried state at each step: the LSTM's cell
# state c_t = f_t * c_(t-1) + ..., the GRU's h_t = z_t * h_(t-1) + (1 - z_t) * n_t.
CARRY_GATES = {"lstm": "forget", "gru": "update"}


def carry_products(gate, target_step: int) -> np.ndarray:
    """(T, H): per unit, the product of the carry gate from step t + 1 to
    ``target_step`` (1 at t = target_step, NaN after it), averaged over sequences.

    It is the factor by which the carried path alone (the LSTM's cell state, the GRU's
    z-weighted h) multiplies a unit's state, and its gradient, between t and the target
    step; the paths through the gates add to it. ``gate`` is (B, T, H) or (T, H)."""
    g = np.asarray(gate, dtype=np.float64)
    g = g[None] if g.ndim == 2 else g  # (B, T, H)
    T = g.shape[1]
    if not 0 <= target_step < T:
        raise ValueError(f"target_step must be in [0, {T - 1}], got {target_step}")
    with np.errstate(divide="ignore"):
        logs = np.log(np.clip(g[:, 1 : target_step + 1], 0.0, 1.0))  # f_1 .. f_tau
    # suffix sums: log of f_(t+1) * ... * f_tau for t = 0 .. tau - 1, then 0 at tau
    tail = np.cumsum(logs[:, ::-1], axis=1)[:, ::-1]
    tail = np.concatenate([tail, np.zeros_like(g[:, :1])], axis=1)  # (B, tau + 1, H)
    carry = np.full((T, g.shape[2]), np.nan)
    carry[: target_step + 1] = np.exp(tail).mean(axis=0)
    return carry


@dataclass(frozen=True)
class Carrier:
    """A unit that holds what arrived at the marked steps until the end of the sequence."""

    unit: int
    min_forget: float  # lowest forget gate from just after the first mark to the end
    input_at_marks: float  # mean input gate at the marked steps
    max_input_elsewhere: float  # highest input gate at any other step


def carrier_units(
    forget, input_gate, marked, *, keep: float = 0.98, opens: float = 0.5, shut: float = 0.2
) -> list[Carrier]:
    """The LSTM units that write at the marked steps and then keep what they wrote.

    A unit qualifies when, averaged over sequences, its forget gate stays above ``keep``
    at every step from just after the first mark to the end, its input gate is above
    ``opens`` at the marks and stays below ``shut`` at every other step. ``forget`` and
    ``input_gate`` are (B, T, H); ``marked`` is (B, T) bool with a mark in every row.
    Strongest writer (input at marks minus elsewhere) first.
    """
    f = np.asarray(forget, dtype=np.float64)
    i = np.asarray(input_gate, dtype=np.float64)
    marked = np.asarray(marked, dtype=bool)
    B, T, _ = f.shape
    if marked.shape != (B, T) or not marked.any(axis=1).all():
        raise ValueError(f"marked must be (B, T) = {(B, T)} with a mark in every row")
    first = marked.argmax(axis=1)  # (B,)
    after = np.arange(T)[None, :] > first[:, None]  # (B, T): after the first mark
    min_f = np.where(after[..., None], f, np.inf).min(axis=1).mean(axis=0)  # (H,)
    at_marks = (i * marked[..., None]).sum(axis=(0, 1)) / marked.sum()
    elsewhere = np.where(marked[..., None], -np.inf, i).max(axis=1).mean(axis=0)
    found = [
        Carrier(int(u), float(min_f[u]), float(at_marks[u]), float(elsewhere[u]))
        for u in np.flatnonzero((min_f > keep) & (at_marks > opens) & (elsewhere < shut))
    ]
    return sorted(found, key=lambda c: c.max_input_elsewhere - c.input_at_marks)


def last_layer_weights(rnn: torch.nn.RNNBase) -> dict[str, np.ndarray]:
    """Copies of the last layer's weights and biases (float32 numpy)."""
    layer = rnn.num_layers - 1
    return {
        name: _np(getattr(rnn, f"{name}_l{layer}")).copy()
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    }


def _np(t: torch.Tensor) -> np.ndarray:
    return (
        t.detach().to(torch.float32).cpu().numpy()
        if t.is_floating_point()
        else t.detach().cpu().numpy()
    )


def recurrent_spectra(rnn: torch.nn.RNNBase) -> tuple[dict, dict]:
    """Spectral radius and largest singular value of every recurrent block, per layer."""
    rho: dict[str, list[float]] = {}
    sigma: dict[str, list[float]] = {}
    with torch.no_grad():
        for layer in range(rnn.num_layers):
            for name, block in recurrent_blocks(rnn, layer).items():
                rho.setdefault(name, []).append(spectral_radius(block))
                sigma.setdefault(name, []).append(
                    float(torch.linalg.matrix_norm(block.double(), ord=2))
                )
    return ({k: np.array(v) for k, v in rho.items()}, {k: np.array(v) for k, v in sigma.items()})


def spectra_over_training(snapshots: list[Probe]) -> tuple[dict, dict]:
    """(spectral radius, largest singular value) of the last layer's recurrent matrix at
    each snapshot, per recurrent block (one for a plain RNN, one per gate otherwise):
    ``{block: (len(snapshots),) array}`` each."""
    blocks = snapshots[-1].spectral_radius if snapshots else {}
    radius = {b: np.array([s.spectral_radius[b][-1] for s in snapshots]) for b in blocks}
    singular = {b: np.array([s.max_singular_value[b][-1] for s in snapshots]) for b in blocks}
    return radius, singular


def one_step_grad_norms(
    unrolled, outputs: torch.Tensor, loss: torch.Tensor, target_step: int
) -> torch.Tensor:
    """(B, T): ||d l_b/dh_t||, l_b being the term of sequence b's loss that output step
    ``target_step`` contributes (zero for t after it). Keeps the graph.

    Every task's loss is a sum of per-step terms, so the loss's gradient with respect to
    the output at one step is that step's term's gradient; pulling it back alone through
    the unrolled graph gives the term's gradient at every h_t: how strongly that one
    output is connected to each earlier state."""
    (grad_out,) = torch.autograd.grad(loss, outputs, retain_graph=True)  # (B, T, O)
    term = (grad_out[:, target_step].detach() * outputs[:, target_step]).sum()
    reach = unrolled.steps[: target_step + 1]
    grads = torch.autograd.grad(term, reach, retain_graph=True, allow_unused=True)
    # float64 norms: squares of float32 components below about 1e-19 underflow to zero
    norms = [
        torch.zeros(h.shape[0], dtype=torch.float64) if g is None else g.double().norm(dim=1)
        for g, h in zip(grads, reach, strict=True)
    ]
    later = [torch.zeros(outputs.shape[0], dtype=torch.float64)] * (outputs.shape[1] - len(reach))
    return torch.stack(norms + later, dim=1)


def unroll_seq2seq(model: Seq2Seq, x: torch.Tensor) -> tuple[Unrolled, torch.Tensor, torch.Tensor]:
    """(states, outputs (B, T, O), attention weights (B, D, S) or None) of an
    encoder-decoder unrolled step by step: the encoder's Unrolled and the decoder's, which
    starts from the encoder's last state in every layer, joined along T (their ``steps``
    too, so dL/dh_t runs back from the decoder into the encoder)."""
    source = model.source_len
    encoder = unroll(model.encoder, x[:, :source])
    initial = [
        (h[:, -1], None if encoder.cell is None else encoder.cell[layer][:, -1])
        for layer, h in enumerate(encoder.hidden)
    ]
    decoder = unroll(model.decoder, x[:, source:], initial=initial)
    logits, weights = model.read_out(decoder.output, encoder.output)
    outputs = torch.cat([logits.new_zeros(x.shape[0], source, logits.shape[-1]), logits], dim=1)

    def joined(a, b):
        return torch.cat([a, b], dim=1)

    states = Unrolled(
        output=joined(encoder.output, decoder.output),
        hidden=[joined(a, b) for a, b in zip(encoder.hidden, decoder.hidden, strict=True)],
        cell=None
        if encoder.cell is None
        else [joined(a, b) for a, b in zip(encoder.cell, decoder.cell, strict=True)],
        gates={k: joined(v, decoder.gates[k]) for k, v in encoder.gates.items()},
        preactivations={
            k: joined(v, decoder.preactivations[k]) for k, v in encoder.preactivations.items()
        },
        steps=encoder.steps + decoder.steps,
    )
    return states, outputs, weights


def take_probe(
    model: RecurrentModel | Seq2Seq,
    task,
    x: torch.Tensor,
    y: torch.Tensor,
    step: int,
    target_step: int | None = None,
) -> Probe:
    """Unroll ``model`` on (x, y) and collect everything the pages draw.

    ``target_step``: the output step whose loss term ``connectivity`` follows back
    (default: the last)."""
    if isinstance(model, Seq2Seq):
        unrolled, outputs, attention = unroll_seq2seq(model, x)
        encoder, decoder_start = model.encoder, model.source_len
    else:
        unrolled = unroll(model.rnn, x)
        outputs = model.head(unrolled.output)
        attention, encoder, decoder_start = None, model.rnn, None
    T = outputs.shape[1]
    target_step = T - 1 if target_step is None else int(target_step)
    if not 0 <= target_step < T:
        raise ValueError(f"target_step must be in [0, {T - 1}], got {target_step}")
    # Scale the batch-mean loss by B so grad_h[b] is sequence b's own gradient.
    loss = task.loss(outputs, y)
    connectivity = one_step_grad_norms(unrolled, outputs, loss * x.shape[0], target_step)
    grad_h = grad_h_through_time(unrolled, loss * x.shape[0])
    rho, sigma = recurrent_spectra(encoder)
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
        # float64: the squares of float32 components below about 1e-19 would underflow,
        # drawing a vanishing gradient as exactly zero many steps too early
        grad_norm=grad_h.double().norm(dim=2).mean(dim=0).numpy(),
        spectral_radius=rho,
        max_singular_value=sigma,
        weights=last_layer_weights(encoder),
        connectivity=connectivity.mean(dim=0).numpy(),
        target_step=target_step,
        decoder_start=decoder_start,
        decoder_weights={} if decoder_start is None else last_layer_weights(model.decoder),
        cross_attention=None if attention is None else _np(attention),
    )


def pool_attention(weights: np.ndarray, side: int = MAX_ATTENTION_SIDE) -> tuple[np.ndarray, int]:
    """(..., T, T) attention -> (..., T', T') with T' <= side, and the stride used.

    Query rows are averaged and key columns summed over blocks of ``stride`` steps, so
    each pooled row is still a distribution over (pooled) keys."""
    T = weights.shape[-1]
    stride = max(1, math.ceil(T / side))
    if stride == 1:
        return weights, 1
    pad = (-T) % stride
    padded = np.pad(weights, [(0, 0)] * (weights.ndim - 2) + [(0, pad), (0, pad)])
    n = padded.shape[-1] // stride
    blocks = padded.reshape(*weights.shape[:-2], n, stride, n, stride)
    # the padded query rows are zero: divide by the real rows in each block
    rows = np.minimum(stride, T - np.arange(n) * stride)
    pooled = blocks.sum(axis=(-3, -1)) / rows[:, None]
    return pooled, stride


def input_saliency(
    model: torch.nn.Module, task, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, float, float, np.ndarray]:
    """(outputs, loss, metric, saliency (B, T)): ||dL_b/dx_t|| for each sequence b and
    step t, L_b being sequence b's own loss (the batch mean scaled by B)."""
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        outputs = model(x)
        loss = task.loss(outputs, y)
        (grad_x,) = torch.autograd.grad(loss * x.shape[0], x)
    with torch.no_grad():
        metric = float(task.metric(outputs, y))
    return outputs.detach(), float(loss.detach()), metric, _np(grad_x.norm(dim=2))


def take_light_probe(
    model: torch.nn.Module, task, x: torch.Tensor, y: torch.Tensor, step: int
) -> Probe:
    """What every model kind can show: outputs, saliency over t, attention maps."""
    outputs, loss, metric, saliency = input_saliency(model, task, x, y)
    attention, stride, cross = None, 1, None
    if isinstance(model, Transformer):
        with torch.no_grad():
            _, maps = model(x[:1], return_attention=True)  # (1, layers, heads, T, T)
        attention, stride = pool_attention(_np(maps[0]))
    if isinstance(model, Seq2Seq | Captioner) and model.attention is not None:
        with torch.no_grad():
            _, weights = model(x, return_attention=True)  # (B, D, S)
        cross = _np(weights)
    return Probe(
        step=step,
        loss=loss,
        metric=metric,
        inputs=_np(x),
        targets=_np(y),
        outputs=_np(outputs),
        hidden_layers=None,
        cell=None,
        gates={},
        preactivations={},
        grad_h=None,
        grad_norm=None,
        spectral_radius={},
        max_singular_value={},
        saliency=saliency,
        attention=attention,
        attention_stride=stride,
        decoder_start=model.source_len if isinstance(model, Seq2Seq | Captioner) else None,
        cross_attention=cross,
    )
