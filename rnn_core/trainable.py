"""What a job runs: the interfaces a JobManager drives and a page reads.

``Steppable`` is anything the JobManager can train in the background: a run's Trainer, or
a sweep.Sweep that trains many small runs one after another. ``RunTrainer`` is a run's
trainer as the pages see it through its Job. Written down as protocols so that another
backend (a trainer in another process or on another machine) knows what to offer; the
tests check that Trainer and Sweep offer them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pandas as pd


@runtime_checkable
class Steppable(Protocol):
    """What a JobManager drives: work that advances in steps and says how it stands
    (a run's Trainer; a sweep.Sweep, which trains many small runs one after another).

    ``step(n)`` does up to n steps and returns how many it did. ``status`` is "ok" while
    there is more to do, "finished" when it ended by itself, anything else (a Trainer's
    "diverged") when it cannot go on; ``message`` says why in a sentence. An optional
    ``max_steps`` attribute caps the job instead of the manager's per-run step cap.
    """

    steps_done: int
    status: str
    message: str

    def step(self, n: int = 1) -> int: ...


@runtime_checkable
class RunTrainer(Steppable, Protocol):
    """A run's trainer: what a Job publishes about it, readable from any thread while it
    trains, and the questions it answers about its model (``Job.ask``; a Trainer's are
    "probe", "sample", "track_units" and "checkpoint", whose answer is the
    (checkpoint, history, snapshots) of one step that ``Trainer.resume`` continues). A
    backend that trains elsewhere (another process, another machine) implements this."""

    config: Any  # the RunConfig
    shape: Any  # the budget.ModelShape
    num_parameters: int
    baseline_loss: float
    test_baseline_loss: float  # NaN for a task without a held-out split
    held_out_size: int  # 0 for a task without a held-out split

    @property
    def history(self) -> pd.DataFrame: ...

    @property
    def snapshots(self) -> list: ...

    def answer(self, question: str, **kwargs) -> Any: ...
