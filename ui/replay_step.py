"""Replay: a run that stands still, shown as it was at an earlier training step.

A finished or paused run gets a "Training step" slider over the steps of its main job's
snapshots (rnn_core.probes.Probe; the snapshots thin as training goes on, so these are
the kept ones) and its last step, "now". Every page shows the chosen step with one or
two calls: ``slider`` draws it and returns a ``Replay``; the page's live view cuts every
history at that step (``Replay.view``) and its inside views read the snapshot taken
there (``Replay.snapshots`` and ``Replay.snapshot``). A view that asks the live model
about something new (a typed sentence, a fresh probe) says that it shows the model as it
is now (``Replay.live_note``).

The Playground's "Replay at training speed" is the same replay, moved by the clock: the
step shown is the last one the run had reached that many seconds into its training
(its history's ``seconds``), until the whole run is drawn again.

The chosen step is one per run set and session, so it stays when the visitor moves to
another page of the same run; a run that trains shows no slider (it shows now).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from rnn_core.jobs import Job
from ui.live_view import LiveView
from ui.run_set import RunSet


@dataclass(frozen=True)
class Replay:
    """The training step a page shows: ``step`` None is the run as it is now.
    ``started`` (a monotonic time) marks a replay at training speed."""

    step: int | None = None
    started: float | None = None

    @property
    def playing(self) -> bool:
        return self.started is not None

    def at(self, job: Job) -> Replay:
        """This replay at one step: for a replay at training speed, the last step ``job``
        had trained within the seconds since the replay started (now once all of its
        history is drawn again)."""
        if self.started is None:
            return self
        frame = job.history
        done = frame[frame["seconds"] <= time.monotonic() - self.started]
        if len(done) == len(frame):
            return Replay()
        return Replay(step=int(done["step"].iloc[-1]) if len(done) else 0)

    def history(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A history up to the step shown."""
        return frame if self.step is None else frame[frame["step"] <= self.step]

    def snapshots(self, snaps: list) -> list:
        """The snapshots taken up to the step shown (for views over training)."""
        return snaps if self.step is None else [s for s in snaps if s.step <= self.step]

    def snapshot(self, snaps: list):
        """The snapshot at the step shown (the latest one taken by then), or None."""
        kept = self.snapshots(snaps)
        return kept[-1] if kept else None

    def view(self, jobs: Iterable[Job]) -> LiveView:
        """A live view of ``jobs`` whose histories end at the step shown."""
        return LiveView(jobs, upto=self.step)

    def steps_done(self, job: Job) -> int:
        """The step the page names: the one shown, else the job's own."""
        return job.steps_done if self.step is None else self.step

    def live_note(self, what: str) -> None:
        """Under a view that asks the live model (``what``, e.g. "The sample"): while an
        earlier step is shown, say that this view is of the model as it is now."""
        if self.step is not None:
            st.caption(
                f"{what} shows the model as it is now, not at training step "
                f"{self.step:,}: it asks the model about new input, and the snapshots "
                f"keep only their own probe sequences.",
            )


def _steps(job: Job) -> list[int]:
    """The slider's steps: the kept snapshots' and the run's last step (now)."""
    return sorted({s.step for s in job.snapshots} | {job.steps_done})


def _follow(key: str, shared: str, job_id: str, now: int) -> None:
    """Keep the pick for every page of the set, for this run only (another run, or a
    reset, opens at now); "now" as None, so it follows the run."""
    picked = st.session_state[key]
    st.session_state[shared] = (job_id, None if picked == now else picked)


def slider(runs: RunSet, key: str, *, play_key: str | None = None) -> Replay:
    """The "Training step" slider of ``runs``' main job (key ``key``), shown while no run
    of the set trains and the main one has trained; with ``play_key``, also the "Replay
    at training speed" switch (drawn always, disabled while there is nothing to replay).
    Returns the step to show."""
    main = runs.main_job()
    can = main.steps_done > 0 and not runs.active()
    steps = _steps(main) if can else []
    shared = f"{runs.name}.replay.step"
    column = st.container()  # the slider above the switch: side by side, it clipped the label
    if play_key is not None:
        playing = st.toggle(
            "Replay at training speed",
            key=play_key,
            disabled=not can,
            help="Draw this run's curve again as fast as it trained (nothing is trained).",
        )
    else:
        playing = False
    if not (playing and can):
        st.session_state.pop(f"{play_key}.start", None)
    if len(steps) < 2:
        return Replay()
    if playing:
        start = st.session_state.setdefault(f"{play_key}.start", time.monotonic())
        if time.monotonic() - start <= float(main.history["seconds"].max()):
            column.caption("Replaying at training speed: the slider is back at its step after.")
            return Replay(started=start)
    now = steps[-1]
    job_id, chosen = st.session_state.get(shared, (None, None))
    chosen = chosen if job_id == main.id else None
    # A step no longer kept (the snapshots thinned) or a choice of "now" follows the run.
    st.session_state[key] = chosen if chosen in steps else now
    picked = column.select_slider(
        "Training step",
        steps,
        key=key,
        on_change=_follow,
        args=(key, shared, main.id, now),
        format_func=lambda s: f"{s:,} (now)" if s == now else f"{s:,}",
        help="Show the run as it was at one of its snapshots: the charts end at that "
        "step and the inside views show the snapshot taken there. The snapshots thin "
        "out as training goes on (every other one is dropped when their memory fills), "
        "so later steps are further apart.",
    )
    if picked == now:
        return Replay()
    column.caption(f"Showing training step {picked:,} of {now:,}: move right to the end for now.")
    return Replay(step=int(picked))
