"""What runs on the Ray cluster: a run's actor and the board the replicas share.

``RunActor`` holds one run's trainer and asks for one CPU, so Ray places it on any node
with a free core and holds it pending when there is none (that run is queued). Inside, a
one-slot ``JobManager`` drives the trainer: the pause, step, cap, divergence and idle
rules are the very ones of the thread backend, and the actor keeps its run in the shared
store at the same milestones. It ends by itself, keeping the run first, as soon as the run
cannot train any more, or after ``release_after`` seconds with nobody looking; Ray restarts
it elsewhere when its node dies, and it then resumes from the store.

``RunBoard`` keeps the books the replicas must agree on: who watches each shared run (by
replica heartbeats) and which runs wait for a CPU in which order. Ray does the scheduling.

The replicas' side, which pages use, is ``rnn_core.ray_jobs``.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import uuid
import warnings

import pandas as pd
import ray

from rnn_core.jobs import ASK_TIMEOUT, JobBusyError, JobManager, JobState
from rnn_core.replay import keep_run, open_run
from rnn_core.run_store import RunStore
from rnn_core.train import Trainer

_LOG = logging.getLogger(__name__)
BOARD_NAME = "run-board"
REPLICA_TIMEOUT = 15.0  # a replica silent this long no longer counts its viewers
ACTIVE = (JobState.RUNNING, JobState.QUEUED)
SETTLED = (JobState.FINISHED, JobState.DIVERGED, JobState.FAILED, JobState.STOPPED)


@ray.remote(num_cpus=0, max_restarts=-1, max_concurrency=1)
class RunBoard:
    """What every replica must agree on. One method at a time (max_concurrency 1), so
    its books need no lock.

    Viewers are counted by the replica that serves them, and only while that replica
    beats (``beat``, every few seconds with the viewers it holds): a replica that dies
    takes its viewers out of every count within ``REPLICA_TIMEOUT`` seconds, and a board
    restarted empty (its node died) has every live replica's viewers back at their next
    beat. A waiting run that the restart forgot is listed again when it next asks."""

    def __init__(self):
        self.viewers: dict[str, dict[str, str]] = {}  # shared run -> {viewer: replica}
        self.beats: dict[str, float] = {}  # replica -> when it last beat
        self.waiting: dict[str, float] = {}  # actor name -> when it asked for a CPU
        self.left: dict[str, float] = {}  # training actor -> its seconds to its step cap

    def beat(self, replica: str, watching: dict[str, list[str]]) -> None:
        """``replica`` is alive and serves exactly these viewers of these runs."""
        self.beats[replica] = time.monotonic()
        for name in list(self.viewers):
            mine = [v for v, r in self.viewers[name].items() if r == replica]
            for viewer in mine:
                del self.viewers[name][viewer]
        for name, viewers in watching.items():
            self.viewers.setdefault(name, {}).update(dict.fromkeys(viewers, replica))
        self.viewers = {name: v for name, v in self.viewers.items() if v}

    def attach(self, name: str, viewer: str, replica: str) -> int:
        self.beats.setdefault(replica, time.monotonic())
        self.viewers.setdefault(name, {})[viewer] = replica
        return self.count(name)

    def detach(self, name: str, viewer: str) -> int:
        """Viewers left after ``viewer`` leaves; -1 when ``viewer`` did not watch it."""
        watching = self.viewers.get(name, {})
        if watching.pop(viewer, None) is None:
            return -1
        if not watching:
            self.viewers.pop(name, None)
        return self.count(name)

    def count(self, name: str) -> int:
        """Viewers of ``name`` on replicas that beat lately."""
        now = time.monotonic()
        alive = {r for r, t in self.beats.items() if now - t <= REPLICA_TIMEOUT}
        return sum(r in alive for r in self.viewers.get(name, {}).values())

    def wait_for_cpu(self, name: str) -> None:
        self.waiting.setdefault(name, time.time())

    def placed(self, name: str) -> None:
        self.waiting.pop(name, None)

    def report(self, name: str, seconds_left: float | None) -> None:
        """A placed actor's time to its step cap at its recent speed, or None when it
        does not train or cannot tell yet."""
        if seconds_left is None:
            self.left.pop(name, None)
        else:
            self.left[name] = seconds_left

    def gone(self, name: str) -> None:
        self.waiting.pop(name, None)
        self.left.pop(name, None)

    def queue(self, name: str) -> tuple[int | None, float | None]:
        """(1-based position among the runs waiting for a CPU, estimated seconds), by the
        thread backend's rule: the n-th waiting run gets the n-th CPU to come free if the
        training runs go on to where they stop by themselves at their recent speed."""
        order = sorted(self.waiting, key=self.waiting.get)
        if name not in order:
            return None, None
        ahead = order.index(name)
        finishing = sorted(self.left.values())
        wait = finishing[ahead] if ahead < len(finishing) else None
        return ahead + 1, wait


def board(namespace: str):
    """The deployment's board (made by whoever asks first)."""
    return RunBoard.options(
        name=BOARD_NAME, namespace=namespace, get_if_exists=True, lifetime="detached"
    ).remote()


@ray.remote(num_cpus=1, max_restarts=-1, max_concurrency=8)
class RunActor:
    """One run's trainer on the cluster, driven by a one-slot JobManager."""

    def __init__(
        self,
        name: str,
        namespace: str,
        config,
        options: dict,
        store: RunStore,
        settings: dict,
        shipped: bool,
    ):
        import torch  # noqa: PLC0415 - the worker's own process: set once, before training

        torch.set_num_threads(1)
        self.name, self.store = name, store
        self.incarnation = uuid.uuid4().hex
        self.board = board(namespace)
        self.board.placed.remote(name)
        # Small arguments only: Ray keeps them to restart the actor after a failure, and
        # a restart takes the run from the store (its last milestone, or further: the
        # same run, deterministic), never from a copy held by a replica that may be gone.
        self.settings = settings
        with warnings.catch_warnings():  # Ray's own use of a deprecated call inside it
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        # A threaded actor runs calls in any order: everything waits for the shipped
        # point (``load``) when one is coming, so no Start reaches the store's point.
        self._loaded = threading.Event()
        self._final: tuple[str, str] | None = None  # the state it ended in (_end)
        if restarted or not shipped:
            self._loaded.set()
        self.manager = JobManager(
            max_running=1,
            step_cap=settings["step_cap"],
            idle_timeout=settings["idle_timeout"],
            slice_seconds=settings["slice_seconds"],
            keep_every=settings["keep_every"],
            forget_after=math.inf,  # this actor itself ends, by release_after below
            keeper=functools.partial(keep_run, store),
        )
        self._hold(open_run(store, config, **options))
        self.release_after = settings["release_after"]
        threading.Thread(target=self._watch, name=f"watch-{name}", daemon=True).start()

    def _hold(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.job = self.manager.submit(trainer, owner="actor", label=self.name)

    def load(self, checkpoint: dict, history: pd.DataFrame, snapshots: list) -> None:
        """Hold this point of the run instead (a private run: a fork, or a fresh start
        after Reset), sent once by the replica that created the actor, before training."""
        if self._loaded.is_set():
            return  # a restart, or a repeated load: never rewind a run
        self.job.stop()
        self._hold(Trainer.resume(checkpoint, history, snapshots, **self.trainer.options))
        self._loaded.set()

    def _wait_loaded(self) -> None:
        if not self._loaded.wait(ASK_TIMEOUT):
            raise JobBusyError(f"{self.name} did not get its starting point")

    # --------------------------------------------------------------- what replicas read
    def facts(self) -> dict:
        t = self.trainer
        return {
            "incarnation": self.incarnation,
            "node": ray.get_runtime_context().get_node_id(),
            "steps_done": t.steps_done,
        }

    def poll(self, rows_from: int, snapshot_after: int) -> dict:
        """The run's state and what is new since a replica's copy: history rows from
        ``rows_from`` on, snapshots of steps after ``snapshot_after``, and the steps of
        every snapshot kept (the trainer thins old ones as the run grows)."""
        self._wait_loaded()
        job, t = self.job, self.trainer
        history = t.history
        snapshots = t.snapshots
        return {
            "incarnation": self.incarnation,
            "state": self._state()[0],
            "reason": self._state()[1],
            "steps_done": t.steps_done,
            "steps_per_second": job.steps_per_second,
            "rows": history.iloc[rows_from:] if rows_from < len(history) else None,
            "snapshot_steps": [p.step for p in snapshots],
            "snapshots": [p for p in snapshots if p.step > snapshot_after],
        }

    # --------------------------------------------------------------- what replicas ask
    def start(self) -> tuple[str, str]:
        self._wait_loaded()
        self.job.start()
        return self._state()

    def request_steps(self, until: int) -> tuple[str, str]:
        """Run to step ``until`` (an absolute step, so a replica asking again after a
        restart asks for the same end), then pause."""
        self._wait_loaded()
        self.job.request_steps(until - self.trainer.steps_done)
        return self._state()

    def pause(self) -> tuple[str, str]:
        self._wait_loaded()
        self.job.pause()
        return self._state()

    def touch(self) -> None:
        self.job.touch()

    def wait_paused(self, timeout: float) -> bool:
        self._wait_loaded()
        return self.job.wait_paused(timeout)

    def ask(self, question: str, kwargs: dict, timeout: float):
        self._wait_loaded()
        return self.job.ask(question, timeout=timeout, **kwargs)

    def stop(self) -> None:
        """Stop for good: keep the run in the store, then end this actor."""
        self._end()

    # --------------------------------------------------------------- inside
    def _state(self) -> tuple[str, str]:
        if self._final is not None:
            return self._final
        return str(self.job.state), self.job.reason

    def _watch(self) -> None:
        # Report the time to its step cap to the board (for the waiting runs'
        # estimates), and end when nothing has trained or looked for release_after, or
        # as soon as the run cannot train any more (finished, diverged, failed): its CPU
        # goes to the next waiting run, and its replicas read the end from the store.
        while True:
            job = self.job
            job.wait_paused(1.0)  # wakes at once when the run stops training
            if job.state in ACTIVE:
                speed = job.steps_per_second
                left = self.manager.step_cap - self.trainer.steps_done
                known = math.isfinite(speed) and speed > 0
                self.board.report.remote(self.name, left / speed if known else None)
                continue
            self.board.report.remote(self.name, None)
            if job.state in SETTLED or time.monotonic() - job.last_seen > self.release_after:
                self._end()
                return
            time.sleep(1.0)

    def _end(self) -> None:
        # The run is not stopped for its replicas, only no longer here: they read the
        # state it ended in (paused, finished) and then find it in the store.
        if self._final is None:
            self._final = self._state()
        self.job.stop()
        self.job.wait_paused(ASK_TIMEOUT)
        try:
            keep_run(self.store, self.trainer)
        except Exception:  # noqa: BLE001 - ending must not hang on a store fault
            _LOG.exception("keeping %s before it ends failed", self.name)
        self.board.gone.remote(self.name)
        me = ray.get_runtime_context().current_actor
        # From a timer, so this call (or the watcher) returns before the actor ends.
        threading.Timer(0.1, lambda: ray.kill(me, no_restart=True)).start()
