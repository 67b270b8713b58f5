"""SharedJobs: one job per run for every viewer; a viewer that steers gets a run of its own."""

import threading
import time

import pytest

from rnn_core.jobs import JobManager, JobState
from rnn_core.shared_jobs import SHARED_OWNER, SharedJobs
from tests.test_jobs import wait_until


class Counter:
    """A deterministic Steppable whose state is its count; it answers "checkpoint"."""

    def __init__(self, start: int = 0, total: int = 10**9):
        self.steps_done, self.total, self.status, self.message = start, total, "ok", ""
        self.lock = threading.Lock()

    def step(self, n: int = 1) -> int:
        with self.lock:
            time.sleep(0.001)
            self.steps_done += n
            return n

    def answer(self, question: str, **kwargs):
        assert question == "checkpoint"
        with self.lock:
            return self.steps_done


def fork(job) -> Counter:
    return Counter(start=job.ask("checkpoint"))


@pytest.fixture
def shared():
    manager = JobManager(max_running=2)
    yield SharedJobs(manager)
    manager.shutdown()


def test_viewers_of_one_run_share_one_job(shared):
    made = []

    def make():
        made.append(Counter())
        return made[-1]

    a = shared.attach("run-1", "alice", make, "run")
    b = shared.attach("run-1", "bob", make, "run")
    other = shared.attach("run-2", "bob", make, "run")
    assert a is b and other is not a and len(made) == 2
    assert shared.viewers(a) == 2 and shared.viewers(other) == 1
    assert a.owner == SHARED_OWNER and shared.is_shared(a)
    shared.attach("run-1", "alice", make, "run")  # a second look is still one viewer
    assert shared.viewers(a) == 2


def test_the_last_viewer_leaving_stops_the_run(shared):
    job = shared.attach("run", "alice", Counter, "run")
    shared.attach("run", "bob", Counter, "run")
    shared.detach(job, "alice")
    assert job.state != JobState.STOPPED and shared.viewers(job) == 1
    shared.detach(job, "bob")
    assert job.state == JobState.STOPPED and not shared.is_shared(job)
    again = shared.attach("run", "carol", Counter, "run")
    assert again is not job and shared.viewers(again) == 1


def test_a_closed_tab_leaves_every_run_it_watched(shared):
    one = shared.attach("one", "alice", Counter, "one")
    two = shared.attach("two", "alice", Counter, "two")
    shared.attach("two", "bob", Counter, "two")
    assert shared.detach_viewer("alice") == 2
    assert one.state == JobState.STOPPED
    assert two.state != JobState.STOPPED and shared.viewers(two) == 1


def test_a_lone_viewer_takes_the_run_itself(shared):
    job = shared.attach("run", "alice", Counter, "run")
    job.request_steps(5)
    assert wait_until(lambda: job.state == JobState.PAUSED)
    taken = shared.take(job, "alice", fork)
    assert taken is job and taken.owner == "alice" and not shared.is_shared(job)
    fresh = shared.attach("run", "bob", Counter, "run")  # the next visitor: a new run
    assert fresh is not job and fresh.steps_done == 0


def test_one_viewer_steering_forks_and_the_others_keep_the_shared_run(shared):
    job = shared.attach("run", "alice", Counter, "run")
    shared.attach("run", "bob", Counter, "run")
    job.start()
    assert wait_until(lambda: job.steps_done >= 20)
    mine = shared.take(job, "alice", fork)
    at_fork = mine.steps_done
    assert mine is not job and mine.owner == "alice" and at_fork >= 20
    assert mine.state == JobState.IDLE  # alice's own run waits for her
    assert job.state in (JobState.RUNNING, JobState.QUEUED)  # bob's keeps training
    assert shared.viewers(job) == 1 and not shared.is_shared(mine)
    mine.pause()
    assert wait_until(lambda: job.steps_done > at_fork + 20)
    assert mine.steps_done == at_fork  # bob's training does not move alice's run
    shared.detach(job, "bob")
    assert job.state == JobState.STOPPED


def test_a_private_job_is_taken_as_it_is(shared):
    private = shared.manager.submit(Counter(), owner="alice", label="mine")
    assert shared.take(private, "alice", fork) is private


def test_many_sessions_opening_one_link_at_once_get_one_job(shared):
    jobs, made = [], []
    lock = threading.Lock()

    def make():
        with lock:
            made.append(1)
        return Counter()

    def open_link(i):
        job = shared.attach("preset", f"student-{i}", make, "run")
        with lock:
            jobs.append(job)

    threads = [threading.Thread(target=open_link, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len({j.id for j in jobs}) == 1
    assert shared.viewers(jobs[0]) == 40
