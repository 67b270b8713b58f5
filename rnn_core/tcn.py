"""Temporal convolutional network (Bai, Kolter & Koltun 2018): causal dilated 1-D
convolutions in residual blocks, mapping (B, T, I) -> (B, T, O) like the recurrent models.

Each level is one residual block of two convolutions with the same dilation, 2^level;
a convolution is causal because its input is padded on the left only, so output t sees
inputs t - (k-1)d .. t and nothing later. No batch normalisation: its batch statistics
mix time steps, which leaks the future during training. (Bai et al. used weight
normalisation and dropout; at these sizes plain convolutions learn the memory tasks.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def receptive_field(kernel_size: int, levels: int) -> int:
    """Input steps that can reach one output: 1 + 2(k-1)(2^n - 1) for two convolutions
    per block with dilations 1, 2, ..., 2^(n-1)."""
    return 1 + 2 * (kernel_size - 1) * (2**levels - 1)


def levels_to_cover(kernel_size: int, span: int, max_levels: int) -> int:
    """The fewest levels whose receptive field covers ``span`` steps (at most max_levels)."""
    levels = 1
    while levels < max_levels and receptive_field(kernel_size, levels) < span:
        levels += 1
    return levels


class CausalConv(nn.Conv1d):
    """A dilated 1-D convolution padded on the left only: output t sees no input after t."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x (B, C, T)
        left = (self.kernel_size[0] - 1) * self.dilation[0]
        return super().forward(F.pad(x, (left, 0)))


class TemporalBlock(nn.Module):
    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, device=None
    ):
        super().__init__()
        self.conv1 = CausalConv(
            in_channels, out_channels, kernel_size, dilation=dilation, device=device
        )
        self.conv2 = CausalConv(
            out_channels, out_channels, kernel_size, dilation=dilation, device=device
        )
        # A 1x1 convolution matches the channels of the residual path when they differ.
        self.downsample = (
            nn.Conv1d(in_channels, out_channels, 1, device=device)
            if in_channels != out_channels
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T) -> (B, C_out, T)
        out = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + residual)


class TCN(nn.Module):
    """Residual levels of causal dilated convolutions and a per-step linear head."""

    causal = True

    def __init__(
        self, input_size: int, output_size: int, channels: list[int], kernel_size: int, device=None
    ):
        super().__init__()
        if not channels or kernel_size < 2:
            raise ValueError("a TCN needs at least one level and a kernel size of 2 or more")
        self.kernel_size = kernel_size
        self.channels = list(channels)
        blocks, width = [], input_size
        for level, out in enumerate(self.channels):
            blocks.append(TemporalBlock(width, out, kernel_size, 2**level, device=device))
            width = out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(width, output_size, device=device)

    @property
    def levels(self) -> int:
        return len(self.channels)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.kernel_size, self.levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, I) -> (B, T, O)
        features = self.blocks(x.transpose(1, 2))  # (B, C, T)
        return self.head(features.transpose(1, 2))
