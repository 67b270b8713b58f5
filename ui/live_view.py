"""One refresh of a live fragment, the same for every viewer of its runs.

Each viewer's fragment reruns twice a second while its runs train. A run a class watches
together would have its history read and its figures built once per viewer per refresh;
here they are keyed by the run and the moment, and built once for all (``BuildOnce``).
The moment of a run that stands still is its step (exact after Step or Pause); of a run
that trains, the refresh slot: every viewer refreshing within one half-second slot sees
the run as the first of them read it, at most one refresh old.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import pandas as pd
import streamlit as st

from rnn_core.build_once import BuildOnce
from rnn_core.jobs import Job

REFRESH_SECONDS = 0.5  # how often a lone viewer's live fragment reruns while its runs train
# Entries: histories and figures of the runs on screen, the latest slots of each. At the
# step cap a history is about 0.4 MB and a loss figure about 0.3 MB, so this bounds the
# cache near 40 MB.
MAX_ENTRIES = 96


@st.cache_resource(show_spinner=False)
def built() -> BuildOnce:
    """One per server process: what live views built, for every session."""
    return BuildOnce(MAX_ENTRIES)


def moment(job: Job) -> Hashable:
    """What a job's view depends on now, the same for every viewer within one refresh."""
    if job.state.active:
        return ("slot", int(time.monotonic() // REFRESH_SECONDS))
    return ("step", job.steps_done, str(job.state))


class LiveView:
    """The runs of one fragment run, each taken at its ``moment`` once (so every figure
    of the refresh agrees with the others and with the numbers beside them). ``upto``:
    a replay's training step (ui.replay_step), where every history ends."""

    def __init__(self, jobs: Iterable[Job], upto: int | None = None):
        self._moments = {job.id: (moment(job), upto) for job in jobs}
        self._upto = upto

    def history(self, job: Job) -> pd.DataFrame:
        """The job's history at this view's moment (shared: read it, never change it)."""

        def read() -> pd.DataFrame:
            frame = job.history
            return frame if self._upto is None else frame[frame["step"] <= self._upto]

        return built().get(("history", job.id, self._moments[job.id]), read)

    def build(self, what: Hashable, jobs: Iterable[Job], build: Callable[[], Any]) -> Any:
        """``build()``'s value for ``what`` (a figure and every option it is drawn with)
        of ``jobs`` at this view's moment, built once for all of their viewers."""
        return built().get((what, *((job.id, self._moments[job.id]) for job in jobs)), build)


def of_snapshots(what: Hashable, job: Job, snapshots: list, build: Callable[[], Any]) -> Any:
    """``build()``'s value for ``what`` (a figure of ``job``'s ``snapshots``, as the page
    read them, and every option it is drawn with), built once for every viewer who reads
    the same snapshots: a page's full rerun (a press, a run starting for all its viewers)
    then costs one build, not one per viewer."""
    last = snapshots[-1].step if snapshots else None
    return built().get(("snapshots", what, job.id, len(snapshots), last), build)
