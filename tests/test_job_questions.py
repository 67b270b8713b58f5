"""Job.ask: a page's question about the model is answered between two training steps, by
the job's own worker while it trains, at once while it does not; never in a way that lets
two threads touch one model."""

import contextlib
import threading
import time

import numpy as np
import pytest
import torch

from rnn_core import TASKS, RunConfig, Trainer
from rnn_core.cell_step import step_breakdown
from rnn_core.generate import NonFiniteOutputError
from rnn_core.jobs import JobBusyError, JobManager
from rnn_core.sweep import Sweep
from rnn_core.sweep_spec import default_spec

SMALL = RunConfig(hidden_size=8, batch_size=8, seq_len=12)
SMALL_TASK = TASKS[SMALL.task]


@pytest.fixture
def manager():
    manager = JobManager(max_running=2, step_cap=10**9)
    yield manager
    manager.shutdown()


class ThreadRecorder:
    """A trainer-like object that records which thread steps it and which answers."""

    QUESTIONS = ("where",)

    def __init__(self, step_seconds=0.002, step_lock=None):
        self.status, self.message, self.steps_done = "ok", "", 0
        self.step_seconds = step_seconds
        # A Trainer holds one lock around step() and every answer; without it here, an
        # answer taken on the wrong thread shows up as an overlap.
        self.step_lock = step_lock or contextlib.nullcontext()
        self.step_threads: set[str] = set()
        self._lock = threading.Lock()
        self.inside = 0  # how many threads are inside step() or answer() right now
        self.overlaps = 0

    def _enter(self):
        with self._lock:
            self.inside += 1
            self.overlaps += self.inside > 1

    def _leave(self):
        with self._lock:
            self.inside -= 1

    def step(self, n=1):
        with self.step_lock:
            return self._step(n)

    def _step(self, n):
        self._enter()
        try:
            self.step_threads.add(threading.current_thread().name)
            time.sleep(self.step_seconds * n)
            self.steps_done += n
            return n
        finally:
            self._leave()

    def answer(self, question, **kwargs):
        if question not in self.QUESTIONS:
            raise ValueError(f"no question {question!r}")
        with self.step_lock:
            return self._answer()

    def _answer(self):
        self._enter()
        try:
            time.sleep(0.001)
            return threading.current_thread().name, self.steps_done
        finally:
            self._leave()


def test_a_training_job_answers_on_its_own_worker_thread(manager):
    trainer = ThreadRecorder()
    job = manager.submit(trainer, owner="a")
    job.start()
    assert job.state == "running"
    answers = [job.ask("where", timeout=5) for _ in range(20)]
    assert {thread for thread, _ in answers} == {job.thread_name}
    steps = [step for _, step in answers]
    assert steps == sorted(steps) and steps[-1] > steps[0]  # it trained between answers
    assert trainer.overlaps == 0


def test_an_idle_or_paused_job_answers_at_once_on_the_asking_thread(manager):
    job = manager.submit(ThreadRecorder(), owner="a")
    assert job.ask("where") == (threading.current_thread().name, 0)
    job.request_steps(5)
    assert job.wait_paused(5)
    assert job.ask("where") == (threading.current_thread().name, 5)


def test_a_bad_question_raises_for_the_asker_and_the_job_trains_on(manager):
    trainer = ThreadRecorder()
    job = manager.submit(trainer, owner="a")
    job.start()
    with pytest.raises(ValueError, match="no question"):
        job.ask("weights", timeout=5)
    before = trainer.steps_done
    time.sleep(0.1)
    assert job.state == "running" and trainer.steps_done > before


def test_a_busy_worker_times_out_the_question_and_forgets_it(manager):
    inside, release = threading.Event(), threading.Event()

    class Stuck(ThreadRecorder):
        def step(self, n=1):
            inside.set()
            release.wait(10)
            return super().step(n)

    trainer = Stuck()
    job = manager.submit(trainer, owner="a")
    job.start()
    assert inside.wait(5)  # the worker is in a chunk: it cannot answer until it ends
    with pytest.raises(JobBusyError):
        job.ask("where", timeout=0.2)
    assert job._questions == []  # a late answer is not computed for nobody
    release.set()
    assert job.ask("where", timeout=5)[0] == job.thread_name


def test_questions_racing_with_start_pause_and_stop_are_all_answered(manager):
    """Whichever side of a worker's exit a question lands on, it is answered (never
    left waiting for a worker that is gone), and never while a step runs."""
    trainer = ThreadRecorder(step_seconds=0.0005, step_lock=threading.Lock())
    job = manager.submit(trainer, owner="a")
    stop = threading.Event()
    answered, errors = [], []

    def asker():
        while not stop.is_set():
            try:
                answered.append(job.ask("where", timeout=5))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=asker) for _ in range(3)]
    for thread in threads:
        thread.start()
    rng = np.random.default_rng(0)
    for _ in range(300):
        [job.start, job.pause, lambda: job.request_steps(3)][rng.integers(3)]()
        time.sleep(0.001)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(answered) > 100
    assert trainer.overlaps == 0
    assert {name for name, _ in answered} & {job.thread_name}  # some came from the worker


def test_a_probe_asked_of_a_training_job_is_of_one_step():
    """The weights a probe carries are those its states were computed with: the step
    recomputed from them matches the probe's own h_t at every t."""
    manager = JobManager(step_cap=10**9, slice_seconds=0.01)
    try:
        cfg = RunConfig(
            model="lstm", hidden_size=32, num_layers=2, seq_len=40, batch_size=32, lr=0.05
        )
        job = manager.submit(Trainer(cfg), owner="a")
        job.start()
        steps = []
        for _ in range(5):
            probe = job.ask("probe", sequences=1)
            assert probe.inputs.shape[0] == 1 and probe.weights
            steps.append(probe.step)
            errors = [
                step_breakdown("lstm", probe, t=t, units=32).max_error for t in range(cfg.seq_len)
            ]
            assert max(errors) < 1e-5
        assert steps == sorted(steps) and steps[-1] > 0
    finally:
        manager.shutdown()


def test_sampled_text_is_reproducible_for_a_run_and_step(manager):
    cfg = RunConfig(task="char_lm", hidden_size=16, seq_len=30, batch_size=8)
    job = manager.submit(Trainer(cfg), owner="a")
    job.request_steps(4)
    assert job.wait_paused(30)
    step, text = job.ask("sample", prime="def ", length=50, temperature=1.0)
    assert step == 4 and len(text) == 50
    other = Trainer(cfg)
    other.step(4)
    assert other.answer("sample", prime="def ", length=50, temperature=1.0) == (4, text)
    with pytest.raises(ValueError, match="not a character task"):
        Trainer(SMALL).answer("sample")


def test_outputs_on_a_pages_own_inputs_are_the_models_and_bad_shapes_are_refused(manager):
    job = manager.submit(Trainer(SMALL), owner="a")
    job.request_steps(3)
    assert job.wait_paused(30)
    x, _ = SMALL_TASK.sample(2, 12, torch.Generator().manual_seed(7))
    step, out = job.ask("outputs", x=x.numpy())
    assert step == 3 and out.shape == (2, 12, SMALL_TASK.output_size) and out.dtype == np.float32
    # The same weights, reached independently: a second trainer stepped as far.
    other = Trainer(SMALL)
    other.step(3)
    other.model.eval()
    with torch.no_grad():
        assert np.allclose(out, other.model(x).numpy(), atol=1e-6)
    for bad in (np.zeros((2, 12)), np.zeros((2, 12, 5)), np.zeros((0, 12, 2))):
        with pytest.raises(ValueError, match="inputs must have shape"):
            job.ask("outputs", x=bad)
    with pytest.raises(ValueError, match="finite"):
        job.ask("outputs", x=np.full((1, 3, 2), np.nan))
    assert job.ask("outputs", x=x.numpy())[0] == 3  # the job answers on after refusals


def test_a_job_without_questions_says_so(manager, tmp_path):
    sweep = Sweep(default_spec("adding", ("lstm",), steps=2))
    job = manager.submit(sweep, owner="a", label="sweep")
    with pytest.raises(ValueError, match="answers no questions"):
        job.ask("probe")


def test_sampling_a_model_whose_state_overflows_says_so():
    """A ReLU RNN with recurrent scale 1.5 multiplies its state at every character: over
    300 characters it overflows. The answer is a clear error, not torch's complaint about
    a probability tensor (found by a monkey walk: the exploding preset's settings on the
    character task)."""
    cfg = RunConfig(
        model="rnn_relu", task="char_lm", seq_len=20, init="identity", recurrent_scale=1.5
    )
    trainer = Trainer(cfg)
    with pytest.raises(NonFiniteOutputError, match="not a finite number"):
        trainer.answer("sample", length=300)
    assert len(trainer.answer("sample", length=5)[1]) == 5  # short enough to stay finite
