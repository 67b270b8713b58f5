"""A CNN encoder and a recurrent decoder that writes a caption: (B, T, I) -> (B, T, O).

The task lays each example out as one sequence: the image's columns, then the decoder's
inputs (rnn_core/tasks/captions.py). The encoder folds the columns back into the image
(B, 1, 8, W) and reads it at once: 3x3 convolution, ReLU, 2x2 max-pool, 3x3 convolution,
ReLU; each of the W/2 regions is a stretch of two columns, its features at each of the
four pooled rows projected together to the decoder's width: the regions' states e_s (B, W/2, H). The
decoder (the run's cell) starts from tanh(W_0 [e_1; ...; e_S]) in its first layer (zeros
above), so even without attention it is told the whole image, region by region, once.
With attention (``seq2seq.LuongAttention``) each word's step weighs the regions: the
weights say where it looked for that word. The image's steps output zeros (unscored).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from rnn_core.recurrent_layers import initialise_recurrent_blocks, meta_layer
from rnn_core.seq2seq import ATTENTION, LuongAttention


class Captioner(nn.Module):
    causal = False

    def __init__(
        self,
        image_steps: int,
        image_height: int,
        pixels: slice,
        channels: int,
        decoder: nn.RNNBase,
        attention: LuongAttention | None,
        head: nn.Linear,
        cell: str,
        device=None,
    ):
        super().__init__()
        hidden = decoder.hidden_size
        self.source_len, self.image_height, self.pixels = image_steps, image_height, pixels
        self.cell = cell
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, device=device)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, device=device)
        # a region's features at every pooled row, so its vertical shape is kept
        self.project = nn.Linear(channels * (image_height // 2), hidden, device=device)
        self.regions = image_steps // 2
        self.initial = nn.Linear(self.regions * hidden, hidden, device=device)  # W_0
        self.decoder, self.attention, self.head = decoder, attention, head

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, S, H): the regions' states, from the image's steps of x."""
        image = x[:, : self.source_len, self.pixels].transpose(1, 2)[:, None]  # (B,1,8,W)
        features = torch.relu(self.conv1(image))
        features = nn.functional.max_pool2d(features, 2)
        features = torch.relu(self.conv2(features))  # (B, C, 4, W/2)
        columns = features.permute(0, 3, 1, 2).flatten(2)  # (B, W/2, C * 4)
        return torch.tanh(self.project(columns))  # (B, S, H)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        if x.shape[1] <= self.source_len:
            raise ValueError(
                f"a sequence needs the image's {self.source_len} steps and at least one "
                f"decoder step, got {x.shape[1]} steps"
            )
        regions = self.encode(x)
        batch, layers = x.shape[0], self.decoder.num_layers
        h0 = torch.tanh(self.initial(regions.flatten(1)))  # (B, H)
        h = torch.stack([h0, *([torch.zeros_like(h0)] * (layers - 1))])  # (L, B, H)
        state = (h, torch.zeros_like(h)) if isinstance(self.decoder, nn.LSTM) else h
        decoder_states, _ = self.decoder(x[:, self.source_len :], state)
        if self.attention is None:
            logits, weights = self.head(decoder_states), None
        else:
            attended, weights = self.attention(decoder_states, regions)
            logits = self.head(attended)
        silent = logits.new_zeros(batch, self.source_len, logits.shape[-1])
        out = torch.cat([silent, logits], dim=1)
        return (out, weights) if return_attention else out


def captioner_builder(cell: str, task, attention: str) -> Callable[..., nn.Module]:
    """A MODELS-style builder of the captioner whose decoder is ``cell``; its convolutions
    have half the decoder's width (at least 4 channels)."""
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
    ) -> Captioner:
        decoder = meta_layer(cell, input_size, hidden_size, num_layers)
        model = Captioner(
            task.source_len,
            task.image_height,
            task.pixels,
            max(4, hidden_size // 2),
            decoder,
            LuongAttention(hidden_size, device="meta") if attention == "luong" else None,
            nn.Linear(hidden_size, output_size, device="meta"),
            cell=cell,
            device="meta",
        )
        if device == "meta":
            return model
        model.to_empty(device=device)
        generator = generator or torch.Generator().manual_seed(0)
        with torch.no_grad():
            for module in model.modules():  # torch's default: U(-1/sqrt(fan_in), ...)
                if isinstance(module, nn.Linear | nn.Conv2d):
                    bound = 1.0 / math.sqrt(module.weight[0].numel())
                    module.weight.uniform_(-bound, bound, generator=generator)
                    if module.bias is not None:
                        module.bias.uniform_(-bound, bound, generator=generator)
            bound = 1.0 / math.sqrt(hidden_size)
            for p in decoder.parameters():
                p.uniform_(-bound, bound, generator=generator)
        initialise_recurrent_blocks(decoder, init, recurrent_scale, generator)
        decoder.flatten_parameters()
        return model

    return build
