"""A small causal self-attention model (a decoder-only transformer), (B, T, I) -> (B, T, O).

Pre-norm blocks (x + attention(norm(x)), then x + feed-forward(norm(x))), so a 1-2 layer
model trains without warm-up. Positions are sinusoidal (Vaswani et al. 2017) rather than
learned, so the parameter count does not depend on T and a run at one length can be
compared with a run at another. Training uses torch's fused scaled-dot-product attention;
``forward(x, return_attention=True)`` computes the same attention by hand and also
returns its weights, which the probes read.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """(T, d) position codes: sin and cos of t / 10000^(2i/d), interleaved."""
    t = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )
    codes = torch.zeros(length, d_model)
    codes[:, 0::2] = torch.sin(t * rate)
    codes[:, 1::2] = torch.cos(t * rate[: d_model // 2])
    return codes


class CausalSelfAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, device=None):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not a multiple of heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(d_model, 3 * d_model, device=device)
        self.proj = nn.Linear(d_model, d_model, device=device)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        B, T, D = x.shape
        q, k, v = self.qkv(x).split(D, dim=2)
        # (B, heads, T, D/heads)
        q, k, v = (a.view(B, T, self.heads, D // self.heads).transpose(1, 2) for a in (q, k, v))
        if return_attention:
            scores = q @ k.transpose(-2, -1) / math.sqrt(D // self.heads)  # (B, h, T, T)
            future = torch.ones(T, T, dtype=torch.bool).triu(1)
            weights = scores.masked_fill(future, float("-inf")).softmax(dim=-1)
            out = weights @ v
        else:
            weights = None
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        out = self.proj(out.transpose(1, 2).reshape(B, T, D))
        return out, weights


class AttentionBlock(nn.Module):
    def __init__(self, d_model: int, heads: int, ff_size: int, device=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model, device=device)
        self.attention = CausalSelfAttention(d_model, heads, device=device)
        self.norm2 = nn.LayerNorm(d_model, device=device)
        self.ff = nn.Sequential(
            nn.Linear(d_model, ff_size, device=device),
            nn.GELU(),
            nn.Linear(ff_size, d_model, device=device),
        )

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        attended, weights = self.attention(self.norm1(x), return_attention)
        x = x + attended
        return x + self.ff(self.norm2(x)), weights


class Transformer(nn.Module):
    """Input projection + sinusoidal positions, causal attention blocks, a per-step head."""

    causal = True

    def __init__(
        self,
        input_size: int,
        output_size: int,
        d_model: int,
        ff_size: int,
        heads: int,
        layers: int,
        device=None,
    ):
        super().__init__()
        self.d_model, self.ff_size, self.heads = d_model, ff_size, heads
        self.embed = nn.Linear(input_size, d_model, device=device)
        self.blocks = nn.ModuleList(
            AttentionBlock(d_model, heads, ff_size, device=device) for _ in range(layers)
        )
        self.norm = nn.LayerNorm(d_model, device=device)
        self.head = nn.Linear(d_model, output_size, device=device)
        self._positions = torch.zeros(0, d_model)  # cached codes, grown on demand

    def positions(self, length: int) -> torch.Tensor:
        if self._positions.shape[0] < length:
            self._positions = sinusoidal_positions(length, self.d_model)
        return self._positions[:length]

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        """(B, T, I) -> (B, T, O); with return_attention also (B, layers, heads, T, T)."""
        h = self.embed(x) + self.positions(x.shape[1])
        maps = []
        for block in self.blocks:
            h, weights = block(h, return_attention)
            maps.append(weights)
        out = self.head(self.norm(h))
        return (out, torch.stack(maps, dim=1)) if return_attention else out
