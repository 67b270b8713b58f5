"""The recurrent cells as torch lays them out: their names, gate blocks and initialisation.

What every model with a recurrent cell shares, the registry's plain recurrent models
(``models.py``) and the encoder-decoders (``seq2seq.py``, ``captioner.py``) alike: the
torch module behind each cell's name, the order of its gates inside ``weight_hh``, and the
recipes that set its recurrent blocks (orthogonal, identity, a spectral radius).
"""

from __future__ import annotations

import torch
from torch import nn

RECURRENT = ("rnn_tanh", "rnn_relu", "lstm", "gru")
# The torch module and its arguments behind each recurrent cell's name.
RECURRENT_LAYERS: dict[str, tuple[type, dict]] = {
    "rnn_tanh": (nn.RNN, {"nonlinearity": "tanh"}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
}


def meta_layer(cell: str, input_size: int, hidden_size: int, num_layers: int) -> nn.RNNBase:
    """``cell``'s fused torch layer stack (batch first) on the meta device: built there and
    materialised by the caller, because the constructors would otherwise draw their
    initial weights from torch's global RNG."""
    rnn_cls, rnn_kwargs = RECURRENT_LAYERS[cell]
    return rnn_cls(
        input_size,
        hidden_size,
        num_layers=num_layers,
        batch_first=True,
        device="meta",
        **rnn_kwargs,
    )


# Gate order inside weight_ih / weight_hh, as torch lays the blocks out.
GATE_NAMES: dict[type, tuple[str, ...]] = {
    nn.RNN: ("recurrent",),
    nn.LSTM: ("input", "forget", "cell", "output"),
    nn.GRU: ("reset", "update", "new"),
}


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
def initialise_recurrent_blocks(
    rnn: nn.RNNBase, init: str, recurrent_scale: float | None, generator: torch.Generator
) -> None:
    """``initialise``'s recipes for one recurrent module's biases and H x H blocks (its
    weights already drawn): ``init`` other than default, then ``recurrent_scale``."""
    hidden = rnn.hidden_size
    for layer in range(rnn.num_layers):
        blocks = recurrent_blocks(rnn, layer)
        if init != "default":
            getattr(rnn, f"bias_ih_l{layer}").zero_()
            getattr(rnn, f"bias_hh_l{layer}").zero_()
            for block in blocks.values():
                block.copy_(
                    torch.eye(hidden) if init == "identity" else _orthogonal(hidden, generator)
                )
        if recurrent_scale is not None:
            for block in blocks.values():
                rho = spectral_radius(block)
                if rho > 0:
                    block.mul_(recurrent_scale / rho)
