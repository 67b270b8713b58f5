"""Runs on a Ray cluster, behind the same job interface as ``rnn_core.jobs``: the side of
the web replicas (what runs on the cluster is ``rnn_core.ray_actors``).

With ``RNN_EXPLORER_RAY_ADDRESS`` set, every run trains in a ``RunActor`` on the cluster.
A ``RayJob`` in each replica is what a page holds: it offers every member of ``jobs.Job``
and reads the actor by deltas (new history rows and snapshots only).

The store is the only state that matters; an actor is a cache of it:

- an actor is created when its run first trains (Start or Step), not when a page opens
  it; the page reads the run as it was built or loaded from the store until then;
- an actor ends when its run cannot train any more, or has not been looked at for
  ``release_after`` seconds, keeping its run in the store first; the next Start creates
  it again from the store, and questions are answered from the store meanwhile;
- a node that dies takes its actors with it: Ray restarts each one elsewhere
  (``max_restarts``), and the new one resumes from the store's last checkpoint of its
  run. Runs are deterministic, so its history goes on identical to an uninterrupted run;
  the replicas that held it see a new incarnation and ask it again for what they wanted
  (train on, or run to the requested step).

Actors are named, in one namespace per deployment: a shared run's actor by its store key,
so every replica serving the same configuration drives the same actor; a private run's
actor by its job id. The board (``ray_actors.RunBoard``) counts the viewers of each run
over the whole site and the runs waiting for a CPU.

Ray is imported by this module and ``ray_actors`` only; the app imports them only when
the address is set, so the default install runs without Ray.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable

import pandas as pd
import ray
from ray.exceptions import (
    ActorUnavailableError,
    GetTimeoutError,
    RayActorError,
)

from rnn_core.jobs import ASK_TIMEOUT, JobBusyError, JobManager, JobState
from rnn_core.ray_actors import ACTIVE, SETTLED, RunActor, board
from rnn_core.replay import open_run
from rnn_core.run_store import RunStore
from rnn_core.shared_jobs import SHARED_OWNER
from rnn_core.train import Trainer
from rnn_core.trainable import Steppable

DEFAULT_NAMESPACE = "rnn-explorer"
_POLL_EVERY = 0.1  # seconds: a page reads a job's fields many times per rerun
_TOUCH_EVERY = 2.0  # seconds between the touches a replica forwards to an actor
_CALL_TIMEOUT = 30.0  # seconds for a control call to a placed actor
BEAT_EVERY = 3.0  # seconds between a replica's beats to the board
_BOARD_TIMEOUT = 5.0  # seconds a page waits for the board before it does without
_WAITING = "Waiting for a free CPU on the cluster."
_RESTARTING = "Restarting on another node of the cluster (its node failed)."
_UNREACHABLE = (RayActorError, ActorUnavailableError, GetTimeoutError)


def connect(address: str, namespace: str = DEFAULT_NAMESPACE) -> None:
    """Join the cluster at ``address`` once per process (later calls do nothing)."""
    if not ray.is_initialized():
        ray.init(
            address=address,
            namespace=namespace,
            log_to_driver=False,
            configure_logging=False,
            include_dashboard=False,
        )


# ---------------------------------------------------------------------------- one run
class RayJob:
    """A run on the cluster as a page sees it: every member of ``jobs.Job``.

    It holds the trainer it was made with (built or loaded here) until its actor exists,
    and a copy of the actor's history and snapshots, refreshed by deltas at most every
    ``_POLL_EVERY`` seconds. Questions go to the actor while it lives, else to a trainer
    here, loaded from the store when the actor has trained it since."""

    def __init__(
        self,
        manager: RayJobManager,
        trainer: Trainer,
        owner: str,
        label: str,
        name: str,
        shipped: bool,
    ):
        self.id = name
        self.owner, self.label = owner, label
        self.name = name
        self._manager = manager
        # A private run's actor gets this trainer's point; a shared one's, the store's.
        self._shipped = shipped
        self._local = trainer  # answers while no actor holds the run
        self._local_stale = False
        self._facts = trainer  # fixed facts: config, shape, parameters, baselines
        self._history = trainer.history
        self._snapshots = trainer.snapshots
        self._steps_done = trainer.steps_done
        self._speed = math.nan
        self._state, self._reason = JobState.IDLE, "Not started yet."
        self._actor = None
        self._ready = None  # an ObjectRef that resolves once the actor is placed
        self._incarnation: str | None = None
        self._wants: tuple[str, int] | None = None  # ("run", 0) or ("until", step)
        self._polled = self._touched = 0.0
        self.last_seen = time.monotonic()
        self._lock = threading.RLock()

    # --------------------------------------------------------------- controls
    def start(self) -> None:
        self._command("run", 0)

    def request_steps(self, n: int) -> None:
        n = int(n)
        if n > 0:
            self._command("until", self.steps_done + n)

    def pause(self) -> None:
        with self._lock:
            self.last_seen = time.monotonic()
            self._wants = None
            if self._placed():
                self._call(self._actor.pause)
            elif self._actor is not None:
                # Still waiting for a CPU: nothing was sent to it, and with nothing
                # wanted it ends as soon as it is placed (_deliver).
                self._state, self._reason = JobState.PAUSED, "Paused."

    def stop(self) -> None:
        with self._lock:
            if self._state == JobState.STOPPED:
                return
            self._wants = None
            if self._placed():
                with contextlib.suppress(*_UNREACHABLE):  # gone already: nothing to keep
                    ray.get(self._actor.stop.remote(), timeout=ASK_TIMEOUT)
            elif self._actor is not None:
                # Never placed: it holds no run yet, and a call would wait for a CPU.
                with contextlib.suppress(*_UNREACHABLE):
                    ray.kill(self._actor, no_restart=True)
                self._manager._board.gone.remote(self.name)
            self._actor = self._ready = None
            self._state, self._reason = JobState.STOPPED, "Stopped."
            self._manager._forget(self)

    def touch(self) -> None:
        now = self.last_seen = time.monotonic()
        if self._actor is not None and now - self._touched > _TOUCH_EVERY:
            self._touched = now
            self._actor.touch.remote()

    def wait_paused(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self._refresh(force=True)
            if self.state not in ACTIVE:
                if not self._placed():
                    return True
                left = max(0.0, deadline - time.monotonic())
                try:
                    paused = ray.get(self._actor.wait_paused.remote(left), timeout=left + 5)
                except _UNREACHABLE:
                    return False
                self._refresh(force=True)  # the steps it ran up to the pause
                return bool(paused)
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def ask(self, question: str, timeout: float = ASK_TIMEOUT, **kwargs):
        """As ``Job.ask``: answered by the actor between two chunks while it lives, at once
        by a trainer here otherwise."""
        self.last_seen = time.monotonic()
        if self._placed():
            try:
                answer = ray.get(
                    self._actor.ask.remote(question, kwargs, timeout), timeout=timeout + 5
                )
                return copy.deepcopy(answer)  # off Ray's object store (see _take)
            except GetTimeoutError as err:
                raise JobBusyError(f"{self.label} did not answer within {timeout:g} s") from err
            except (RayActorError, ActorUnavailableError) as err:
                raise JobBusyError(f"{self.label} is being moved to another node") from err
        return self._local_trainer().answer(question, **kwargs)

    # --------------------------------------------------------------- read side
    @property
    def history(self) -> pd.DataFrame:
        self._refresh()
        return self._history.copy()

    @property
    def snapshots(self) -> list:
        self._refresh()
        return list(self._snapshots)

    @property
    def steps_done(self) -> int:
        self._refresh()
        return self._steps_done

    @property
    def steps_per_second(self) -> float:
        self._refresh()
        return self._speed

    @property
    def config(self):
        return self._facts.config

    @property
    def shape(self):
        return self._facts.shape

    @property
    def num_parameters(self) -> int:
        return self._facts.num_parameters

    @property
    def baseline_loss(self) -> float:
        return self._facts.baseline_loss

    @property
    def test_baseline_loss(self) -> float:
        return self._facts.test_baseline_loss

    @property
    def held_out_size(self) -> int:
        return self._facts.held_out_size

    @property
    def queue_position(self) -> int | None:
        return self._queue()[0]

    @property
    def estimated_wait(self) -> float | None:
        return self._queue()[1]

    @property
    def state(self) -> JobState:
        self._refresh()
        return self._state

    @property
    def reason(self) -> str:
        self._refresh()
        return self._reason

    # --------------------------------------------------------------- inside
    def _queue(self) -> tuple[int | None, float | None]:
        if self.state != JobState.QUEUED:
            return None, None
        try:
            return ray.get(self._manager._board.queue.remote(self.name), timeout=5)
        except _UNREACHABLE:
            return None, None

    def _command(self, what: str, until: int) -> None:
        with self._lock:
            self.last_seen = time.monotonic()
            if self._state in SETTLED:
                return
            self._wants = (what, until)
            if self._actor is None:
                self._create()
            if self._placed():
                self._send_wanted()
                return
            self._state, self._reason = JobState.QUEUED, _WAITING

    def _create(self) -> None:
        m, facts = self._manager, self._facts
        # (stale: an actor trained the run since and kept it in the store, where a new
        # actor finds it)
        shipped = self._shipped and not self._local_stale
        m._board.wait_for_cpu.remote(self.name)
        self._actor = RunActor.options(
            name=self.name,
            namespace=m.namespace,
            get_if_exists=True,
            lifetime="detached",  # a replica that dies must not take the run with it
        ).remote(
            self.name,
            m.namespace,
            facts.config,
            facts.options,
            m.store,
            m.actor_settings,
            shipped,
        )
        if shipped:
            self._actor.load.remote(*self._local.resume_point())
        self._ready = self._actor.facts.remote()
        self._incarnation = None
        # What is wanted goes to the actor once it is placed, not before: its calls run
        # on several threads in no set order, so a Start sent ahead could overtake a
        # Pause sent after it.
        threading.Thread(target=self._deliver, args=(self._ready,), daemon=True).start()

    def _deliver(self, ready) -> None:
        try:
            ray.get(ready)  # until the actor is placed (a CPU came free)
        except Exception:  # noqa: BLE001 - gone meanwhile: the next refresh tells
            return
        with self._lock:
            if self._ready is not ready:
                return  # another actor of this run by now
            if self._wants is not None:
                self._send_wanted()
            elif self._state == JobState.PAUSED:
                # Paused while it waited: it is not needed, and holds a CPU.
                with contextlib.suppress(*_UNREACHABLE):
                    ray.get(self._actor.stop.remote(), timeout=ASK_TIMEOUT)

    def _attach_existing(self) -> bool:
        """Look for this run's actor made by another replica (shared runs)."""
        try:
            self._actor = ray.get_actor(self.name, namespace=self._manager.namespace)
        except ValueError:
            return False
        self._ready = self._actor.facts.remote()
        return True

    def _placed(self) -> bool:
        if self._ready is None:
            return False
        done, _ = ray.wait([self._ready], timeout=0)
        return bool(done)

    def _send_wanted(self) -> None:
        if self._wants is None:
            return
        what, until = self._wants
        if what == "run":
            self._call(self._actor.start)
        else:
            self._call(self._actor.request_steps, until)

    def _call(self, method, *args) -> None:
        try:
            state, reason = ray.get(method.remote(*args), timeout=_CALL_TIMEOUT)
        except _UNREACHABLE:
            return  # the next refresh tells what became of the actor
        self._state, self._reason = JobState(state), reason
        self._polled = 0.0  # read the new state's consequences at once

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._polled < _POLL_EVERY:
            return
        with self._lock:
            self._polled = now
            if self._state == JobState.STOPPED:
                return
            if self._actor is None and not self._attach_existing():
                return
            if not self._placed():
                if self._wants is not None and self._reason != _RESTARTING:
                    self._state, self._reason = JobState.QUEUED, _WAITING
                return
            rows_from = len(self._history)
            after = self._snapshots[-1].step if self._snapshots else -1
            try:
                got = ray.get(self._actor.poll.remote(rows_from, after), timeout=_CALL_TIMEOUT)
            except _UNREACHABLE:
                if self._attach_existing():  # Ray is restarting it (its node died)
                    if self._state == JobState.RUNNING:
                        self._reason = _RESTARTING  # it is still training, elsewhere
                else:
                    self._lost_actor()
                return
            self._take(got)

    def _take(self, got: dict) -> None:
        # Copies: Ray hands large arrays over as views of its object store, which stays
        # pinned while a view lives; a replica keeps its runs' snapshots for as long as
        # pages show them, and pinned, they filled a node's store until calls stalled.
        if got["rows"] is not None and len(got["rows"]):
            rows = got["rows"].copy(deep=True)
            self._history = pd.concat([self._history, rows], ignore_index=True)
        kept = set(got["snapshot_steps"])
        new = copy.deepcopy(got["snapshots"])
        self._snapshots = [p for p in self._snapshots if p.step in kept] + new
        self._steps_done = max(got["steps_done"], len(self._history))
        self._speed = got["steps_per_second"]
        was_training = self._state == JobState.RUNNING
        self._state, self._reason = JobState(got["state"]), got["reason"]
        if got["incarnation"] != self._incarnation:
            restarted = self._incarnation is not None
            self._incarnation = got["incarnation"]
            self._local_stale = True
            if restarted:
                # Restarted after a failure, from the store: it does not know what it
                # was asked to do, so ask again. A replica that only watched a run
                # training asks it to train on (its starter may have left).
                if self._wants is None and was_training:
                    self._wants = ("run", 0)
                self._send_wanted()
        elif self._state not in ACTIVE and self._state != JobState.IDLE:
            self._wants = None  # it stopped by itself (cap, requested steps, idle)

    def _lost_actor(self) -> None:
        # Ended (it gave its CPU back) or killed for good: it kept the run in the store
        # first, so the store has every step it trained (and this copy may lack the last).
        self._actor = self._ready = None
        self._local_stale = True
        trainer = self._local_trainer()
        if trainer.steps_done >= len(self._history):
            self._history, self._snapshots = trainer.history, trainer.snapshots
            self._steps_done = trainer.steps_done
        if self._state not in ACTIVE:
            return
        if trainer.status != "ok":
            self._state, self._reason = JobState.DIVERGED, trainer.message
        elif trainer.steps_done >= self._manager.step_cap:
            cap = self._manager.step_cap
            self._state, self._reason = JobState.FINISHED, f"Reached the step cap of {cap}."
        else:
            self._state, self._reason = JobState.PAUSED, "Paused: its cluster worker ended."
        self._wants = None

    def _local_trainer(self) -> Trainer:
        if self._local_stale:
            self._local = open_run(self._manager.store, self.config, **self._facts.options)
            self._facts = self._local
            self._local_stale = False
        return self._local


# ---------------------------------------------------------------------------- the pool
class RayJobManager:
    """``jobs.JobManager``'s interface over a Ray cluster, for one web replica.

    Work that is not a run (a sweep of many small runs) has no store entry to resume
    from; it trains in this replica's own thread pool (``local``), as without Ray."""

    def __init__(
        self,
        store: RunStore,
        namespace: str = DEFAULT_NAMESPACE,
        step_cap: int = 5000,
        idle_timeout: float = 120.0,
        slice_seconds: float = 0.1,
        keep_every: int = 500,
        release_after: float = 60.0,
        local: JobManager | None = None,
    ):
        self.store = store
        self.namespace = namespace
        self.step_cap = step_cap
        self.idle_timeout = idle_timeout
        self.actor_settings = {
            "step_cap": step_cap,
            "idle_timeout": idle_timeout,
            "slice_seconds": slice_seconds,
            "keep_every": keep_every,
            "release_after": release_after,
        }
        self.local = local or JobManager(max_running=2, step_cap=step_cap)
        self._board = board(namespace)
        self._lock = threading.Lock()
        self._jobs: dict[str, RayJob] = {}

    @property
    def max_running(self) -> int:
        """The cluster's CPUs: how many runs train at once."""
        return int(ray.cluster_resources().get("CPU", 0))

    def submit(self, trainer: Steppable, owner: str, label: str = ""):
        """A private run: a new actor (named by the job id) gets the trainer's state. A
        run on a visitor's uploaded data trains here: an actor rebuilds its run from the
        store, and such a run never goes there."""
        if not hasattr(trainer, "resume_point") or trainer.config.data != "default":
            return self.local.submit(trainer, owner, label)
        return self._add(RayJob(self, trainer, owner, label, f"run-{uuid.uuid4().hex}", True))

    def _add(self, job: RayJob) -> RayJob:
        with self._lock:
            self._jobs[job.id] = job
        return job

    def _forget(self, job: RayJob) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)

    def get(self, job_id: str):
        if not isinstance(job_id, str):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None else self.local.get(job_id)

    def jobs(self, owner: str | None = None) -> list:
        with self._lock:
            mine = [j for j in self._jobs.values() if owner is None or j.owner == owner]
        return mine + self.local.jobs(owner)

    def running_count(self) -> int:
        return sum(j.state == JobState.RUNNING for j in self.jobs())

    def queue(self) -> list:
        return [j for j in self.jobs() if j.state == JobState.QUEUED]

    def give(self, job, owner: str) -> None:
        job.owner = owner

    def stop_owner(self, owner: str) -> int:
        mine = self.jobs(owner)
        for job in mine:
            job.stop()
        return len(mine)

    def reap(self) -> int:
        return self.local.reap()

    def shutdown(self) -> None:
        """This replica is going away: its private runs stop (kept in the store); shared
        runs go on for the other replicas' viewers."""
        for job in self.jobs():
            if job.owner != SHARED_OWNER:
                job.stop()
        self.local.shutdown()


class RaySharedJobs:
    """``shared_jobs.SharedJobs`` across replicas: the actor of a shared run is named by
    its store key, so every replica attaches to the same one; the board counts viewers
    over the whole site. Taking a run to steer it always forks it (a named actor cannot
    leave its name to the taker); a fork continues exactly where the shared run is.

    A board that cannot be reached (restarting after its node died) never fails a page:
    the count reads 0 (no "watching together" line) until it is back."""

    def __init__(self, manager: RayJobManager):
        self.manager = manager
        self.replica = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, RayJob] = {}
        self._viewers: dict[str, set[str]] = {}  # actor name -> this replica's viewers
        threading.Thread(target=self._beat, name="board-beat", daemon=True).start()

    def attach(self, key: str, viewer: str, make: Callable[[], Trainer], label: str):
        name = f"shared-{key}"
        with self._lock:
            job = self._by_key.get(key)
            if job is None or job.state == JobState.STOPPED:
                job = RayJob(self.manager, make(), SHARED_OWNER, label, name, False)
                self._by_key[key] = self.manager._add(job)
            self._viewers.setdefault(name, set()).add(viewer)
        self._ask_board("attach", name, viewer, self.replica)
        return job

    def is_shared(self, job) -> bool:
        with self._lock:
            return any(j is job for j in self._by_key.values())

    def viewers(self, job) -> int:
        if not self.is_shared(job):
            return 0
        return self._ask_board("count", job.name) or 0

    def detach(self, job, viewer: str) -> None:
        """``viewer`` leaves; the last viewer on the whole site stops the run."""
        with self._lock:
            if not any(j is job for j in self._by_key.values()):
                return
            here = self._viewers.get(job.name, set())
            if viewer not in here:
                return
            here.discard(viewer)
        left = self._ask_board("detach", job.name, viewer)
        # Unknown (board unreachable): stop only when this replica held its last viewer.
        if left == 0 or (left is None and not here):
            with self._lock:
                for key, held in list(self._by_key.items()):
                    if held is job:
                        del self._by_key[key]
                self._viewers.pop(job.name, None)
            job.stop()

    def detach_viewer(self, viewer: str) -> int:
        with self._lock:
            watched = list(self._by_key.values())
        for job in watched:
            self.detach(job, viewer)
        return len(watched)

    def take(self, job, viewer: str, fork: Callable):
        if not self.is_shared(job):
            return job
        private = self.manager.submit(fork(job), owner=viewer, label=job.label)
        self.detach(job, viewer)
        return private

    def _ask_board(self, method: str, *args):
        try:
            call = getattr(self.manager._board, method).remote(*args)
            return ray.get(call, timeout=_BOARD_TIMEOUT)
        except _UNREACHABLE:
            return None

    def _beat(self) -> None:
        # Ends with the process's connection (a call after ray.shutdown() would connect
        # again by itself).
        while ray.is_initialized():
            with self._lock:
                watching = {name: sorted(v) for name, v in self._viewers.items() if v}
            self._ask_board("beat", self.replica, watching)
            time.sleep(BEAT_EVERY)


def from_environment(store: RunStore, **settings) -> RayJobManager:
    """The manager of the cluster at RNN_EXPLORER_RAY_ADDRESS, in the namespace
    RNN_EXPLORER_RAY_NAMESPACE (default DEFAULT_NAMESPACE)."""
    namespace = os.environ.get("RNN_EXPLORER_RAY_NAMESPACE") or DEFAULT_NAMESPACE
    connect(os.environ["RNN_EXPLORER_RAY_ADDRESS"], namespace)
    return RayJobManager(store, namespace=namespace, **settings)
