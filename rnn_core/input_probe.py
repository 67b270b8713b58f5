"""A probe of the current model on inputs a page sends: an edited probe sequence.

The pages let a visitor edit the run's probe sequence (move a marker, type a string,
redraw a digit) and show the hidden states, gates and outputs the trained model gives
on it. ``probe_on_inputs`` unrolls the model's own weights on those inputs (the same
``unroll`` a full probe uses, so the states are comparable with the run's probes) and
returns a ``Probe`` without gradient fields: no loss is pulled back, only read forward.
Targets come from the task's rule (``Task.targets_for``) where it has one.

``checked_inputs`` says in one sentence what is wrong with inputs that do not fit the
task (the message is meant for the page): the shape, non-finite values, a row that is
not one symbol of a symbol task, values outside the task's range.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rnn_core.models import RecurrentModel
from rnn_core.probes import Probe, last_layer_weights
from rnn_core.tasks.base import LastStepClassification, Task
from rnn_core.unrolled import unroll

MAX_SEQUENCES = 8  # a page compares an edit with the original: two are enough


def _np(t: torch.Tensor) -> np.ndarray:
    """A tensor as numpy: float32 for floating point (as probes hold them), else as is."""
    a = t.detach().cpu().numpy()
    return a.astype(np.float32) if t.is_floating_point() else a


def _symbol_task(task: Task) -> bool:
    """Whether the inputs are one-hot symbols of the task's alphabet."""
    return task.alphabet is not None and task.input_size == len(task.alphabet)


def checked_inputs(task: Task, x, max_steps: int) -> torch.Tensor:
    """``x`` as a float32 tensor (B, T, input_size), or ValueError saying what is wrong."""
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError("the inputs must be an array of numbers") from None
    if x.ndim != 3 or x.shape[2] != task.input_size:
        raise ValueError(
            f"the inputs must have shape (sequences, steps, {task.input_size}), got {x.shape}"
        )
    if not 1 <= x.shape[0] <= MAX_SEQUENCES:
        raise ValueError(f"send 1 to {MAX_SEQUENCES} sequences, not {x.shape[0]}")
    if not 1 <= x.shape[1] <= max_steps:
        raise ValueError(f"a sequence has 1 to {max_steps} steps here, not {x.shape[1]}")
    if not np.isfinite(x).all():
        raise ValueError("the inputs must be finite numbers")
    if _symbol_task(task):
        ones = (x == 1).sum(axis=2)
        zero_rows = (x == 0).all(axis=2)
        if not ((x == 0) | (x == 1)).all() or (ones > 1).any():
            raise ValueError("each step must be exactly one symbol (a one-hot row)")
        if zero_rows.any():
            # a sentence ends early: zero rows are padding after its end, nowhere else
            padding = np.flip(np.cumprod(np.flip(zero_rows, axis=1), axis=1), axis=1) > 0
            if not isinstance(task, LastStepClassification) or (zero_rows & ~padding).any():
                raise ValueError("each step must be exactly one symbol (a one-hot row)")
            if padding[:, 0].any():
                raise ValueError("a sequence needs at least one symbol")
    if task.image_shape is not None and ((x < 0) | (x > 1)).any():
        raise ValueError("pixel values must lie between 0 (blank) and 1 (full ink)")
    if hasattr(task, "marked") and task.input_size == 2:  # the adding problem
        values, marks = x[..., 0], x[..., 1]
        if ((values < 0) | (values > 1)).any():
            raise ValueError("the values to add must lie between 0 and 1")
        if not ((marks == 0) | (marks == 1)).all() or ((marks == 1).sum(axis=1) != 2).any():
            raise ValueError("each sequence needs exactly two marked steps (marker 1, else 0)")
    return torch.from_numpy(x)


@torch.no_grad()
def probe_on_inputs(
    model, task: Task, x: torch.Tensor, step: int, targets: torch.Tensor | None = None
) -> Probe:
    """The model's inside on inputs ``x`` (checked: ``checked_inputs``): hidden states of
    every layer, the last layer's cell state and gates, the outputs, and the weights that
    computed them (so ``cell_step.step_breakdown`` reads it as a full probe). ``targets``
    default to ``task.targets_for(x)``; with none, loss and metric are NaN and
    ``targets`` None."""
    if not isinstance(model, RecurrentModel):
        raise ValueError("an edited sequence is probed on a recurrent model (RNN, LSTM, GRU)")
    y = task.targets_for(x) if targets is None else targets
    model.eval()
    unrolled = unroll(model.rnn, x)
    outputs = model.head(unrolled.output)
    loss = metric = math.nan
    if y is not None:
        loss, metric = float(task.loss(outputs, y)), float(task.metric(outputs, y))
    return Probe(
        step=step,
        loss=loss,
        metric=metric,
        inputs=_np(x),
        targets=None if y is None else _np(y),
        outputs=_np(outputs),
        hidden_layers=np.stack([_np(h) for h in unrolled.hidden]),
        cell=_np(unrolled.cell[-1]) if unrolled.cell is not None else None,
        gates={k: _np(v) for k, v in unrolled.gates.items()},
        preactivations={k: _np(v) for k, v in unrolled.preactivations.items()},
        grad_h=None,
        grad_norm=None,
        spectral_radius={},
        max_singular_value={},
        weights=last_layer_weights(model.rnn),
    )
