"""Model registry: fused torch recurrent layers plus a linear head, seeded initialisation.

Training always runs the fused ``torch.nn.RNN/LSTM/GRU`` (several times faster on CPU
than any Python unroll); the probe path in ``cells.py`` reuses these modules' weights.
Weights are drawn from a ``torch.Generator`` owned by the run, never from torch's
global RNG, so two runs in two threads cannot perturb each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

# Gate order inside weight_ih / weight_hh, as torch lays the blocks out.
GATE_NAMES: dict[type, tuple[str, ...]] = {
    nn.RNN: ("recurrent",),
    nn.LSTM: ("input", "forget", "cell", "output"),
    nn.GRU: ("reset", "update", "new"),
}


class RecurrentModel(nn.Module):
    """A fused recurrent layer stack and a per-step linear head: (B, T, I) -> (B, T, O)."""

    def __init__(self, rnn: nn.RNNBase, head: nn.Linear, kind: str):
        super().__init__()
        self.rnn = rnn
        self.head = head
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(x)  # (B, T, H), last layer
        return self.head(hidden)  # (B, T, O)


def gate_names(rnn: nn.RNNBase) -> tuple[str, ...]:
    return GATE_NAMES[type(rnn)]


def recurrent_blocks(rnn: nn.RNNBase, layer: int) -> dict[str, torch.Tensor]:
    """The H x H recurrent matrix of each gate of one layer (views into weight_hh)."""
    w_hh = getattr(rnn, f"weight_hh_l{layer}")  # (gates*H, H)
    names = gate_names(rnn)
    return dict(zip(names, w_hh.chunk(len(names), dim=0), strict=True))


def spectral_radius(matrix: torch.Tensor) -> float:
    return float(torch.linalg.eigvals(matrix.detach().double()).abs().max())


def _orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random orthogonal n x n matrix (QR of a Gaussian, signs fixed)."""
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    return (q * torch.sign(torch.diagonal(r))).float()


@torch.no_grad()
def initialise(model: RecurrentModel, init: str, recurrent_scale: float | None,
               generator: torch.Generator) -> None:
    """Fill every parameter from ``generator``.

    default: torch's own recipe, U(-1/sqrt(H), 1/sqrt(H)) for every recurrent weight
        and bias and for the head.
    orthogonal: each gate's recurrent block a random orthogonal matrix, biases zero.
    identity: the IRNN recipe (Le, Jaitly & Hinton 2015): recurrent blocks = I, biases
        zero; input weights keep torch's uniform draw. (Input weights of N(0, 0.001^2)
        made every IRNN we tried on the adding problem learn slower than the default
        ReLU RNN; with uniform ones it learns at T=100 where the default one does not.)
    recurrent_scale then rescales each recurrent block to that spectral radius.
    """
    rnn = model.rnn
    hidden = rnn.hidden_size
    bound = 1.0 / math.sqrt(hidden)
    for p in model.parameters():
        p.uniform_(-bound, bound, generator=generator)
    for layer in range(rnn.num_layers):
        blocks = recurrent_blocks(rnn, layer)
        if init != "default":
            getattr(rnn, f"bias_ih_l{layer}").zero_()
            getattr(rnn, f"bias_hh_l{layer}").zero_()
            for block in blocks.values():
                block.copy_(torch.eye(hidden) if init == "identity"
                            else _orthogonal(hidden, generator))
        if recurrent_scale is not None:
            for block in blocks.values():
                rho = spectral_radius(block)
                if rho > 0:
                    block.mul_(recurrent_scale / rho)


def _builder(kind: str, rnn_cls: type, **rnn_kwargs) -> Callable[..., RecurrentModel]:
    def build(input_size: int, output_size: int, hidden_size: int, num_layers: int,
              init: str = "default", recurrent_scale: float | None = None,
              generator: torch.Generator | None = None) -> RecurrentModel:
        # Build on the meta device then materialise: the constructors would otherwise
        # draw their initial weights from torch's global RNG.
        rnn = rnn_cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                      device="meta", **rnn_kwargs).to_empty(device="cpu")
        head = nn.Linear(hidden_size, output_size, device="meta").to_empty(device="cpu")
        model = RecurrentModel(rnn, head, kind=kind)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        initialise(model, init, recurrent_scale, generator)
        rnn.flatten_parameters()
        return model

    return build


MODELS: dict[str, Callable[..., RecurrentModel]] = {
    "rnn_tanh": _builder("rnn_tanh", nn.RNN, nonlinearity="tanh"),
    "rnn_relu": _builder("rnn_relu", nn.RNN, nonlinearity="relu"),
    "lstm": _builder("lstm", nn.LSTM),
    "gru": _builder("gru", nn.GRU),
}

MODEL_TITLES = {
    "rnn_tanh": "tanh RNN",
    "rnn_relu": "ReLU RNN",
    "lstm": "LSTM",
    "gru": "GRU",
}


def build_model(config, input_size: int, output_size: int) -> RecurrentModel:
    """The model a RunConfig describes, initialised from its seed."""
    generator = torch.Generator().manual_seed(config.seed)
    return MODELS[config.model](input_size, output_size, config.hidden_size,
                                config.num_layers, init=config.init,
                                recurrent_scale=config.recurrent_scale,
                                generator=generator)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
