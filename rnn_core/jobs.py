"""Background training jobs: one bounded pool of worker threads shared by every session.

A Streamlit server is one process serving many browser tabs, and each tab owns runs
(Trainers). The JobManager decides which of them train and stops what nobody watches:

- at most ``max_running`` jobs hold a slot and train at once; the others wait in a FIFO
  queue and can show their position;
- a run finishes at ``step_cap`` steps (or its own ``max_steps``, or when its status
  says "finished") and pauses once no page has touched it for
  ``idle_timeout`` seconds; a job nobody has touched for ``forget_after`` seconds is
  dropped, so a closed tab's runs do not live as long as the server;
- a pause takes effect within about one slice: a worker advances its trainer in chunks
  sized to last ``slice_seconds`` and looks at its flags between chunks, never sleeping;
- an exception in one trainer fails that job only and frees its slot.

A job holding a slot trains in its own daemon thread (torch ops release the GIL, so two
jobs use two cores). Every state change happens under the manager's one lock, which is
never held while a trainer steps; the worker decides to exit and gives up its slot in the
same critical section, so a start() racing with that exit cannot be lost.

Pages read a job, never its trainer's model. What a job publishes (``history``,
``snapshots``, the fixed facts of its run) is readable from any thread; anything that
needs the model itself (a fresh probe, sampled text) is a question, ``job.ask(name)``:
the job's own worker answers it between two chunks of steps, or, when no worker holds
the trainer, the asking thread answers it under the trainer's step lock. A backend that
trains in another process offers the same interface: it can be asked, not reached into.

The module is longer than most here on purpose: Job and JobManager are one state machine
under one lock (a job's controls, its worker loop, the slot queue and the reaper all
change states in the same critical sections), and reading it in one file is how one
checks that no transition is lost. What a job runs is in ``rnn_core.trainable``.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from enum import StrEnum

from rnn_core.trainable import Steppable


class JobState(StrEnum):
    """Where a job is. String-valued: a state reads and compares as its name."""

    IDLE = "idle"  # created, never started
    QUEUED = "queued"  # started, waiting for a free slot
    RUNNING = "running"  # holds a slot, its worker trains
    PAUSED = "paused"  # by a visitor, or when nobody watched it (idle timeout)
    FINISHED = "finished"  # reached a step cap or the trainer's own end
    DIVERGED = "diverged"  # the loss stopped being finite
    STOPPED = "stopped"  # replaced, reset, or its session ended
    FAILED = "failed"  # the trainer raised

    @property
    def active(self) -> bool:
        """Training now, or waiting for a slot to train."""
        return self in _ACTIVE


_ACTIVE = frozenset({JobState.RUNNING, JobState.QUEUED})
_TERMINAL = frozenset({JobState.FINISHED, JobState.DIVERGED, JobState.STOPPED, JobState.FAILED})
_LOG = logging.getLogger(__name__)
_MAX_CHUNK = 1000
_REAP_EVERY = 1.0  # seconds between the reaps the manager runs by itself
# How long ask() waits for a busy worker: one chunk (about slice_seconds, at least one
# step) plus the answer itself, a full probe at the largest shape the cost cap allows.
ASK_TIMEOUT = 60.0


class JobBusyError(TimeoutError):
    """A question was not answered in time (the run is busy); ask again later."""


class _Question:
    """One ask(): what was asked, and the answer or error once ``done`` is set."""

    __slots__ = ("name", "kwargs", "done", "answer", "error")

    def __init__(self, name: str, kwargs: dict):
        self.name, self.kwargs = name, kwargs
        self.done = threading.Event()
        self.answer, self.error = None, None

    def settle(self, trainer) -> None:
        try:
            self.answer = trainer.answer(self.name, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - the asker gets it, the job carries on
            self.error = exc
        self.done.set()


class Job:
    """One Steppable under a JobManager; create it with ``JobManager.submit``.

    ``state`` (a JobState) and ``reason`` change only under the manager's lock. For a
    RunTrainer, the read side (``history``, ``snapshots``, ``config``, ``shape``,
    ``num_parameters``, ``baseline_loss``, ``test_baseline_loss``, ``held_out_size``,
    ``steps_done``) is readable from any thread whatever the job's state; the model is
    reached only through ``ask``.
    """

    def __init__(self, manager: JobManager, trainer: Steppable, owner: str, label: str):
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.label = label
        self.trainer = trainer
        self.state = JobState.IDLE
        self.reason = "Not started yet."
        self.last_seen = time.monotonic()
        self._manager = manager
        self._thread: threading.Thread | None = None  # set while this job holds a slot
        self._stop_at: int | None = None  # the trainer step to pause at (Step button)
        self._speed: collections.deque = collections.deque(maxlen=8)  # (steps, seconds)
        self._questions: list[_Question] = []  # for the worker; only while it holds a slot
        self._kept_at = trainer.steps_done  # the step the manager's keeper last saw

    @property
    def thread_name(self) -> str:
        return f"job-{self.id}"

    # ------------------------------------------------------------------ controls
    def start(self) -> None:
        """Train until paused, stopped, idle, capped or diverged (queued if no slot)."""
        with self._manager._lock:
            self.last_seen = time.monotonic()
            if self.state in _TERMINAL:
                return  # the reason already says why it cannot train
            self._stop_at = None  # also turns a pending Step request into a plain run
            if self.state not in _ACTIVE:
                self._run_or_queue_locked()

    def request_steps(self, n: int) -> None:
        """Run n more steps (fewer at the cap or on divergence), then pause."""
        n = int(n)
        if n <= 0:
            return
        with self._manager._lock:
            self.last_seen = time.monotonic()
            if self.state in _TERMINAL:
                return
            # Exact from idle/paused; while a chunk is in flight its steps count too.
            self._stop_at = self.trainer.steps_done + n
            if self.state not in _ACTIVE:
                self._run_or_queue_locked()

    def pause(self) -> None:
        """Pause now; the worker notices before its next chunk (within one slice)."""
        with self._manager._lock:
            self.last_seen = time.monotonic()
            if self.state in _ACTIVE:
                self._pause_locked("Paused.")

    def stop(self) -> None:
        """Stop for good and drop the job from the manager; the trainer stays readable."""
        with self._manager._lock:
            self._stop_locked("Stopped.")

    def touch(self) -> None:
        """A page showing this job is open (keeps it from the idle timeout)."""
        self.last_seen = time.monotonic()

    def wait_paused(self, timeout: float) -> bool:
        """Block until no step executes and none will start; False on timeout."""
        with self._manager._cond:
            return self._manager._cond.wait_for(
                lambda: self._thread is None and self.state not in _ACTIVE, timeout
            )

    def ask(self, question: str, timeout: float = ASK_TIMEOUT, **kwargs):
        """The trainer's answer to ``question`` (one of its ``QUESTIONS``, e.g. "probe"),
        taken between two steps: by the worker after its current chunk while the job
        trains, at once otherwise. Raises the trainer's own error for a bad question,
        JobBusyError when no answer came within ``timeout`` seconds."""
        if not hasattr(self.trainer, "answer"):
            raise ValueError(f"{self.label or 'this job'} answers no questions")
        asked = _Question(question, kwargs)
        with self._manager._lock:
            self.last_seen = time.monotonic()
            worker_answers = self._thread is not None
            if worker_answers:
                self._questions.append(asked)
        if not worker_answers:
            # No worker holds the trainer; one that starts meanwhile waits at the
            # trainer's step lock, which every answer holds.
            asked.settle(self.trainer)
        elif not asked.done.wait(timeout):
            with self._manager._lock:
                if asked in self._questions:
                    self._questions.remove(asked)
            raise JobBusyError(f"{self.label or 'the run'} did not answer within {timeout:g} s")
        if asked.error is not None:
            raise asked.error
        return asked.answer

    # ------------------------------------------------------------------ read side
    @property
    def history(self):
        """The run's history so far (a DataFrame copy, one row per step)."""
        return self.trainer.history

    @property
    def snapshots(self) -> list:
        """The snapshots published so far (a list copy; each snapshot is never changed)."""
        return self.trainer.snapshots

    @property
    def config(self):
        return self.trainer.config

    @property
    def shape(self):
        return self.trainer.shape

    @property
    def num_parameters(self) -> int:
        return self.trainer.num_parameters

    @property
    def baseline_loss(self) -> float:
        return self.trainer.baseline_loss

    @property
    def test_baseline_loss(self) -> float:
        return self.trainer.test_baseline_loss

    @property
    def held_out_size(self) -> int:
        return self.trainer.held_out_size

    @property
    def queue_position(self) -> int | None:
        with self._manager._lock:
            if self.state != JobState.QUEUED:
                return None
            return self._manager._queue.index(self) + 1

    @property
    def estimated_wait(self) -> float | None:
        """Seconds until this queued job gets a slot if the runs that hold the slots
        train on to where they stop by themselves (a cap, a Step request) at their recent
        speed; None when it is not queued, or when that cannot be told (a slot holder with
        no speed yet, or more runs ahead than slots, whose own durations are unknown)."""
        m = self._manager
        with m._lock:
            if self.state != JobState.QUEUED:
                return None
            ahead = m._queue.index(self)
            if ahead >= len(m._active):
                return None
            finishing = []
            for job in m._active:
                speed = job._steps_per_second_locked()
                if not math.isfinite(speed):
                    return None
                left = _step_cap(job.trainer, m.step_cap) - job.trainer.steps_done
                if job._stop_at is not None:
                    left = min(left, job._stop_at - job.trainer.steps_done)
                finishing.append(max(left, 0) / speed)
        return sorted(finishing)[ahead]

    @property
    def steps_done(self) -> int:
        return self.trainer.steps_done

    @property
    def steps_per_second(self) -> float:
        """Over this job's recent chunks of its own running time (nan before any)."""
        with self._manager._lock:
            return self._steps_per_second_locked()

    # ------------------------------------------------------------------ under the lock
    def _steps_per_second_locked(self) -> float:
        steps = sum(s for s, _ in self._speed)
        seconds = sum(t for _, t in self._speed)
        return steps / seconds if seconds > 0 and steps > 0 else math.nan

    def _set(self, state: str, reason: str) -> None:
        self.state, self.reason = state, reason
        self._manager._cond.notify_all()

    def _run_or_queue_locked(self) -> None:
        m = self._manager
        if self._thread is not None:
            self._set(JobState.RUNNING, "Training.")  # its worker is finishing a chunk: carry on
        elif len(m._active) < m.max_running:
            m._launch_locked(self)
        else:
            m._queue.append(self)
            self._set(JobState.QUEUED, "Waiting for a free training slot.")

    def _pause_locked(self, reason: str) -> None:
        if self.state == JobState.QUEUED:
            self._manager._queue.remove(self)
        self._stop_at = None
        self._set(JobState.PAUSED, reason)

    def _stop_locked(self, reason: str) -> None:
        if self.state == JobState.STOPPED:
            return
        if self.state == JobState.QUEUED:
            self._manager._queue.remove(self)
        self._stop_at = None
        self._manager._jobs.pop(self.id, None)
        self._set(JobState.STOPPED, reason)

    def _next_chunk_locked(self, chunk: int) -> int:
        """Steps to run next, or 0 after settling the state the worker exits in."""
        m, trainer = self._manager, self.trainer
        m._reap_if_due_locked()  # first: it may idle-pause this very job
        if self.state != JobState.RUNNING:
            return 0
        if trainer.status == "finished":  # a trainer-like object that ends by itself
            self._set(JobState.FINISHED, trainer.message or "Finished.")
            return 0
        if trainer.status != "ok":  # a Trainer's only other status is "diverged"
            self._set(JobState.DIVERGED, trainer.message)
            return 0
        cap = _step_cap(trainer, m.step_cap)
        left = cap - trainer.steps_done
        if left <= 0:
            self._set(JobState.FINISHED, f"Reached the step cap of {cap}.")
            return 0
        if self._stop_at is not None:
            if self._stop_at <= trainer.steps_done:
                self._pause_locked("Ran the requested steps.")
                return 0
            left = min(left, self._stop_at - trainer.steps_done)
        if time.monotonic() - self.last_seen > m.idle_timeout:
            self._pause_locked(f"Paused after {m.idle_timeout:g} s with no page open.")
            return 0
        return min(chunk, left)

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        m = self._manager
        chunk, done, elapsed, error = 1, 0, 0.0, None
        try:
            while True:
                with m._lock:
                    if done:
                        self._speed.append((done, elapsed))
                    n = 0 if error is not None else self._next_chunk_locked(chunk)
                    if error is not None and self.state != JobState.STOPPED:
                        self._set(JobState.FAILED, f"Training failed: {error}")
                    # Taken in the same critical section as the release below, so every
                    # question is either answered here or asked of a job with no worker.
                    questions, self._questions = self._questions, []
                    if n == 0:
                        m._release_locked(self)
                for asked in questions:
                    asked.settle(self.trainer)
                if n == 0:
                    self._keep()  # paused, finished, diverged or stopped: keep where it is
                    return
                start = time.perf_counter()
                try:
                    done = self.trainer.step(n)
                except Exception as exc:  # noqa: BLE001 - one visitor's run must not take the server down
                    error, done = str(exc) or type(exc).__name__, 0
                    continue
                elapsed = time.perf_counter() - start
                if done:
                    chunk = _next_chunk_size(chunk, elapsed / done, m.slice_seconds)
                    every = m.keep_every
                    if self.trainer.steps_done // every > self._kept_at // every:
                        self._keep()  # a milestone
        finally:
            # Only reached with the slot still held if this loop itself has a bug: give
            # the slot back anyway so the other visitors' queued runs still start.
            leftover: list[_Question] = []
            with m._lock:
                if self._thread is threading.current_thread():
                    if self.state == JobState.RUNNING:
                        self._set(JobState.FAILED, "Training failed: internal error.")
                    m._release_locked(self)
                    leftover, self._questions = self._questions, []
            for asked in leftover:
                asked.settle(self.trainer)

    def _keep(self) -> None:
        """Hand the run to the manager's keeper (a store) if it moved since the last time.
        In the worker thread, between steps; a keeper that fails is logged, the run goes
        on."""
        keeper, steps = self._manager.keeper, self.trainer.steps_done
        if keeper is None or steps == self._kept_at:
            return
        self._kept_at = steps
        try:
            keeper(self.trainer)
        except Exception:  # noqa: BLE001 - keeping a copy must never stop the run
            _LOG.exception("keeping job %s (%s) at step %d failed", self.id, self.label, steps)


def _step_cap(trainer, default: int) -> int:
    # A trainer that knows its own size (a sweep.Sweep: max_steps) is capped there, not at
    # the manager's per-run step_cap. step_cap bounds an open-ended run that one visitor
    # watches; a sweep is bounded by its validated spec (at most 8 lengths x 6 models x
    # 5,000 steps) and its finished table is cached on disk for every later visitor, so
    # cutting it at step_cap would throw the work away and never fill the cache.
    cap = getattr(trainer, "max_steps", None)
    return default if cap is None else int(cap)


def _next_chunk_size(chunk: int, seconds_per_step: float, slice_seconds: float) -> int:
    # Aim one trainer.step call at one slice, but at most double per slice: the first
    # call includes the step-0 snapshot and a warm-up, and a step that suddenly gets
    # slower (another job starts) must not stretch the pause latency far.
    target = int(slice_seconds / seconds_per_step) if seconds_per_step > 0 else 2 * chunk
    return max(1, min(target, 2 * chunk, _MAX_CHUNK))


class JobManager:
    """The process-wide pool: at most ``max_running`` jobs train at once."""

    def __init__(
        self,
        max_running: int = 2,
        step_cap: int = 5000,
        idle_timeout: float = 120.0,
        slice_seconds: float = 0.1,
        forget_after: float = 1800.0,
        keeper: Callable[[Steppable], None] | None = None,
        keep_every: int = 500,
    ):
        if max_running < 1 or step_cap < 1 or slice_seconds <= 0:
            raise ValueError("max_running and step_cap must be >= 1, slice_seconds > 0")
        self.max_running = max_running
        self.step_cap = step_cap
        self.idle_timeout = idle_timeout
        self.slice_seconds = slice_seconds
        self.forget_after = forget_after
        # Called with a job's trainer (in its worker thread, between steps) every ``keep_every``
        # steps and whenever its worker stops: how a host keeps runs, e.g. in a RunStore.
        self.keeper = keeper
        self.keep_every = max(1, int(keep_every))
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)  # any state change or slot release
        self._jobs: dict[str, Job] = {}  # registered jobs, in submission order
        self._queue: list[Job] = []  # FIFO of queued jobs
        self._active: set[Job] = set()  # jobs holding a slot (their worker thread lives)
        # Every worker thread not yet ended: one that gave its slot back may still be
        # keeping its run (a store write, inside torch.save), and shutdown must wait for it.
        self._workers: set[threading.Thread] = set()
        self._last_reap = time.monotonic()

    def submit(self, trainer: Steppable, owner: str, label: str = "") -> Job:
        """Register a trainer as an idle job (not started)."""
        job = Job(self, trainer, owner, label)
        with self._lock:
            self._jobs[job.id] = job
            self._reap_if_due_locked()
        return job

    def get(self, job_id: str) -> Job | None:
        if not isinstance(job_id, str):  # ids may come from a URL: never raise on junk
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def jobs(self, owner: str | None = None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if owner is None or j.owner == owner]

    def running_count(self) -> int:
        """Jobs holding a slot (a just-paused job holds it until its chunk ends)."""
        with self._lock:
            return len(self._active)

    def queue(self) -> list[Job]:
        with self._lock:
            return list(self._queue)

    def give(self, job: Job, owner: str) -> None:
        """Make ``owner`` the job's owner (a shared run that one viewer takes over)."""
        with self._lock:
            job.owner = owner

    def stop_owner(self, owner: str) -> int:
        """Stop and forget every job of one owner (its tab closed); returns how many."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j.owner == owner]
            for job in mine:
                job._stop_locked("Stopped: the page was closed.")
        return len(mine)

    def reap(self) -> int:
        """Pause jobs idle past idle_timeout; drop settled jobs untouched for
        forget_after. Returns how many jobs it paused or dropped."""
        with self._lock:
            return self._reap_locked()

    def shutdown(self) -> None:
        """Stop every job and wait for the worker threads to end."""
        with self._lock:
            for job in list(self._jobs.values()) + list(self._active):
                job._stop_locked("Stopped: the server is shutting down.")
            # Not only the active jobs' threads: a worker that gave its slot back keeps
            # its run after that, and a daemon thread still inside torch when the
            # interpreter tears down aborts the process ("terminate called without an
            # active exception"; seen once in CI at the end of a browser test's server).
            threads = [t for t in self._workers if t.is_alive()]
        for thread in threads:
            thread.join()

    # ------------------------------------------------------------------ under the lock
    def _launch_locked(self, job: Job) -> None:
        job._thread = threading.Thread(target=job._run, name=job.thread_name, daemon=True)
        self._workers = {t for t in self._workers if t.is_alive()}
        self._workers.add(job._thread)
        self._active.add(job)
        job._set(JobState.RUNNING, "Training.")
        job._thread.start()

    def _release_locked(self, job: Job) -> None:
        job._thread = None
        self._active.discard(job)
        while self._queue and len(self._active) < self.max_running:
            self._launch_locked(self._queue.pop(0))
        self._cond.notify_all()

    def _reap_if_due_locked(self) -> None:
        if time.monotonic() - self._last_reap >= _REAP_EVERY:
            self._reap_locked()

    def _reap_locked(self) -> int:
        now = self._last_reap = time.monotonic()
        count = 0
        for job in list(self._jobs.values()):
            unseen = now - job.last_seen
            if job.state in _ACTIVE:
                if unseen > self.idle_timeout:
                    job._pause_locked(f"Paused after {self.idle_timeout:g} s with no page open.")
                    count += 1
            elif job._thread is None and unseen > self.forget_after:
                job._stop_locked(f"Removed after {self.forget_after:g} s with no page open.")
                count += 1
        return count
