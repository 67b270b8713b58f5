"""Compact encoding of the arrays a figure sends to the browser.

Everything sent to the browser is a numpy array, because plotly serializes those as
base64 typed arrays (about 1.5 bytes a cell for uint8, 7 for float32) where Python lists
cost about 20. Here: the byte budget of one animated figure and the bytes a cell costs,
``quantize_codes`` (uint8 codes of a value range) with ``colorbar_ticks`` that label
those codes in real values, and ``thin`` (evenly spread indices for long series).
"""

from __future__ import annotations

import math

import numpy as np

# Serialized bytes we allow one animated figure; a 50-frame 64x200 heatmap fits
# (tests/test_viz.py checks its size).
PAYLOAD_BUDGET = 1_400_000
# Serialized bytes per cell, measured with plotly 7's to_json: base64 is 4/3 of the raw
# bytes, and plotly escapes every "/" as "\u002f" (6 characters), which float32 data
# near +-1 hits often (its exponent bytes) and int8 codes rarely.
INT8_BYTES, FLOAT32_BYTES = 1.6, 7.0


def thin(n: int, max_points: int) -> np.ndarray:
    """At most max_points indices of range(n), evenly spread, first and last kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max(max_points, 2)).round().astype(np.int64))


def _nice(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= x > 0."""
    power = 10.0 ** math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= x * (1 - 1e-12):
            return m * power
    return 10 * power


def quantize_codes(values, zmin: float, zmax: float) -> tuple[np.ndarray, float, float]:
    """Integer codes of values clipped to [zmin, zmax]: value ~ offset + code * quantum.

    The quantum is a round number (1, 2, 2.5 or 5 x 10^k) so hover text reads simply.
    Codes are uint8 in 0..254, never 255, and zero is 0 or 128: plotly's JSON writes
    each "/" of the base64 payload as six characters, and runs of bytes whose low six
    bits are all ones (0xFF: int8 -1, every slightly negative activation; 0x7F) encode
    to "/"-rich text, which made real heatmaps 50% larger than random ones. Mixed-sign
    ranges put zero at code 128 exactly (offset -128 quanta), so a diverging scale stays
    centred; non-negative ranges start at zero; ranges away from zero start at zmin.
    Error <= quantum / 2 inside the range; NaN (which integers cannot hold) becomes the
    range's middle.
    """
    if not zmax > zmin:
        raise ValueError(f"need zmax > zmin, got [{zmin}, {zmax}]")
    v = np.clip(
        np.nan_to_num(np.asarray(values, dtype=np.float64), nan=(zmin + zmax) / 2), zmin, zmax
    )
    if zmin >= 0 and _nice(zmax / 254) <= 2 * _nice((zmax - zmin) / 254):
        q = _nice(zmax / 254)
        offset = 0.0
    elif zmin < 0 < zmax or zmax <= 0 and _nice(-zmin / 126) <= 2 * _nice((zmax - zmin) / 252):
        q = _nice(max(-zmin, zmax) / 126)
        offset = -128 * q
    else:
        q, offset = _nice((zmax - zmin) / 254), zmin
    codes = np.clip(np.rint((v - offset) / q), 0, 254).astype(np.uint8)
    return codes, q, offset


def colorbar_ticks(zmin: float, zmax: float, q: float, offset: float):
    """Code positions and real-value labels for a colour bar over [zmin, zmax]."""
    step = _nice((zmax - zmin) / 6)
    values = np.arange(math.ceil(zmin / step - 1e-9), math.floor(zmax / step + 1e-9) + 1) * step
    return (values - offset) / q, [f"{v:.4g}" for v in values]
