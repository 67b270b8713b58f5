"""Jobs shared by everyone who opens the same run: one training, many viewers.

Runs are deterministic: the same configuration (and trainer options) gives the same
history step for step, whoever trains it. So when a class opens one link, the server
trains that run once and every session attaches to the same job as a viewer.

A shared job is never steered by one viewer for the others. A viewer that wants to
steer (pause, step, reset) ``takes`` the run: alone, the job simply becomes theirs
(it leaves the registry, so the next visitor starts a new shared run); with other
viewers, they get a private fork, resumed from the shared run's state at that moment,
so their curve is identical up to there and the others keep watching the shared one.
Starting an idle or paused shared run is allowed: that is training it for everyone.

A job with no viewers left is stopped. Everything here happens under one lock; the
JobManager's own lock is taken only inside its methods, never while holding this one
around a question to a worker (a fork's question can take a chunk of steps to answer).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from rnn_core.jobs import Job, JobManager, JobState
from rnn_core.trainable import Steppable

SHARED_OWNER = "shared"  # the JobManager owner of every shared job


@dataclass
class _Shared:
    job: Job
    viewers: set[str] = field(default_factory=set)


class SharedJobs:
    """The process's shared jobs, by key (a hashable description of the run: its
    configuration and every trainer option that changes what it records)."""

    def __init__(self, manager: JobManager):
        self.manager = manager
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, _Shared] = {}
        self._key_of: dict[str, Hashable] = {}  # job id -> key

    def attach(self, key: Hashable, viewer: str, make: Callable[[], Steppable], label: str) -> Job:
        """The shared job for ``key``, with ``viewer`` attached; ``make()`` builds its
        trainer when there is none (or the last one stopped)."""
        with self._lock:
            shared = self._by_key.get(key)
            if shared is None or shared.job.state == JobState.STOPPED:
                if shared is not None:
                    self._key_of.pop(shared.job.id, None)
                job = self.manager.submit(make(), owner=SHARED_OWNER, label=label)
                shared = self._by_key[key] = _Shared(job)
                self._key_of[job.id] = key
            shared.viewers.add(viewer)
            return shared.job

    def is_shared(self, job: Job) -> bool:
        with self._lock:
            return job.id in self._key_of

    def viewers(self, job: Job) -> int:
        """How many sessions watch ``job`` (0 for a job that is not shared)."""
        with self._lock:
            key = self._key_of.get(job.id)
            return len(self._by_key[key].viewers) if key is not None else 0

    def detach(self, job: Job, viewer: str) -> None:
        """``viewer`` no longer watches ``job``; the last viewer's leaving stops it."""
        with self._lock:
            last = self._detach_locked(job, viewer)
        if last:
            job.stop()

    def detach_viewer(self, viewer: str) -> int:
        """A closed tab: ``viewer`` leaves every shared job. Returns how many it left."""
        with self._lock:
            watched = [s.job for s in self._by_key.values() if viewer in s.viewers]
            emptied = [job for job in watched if self._detach_locked(job, viewer)]
        for job in emptied:
            job.stop()
        return len(watched)

    def take(self, job: Job, viewer: str, fork: Callable[[Job], Steppable]) -> Job:
        """A job ``viewer`` may steer alone: ``job`` itself when it is not shared or
        ``viewer`` is its only viewer (it leaves the registry and becomes theirs), else a
        private fork, ``fork(job)``'s trainer under ``viewer``, not started."""
        with self._lock:
            key = self._key_of.get(job.id)
            if key is None:
                return job
            shared = self._by_key[key]
            if shared.viewers <= {viewer}:
                del self._by_key[key], self._key_of[job.id]
                self.manager.give(job, viewer)
                return job
        # Outside the lock: forking asks the shared job's worker, which may take a chunk.
        private = self.manager.submit(fork(job), owner=viewer, label=job.label)
        self.detach(job, viewer)
        return private

    def _detach_locked(self, job: Job, viewer: str) -> bool:
        """True when ``viewer`` was the job's last viewer (the job leaves the registry)."""
        key = self._key_of.get(job.id)
        if key is None:
            return False
        shared = self._by_key[key]
        shared.viewers.discard(viewer)
        if shared.viewers:
            return False
        del self._by_key[key], self._key_of[job.id]
        return True
