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

What a sweep is, its spec and its results table, is in ``rnn_core.sweep_spec``.
"""

from __future__ import annotations

import math
import threading
import time

import pandas as pd
import torch

from rnn_core.config import ConfigError
from rnn_core.sweep_cache import SweepCache
from rnn_core.sweep_spec import SweepSpec, results_frame
from rnn_core.tasks import TASKS
from rnn_core.train import Trainer, denormals_flushed

# The scoring batch: this many fresh sequences per length, drawn from a generator seeded
# at spec.seed + _SCORE_STREAM (an offset far from the Trainer's own streams), so every
# model at one length is scored on the same sequences, which no run trained on.
SCORE_SEQUENCES = 256
_SCORE_STREAM = 4_000_037
_SCORE_CHUNK = 64  # sequences per forward pass (bounds the transformer's attention memory)


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
