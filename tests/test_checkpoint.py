"""Trainer.checkpoint / Trainer.resume: a run stopped at step N and resumed from its
checkpoint (written with torch.save, read back with weights_only=True) goes on exactly as
the same run trained without a stop: history, snapshots, weights, the next batch."""

import io
import math
import struct
import threading
import time
from dataclasses import fields

import numpy as np
import pytest
import torch

from rnn_core import Probe, RunConfig, Trainer
from rnn_core.checkpoint import CHECKPOINT_VERSION, CheckpointError
from rnn_core.jobs import JobManager, JobState
from rnn_core.train import history_digest

SMALL = {"hidden_size": 6, "batch_size": 4, "seq_len": 10}


def round_trip(checkpoint: dict) -> dict:
    """What the run store does: torch.save, then torch.load with weights_only=True."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def same(a, b) -> bool:
    """Equal bit for bit (NaN payloads included), of the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return (
            a.dtype == b.dtype and a.shape == b.shape and a.numpy().tobytes() == b.numpy().tobytes()
        )
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    return a == b


def probe_fields(probe: Probe) -> dict:
    return {f.name: getattr(probe, f.name) for f in fields(Probe)}


def next_batch(trainer: Trainer):
    """The batch the trainer's next step would train on (from its checkpointed stream)."""
    generator = torch.Generator()
    generator.set_state(trainer.checkpoint()["data_generator"])
    cfg = trainer.config
    return trainer.task.sample(cfg.batch_size, cfg.seq_len, generator)


def without_seconds(checkpoint: dict) -> dict:
    return {k: v for k, v in checkpoint.items() if k != "seconds"}  # wall-clock time


def assert_same_run(reference: Trainer, resumed: Trainer) -> None:
    ref_history, history = reference.history, resumed.history
    np.testing.assert_array_equal(history_digest(history), history_digest(ref_history))
    assert history.dtypes.equals(ref_history.dtypes)
    assert [s.step for s in resumed.snapshots] == [s.step for s in reference.snapshots]
    for mine, theirs in zip(resumed.snapshots, reference.snapshots, strict=True):
        a, b = probe_fields(mine), probe_fields(theirs)
        for name in a:
            assert same(a[name], b[name]), f"snapshot at step {mine.step}: {name} differs"
    for p, q in zip(resumed.model.parameters(), reference.model.parameters(), strict=True):
        assert same(p.detach(), q.detach())
    assert same(next_batch(resumed), next_batch(reference))
    assert (resumed.status, resumed.message) == (reference.status, reference.message)
    # Everything else a step reads: optimizer state, last finite weights, counters, cadence.
    assert same(without_seconds(resumed.checkpoint()), without_seconds(reference.checkpoint()))


def resumed_after(config: RunConfig, n: int, **options) -> Trainer:
    """A trainer stepped n times, checkpointed through a file's bytes, and resumed."""
    first = Trainer(config, **options)
    first.step(n)
    checkpoint, history, snapshots = first.resume_point()
    return Trainer.resume(round_trip(checkpoint), history, snapshots)


# (config, steps before the checkpoint, steps after it, Trainer options). Every model
# kind; tasks with and without a held-out split; full and light probes; clipping on and
# off; each optimizer; checkpoints at a snapshot step, between two, and before any step.
CASES = {
    "rnn_tanh adding adam clip, between snapshots": (
        RunConfig(model="rnn_tanh", **SMALL),
        7,
        6,
        {"probe_every": 2},
    ),
    "rnn_relu sine sgd no clip, at a snapshot": (
        RunConfig(model="rnn_relu", task="sine", optimizer="sgd", clip=None, **SMALL),
        8,
        5,
        {"probe_every": 2},
    ),
    "lstm char_lm rmsprop, held-out": (
        RunConfig(model="lstm", task="char_lm", optimizer="rmsprop", **SMALL),
        7,
        6,
        {"probe_every": 3, "eval_every": 2},
    ),
    "gru co2 adam no clip, light probes": (
        RunConfig(model="gru", task="co2", clip=None, **SMALL),
        5,
        6,
        {"probe_every": 2, "eval_every": 3, "light_probes": True},
    ),
    "gru digits_rows sgd, held-out, full probes": (
        RunConfig(model="gru", task="digits_rows", optimizer="sgd", **SMALL | {"seq_len": 8}),
        6,
        5,
        {"probe_every": 4, "eval_every": 3},
    ),
    "tcn copy_memory adam": (
        RunConfig(model="tcn", task="copy_memory", **SMALL),
        6,
        5,
        {"probe_every": 4},
    ),
    "transformer parity sgd no clip": (
        RunConfig(model="transformer", task="parity", optimizer="sgd", clip=None, **SMALL),
        5,
        6,
        {"probe_every": 2},
    ),
    "cnn2d digits_rows rmsprop, held-out": (
        RunConfig(model="cnn2d", task="digits_rows", optimizer="rmsprop", **SMALL | {"seq_len": 8}),
        5,
        5,
        {"probe_every": 2, "eval_every": 2},
    ),
    "lstm adding, before any step": (RunConfig(model="lstm", **SMALL), 0, 4, {"probe_every": 2}),
}


@pytest.mark.parametrize("case", list(CASES), ids=[c.replace(" ", "_") for c in CASES])
def test_a_resumed_run_continues_bit_for_bit(case):
    config, n, m, options = CASES[case]
    reference = Trainer(config, **options)
    reference.step(n + m)
    resumed = resumed_after(config, n, **options)
    assert resumed.steps_done == n
    assert resumed.step(m) == m
    assert_same_run(reference, resumed)


def test_a_run_whose_snapshot_cadence_doubled_before_and_after_the_checkpoint():
    config = RunConfig(model="lstm", **SMALL)
    one = Trainer(config).probe().compact(2).nbytes
    options = {"probe_every": 1, "snapshot_bytes": 5 * one}  # thins at steps 5, 10, 20
    resumed = resumed_after(config, 7, **options)
    assert resumed.probe_every == 2  # doubled once before the checkpoint
    resumed.step(15)
    assert resumed.probe_every == 8  # and twice after it
    reference = Trainer(config, **options)
    reference.step(22)
    assert_same_run(reference, resumed)


def test_the_checkpoint_holds_only_what_weights_only_loads():
    tr = Trainer(RunConfig(model="lstm", task="char_lm", **SMALL), probe_every=2)
    tr.step(3)
    checkpoint = tr.checkpoint()
    loaded = round_trip(checkpoint)  # raises on anything but plain values and tensors
    assert same(loaded, checkpoint)
    assert type(checkpoint) is dict and checkpoint["version"] == CHECKPOINT_VERSION
    assert checkpoint["config"] == tr.config.to_query()

    def walk(value):
        if isinstance(value, dict):
            assert type(value) is dict  # not a state_dict's OrderedDict
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (torch.Tensor, int, float, bool, str), value

    walk(checkpoint)


def test_a_resumed_trainers_checkpoint_is_the_one_it_resumed_from():
    for steps in (0, 5):
        tr = Trainer(RunConfig(model="gru", optimizer="rmsprop", **SMALL), probe_every=2)
        tr.step(steps)
        checkpoint, history, snapshots = tr.resume_point()
        resumed = Trainer.resume(round_trip(checkpoint), history, snapshots)
        assert same(resumed.checkpoint(), checkpoint)
        assert same(resumed.history["seconds"].to_numpy(), history["seconds"].to_numpy())


def test_a_checkpoint_is_a_copy_and_resumes_twice_alike():
    """The checkpoint keeps no live tensor (the run trains on), and a resume does not
    share one with it (Adam moves its state in place)."""
    config = RunConfig(model="lstm", **SMALL)
    tr = Trainer(config, probe_every=2)
    tr.step(4)
    checkpoint, history, snapshots = tr.resume_point()
    tr.step(3)
    first = Trainer.resume(checkpoint, history, snapshots)
    first.step(3)
    second = Trainer.resume(checkpoint, history, snapshots)
    second.step(3)
    assert_same_run(tr, first)
    assert_same_run(tr, second)


def test_options_left_out_are_the_checkpoints_and_options_given_must_match():
    config = RunConfig(model="transformer", **SMALL)
    tr = Trainer(config, probe_every=3, eval_every=4, snapshot_bytes=10**6)
    tr.step(4)
    point = tr.resume_point()
    resumed = Trainer.resume(*point)
    assert resumed.probe_every == 3 and resumed.snapshot_bytes == 10**6
    # A transformer always takes light probes: saying so, or not, is the same run.
    Trainer.resume(*point, probe_every=3, light_probes=False)
    with pytest.raises(CheckpointError, match="taken with probe_every=3, not 25"):
        Trainer.resume(*point, probe_every=25)
    with pytest.raises(CheckpointError, match="no option probe_evry"):
        Trainer.resume(*point, probe_evry=3)


def test_checkpoint_is_a_question_answered_with_its_history_and_snapshots():
    tr = Trainer(RunConfig(**SMALL), probe_every=2)
    tr.step(3)
    assert "checkpoint" in Trainer.QUESTIONS
    checkpoint, history, snapshots = tr.answer("checkpoint")
    assert checkpoint["steps_done"] == 3 and len(history) == 3
    assert [s.step for s in snapshots] == [0, 2]


def test_checkpoints_taken_from_another_thread_between_steps_are_each_of_one_step():
    """resume_point() holds the step lock: taken while another thread steps, a checkpoint,
    its history and its snapshots are all of one step, and the run goes on from there."""
    config = RunConfig(model="lstm", **SMALL)
    tr = Trainer(config, probe_every=3)
    enough = threading.Event()

    def train():
        # Until the checkpoints are taken, however slow a busy machine makes them (a step
        # cap here once ended the run first); a pause between steps lets the checkpoints
        # in without a run of thousands of steps, whose copies would make them slow.
        while not enough.is_set():
            tr.step(1)  # releases the step lock between steps, as a job's chunks do
            time.sleep(0.002)

    worker = threading.Thread(target=train)
    worker.start()
    points = []
    try:
        while len(points) < 30 and worker.is_alive():
            points.append(tr.resume_point())
            time.sleep(0.001)  # a page polls
    finally:
        enough.set()
        worker.join()
    total = tr.steps_done
    assert len(points) == 30 and points[-1][0]["steps_done"] > points[0][0]["steps_done"]
    for checkpoint, history, snapshots in points:
        resumed = Trainer.resume(round_trip(checkpoint), history, snapshots)
        resumed.step(min(3, total - checkpoint["steps_done"]))
        n = len(resumed.history)
        np.testing.assert_array_equal(
            history_digest(resumed.history), history_digest(tr.history)[:n]
        )


class AnswerThread(Trainer):
    """A Trainer that notes which thread answered its last question."""

    answered_on = None

    def answer(self, question, **kwargs):
        self.answered_on = threading.current_thread().name
        return super().answer(question, **kwargs)


def test_a_checkpoint_taken_while_a_job_trains_resumes_to_the_same_continuation():
    config = RunConfig(model="gru", **SMALL)
    manager = JobManager(max_running=1, step_cap=10**6)
    try:
        job = manager.submit(AnswerThread(config, probe_every=3), owner="test")
        job.start()
        deadline = time.monotonic() + 60
        while job.steps_done < 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        checkpoint, history, snapshots = job.ask("checkpoint")
        state_after = job.state
    finally:
        manager.shutdown()
    # Asked of the worker between two of its chunks; the shared run went on training.
    assert job.trainer.answered_on == job.thread_name
    assert state_after == JobState.RUNNING
    n = checkpoint["steps_done"]
    assert n >= 5 and len(history) == n and snapshots[-1].step <= n
    resumed = Trainer.resume(round_trip(checkpoint), history, snapshots)
    resumed.step(7)
    reference = Trainer(config, probe_every=3)
    reference.step(n + 7)
    assert_same_run(reference, resumed)


def diverging_later() -> RunConfig:
    # A tanh RNN regressing sines by SGD at lr 1 without clipping: the loss grows for a
    # few dozen steps and becomes inf, and the weights restored are those from before the
    # previous update (the copy the checkpoint carries in "last_good").
    return RunConfig(
        model="rnn_tanh", task="sine", optimizer="sgd", lr=1.0, clip=None, seq_len=20, hidden_size=8
    )


def test_a_diverged_run_resumes_diverged():
    tr = Trainer(diverging_later(), probe_every=5)
    tr.step(100)
    assert tr.status == "diverged"
    resumed = Trainer.resume(round_trip(tr.checkpoint()), tr.history, tr.snapshots)
    assert resumed.status == "diverged" and resumed.message == tr.message
    assert resumed.step(10) == 0
    assert_same_run(tr, resumed)
    manager = JobManager()
    try:
        job = manager.submit(resumed, owner="test")
        job.start()
        assert job.wait_paused(10)
        assert job.state == JobState.DIVERGED and job.reason == tr.message
    finally:
        manager.shutdown()


def test_a_checkpoint_just_before_divergence_resumes_to_the_same_divergence():
    config = diverging_later()
    reference = Trainer(config, probe_every=5)
    reference.step(100)
    diverged_at = reference.steps_done
    assert reference.status == "diverged" and "the loss became inf" in reference.message
    assert diverged_at > 2  # the last finite weights are not the initial ones
    resumed = resumed_after(config, diverged_at - 1, probe_every=5)
    assert resumed.status == "ok"
    assert resumed.step(100) == 1
    assert resumed.status == "diverged"
    assert not math.isfinite(resumed.history["loss"].iloc[-1])
    assert_same_run(reference, resumed)


# ---------------------------------------------------------------------- refusals
@pytest.fixture(scope="module")
def point():
    tr = Trainer(RunConfig(model="lstm", **SMALL), probe_every=2)
    tr.step(5)
    return tr.resume_point()


def _set(path, value):
    def change(ck, history, snapshots):
        target = ck
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
        return ck, history, snapshots

    return change


def _drop(key):
    def change(ck, history, snapshots):
        del ck[key]
        return ck, history, snapshots

    return change


def _other_history(ck, history, snapshots):
    other = Trainer(RunConfig(model="lstm", **SMALL | {"seed": 1}), probe_every=2)
    other.step(5)
    return ck, other.history, snapshots


REFUSALS = {
    "not a dict": (lambda ck, h, s: ([ck], h, s), "not a list"),
    "another format version": (_set(("version",), 2), "format version 2; this engine reads"),
    "no version": (_drop("version"), "format version None"),
    "a missing key": (_drop("optimizer"), "the checkpoint lacks 'optimizer'$"),
    "an unexpected key": (_set(("extra",), 1), "the checkpoint has unexpected 'extra'$"),
    "an invalid config": (_set(("config", "seq_len"), "-3"), "config is not a valid run"),
    "a config without a field": (
        lambda ck, h, s: (
            ck | {"config": {k: v for k, v in ck["config"].items() if k != "seed"}},
            h,
            s,
        ),
        r"config is not RunConfig.to_query\(\): it lacks 'seed'$",
    ),
    "another model size": (
        _set(("config", "hidden_size"), "7"),
        r"weight_ih_l0 is \(24, 2\) torch.float32; this run's model has \(28, 2\)",
    ),
    "a weight of another dtype": (
        _set(("model", "rnn.weight_hh_l0"), lambda t: t.double()),
        "torch.float64",
    ),
    "another learning rate": (
        _set(("optimizer", "param_groups", 0, "lr"), 0.5),
        "optimizer settings are not this run's adam",
    ),
    "an optimizer state of another shape": (
        _set(("optimizer", "state", 0, "exp_avg"), torch.zeros(3)),
        "optimizer exp_avg of parameter 0 is",
    ),
    "a short last_good": (_set(("last_good",), lambda v: v[:-1]), "last_good is not a list of"),
    "a broken data generator": (
        _set(("data_generator",), torch.zeros(3, dtype=torch.uint8)),
        "data_generator is not a generator's state",
    ),
    "a cadence that is no doubling": (
        _set(("probe_every",), 3),
        "probe_every 3 is not its option probe_every 2 doubled",
    ),
    "an unknown status": (_set(("status",), "finished"), "neither 'ok' nor 'diverged'"),
    "a negative step count": (_set(("steps_done",), -1), "steps_done -1 is not a count"),
    "a history one row short": (
        lambda ck, h, s: (ck, h.iloc[:-1], s),
        "checkpoint was taken after step 5",
    ),
    "a history without a column": (
        lambda ck, h, s: (ck, h.drop(columns=["test_loss"]), s),
        "history's columns are",
    ),
    "another run's history": (_other_history, "not the checkpointed run's"),
    "no history": (lambda ck, h, s: (ck, h.to_dict(), s), "DataFrame of Trainer.history"),
    "a snapshot missing": (lambda ck, h, s: (ck, h, s[:-1]), "snapshots are of steps"),
    "snapshots of other sizes": (
        lambda ck, h, s: (ck, h, [x.compact(1) for x in s]),
        "bytes of arrays",
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS), ids=[r.replace(" ", "_") for r in REFUSALS])
def test_resume_refuses_what_does_not_fit(point, refusal):
    change, message = REFUSALS[refusal]
    checkpoint, history, snapshots = point
    args = change(round_trip(checkpoint), history.copy(), list(snapshots))
    with pytest.raises(CheckpointError, match=message) as raised:
        Trainer.resume(*args)
    assert isinstance(raised.value, ValueError)


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        RunConfig(model=model, task=task, seq_len=64 if task == "digits_pixels" else 50)
        for model, task in [
            ("rnn_tanh", "adding"),
            ("rnn_relu", "co2"),
            ("lstm", "char_lm"),
            ("gru", "copy_memory"),
            ("tcn", "sine"),
            ("transformer", "char_lm"),
            ("cnn2d", "digits_pixels"),
        ]
    ],
    ids=lambda c: f"{c.model} {c.task}",
)
def test_a_run_at_the_default_sizes_and_options_continues_bit_for_bit(config):
    reference = Trainer(config)
    reference.step(130)  # snapshots and held-out scores every 25 steps
    resumed = resumed_after(config, 60)
    resumed.step(70)
    assert_same_run(reference, resumed)


@pytest.mark.parametrize(
    ("config", "given"),
    [
        (RunConfig(), {}),
        (RunConfig(model="gru"), {"snapshot_bytes": 4 * 2**20, "light_probes": True}),
        (RunConfig(model="tcn", task="copy_memory", seq_len=20, param_budget=5_000), {}),
    ],
    ids=["default", "gru-light", "tcn"],
)
def test_a_runs_options_are_known_before_its_trainer_is_built(config, given):
    # the run store looks a run up by them before deciding to resume or start it
    assert Trainer.options_for(config, **given) == Trainer(config, **given).options
    with pytest.raises(TypeError):
        Trainer.options_for(config, snapshot_mb=3)
