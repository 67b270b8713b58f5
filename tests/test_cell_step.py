"""step_breakdown (the numbers of the "Inside a cell" page) against torch's own cells.

A small model trains a few steps; a full probe is taken from it; then each shown step is
computed again by ``torch.nn.RNNCell``/``LSTMCell``/``GRUCell`` loaded with the last
layer's own weights (``weight_ih_l{k}`` ...), from the step's x_t, h_{t-1} (and c_{t-1}).
The torch cells return only h_t (and c_t), so the reference gates come from torch's
documented layout of those weights (rows i, f, g, o for an LSTM; r, z, n for a GRU), and
recombining them must give back the cell's own h_t and c_t: that ties every reference
column to what torch computes. Every column of the breakdown's table is then compared.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from rnn_core import RunConfig, Trainer
from rnn_core.cell_step import step_breakdown

HIDDEN = 6
SEQ_LEN = 9
STEPS_SHOWN = (0, 1, 4, SEQ_LEN - 1)
# Both sides compute in float64 from the same float32 weights and states.
TOL = 1e-9
# The probe's states come from a float32 unroll; the float64 torch cells differ by this.
STATE_TOL = 1e-5

TORCH_CELLS = {
    "rnn_tanh": lambda i, h: nn.RNNCell(i, h, nonlinearity="tanh"),
    "rnn_relu": lambda i, h: nn.RNNCell(i, h, nonlinearity="relu"),
    "lstm": nn.LSTMCell,
    "gru": nn.GRUCell,
}
COLUMNS = {
    "rnn_tanh": ["h_{t-1}", "W_ih x_t + b_ih", "W_hh h_{t-1} + b_hh", "pre-activation", "h_t"],
    "lstm": ["h_{t-1}"]
    + [
        f"{gate}: {part}"
        for gate in ("input", "forget", "cell", "output")
        for part in ("pre", "act")
    ]
    + ["c_{t-1}", "c_t", "h_t"],
    "gru": [
        "h_{t-1}",
        "reset: pre",
        "reset: act",
        "update: pre",
        "update: act",
        "new: W_hn h + b_hn",
        "new: pre",
        "new: act",
        "h_t",
    ],
}
COLUMNS["rnn_relu"] = COLUMNS["rnn_tanh"]


def _torch_cell(rnn: nn.RNNBase, cell: str, layer: int) -> nn.RNNCellBase:
    """torch's single-step cell carrying layer ``layer``'s weights of the fused ``rnn``."""
    torch_cell = TORCH_CELLS[cell](getattr(rnn, f"weight_ih_l{layer}").shape[1], HIDDEN)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(torch_cell, name).copy_(getattr(rnn, f"{name}_l{layer}"))
    return torch_cell.double()


def _reference_step(torch_cell, cell, x_t, h_prev, c_prev) -> dict[str, np.ndarray]:
    """Every column of the breakdown's table, for one step, from torch."""
    x, h = torch.from_numpy(x_t)[None], torch.from_numpy(h_prev)[None]  # (1, I), (1, H)
    with torch.no_grad():
        xw = F.linear(x, torch_cell.weight_ih, torch_cell.bias_ih)  # (1, G*H)
        hw = F.linear(h, torch_cell.weight_hh, torch_cell.bias_hh)
        cols = {"h_{t-1}": h}
        if cell == "lstm":
            c = torch.from_numpy(c_prev)[None]
            h_t, c_t = torch_cell(x, (h, c))
            gates = ("input", "forget", "cell", "output")  # torch's row order
            pre = dict(zip(gates, (xw + hw).chunk(4, 1), strict=True))
            act = {name: z.tanh() if name == "cell" else z.sigmoid() for name, z in pre.items()}
            # the gates rebuild torch's own c_t and h_t
            torch.testing.assert_close(act["forget"] * c + act["input"] * act["cell"], c_t)
            torch.testing.assert_close(act["output"] * c_t.tanh(), h_t)
            for name in pre:
                cols[f"{name}: pre"], cols[f"{name}: act"] = pre[name], act[name]
            cols.update({"c_{t-1}": c, "c_t": c_t})
        elif cell == "gru":
            h_t = torch_cell(x, h)
            (xr, xz, xn), (hr, hz, hn) = xw.chunk(3, 1), hw.chunk(3, 1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n_pre = xn + r * hn
            torch.testing.assert_close((1 - z) * n_pre.tanh() + z * h, h_t)
            cols.update(
                {
                    "reset: pre": xr + hr,
                    "reset: act": r,
                    "update: pre": xz + hz,
                    "update: act": z,
                    "new: W_hn h + b_hn": hn,
                    "new: pre": n_pre,
                    "new: act": n_pre.tanh(),
                }
            )
        else:
            h_t = torch_cell(x, h)
            pre = xw + hw
            torch.testing.assert_close(pre.tanh() if cell == "rnn_tanh" else pre.relu(), h_t)
            cols.update({"W_ih x_t + b_ih": xw, "W_hh h_{t-1} + b_hh": hw, "pre-activation": pre})
        cols["h_t"] = h_t
    return {name: value[0].numpy() for name, value in cols.items()}


def _trained_probe(cell: str, layers: int):
    cfg = RunConfig(
        model=cell, hidden_size=HIDDEN, num_layers=layers, seq_len=SEQ_LEN, batch_size=8, lr=0.05
    )
    trainer = Trainer(cfg)
    trainer.step(3)  # weights no longer their initial draw
    return trainer, trainer.probe(sequences=2)


@pytest.mark.parametrize("layers", [1, 3])
@pytest.mark.parametrize("cell", list(TORCH_CELLS))
def test_step_breakdown_matches_torch_cells(cell, layers):
    trainer, probe = _trained_probe(cell, layers)
    rnn = trainer.model.rnn
    last = layers - 1
    # The whole stack in torch cells, layer by layer from the probe's inputs: what the
    # last layer reads (x_t) and its states, independently of the probe's unroll.
    seq = 1  # not the first sequence of the probe batch
    layer_in = torch.from_numpy(probe.inputs[seq]).double()  # (T, I)
    for layer in range(layers):
        torch_cell = _torch_cell(rnn, cell, layer)
        h = c = torch.zeros(1, HIDDEN, dtype=torch.float64)
        states = []
        with torch.no_grad():
            for x in layer_in:
                if cell == "lstm":
                    h, c = torch_cell(x[None], (h, c))
                else:
                    h = torch_cell(x[None], h)
                states.append(h[0])
        if layer < last:
            layer_in = torch.stack(states)
    below = layer_in.numpy()  # (T, I): the last layer's input at every step
    np.testing.assert_allclose(probe.hidden_layers[last][seq], torch.stack(states), atol=STATE_TOL)

    for t in STEPS_SHOWN:
        breakdown = step_breakdown(cell, probe, seq=seq, t=t, units=HIDDEN)
        assert breakdown.cell == cell and breakdown.t == t
        np.testing.assert_allclose(breakdown.x_t, below[t], atol=STATE_TOL)
        h_seq = probe.hidden_layers[last][seq].astype(np.float64)  # (T, H)
        h_prev = h_seq[t - 1] if t > 0 else np.zeros(HIDDEN)
        c_prev = None
        if cell == "lstm":
            c_prev = probe.cell[seq, t - 1].astype(np.float64) if t > 0 else np.zeros(HIDDEN)
        # The reference reads the same x_t and states as the breakdown, so the two agree
        # to rounding; the states themselves were checked against torch above.
        reference = _reference_step(torch_cell, cell, breakdown.x_t, h_prev, c_prev)
        assert list(breakdown.table.columns) == COLUMNS[cell]
        assert list(breakdown.table.index) == list(range(HIDDEN))
        for name in COLUMNS[cell]:
            np.testing.assert_allclose(
                breakdown.table[name].to_numpy(),
                reference[name],
                atol=TOL,
                err_msg=f"{name}, t={t}",
            )
        np.testing.assert_allclose(breakdown.table["h_t"], h_seq[t], atol=STATE_TOL)
        assert breakdown.max_error < STATE_TOL


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
def test_a_training_snapshot_keeps_what_a_step_breakdown_needs(cell):
    """A replayed step (ui/replay_step.py) reads a compact snapshot: it keeps the rows of
    the first units' weights, so its breakdown of those units is the full probe's, up to
    the snapshot's float16 states."""
    from rnn_core.probes import SNAPSHOT_UNITS

    cfg = RunConfig(model=cell, seq_len=SEQ_LEN, hidden_size=SNAPSHOT_UNITS + 4, batch_size=8)
    trainer = Trainer(cfg, probe_every=5)
    trainer.step(5)
    snap = trainer.snapshots[-1]
    full = trainer.probe()
    assert snap.step == full.step == 5
    blocks = {"rnn_tanh": 1, "lstm": 4, "gru": 3}[cell]
    assert snap.weights["weight_hh"].shape == (blocks * SNAPSHOT_UNITS, cfg.hidden_size)
    for t in (0, 3, SEQ_LEN - 1):
        replayed = step_breakdown(cell, snap, seq=0, t=t, units=SNAPSHOT_UNITS)
        fresh = step_breakdown(cell, full, seq=0, t=t, units=SNAPSHOT_UNITS)
        assert replayed.table.shape == fresh.table.shape == (SNAPSHOT_UNITS, fresh.table.shape[1])
        np.testing.assert_allclose(replayed.table.to_numpy(), fresh.table.to_numpy(), atol=5e-3)
        assert replayed.max_error < 5e-3
