"""Model registry: fused recurrent layers, a TCN, a causal transformer and an image CNN.

Every model maps (B, T, I) -> (B, T, O). Recurrent models always train on the fused
``torch.nn.RNN/LSTM/GRU`` (several times faster on CPU than any Python unroll); the
probe path in ``unrolled.py`` reuses these modules' weights. Weights are drawn from a
``torch.Generator`` owned by the run, never from torch's global RNG, so two runs in two
threads cannot perturb each other. Every builder can build on the meta device, which
allocates nothing: that is how ``budget.py`` counts parameters for a width.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from rnn_core.attention import Transformer
from rnn_core.captioner import captioner_builder
from rnn_core.image_cnn import ImageCNN
from rnn_core.recurrent_layers import (  # noqa: F401 - re-exported: the registry's names
    GATE_NAMES,
    RECURRENT,
    RECURRENT_LAYERS,
    gate_names,
    initialise_recurrent_blocks,
    meta_layer,
    recurrent_blocks,
    spectral_radius,
)
from rnn_core.seq2seq import seq2seq_builder
from rnn_core.tasks import TASKS
from rnn_core.tcn import TCN


class RecurrentModel(nn.Module):
    """A fused recurrent layer stack and a per-step linear head: (B, T, I) -> (B, T, O)."""

    causal = True

    def __init__(self, rnn: nn.RNNBase, head: nn.Linear, cell: str):
        super().__init__()
        self.rnn = rnn
        self.head = head
        self.cell = cell  # the registry name: rnn_tanh, rnn_relu, lstm or gru

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(x)  # (B, T, H), last layer
        return self.head(hidden)  # (B, T, O)


@torch.no_grad()
def initialise(
    model: RecurrentModel, init: str, recurrent_scale: float | None, generator: torch.Generator
) -> None:
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
    bound = 1.0 / math.sqrt(rnn.hidden_size)
    for p in model.parameters():
        p.uniform_(-bound, bound, generator=generator)
    initialise_recurrent_blocks(rnn, init, recurrent_scale, generator)


def _recurrent_builder(cell: str) -> Callable[..., nn.Module]:
    def build(
        input_size: int,
        output_size: int,
        hidden_size: int,
        num_layers: int = 1,
        init: str = "default",
        recurrent_scale: float | None = None,
        generator: torch.Generator | None = None,
        device: str = "cpu",
    ) -> RecurrentModel:
        rnn = meta_layer(cell, input_size, hidden_size, num_layers)
        head = nn.Linear(hidden_size, output_size, device="meta")
        model = RecurrentModel(rnn, head, cell=cell)
        if device == "meta":
            return model
        model.to_empty(device=device)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        initialise(model, init, recurrent_scale, generator)
        rnn.flatten_parameters()
        return model

    return build


@torch.no_grad()
def initialise_feedforward(model: nn.Module, generator: torch.Generator) -> None:
    """torch's own default recipe, drawn from ``generator``: every linear and
    convolution weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norms at 1 and 0."""
    for module in model.modules():
        if isinstance(module, nn.LayerNorm):
            module.weight.fill_(1.0)
            module.bias.zero_()
        elif isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d):
            bound = 1.0 / math.sqrt(module.weight[0].numel())  # fan_in
            module.weight.uniform_(-bound, bound, generator=generator)
            if module.bias is not None:
                module.bias.uniform_(-bound, bound, generator=generator)


def _feedforward_builder(cls: type) -> Callable[..., nn.Module]:
    """Builders of the non-recurrent models; ``init``/``recurrent_scale`` are recurrent
    settings and do not apply (a model without recurrent weights has nothing to rescale)."""

    def build(
        input_size: int,
        output_size: int,
        init: str = "default",
        recurrent_scale: float | None = None,
        generator: torch.Generator | None = None,
        device: str = "cpu",
        **shape,
    ) -> nn.Module:
        model = cls(input_size, output_size, device="meta", **shape)
        if device == "meta":
            return model
        model.to_empty(device=device)
        initialise_feedforward(model, generator or torch.Generator().manual_seed(0))
        return model

    return build


MODELS: dict[str, Callable[..., nn.Module]] = {
    **{cell: _recurrent_builder(cell) for cell in RECURRENT_LAYERS},
    "tcn": _feedforward_builder(TCN),
    "transformer": _feedforward_builder(Transformer),
    "cnn2d": _feedforward_builder(ImageCNN),
}

MODEL_TITLES = {
    "rnn_tanh": "tanh RNN",
    "rnn_relu": "ReLU RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "tcn": "TCN",
    "transformer": "Transformer",
    "cnn2d": "2-D CNN (image)",
}


def builder_for(model: str, task, attention: str = "off") -> Callable[..., nn.Module]:
    """The builder of ``model`` on ``task``: MODELS[model], or where the task asks for an
    encoder-decoder (``task.architecture``: "seq2seq", a recurrent encoder and decoder;
    "captioning", a CNN encoder and a recurrent decoder) one whose recurrent cell is
    ``model``, with ``attention`` ("off" or "luong")."""
    architecture = task.architecture
    if architecture == "seq2seq":
        return seq2seq_builder(model, task.source_len, attention)
    if architecture == "captioning":
        return captioner_builder(model, task, attention)
    return MODELS[model]


def build_model(config, input_size: int, output_size: int, shape: dict | None = None) -> nn.Module:
    """The model a RunConfig describes on its task, initialised from its seed. ``shape``
    holds the builder's width arguments (``budget.model_shape``); without it a recurrent
    model takes the config's hidden_size and num_layers."""
    generator = torch.Generator().manual_seed(config.seed)
    if shape is None:
        shape = {"hidden_size": config.hidden_size, "num_layers": config.num_layers}
    builder = builder_for(config.model, TASKS[config.task], config.attention)
    return builder(
        input_size,
        output_size,
        init=config.init,
        recurrent_scale=config.recurrent_scale,
        generator=generator,
        **shape,
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
