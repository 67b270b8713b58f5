"""JobManager: slots and queue, pause latency, step requests, caps, divergence, failure,
idle timeout, cleanup of a closed tab, determinism and concurrent use."""

import gc
import threading
import time
import weakref

import numpy as np
import pytest

from rnn_core import RunConfig, Trainer
from rnn_core import jobs as jobs_module
from rnn_core.jobs import JobManager, JobState
from rnn_core.train import history_digest
from rnn_core.trainable import RunTrainer, Steppable
from tests.test_train import diverging_trainer

SMALL = RunConfig(hidden_size=8, batch_size=8, seq_len=12)


@pytest.fixture
def make_manager():
    managers = []

    def make(**kwargs):
        managers.append(JobManager(**kwargs))
        return managers[-1]

    yield make
    for manager in managers:
        manager.shutdown()


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def job_threads():
    return {t.name for t in threading.enumerate() if t.name.startswith("job-")}


def test_start_trains_in_the_background_and_pause_takes_effect_quickly(make_manager):
    manager = make_manager()
    job = manager.submit(Trainer(RunConfig()), owner="a")  # default sizes
    assert job.state == "idle" and job.steps_done == 0
    job.start()
    assert job.state == "running"
    assert wait_until(lambda: job.steps_done >= 5)
    job.pause()
    paused_at = time.monotonic()
    assert job.state == "paused"  # at once, even while a chunk is still running
    assert job.wait_paused(0.5)
    assert time.monotonic() - paused_at < 0.5
    done = job.steps_done
    time.sleep(0.3)
    assert job.steps_done == done
    assert manager.running_count() == 0
    assert job.steps_per_second > 0


def test_slots_are_bounded_and_the_queue_is_fifo(make_manager):
    manager = make_manager(max_running=1)
    first, second, third = (manager.submit(Trainer(SMALL), owner=o) for o in "abc")
    first.start()
    second.start()
    third.start()
    assert [first.state, second.state, third.state] == ["running", "queued", "queued"]
    assert (second.queue_position, third.queue_position) == (1, 2)
    assert first.queue_position is None
    assert manager.queue() == [second, third]
    assert manager.running_count() == 1
    second.start()  # already queued: keeps its place
    assert manager.queue() == [second, third]
    first.pause()
    assert first.wait_paused(2)
    assert second.state == "running"
    assert third.queue_position == 1
    assert second.steps_done == 0 or wait_until(lambda: second.steps_done > 0)
    assert manager.running_count() == 1


def test_request_steps_runs_exactly_n_then_pauses(make_manager):
    manager = make_manager()
    job = manager.submit(Trainer(SMALL), owner="a")
    job.request_steps(10)
    assert job.wait_paused(10)
    assert job.state == "paused" and job.steps_done == 10
    job.request_steps(7)
    assert job.wait_paused(10)
    assert job.steps_done == 17
    assert len(job.trainer.history) == 17


def test_step_cap_finishes_the_run(make_manager):
    manager = make_manager(step_cap=20)
    job = manager.submit(Trainer(SMALL), owner="a")
    job.start()
    assert job.wait_paused(10)
    assert job.state == "finished" and job.steps_done == 20
    assert job.reason == "Reached the step cap of 20."
    job.start()
    job.request_steps(5)
    assert job.state == "finished" and job.reason == "Reached the step cap of 20."
    assert manager.running_count() == 0 and job.steps_done == 20


class _SelfSizedRun:
    """A trainer-like object (the shape of sweep.Sweep): it knows its size
    (``max_steps``, optional) and may end by itself (status "finished")."""

    def __init__(self, ends_after: int | None = None, max_steps: int | None = None):
        self.steps_done, self.status, self.message = 0, "ok", ""
        self.ends_after = ends_after
        if max_steps is not None:
            self.max_steps = max_steps

    def step(self, n=1):
        if self.ends_after is not None:
            n = min(n, self.ends_after - self.steps_done)
        time.sleep(0.0005 * n)
        self.steps_done += n
        if self.ends_after is not None and self.steps_done >= self.ends_after:
            self.status, self.message = "finished", f"All {self.steps_done} steps done."
        return n


def test_a_trainer_that_finishes_by_itself_settles_as_finished(make_manager):
    manager = make_manager(step_cap=10**6)
    job = manager.submit(_SelfSizedRun(ends_after=25), owner="a")
    job.start()
    assert job.wait_paused(10)
    assert job.state == "finished" and job.reason == "All 25 steps done."
    assert job.steps_done == 25 and manager.running_count() == 0
    job.start()  # finished is terminal
    assert job.state == "finished"
    # Already finished when submitted (a sweep loaded from its cache): no step at all.
    done = _SelfSizedRun(ends_after=0)
    done.status, done.message = "finished", "Loaded."
    done.step = None  # calling it would fail the job
    cached = manager.submit(done, owner="a")
    cached.start()
    assert cached.wait_paused(10) and (cached.state, cached.reason) == ("finished", "Loaded.")


def test_a_trainer_with_max_steps_is_capped_there_not_at_step_cap(make_manager):
    manager = make_manager(step_cap=10)
    sized = manager.submit(_SelfSizedRun(max_steps=40), owner="a")
    plain = manager.submit(_SelfSizedRun(), owner="b")
    sized.start()
    plain.start()
    assert sized.wait_paused(10) and plain.wait_paused(10)
    assert (sized.state, sized.steps_done) == ("finished", 40)
    assert sized.reason == "Reached the step cap of 40."
    assert (plain.state, plain.steps_done) == ("finished", 10)
    assert plain.reason == "Reached the step cap of 10."


def test_a_diverging_run_stops_alone(make_manager):
    manager = make_manager()
    bad = manager.submit(
        diverging_trainer(),
        owner="a",
    )
    good = manager.submit(Trainer(SMALL), owner="b")
    good.start()
    bad.start()
    assert bad.wait_paused(10)
    assert bad.state == "diverged" and bad.trainer.status == "diverged"
    assert bad.reason == bad.trainer.message
    done = good.steps_done
    assert wait_until(lambda: good.steps_done > done + 5)
    assert good.state == "running"


def test_a_failing_trainer_fails_its_job_and_frees_its_slot(make_manager):
    manager = make_manager(max_running=1)
    broken, waiting = Trainer(SMALL), Trainer(SMALL)

    def explode(n=1):
        raise RuntimeError("boom from the test")

    broken.step = explode
    failing = manager.submit(broken, owner="a")
    other = manager.submit(waiting, owner="b")
    failing.start()
    other.start()
    assert failing.wait_paused(10)
    assert failing.state == "failed"
    assert "Training failed" in failing.reason and "boom from the test" in failing.reason
    assert wait_until(lambda: other.steps_done > 0)
    assert other.state == "running" and manager.running_count() == 1
    failing.start()  # a failed run stays failed
    assert failing.state == "failed" and manager.queue() == []


def test_idle_timeout_pauses_unwatched_runs_and_touch_keeps_them(make_manager, monkeypatch):
    # The worker itself notices between two slices: with the manager's own reap (every
    # second) out of the way, only the worker can pause the run. (A bound on how soon,
    # measured against the clock, failed once on a loaded CI machine.)
    monkeypatch.setattr(jobs_module, "_REAP_EVERY", 10**9)
    manager = make_manager(idle_timeout=0.3, step_cap=10**6)
    unwatched, watched, waiting = (manager.submit(Trainer(SMALL), owner=o) for o in "abc")
    for job in (unwatched, watched, waiting):
        job.start()
    assert waiting.state == "queued"
    start = time.monotonic()
    while unwatched.state != "paused" and time.monotonic() - start < 20:
        watched.touch()
        time.sleep(0.02)
    for _ in range(20):  # the watched one trains on past the timeout
        watched.touch()
        time.sleep(0.02)
    assert unwatched.state == "paused"
    assert unwatched.reason == "Paused after 0.3 s with no page open."
    assert unwatched.wait_paused(1)
    assert watched.state == "running"
    # The queued job got the freed slot, but nobody had looked at it either.
    assert waiting.wait_paused(1)
    assert waiting.reason == unwatched.reason


def test_reap_forgets_settled_jobs_nobody_looked_at(make_manager):
    manager = make_manager(forget_after=0.2)
    old = manager.submit(Trainer(SMALL), owner="a")
    time.sleep(0.3)
    fresh = manager.submit(Trainer(SMALL), owner="a")
    assert manager.reap() == 1
    assert manager.get(old.id) is None and old.state == "stopped"
    assert manager.jobs() == [fresh]


def test_stop_owner_stops_and_frees_only_that_owners_jobs(make_manager):
    manager = make_manager(max_running=2, step_cap=10**6)
    gone = [manager.submit(Trainer(SMALL), owner="closed-tab") for _ in range(3)]
    kept = manager.submit(Trainer(SMALL), owner="open-tab")
    for job in gone:
        job.start()
    kept.start()  # queued behind two of the closed tab's jobs
    assert kept.state == "queued"
    names = {job.thread_name for job in gone}
    assert names & job_threads()
    ref = weakref.ref(gone[0].trainer)

    assert manager.stop_owner("closed-tab") == 3
    assert all(job.state == "stopped" for job in gone)
    assert manager.jobs() == [kept]
    assert wait_until(lambda: not names & job_threads(), timeout=5)
    assert wait_until(lambda: kept.state == "running" and kept.steps_done > 0)
    del gone, job
    gc.collect()
    assert ref() is None  # the manager kept no reference to the closed tab's runs
    assert manager.get(kept.id) is kept


def test_a_job_gives_the_same_history_as_calling_step_directly(make_manager):
    cfg = RunConfig(model="gru", hidden_size=8, batch_size=8, seq_len=12, seed=3)
    manager = make_manager(slice_seconds=0.005)  # many chunks of varying size
    job = manager.submit(Trainer(cfg, probe_every=5), owner="a")
    job.request_steps(60)
    assert job.wait_paused(20)
    direct = Trainer(cfg, probe_every=5)
    direct.step(60)
    np.testing.assert_array_equal(
        history_digest(job.trainer.history), history_digest(direct.history)
    )
    assert [s.step for s in job.trainer.snapshots] == [s.step for s in direct.snapshots]


def test_many_owners_at_once(make_manager):
    manager = make_manager(max_running=2)
    executing, most, guard = [0], [0], threading.Lock()
    errors, jobs = [], []

    def counted(trainer):
        step = trainer.step

        def wrapper(n=1):
            with guard:
                executing[0] += 1
                most[0] = max(most[0], executing[0])
            try:
                return step(n)
            finally:
                with guard:
                    executing[0] -= 1

        trainer.step = wrapper
        return trainer

    def owner(name):
        try:
            job = manager.submit(counted(Trainer(SMALL)), owner=name, label=name)
            jobs.append(job)
            job.start()
            job.request_steps(40)
        except Exception as err:  # noqa: BLE001 - surfaced below
            errors.append(err)

    owners = [threading.Thread(target=owner, args=(f"o{i}",)) for i in range(4)]
    for t in owners:
        t.start()
    deadline = time.monotonic() + 20
    try:
        while any(t.is_alive() for t in owners) or any(
            j.state in ("running", "queued") for j in manager.jobs()
        ):
            assert time.monotonic() < deadline, "the jobs never settled"
            assert manager.running_count() <= 2
            for job in manager.jobs():
                h = job.trainer.history
                assert h["step"].tolist() == list(range(1, len(h) + 1))
                _ = [s.step for s in job.trainer.snapshots]
                _ = (job.queue_position, job.steps_per_second, job.state, job.reason)
            _ = manager.queue()
            time.sleep(0.002)
    except Exception as err:  # noqa: BLE001 - surfaced below
        errors.append(err)
    for t in owners:
        t.join()
    assert not errors
    assert len(jobs) == 4
    for job in jobs:
        assert job.wait_paused(20)
        assert job.state == "paused" and job.steps_done == 40
    assert most[0] == 2  # both slots were used, never more


# ------------------------------------------------------------- the interface it drives
class _Counter:
    """The least a JobManager can drive: steps, a count, a status and a message."""

    def __init__(self, total: int):
        self.total, self.steps_done, self.status, self.message = total, 0, "ok", ""

    def step(self, n: int = 1) -> int:
        done = min(n, self.total - self.steps_done)
        self.steps_done += done
        if self.steps_done == self.total:
            self.status, self.message = "finished", "Counted to the end."
        return done


def test_a_trainer_offers_the_run_interface_and_a_counter_only_the_driven_one():
    trainer = Trainer(SMALL)
    assert isinstance(trainer, RunTrainer) and isinstance(trainer, Steppable)
    counter = _Counter(5)
    assert isinstance(counter, Steppable) and not isinstance(counter, RunTrainer)
    assert not isinstance(object(), Steppable)


def test_the_manager_drives_anything_steppable_to_its_end(make_manager):
    manager = make_manager(max_running=1)
    job = manager.submit(_Counter(37), owner="a", label="counter")
    job.start()
    assert wait_until(lambda: job.state == JobState.FINISHED)
    assert job.steps_done == 37 and job.reason == "Counted to the end."


def test_job_states_read_as_their_names(make_manager):
    # Captions print a job's state and browser tests read it from the page.
    job = make_manager().submit(Trainer(SMALL), owner="a")
    assert job.state == "idle" and f"{job.state}" == "idle"
    assert not job.state.active
    job.start()
    assert job.state in ("running", "queued") and job.state.active
    job.pause()
    assert wait_until(lambda: job.state == "paused") and not job.state.active


def test_the_keeper_sees_a_run_at_its_milestones_and_when_it_stops(make_manager):
    kept = []
    manager = make_manager(keeper=lambda trainer: kept.append(trainer.steps_done), keep_every=20)
    job = manager.submit(Trainer(SMALL), owner="a")
    job.request_steps(50)
    assert wait_until(lambda: job.state == JobState.PAUSED)
    assert wait_until(lambda: kept and kept[-1] == 50)  # kept after the worker let go
    assert kept[:-1] and all(s >= 20 for s in kept[:-1])  # milestones on the way
    assert len({s // 20 for s in kept[:-1]}) == len(kept[:-1])  # one per milestone
    job.request_steps(50)  # and again when it stops next
    assert wait_until(lambda: job.steps_done == 100 and kept[-1] == 100)


def test_shutdown_waits_for_a_worker_still_keeping_its_run(make_manager):
    """A worker gives its slot back, then keeps its run (a store write). Shutdown must wait
    for that too: the interpreter tearing down a daemon thread inside torch.save aborts
    the process."""
    keeping, done = threading.Event(), []

    def keeper(trainer):
        keeping.set()
        time.sleep(0.5)  # a slow store write
        done.append(trainer.steps_done)

    manager = make_manager(keeper=keeper, keep_every=10**6)
    job = manager.submit(Trainer(SMALL), owner="a")
    job.request_steps(3)
    assert keeping.wait(10)  # released its slot, now keeping
    manager.shutdown()
    assert done == [3]


def test_a_failing_keeper_is_logged_and_the_run_goes_on(make_manager, caplog):
    def keeper(trainer):
        raise OSError("disk full")

    manager = make_manager(keeper=keeper, keep_every=5)
    job = manager.submit(Trainer(SMALL), owner="a")
    job.request_steps(12)
    assert wait_until(lambda: job.state == JobState.PAUSED)
    assert job.steps_done == 12
    assert wait_until(lambda: "disk full" in caplog.text)


def test_a_queued_job_is_told_about_how_long_it_waits(make_manager):
    manager = make_manager(max_running=1, step_cap=400)
    first = manager.submit(Trainer(SMALL), owner="a")
    second = manager.submit(
        Trainer(RunConfig(hidden_size=8, batch_size=8, seq_len=12, seed=1)), owner="b"
    )
    first.start()
    second.start()
    assert first.estimated_wait is None  # it trains
    assert second.state == JobState.QUEUED
    assert wait_until(lambda: second.estimated_wait is not None)
    wait = second.estimated_wait
    left = 400 - first.steps_done
    assert 0 < wait <= left / first.steps_per_second * 3  # its speed, give or take noise
    assert wait_until(lambda: second.state == JobState.RUNNING, timeout=60)
    assert second.estimated_wait is None
    third = manager.submit(Trainer(SMALL), owner="c")
    fourth = manager.submit(Trainer(SMALL), owner="d")
    third.start()
    fourth.start()
    assert fourth.estimated_wait is None  # a queued run ahead: its duration is unknown


def test_exit_waits_for_a_page_script_still_running_and_no_longer_than_its_bound():
    """The app's exit hook waits for page scripts (which may be inside torch, building or
    loading a run), but a script that never ends cannot hold the exit for long."""
    from ui import session  # noqa: PLC0415 - the app's glue, only for this test

    done = []

    def script(seconds):
        time.sleep(seconds)
        done.append(seconds)

    short = threading.Thread(target=script, args=(0.4,), name=session.SCRIPT_THREAD, daemon=True)
    stuck = threading.Thread(target=script, args=(60,), name=session.SCRIPT_THREAD, daemon=True)
    short.start()
    stuck.start()
    start = time.monotonic()
    session.wait_for_page_scripts(timeout=1.5)
    assert done == [0.4]  # the short one ended before the hook returned
    assert time.monotonic() - start < 30  # and the stuck one did not hold it
