"""One time step of a trained cell, written out with its actual numbers.

For the "Inside a cell" page (CNN Explainer style): every term of the cell's equations
for one probe sequence at one time step, per hidden unit, recomputed in numpy from the
weights a full probe carries (taken with its states, so a run that trains on meanwhile
cannot tear them apart) and checked against the probe's own states.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from rnn_core.models import GATE_NAMES
from rnn_core.probes import Probe

EQUATIONS = {
    "rnn_tanh": [r"h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"],
    "rnn_relu": [r"h_t = \mathrm{ReLU}(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})"],
    "lstm": [
        r"i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi})",
        r"f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf})",
        r"g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})",
        r"o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho})",
        r"c_t = f_t \odot c_{t-1} + i_t \odot g_t",
        r"h_t = o_t \odot \tanh(c_t)",
    ],
    "gru": [
        r"r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})",
        r"z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})",
        r"n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
        r"h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    ],
}


# torch's block order inside an LSTM's weight_ih / weight_hh (i, f, g, o)
LSTM_GATES = GATE_NAMES[nn.LSTM]
BLOCKS = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}  # row blocks of weight_hh


@dataclass
class StepBreakdown:
    cell: str
    t: int
    equations: list[str]
    table: pd.DataFrame  # one row per shown unit; columns are the terms
    x_t: np.ndarray  # the last layer's input at step t
    max_error: float  # |recomputed h_t - probe h_t|, over the shown units


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def step_breakdown(
    cell: str, probe: Probe, seq: int = 0, t: int = 0, units: int = 8
) -> StepBreakdown:
    """Every term of the last layer's update at step t for sequence ``seq`` of a full
    probe of a ``cell`` model (rnn_tanh, rnn_relu, lstm, gru; alone or as an
    encoder-decoder)."""
    if cell not in EQUATIONS or not probe.weights:
        raise ValueError(
            f"a step breakdown needs a full probe of a recurrent cell "
            f"({', '.join(EQUATIONS)}), not {cell!r}"
        )
    # An encoder-decoder's steps from decoder_start on are the decoder's (its own
    # weights); its first step's h_{t-1} is the encoder's last state, as in the model.
    weights = probe.weights_at(t)
    w_ih, w_hh, b_ih, b_hh = (
        weights[name].astype(np.float64)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    )
    layer = probe.hidden_layers.shape[0] - 1
    hsize = w_hh.shape[1]
    # A training snapshot keeps only the first units' rows of each gate block
    # (probes.unit_rows): the units computed here are those whose rows are there.
    kept = w_hh.shape[0] // BLOCKS[cell]
    shown = slice(0, min(units, kept))
    layer_input = probe.inputs if layer == 0 else probe.hidden_layers[layer - 1]
    x_t = layer_input[seq, t].astype(np.float64)
    h_seq = probe.hidden_layers[layer][seq].astype(np.float64)  # (T, H)
    h_prev = h_seq[t - 1] if t > 0 else np.zeros(hsize)
    xw = w_ih @ x_t + b_ih  # (G*kept,)
    hw = w_hh @ h_prev + b_hh  # every unit's h_{t-1} feeds each kept unit
    h_prev = h_prev[:kept]
    cols: dict[str, np.ndarray] = {"h_{t-1}": h_prev}
    if cell in ("rnn_tanh", "rnn_relu"):
        pre = xw + hw
        h_t = np.tanh(pre) if cell == "rnn_tanh" else np.maximum(pre, 0)
        cols.update({"W_ih x_t + b_ih": xw, "W_hh h_{t-1} + b_hh": hw, "pre-activation": pre})
    elif cell == "lstm":
        c_seq = probe.cell[seq].astype(np.float64) if probe.cell is not None else None
        c_prev = c_seq[t - 1, :kept] if t > 0 else np.zeros(kept)
        acts = {}
        for name, xs, hs in zip(LSTM_GATES, np.split(xw, 4), np.split(hw, 4), strict=True):
            pre = xs + hs
            acts[name] = np.tanh(pre) if name == "cell" else _sigmoid(pre)
            cols[f"{name}: pre"] = pre
            cols[f"{name}: act"] = acts[name]
        c_t = acts["forget"] * c_prev + acts["input"] * acts["cell"]
        h_t = acts["output"] * np.tanh(c_t)
        cols.update({"c_{t-1}": c_prev, "c_t": c_t})
    else:  # gru
        xr, xz, xn = np.split(xw, 3)
        hr, hz, hn = np.split(hw, 3)
        r = _sigmoid(xr + hr)
        z = _sigmoid(xz + hz)
        n_pre = xn + r * hn
        n = np.tanh(n_pre)
        h_t = (1 - z) * n + z * h_prev
        cols.update(
            {
                "reset: pre": xr + hr,
                "reset: act": r,
                "update: pre": xz + hz,
                "update: act": z,
                "new: W_hn h + b_hn": hn,
                "new: pre": n_pre,
                "new: act": n,
            }
        )
    cols["h_t"] = h_t
    table = pd.DataFrame({k: v[shown] for k, v in cols.items()})
    table.index.name = "unit"
    error = float(np.abs(h_t[shown] - h_seq[t][shown]).max())
    return StepBreakdown(
        cell=cell, t=t, equations=EQUATIONS[cell], table=table, x_t=x_t, max_error=error
    )
