"""The server's job pool and what one browser session owns or watches in it.

A Streamlit server is one process serving many tabs. The process has one JobManager,
which bounds how many runs train at once, and one registry of shared runs (a run opened
by several sessions trains once). Each session owns its private jobs under one owner id
and watches shared ones under the same id; a session-scoped resource stops the first and
leaves the second when the tab closes.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import streamlit as st
import torch

from rnn_core.jobs import Job, JobManager
from rnn_core.replay import keep_run
from rnn_core.run_store import RunStore
from rnn_core.shared_jobs import SharedJobs


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@st.cache_resource(show_spinner=False)
def run_store() -> RunStore:
    """One per process: RNN_EXPLORER_RUN_STORE (directory), RNN_EXPLORER_RUN_STORE_MB."""
    return RunStore()


def keep_in_store(trainer) -> None:
    """The JobManager's keeper: a run goes to the store at its milestones and whenever it
    stops training, so the next visitor of the same run replays it."""
    keep_run(run_store(), trainer)


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One per server process. Settings come from the environment so a host can size
    them: RNN_EXPLORER_MAX_JOBS, RNN_EXPLORER_STEP_CAP, RNN_EXPLORER_IDLE_SECONDS. With
    RNN_EXPLORER_RAY_ADDRESS set, runs train on that Ray cluster: a
    ``ray_jobs.RayJobManager``, with the same interface (imported only then: the default
    install has no Ray)."""
    # Once per process (the setting is process-wide): each job trains on one intra-op
    # thread, so concurrent jobs share the cores instead of oversubscribing them; two
    # threads per job made two jobs on two cores slower than one after the other.
    torch.set_num_threads(1)
    step_cap = max(10, int(_env("RNN_EXPLORER_STEP_CAP", 5000)))
    idle_timeout = max(5.0, _env("RNN_EXPLORER_IDLE_SECONDS", 120))
    # How often a training run is kept in the store: on a cluster, where a failed node's
    # runs restart from their last keep, also the most steps a failure makes them redo.
    keep_every = max(10, int(_env("RNN_EXPLORER_KEEP_EVERY", 500)))
    manager = JobManager(
        # 4: a run and three cells trained alongside it (or four models of a race) train
        # at once; on 2 cores each then runs at about half speed, and further runs queue
        # (set it to suit the host). On Ray only the work that is not a run (a sweep)
        # trains here.
        max_running=max(1, int(_env("RNN_EXPLORER_MAX_JOBS", 4))),
        step_cap=step_cap,
        idle_timeout=idle_timeout,
        keeper=keep_in_store,
        keep_every=keep_every,
    )
    if os.environ.get("RNN_EXPLORER_RAY_ADDRESS"):
        from rnn_core import ray_jobs  # noqa: PLC0415 - Ray only when a cluster is named

        manager = ray_jobs.from_environment(
            run_store(),
            step_cap=step_cap,
            idle_timeout=idle_timeout,
            keep_every=keep_every,
            release_after=max(5.0, _env("RNN_EXPLORER_RAY_RELEASE_SECONDS", 60)),
            local=manager,
        )
    # Join the workers before the interpreter tears down: a daemon thread still inside a
    # torch op at exit aborts the process ("terminate called without an active
    # exception"), which ends a stopped server with a crash in its log. Page scripts run
    # torch too (a Trainer built or loaded from the store when a page opens a run, a
    # question to a paused run answered in the asking thread): wait for them as well.
    atexit.register(manager.shutdown)
    atexit.register(wait_for_page_scripts)
    return manager


SCRIPT_THREAD = "ScriptRunner.scriptThread"  # the name Streamlit 1.67 gives them
SCRIPT_WAIT_SECONDS = 5.0


def wait_for_page_scripts(timeout: float = SCRIPT_WAIT_SECONDS) -> None:
    """At exit: wait (at most ``timeout`` seconds in all) for the page scripts still
    running. Streamlit has asked them to stop; one inside a torch op ends at its next
    Streamlit call, and the interpreter must not tear it down in the middle."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name == SCRIPT_THREAD and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


@st.cache_resource(show_spinner=False)
def shared_jobs() -> SharedJobs:
    """One per server process: the runs every session that opens them watches together
    (on Ray, together with every other replica's sessions)."""
    manager = job_manager()
    if isinstance(manager, JobManager):
        return SharedJobs(manager)
    from rnn_core import ray_jobs  # noqa: PLC0415 - only a Ray manager gets here

    return ray_jobs.RaySharedJobs(manager)


@dataclass
class SessionRuns:
    """Everything one browser session trains, under one owner id."""

    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    sets: dict[str, Any] = field(default_factory=dict)  # run set name -> ui.run_set.HeldJobs
    sweep: Any = None  # the memory-horizon sweep on screen (ui.sweep_panel)


def _release(runs: SessionRuns) -> None:
    shared_jobs().detach_viewer(runs.owner)
    job_manager().stop_owner(runs.owner)


def let_go(job: Job, owner: str) -> None:
    """The session no longer shows ``job``: leave it if it is shared (the others keep
    it), stop it if it is the session's own."""
    shared = shared_jobs()
    if shared.is_shared(job):
        shared.detach(job, owner)
    else:
        job.stop()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_runs() -> SessionRuns:
    return SessionRuns()
