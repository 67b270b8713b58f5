"""What a memory-horizon sweep is: its spec and the table it produces.

``SweepSpec`` is one sweep's settings (a task, models, lengths, steps per run and the
settings every run shares), checked when it is made. The fields that every run's
RunConfig takes are checked by the config's own validators (``config.check_field``,
``config.check_seq_len``), so a spec accepts exactly the values a run accepts; only what
is the sweep's own (its tasks, models, number of lengths, steps per run) is checked here.
``RESULT_COLUMNS`` and ``results_frame`` are the results table's shape, shared by the
runner (``rnn_core.sweep``) and the disk cache (``rnn_core.sweep_cache``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, NoReturn

import pandas as pd

from rnn_core.config import ConfigError, RunConfig, check_field, check_seq_len
from rnn_core.models import RECURRENT

SWEEP_TASKS = ("copy_memory", "adding")
SWEEP_MODELS = (*RECURRENT, "tcn", "transformer")
MAX_LENGTHS = 8
MAX_STEPS = 5000  # per cell

# The app's default sweep: 3 models (tcn, lstm, gru) at param_budget 10,000, batch 64,
# 1,000 steps per cell (enough for the TCN to learn copy memory; at 500 the LSTM had not yet
# solved adding at T = 50, which it does in a race by step 600-800). Measured whole
# sweeps, one torch thread each, both at once on a 2-core machine: copy memory 225 s,
# the adding problem 165 s. Copy memory is the expensive one: its sequences are T + 20
# long and every step is scored. Results (seed 0): copy memory, the TCN recalls 100% of
# the digits at every length while the LSTM stays at chance (12%) and the GRU reaches
# 29-34%; adding, the GRU solves every length (loss/baseline <= 0.005), the TCN stays
# below 0.04, the LSTM solves T = 25 and 50 and is back at the baseline from T = 100.
DEFAULT_MODELS = ("tcn", "lstm", "gru")
DEFAULT_LENGTHS = {"copy_memory": (25, 50, 100, 200), "adding": (25, 50, 100, 200)}
DEFAULT_STEPS = 1000
DEFAULT_PARAM_BUDGET = 10_000
DEFAULT_BATCH_SIZE = 64

RESULT_COLUMNS = (
    "model",
    "seq_len",
    "status",
    "reason",
    "metric",
    "loss",
    "baseline",
    "loss_ratio",
    "num_parameters",
    "steps",
    "seconds",
)
ROW_STATUSES = ("ok", "diverged", "skipped")
_RESULT_DTYPES = {
    "model": "object",
    "seq_len": "int64",
    "status": "object",
    "reason": "object",
    "metric": "float64",
    "loss": "float64",
    "baseline": "float64",
    "loss_ratio": "float64",
    "num_parameters": "Int64",
    "steps": "int64",
    "seconds": "float64",
}

_RUN_DEFAULTS = RunConfig()


def _fail(message: str, cause: Exception | None = None) -> NoReturn:
    raise ValueError(f"SweepSpec: {message}") from cause


def _check_run_field(name: str, value: Any, optional: bool | None = None) -> None:
    """A field the spec passes to every run's RunConfig, checked as RunConfig checks it."""
    try:
        check_field(name, value, optional=optional)
    except ConfigError as err:
        _fail(str(err), err)


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep trains: every model in ``models`` at every length in ``lengths``,
    ``steps`` optimizer steps each, sized to ``param_budget`` parameters (±10%).

    The other fields are passed to every run's RunConfig (``lr=None`` is the
    optimizer's default rate). Lists are accepted for ``models`` and ``lengths`` and
    stored as tuples. Invalid values raise ValueError.
    """

    task: str = "copy_memory"
    models: tuple[str, ...] = DEFAULT_MODELS
    lengths: tuple[int, ...] = DEFAULT_LENGTHS["copy_memory"]
    steps: int = DEFAULT_STEPS
    param_budget: int = DEFAULT_PARAM_BUDGET
    batch_size: int = DEFAULT_BATCH_SIZE
    seed: int = 0
    lr: float | None = _RUN_DEFAULTS.lr
    clip: float | None = _RUN_DEFAULTS.clip
    tcn_kernel: int = _RUN_DEFAULTS.tcn_kernel
    attn_heads: int = _RUN_DEFAULTS.attn_heads
    attn_layers: int = _RUN_DEFAULTS.attn_layers

    def __post_init__(self) -> None:
        if self.task not in SWEEP_TASKS:
            _fail(f"task must be one of {', '.join(SWEEP_TASKS)}; got {self.task!r}.")
        for name in ("models", "lengths"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
            elif not isinstance(value, tuple):
                _fail(f"{name} must be a tuple; got {value!r}.")
        if not self.models:
            _fail("models must name at least one model.")
        for model in self.models:
            if model not in SWEEP_MODELS:
                _fail(f"model {model!r} is not one of {', '.join(SWEEP_MODELS)}.")
        if len(set(self.models)) != len(self.models):
            _fail(f"models must not repeat; got {self.models!r}.")
        if not 1 <= len(self.lengths) <= MAX_LENGTHS:
            _fail(
                f"lengths must hold 1 to {MAX_LENGTHS} sequence lengths; got {len(self.lengths)}."
            )
        for length in self.lengths:
            try:
                check_seq_len(self.task, length)
            except ConfigError as err:
                _fail(f"lengths: {err}", err)
        if any(a >= b for a, b in zip(self.lengths, self.lengths[1:], strict=False)):
            _fail(f"lengths must be strictly ascending; got {self.lengths!r}.")
        steps = self.steps
        if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= MAX_STEPS:
            _fail(f"steps must be a whole number from 1 to {MAX_STEPS}; got {steps!r}.")
        # Every run is sized to the budget, so unlike a RunConfig a spec needs one.
        _check_run_field("param_budget", self.param_budget, optional=False)
        for name in ("batch_size", "seed", "tcn_kernel", "attn_heads", "attn_layers"):
            _check_run_field(name, getattr(self, name))
        for name in ("lr", "clip"):
            value = getattr(self, name)
            _check_run_field(name, value)  # None: the optimizer's default rate, no clipping
            if value is not None:  # clip=1 and clip=1.0 are one spec with one cache key
                object.__setattr__(self, name, float(value))

    @property
    def cells(self) -> tuple[tuple[str, int], ...]:
        """Every (model, seq_len) run, in training order: model by model, short first."""
        return tuple((model, length) for model in self.models for length in self.lengths)

    @property
    def max_steps(self) -> int:
        """Optimizer steps of the whole sweep if no cell ends early."""
        return self.steps * len(self.cells)

    def config(self, model: str, seq_len: int) -> RunConfig:
        """The RunConfig of one cell; raises ConfigError if that run is not allowed
        (e.g. too costly per step, or no model of that kind fits the budget)."""
        return RunConfig(
            model=model,
            task=self.task,
            seq_len=seq_len,
            batch_size=self.batch_size,
            lr=self.lr,
            clip=self.clip,
            seed=self.seed,
            param_budget=self.param_budget,
            tcn_kernel=self.tcn_kernel,
            attn_heads=self.attn_heads,
            attn_layers=self.attn_layers,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples as lists)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepSpec:
        """Inverse of ``to_dict``; missing keys take their defaults, unknown keys and
        bad values raise ValueError."""
        if not isinstance(data, Mapping):
            _fail(f"expected a mapping, got {type(data).__name__}.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            _fail(f"unknown fields {', '.join(unknown)}.")
        return cls(**dict(data))


def default_spec(
    task: str = "copy_memory", models: tuple[str, ...] = DEFAULT_MODELS, **changes: Any
) -> SweepSpec:
    """The app's default sweep for ``task`` (lengths from DEFAULT_LENGTHS)."""
    if task not in DEFAULT_LENGTHS:
        _fail(f"task must be one of {', '.join(SWEEP_TASKS)}; got {task!r}.")
    return SweepSpec(task=task, models=tuple(models), lengths=DEFAULT_LENGTHS[task], **changes)


def results_frame(rows: list[dict]) -> pd.DataFrame:
    """A results table (RESULT_COLUMNS, typed) from rows of plain values."""
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return frame.astype(_RESULT_DTYPES)
