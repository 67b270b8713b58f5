"""BuildOnce and the live views built on it: a run's figures built once for its viewers."""

import threading
import time

import pytest

from rnn_core import RunConfig, Trainer
from rnn_core.build_once import BuildOnce
from rnn_core.jobs import JobManager
from tests.test_jobs import wait_until


def test_a_key_is_built_once_and_then_served():
    cache, calls = BuildOnce(), []
    for _ in range(3):
        assert cache.get("k", lambda: calls.append(1) or len(calls)) == 1
    assert calls == [1]
    assert (cache.builds, cache.hits) == (1, 2)


def test_threads_asking_while_it_builds_wait_for_that_build():
    cache, calls, release = BuildOnce(), [], threading.Event()

    def slow():
        calls.append(1)
        release.wait(5)
        return object()

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    wait_until(lambda: calls, timeout=5)
    time.sleep(0.05)  # let the others reach the entry
    release.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_the_least_recently_used_entry_leaves_first():
    cache = BuildOnce(max_entries=2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    cache.get("a", lambda: 0)  # a is now the most recent
    cache.get("c", lambda: 3)  # b leaves
    assert len(cache) == 2
    assert cache.get("a", lambda: "rebuilt") == 1
    assert cache.get("b", lambda: "rebuilt") == "rebuilt"


def test_a_failed_build_is_not_kept():
    cache = BuildOnce()

    def broken():
        raise RuntimeError("no figure")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: 5) == 5
    with pytest.raises(ValueError):
        BuildOnce(max_entries=0)


@pytest.fixture
def job():
    manager = JobManager(max_running=1)
    yield manager.submit(Trainer(RunConfig(hidden_size=8, seq_len=20)), owner="t", label="RNN")
    manager.shutdown()


def test_viewers_of_a_run_get_one_history_and_one_figure_per_moment(job):
    from ui import controls, live_view

    live_view.built.clear()
    job.request_steps(10)
    wait_until(lambda: job.steps_done == 10 and not job.state.active, timeout=30)
    views = [live_view.LiveView([job]) for _ in range(3)]  # three viewers refresh
    histories = [v.history(job) for v in views]
    assert len(histories[0]) == 10 and all(h is histories[0] for h in histories)
    figures = [
        controls.loss_figure_with_alongside(v, {"rnn": job}, smooth=0.0, title="Loss")
        for v in views
    ]
    assert all(f is figures[0] for f in figures)
    assert live_view.built().builds == 2  # one history, one figure
    # Other options are another figure; a run that moved is another moment.
    log = controls.loss_figure_with_alongside(
        views[0], {"rnn": job}, smooth=0.0, title="Loss", log_y=True
    )
    assert log is not figures[0] and log.layout.yaxis.type == "log"
    job.request_steps(10)
    wait_until(lambda: job.steps_done == 20 and not job.state.active, timeout=30)
    later = live_view.LiveView([job])
    assert len(later.history(job)) == 20
    fig = controls.loss_figure_with_alongside(later, {"rnn": job}, smooth=0.0, title="Loss")
    assert len(fig.data[0].x) == 20 != len(figures[0].data[0].x)


def test_a_training_run_is_read_once_per_refresh_slot(job, monkeypatch):
    from ui import live_view

    live_view.built.clear()
    clock = [1000.0]
    monkeypatch.setattr(live_view.time, "monotonic", lambda: clock[0])
    job.start()
    wait_until(lambda: job.steps_done > 0, timeout=30)
    first = live_view.LiveView([job]).history(job)
    wait_until(lambda: job.steps_done > len(first) + 5, timeout=30)
    assert live_view.LiveView([job]).history(job) is first  # same slot: as first read
    clock[0] += live_view.REFRESH_SECONDS
    assert len(live_view.LiveView([job]).history(job)) > len(first)  # next slot: fresh
