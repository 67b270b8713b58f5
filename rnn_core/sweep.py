"""Memory-horizon sweep (Bai, Kolter & Koltun 2018): how far back can each model remember?

For one memory task (copy memory or the adding problem) a sweep trains every model at
every sequence length for the same number of steps at a matched parameter budget, then
scores each run on one fixed batch. The result is a table with one row per (model,
length): the data behind the "accuracy against sequence length" figure.

A ``Sweep`` is trainer-like: ``step(n)``, ``steps_done``, ``max_steps``, ``status`` and
``message`` are what ``rnn_core.jobs.JobManager`` needs to run it in the background, and
``results`` can be read from any thread while it trains. Its status goes from "ok" to
"finished" (the JobManager then settles the job in state "finished").

A sweep is deterministic (the same spec gives the same table, apart from wall-clock
seconds), so a finished table can be kept: ``Sweep`` takes an optional cache
(``rnn_core.sweep_cache.SweepCache``, which keeps tables on disk) that it reads before
training and writes when it finishes.

A spec's fields that every run's RunConfig takes are checked by the config's own
validators (``config.check_field``, ``config.check_seq_len``), so a spec accepts exactly
the values a run accepts; only what is the sweep's own (its tasks, models, number of
lengths, steps per run) is checked here.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, NoReturn

import pandas as pd
import torch

from rnn_core.config import ConfigError, RunConfig, check_field, check_seq_len
from rnn_core.models import RECURRENT
from rnn_core.tasks import TASKS
from rnn_core.train import Trainer, denormals_flushed

if TYPE_CHECKING:  # sweep_cache imports this module (for the spec and the table's columns)
    from rnn_core.sweep_cache import SweepCache

SWEEP_TASKS = ("copy_memory", "adding")
SWEEP_MODELS = (*RECURRENT, "tcn", "transformer")
MAX_LENGTHS = 8
MAX_STEPS = 5000  # per cell

# The app's default sweep: 3 models (tcn, lstm, gru) at param_budget 10,000, batch 64,
# 1,000 steps per cell (the "within 1,000 steps"; at 500 the LSTM had not yet
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

# The scoring batch: this many fresh sequences per length, drawn from a generator seeded
# at spec.seed + _SCORE_STREAM (an offset far from the Trainer's own streams), so every
# model at one length is scored on the same sequences, which no run trained on.
SCORE_SEQUENCES = 256
_SCORE_STREAM = 4_000_037
_SCORE_CHUNK = 64  # sequences per forward pass (bounds the transformer's attention memory)

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


# ---------------------------------------------------------------------------- results
def results_frame(rows: list[dict]) -> pd.DataFrame:
    """A results table (RESULT_COLUMNS, typed) from rows of plain values."""
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    return frame.astype(_RESULT_DTYPES)


def _finite_or_nan(value: float) -> float:
    return value if math.isfinite(value) else math.nan


# ------------------------------------------------------------------------------ sweep
class Sweep:
    """Train the cells of ``spec`` one after another, resumably (``step(n)``).

    Each cell is a ``Trainer`` run for ``spec.steps`` steps (fewer if it diverges), then
    scored on SCORE_SEQUENCES fresh sequences; a cell whose RunConfig is not allowed is
    recorded as skipped, with the reason. With a ``cache`` that already holds ``spec``
    the sweep is finished at once (``from_cache``); otherwise it stores its table there
    when it finishes.

    ``steps_done`` counts a cell that ends early (skipped, diverged) as its full
    ``spec.steps``, so it reaches ``max_steps`` exactly when the sweep finishes and
    ``progress = steps_done / max_steps``. ``step(n)`` returns the optimizer steps it
    actually ran. Readable from any thread: ``results``, ``progress``, ``current``,
    ``cell_trainer``, ``finished``, ``status``, ``message``, ``steps_done``.
    """

    def __init__(self, spec: SweepSpec, cache: SweepCache | None = None):
        if not isinstance(spec, SweepSpec):
            raise TypeError(f"spec must be a SweepSpec, got {type(spec).__name__}")
        self.spec = spec
        self.cache = cache
        self.cells = spec.cells
        self.max_steps = spec.max_steps
        self.status = "ok"
        self.message = ""
        self.steps_done = 0
        self.from_cache = False
        self.stored = False  # the finished table was written to the cache
        self._rows: list[dict] = []
        self._cell = 0  # index into cells of the current cell
        self._trainer: Trainer | None = None
        self._cell_seconds = 0.0
        self._lock = threading.Lock()  # rows and the read-side state
        self._step_lock = threading.Lock()  # one step() at a time
        cached = cache.load(spec) if cache is not None else None
        if cached is not None:
            self._rows = cached.to_dict("records")
            self._cell = len(self.cells)
            self.steps_done = self.max_steps
            self.from_cache = True
            self.status = "finished"
            self.message = "Loaded from the sweep cache: " + self._summary()

    # ------------------------------------------------------------------ read side
    @property
    def results(self) -> pd.DataFrame:
        """One row per finished cell (RESULT_COLUMNS), in training order; a copy."""
        with self._lock:
            rows = [dict(row) for row in self._rows]
        return results_frame(rows)

    @property
    def progress(self) -> float:
        with self._lock:
            return min(1.0, self.steps_done / self.max_steps)

    @property
    def current(self) -> tuple[str, int] | None:
        """The (model, seq_len) training now or next, None once finished."""
        with self._lock:
            return self.cells[self._cell] if self._cell < len(self.cells) else None

    @property
    def finished(self) -> bool:
        return self.status == "finished"

    @property
    def cell_trainer(self) -> Trainer | None:
        """The current cell's Trainer (its ``history`` is readable live), or None
        between cells and once finished."""
        return self._trainer

    # ------------------------------------------------------------------ write side
    def step(self, n: int = 1) -> int:
        """Advance by up to n optimizer steps, moving from cell to cell; returns how
        many ran. When the last cell is done the sweep finishes (status "finished")
        before returning, so a call with n >= 1 either trains or finishes."""
        n = max(0, int(n))
        ran = 0
        with self._step_lock:
            while ran < n and self._cell < len(self.cells):
                if self._trainer is None:
                    self._open_cell()  # may record a skipped cell and move on
                    continue
                trainer = self._trainer
                start = time.perf_counter()
                want = min(n - ran, self.spec.steps - trainer.steps_done)
                done = trainer.step(want)
                self._cell_seconds += time.perf_counter() - start
                ran += done
                with self._lock:
                    self.steps_done += done
                if trainer.status != "ok" or trainer.steps_done >= self.spec.steps:
                    self._close_cell()
            if self._cell >= len(self.cells) and self.status == "ok":
                self._finish()
        return ran

    def _open_cell(self) -> None:
        model, length = self.cells[self._cell]
        start = time.perf_counter()
        try:
            cfg = self.spec.config(model, length)
        except ConfigError as err:
            self._add_row(
                model,
                length,
                "skipped",
                str(err),
                math.nan,
                math.nan,
                None,
                0,
                time.perf_counter() - start,
            )
            return
        # A huge probe_every: the sweep never looks at snapshots, so take none after
        # the untrained one (the Trainer always takes that).
        self._trainer = Trainer(cfg, probe_every=10**9, light_probes=True)
        self._cell_seconds = time.perf_counter() - start

    def _close_cell(self) -> None:
        trainer = self._trainer
        model, length = self.cells[self._cell]
        start = time.perf_counter()
        loss, metric = self._score(trainer, length)
        seconds = self._cell_seconds + time.perf_counter() - start
        status = "ok" if trainer.status == "ok" else "diverged"
        self._add_row(
            model,
            length,
            status,
            trainer.message,
            metric,
            loss,
            trainer.num_parameters,
            trainer.steps_done,
            seconds,
        )

    def _add_row(
        self, model, length, status, reason, metric, loss, num_parameters, steps, seconds
    ) -> None:
        baseline = TASKS[self.spec.task].baseline_loss(length)
        row = {
            "model": model,
            "seq_len": int(length),
            "status": status,
            "reason": reason,
            "metric": float(metric),
            "loss": float(loss),
            "baseline": float(baseline),
            "loss_ratio": float(loss / baseline) if baseline > 0 else math.nan,
            "num_parameters": num_parameters,
            "steps": int(steps),
            "seconds": float(seconds),
        }
        with self._lock:
            self._rows.append(row)
            # A cell that ended early is credited its whole allotment (see the class doc).
            self.steps_done += self.spec.steps - int(steps)
            self._cell += 1
            self._trainer = None

    def _score_batch(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        # Drawn afresh for each cell (cheap): the same seed gives every model at this
        # length the same sequences.
        generator = torch.Generator().manual_seed(self.spec.seed + _SCORE_STREAM)
        return TASKS[self.spec.task].sample(SCORE_SEQUENCES, length, generator)

    @torch.no_grad()
    def _score(self, trainer: Trainer, length: int) -> tuple[float, float]:
        """(loss, metric) of the trained model on the length's fixed scoring batch."""
        x, y = self._score_batch(length)
        task, model = TASKS[self.spec.task], trainer.model
        model.eval()
        with denormals_flushed():  # the same numerics as training
            outputs = torch.cat([model(chunk) for chunk in x.split(_SCORE_CHUNK)])
        loss = _finite_or_nan(float(task.loss(outputs, y)))
        metric = _finite_or_nan(float(task.metric(outputs, y)))
        return loss, metric

    def _summary(self) -> str:
        statuses = [row["status"] for row in self._rows]
        text = f"{len(statuses)} runs"
        extra = [f"{statuses.count(s)} {s}" for s in ("diverged", "skipped") if statuses.count(s)]
        return text + (f" ({', '.join(extra)})" if extra else "") + "."

    def _finish(self) -> None:
        seconds = sum(row["seconds"] for row in self._rows)
        if self.cache is not None:
            self.stored = self.cache.store(self.spec, self.results)
        with self._lock:
            self.steps_done = self.max_steps
            self.message = f"Sweep finished in {seconds:.0f} s: {self._summary()}"
            if self.cache is not None and not self.stored:
                self.message += " (The sweep cache could not be written.)"
            self.status = "finished"
