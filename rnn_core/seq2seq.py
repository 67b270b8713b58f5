"""An encoder-decoder of one recurrent cell, with or without attention: (B, T, I) -> (B, T, O).

The task lays each example out as one sequence, the source's ``source_len`` steps and
then the decoder's inputs (rnn_core/tasks/translation.py). The encoder (a fused
RNN/LSTM/GRU) reads the source; the decoder (a second one, the same cell, its own weights)
starts from the encoder's last state in every layer and reads the decoder inputs.

Attention is Luong, Pham & Manning's (2015) "general" score without input feeding: at each
decoder step t the decoder's state h_t scores every encoder state e_s as h_t · W_a e_s,
the softmax over s weighs the encoder states into a context c_t, and the head reads
h~_t = tanh(W_c [c_t; h_t]). Without input feeding the decoder's recurrence never waits
for attention, so both recurrent passes stay fused torch kernels (a Python loop per step
is what Bahdanau's attention, which feeds c_(t-1) into the decoder's input, would cost).
Without attention the head reads h_t alone: everything about the source must pass
through the encoder's last state.

The outputs at the source's steps are zeros (they are never scored); the decoder's steps
carry the logits. ``read_out`` is the one place attention and the head are computed, for
the fused forward and for the probes' step-by-step unroll alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from rnn_core.recurrent_layers import initialise_recurrent_blocks, meta_layer

ATTENTION = ("off", "luong")
ATTENTION_TITLES = {"off": "no attention", "luong": "Luong attention"}


class LuongAttention(nn.Module):
    """score(h_t, e_s) = h_t · W_a e_s; c_t = sum_s a_ts e_s; h~_t = tanh(W_c [c_t; h_t])."""

    def __init__(self, hidden_size: int, device=None):
        super().__init__()
        self.score = nn.Linear(hidden_size, hidden_size, bias=False, device=device)  # W_a
        self.combine = nn.Linear(2 * hidden_size, hidden_size, device=device)  # W_c

    def forward(
        self, decoder_states: torch.Tensor, encoder_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(h~ (B, D, H), weights (B, D, S)) for decoder states (B, D, H) and encoder
        states (B, S, H)."""
        scores = self.score(decoder_states) @ encoder_states.transpose(1, 2)  # (B, D, S)
        weights = scores.softmax(dim=-1)
        context = weights @ encoder_states  # (B, D, H)
        attended = torch.tanh(self.combine(torch.cat([context, decoder_states], dim=-1)))
        return attended, weights


class Seq2Seq(nn.Module):
    """Encoder, decoder, optional attention and a per-step head over one sequence."""

    causal = False  # a decoder step reads the whole source, wherever it sits in time

    def __init__(
        self,
        encoder: nn.RNNBase,
        decoder: nn.RNNBase,
        attention: LuongAttention | None,
        head: nn.Linear,
        cell: str,
        source_len: int,
    ):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.attention = attention
        self.head = head
        self.cell = cell  # the registry name: rnn_tanh, rnn_relu, lstm or gru
        self.source_len = source_len

    def read_out(
        self, decoder_states: torch.Tensor, encoder_states: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits (B, D, O), attention weights (B, D, S) or None) from the last layer's
        decoder and encoder states."""
        if self.attention is None:
            return self.head(decoder_states), None
        attended, weights = self.attention(decoder_states, encoder_states)
        return self.head(attended), weights

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        """(B, T, I) -> (B, T, O); with return_attention also the weights (B, D, S), None
        without attention."""
        if x.shape[1] <= self.source_len:
            raise ValueError(
                f"a sequence needs the source's {self.source_len} steps and at least one "
                f"decoder step, got {x.shape[1]} steps"
            )
        source, decoder_inputs = x[:, : self.source_len], x[:, self.source_len :]
        encoder_states, state = self.encoder(source)  # (B, S, H), last layer
        decoder_states, _ = self.decoder(decoder_inputs, state)  # (B, D, H)
        logits, weights = self.read_out(decoder_states, encoder_states)
        silent = logits.new_zeros(x.shape[0], self.source_len, logits.shape[-1])
        out = torch.cat([silent, logits], dim=1)
        return (out, weights) if return_attention else out


def seq2seq_builder(cell: str, source_len: int, attention: str) -> Callable[..., nn.Module]:
    """A MODELS-style builder of the encoder-decoder of ``cell``."""
    if attention not in ATTENTION:
        raise ValueError(f"attention must be one of {', '.join(ATTENTION)}, not {attention!r}")

    def build(
        input_size: int,
        output_size: int,
        hidden_size: int,
        num_layers: int = 1,
        init: str = "default",
        recurrent_scale: float | None = None,
        generator: torch.Generator | None = None,
        device: str = "cpu",
    ) -> Seq2Seq:
        model = Seq2Seq(
            meta_layer(cell, input_size, hidden_size, num_layers),
            meta_layer(cell, input_size, hidden_size, num_layers),
            LuongAttention(hidden_size, device="meta") if attention == "luong" else None,
            nn.Linear(hidden_size, output_size, device="meta"),
            cell=cell,
            source_len=source_len,
        )
        if device == "meta":
            return model
        model.to_empty(device=device)
        if generator is None:
            generator = torch.Generator().manual_seed(0)
        # The recurrent models' recipe (models.initialise): every weight U(-1/sqrt(H),
        # 1/sqrt(H)), then the init and recurrent scale of each recurrent module.
        with torch.no_grad():
            bound = 1.0 / math.sqrt(hidden_size)
            for p in model.parameters():
                p.uniform_(-bound, bound, generator=generator)
        for module in (model.encoder, model.decoder):
            initialise_recurrent_blocks(module, init, recurrent_scale, generator)
            module.flatten_parameters()
        return model

    return build
