"""Memory-horizon sweep: spec validation, cell-by-cell training under the JobManager,
skipped and diverged cells, determinism, and the on-disk cache (hits, corrupt files,
atomic writes, unwritable disks)."""

import json
import math
import os
import time

import pandas as pd
import pytest
import torch

import rnn_core.sweep as sweep_module
import rnn_core.sweep_cache as cache_module
from rnn_core.jobs import JobManager
from rnn_core.sweep import Sweep
from rnn_core.sweep_cache import SweepCache, default_cache_dir
from rnn_core.sweep_spec import (
    DEFAULT_LENGTHS,
    DEFAULT_STEPS,
    RESULT_COLUMNS,
    SweepSpec,
    default_spec,
)

TINY = SweepSpec(
    task="copy_memory",
    models=("lstm", "tcn"),
    lengths=(5, 8),
    steps=3,
    param_budget=1000,
    batch_size=8,
)


def run(sweep: Sweep, chunk: int = 2, limit: int = 1000) -> Sweep:
    for _ in range(limit):
        if sweep.finished:
            return sweep
        sweep.step(chunk)
    raise AssertionError("the sweep did not finish")


def metrics(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["seconds"])


# ------------------------------------------------------------------------- the spec
def test_spec_validates_and_round_trips():
    assert SweepSpec.from_dict(TINY.to_dict()) == TINY
    assert json.loads(json.dumps(TINY.to_dict())) == TINY.to_dict()
    assert SweepSpec(models=["gru"], lengths=[10, 20]).models == ("gru",)
    assert SweepCache().key(SweepSpec(clip=1)) == SweepCache().key(SweepSpec(clip=1.0))
    assert TINY.cells == (("lstm", 5), ("lstm", 8), ("tcn", 5), ("tcn", 8))
    assert TINY.max_steps == 12
    cfg = TINY.config("tcn", 8)
    assert (cfg.model, cfg.task, cfg.seq_len, cfg.param_budget, cfg.batch_size) == (
        "tcn",
        "copy_memory",
        8,
        1000,
        8,
    )
    bad = [
        dict(task="parity"),
        dict(models=("lstm", "cnn2d")),
        dict(models=()),
        dict(models=("lstm", "lstm")),
        dict(lengths=()),
        dict(lengths=tuple(range(1, 10))),
        dict(lengths=(10, 5)),
        dict(lengths=(5, 5)),
        dict(lengths=(0,)),
        dict(lengths=(5.0,)),
        dict(steps=0),
        dict(steps=5001),
        dict(steps=True),
        dict(param_budget=10),
        dict(lr=0.0),
        dict(clip=math.nan),
        dict(batch_size=0),
        dict(task="adding", lengths=(1,)),
    ]
    for changes in bad:
        with pytest.raises(ValueError, match="SweepSpec"):
            SweepSpec(**changes)
    with pytest.raises(ValueError, match="unknown fields"):
        SweepSpec.from_dict({**TINY.to_dict(), "hidden_size": 3})


def test_default_spec_is_the_documented_size():
    for task in ("copy_memory", "adding"):
        spec = default_spec(task)
        assert spec.lengths == DEFAULT_LENGTHS[task] and spec.steps == DEFAULT_STEPS
        assert spec.models == ("tcn", "lstm", "gru") and spec.param_budget == 10_000
        for model, length in spec.cells:
            spec.config(model, length)  # every default cell is allowed


# ------------------------------------------------------------------------- training
def test_a_sweep_runs_every_cell_to_finished(tmp_path):
    sweep = Sweep(TINY, SweepCache(tmp_path))
    assert (sweep.status, sweep.progress, sweep.current) == ("ok", 0.0, ("lstm", 5))
    assert list(sweep.results.columns) == list(RESULT_COLUMNS) and sweep.results.empty
    assert sweep.step(2) == 2 and sweep.steps_done == 2 and sweep.current == ("lstm", 5)
    assert sweep.cell_trainer.steps_done == 2 and sweep.cell_trainer.config.seq_len == 5
    assert sweep.step(2) == 2 and sweep.current == ("lstm", 8)  # cells roll over mid-call
    assert len(sweep.results) == 1
    run(sweep)
    assert sweep.status == "finished" and sweep.finished and sweep.current is None
    assert sweep.cell_trainer is None
    assert sweep.progress == 1.0 and sweep.steps_done == sweep.max_steps == 12
    assert sweep.step(5) == 0
    frame = sweep.results
    assert list(zip(frame.model, frame.seq_len, strict=True)) == list(TINY.cells)
    assert (frame.status == "ok").all() and (frame.steps == 3).all()
    assert frame.metric.between(0, 1).all() and (frame.num_parameters > 900).all()
    assert (frame.loss_ratio - frame.loss / frame.baseline).abs().max() < 1e-12
    assert sweep.stored and not sweep.from_cache and "4 runs" in sweep.message


def test_the_job_manager_runs_a_sweep_to_finished(tmp_path):
    # step_cap below the sweep's size: a sweep is capped by its own max_steps instead.
    manager = JobManager(step_cap=5)
    try:
        job = manager.submit(Sweep(TINY, SweepCache(tmp_path)), owner="a", label="sweep")
        job.start()
        assert job.wait_paused(30)
        assert job.state == "finished", job.reason
        assert job.reason == job.trainer.message and job.reason.startswith("Sweep finished")
        assert job.steps_done == 12 and len(job.trainer.results) == 4
        # A sweep loaded from the cache settles as finished without training.
        again = manager.submit(Sweep(TINY, SweepCache(tmp_path)), owner="b")
        again.start()
        assert again.wait_paused(10) and again.state == "finished"
        assert again.reason.startswith("Loaded from the sweep cache")
    finally:
        manager.shutdown()


def test_results_are_deterministic():
    rng_state = torch.random.get_rng_state()
    first, second = run(Sweep(TINY)), run(Sweep(TINY, None), chunk=5)
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # global RNG untouched
    pd.testing.assert_frame_equal(metrics(first.results), metrics(second.results))
    other = run(Sweep(SweepSpec(**{**TINY.to_dict(), "seed": 1})))
    assert not metrics(other.results).equals(metrics(first.results))


def test_too_costly_cells_are_skipped_with_the_reason():
    # A causal transformer at T = 2000 costs more than one step may (config.MAX_STEP_COST).
    spec = SweepSpec(
        task="copy_memory",
        models=("transformer",),
        lengths=(5, 2000),
        steps=2,
        param_budget=1000,
        batch_size=8,
    )
    sweep = run(Sweep(spec))
    ok, skipped = sweep.results.iloc[0], sweep.results.iloc[1]
    assert ok.status == "ok" and ok.steps == 2
    assert skipped.status == "skipped" and skipped.steps == 0
    assert "too costly" in skipped.reason
    assert math.isnan(skipped.metric) and pd.isna(skipped.num_parameters)
    assert sweep.progress == 1.0 and "1 skipped" in sweep.message


def test_a_diverging_cell_is_recorded_and_the_sweep_goes_on():
    # Adam at lr 1 without clipping blows a ReLU RNN up within two steps.
    spec = SweepSpec(
        task="adding",
        models=("rnn_relu", "lstm"),
        lengths=(20,),
        steps=5,
        param_budget=1000,
        batch_size=8,
        lr=1.0,
        clip=None,
    )
    sweep = run(Sweep(spec))
    relu, lstm = sweep.results.iloc[0], sweep.results.iloc[1]
    assert relu.status == "diverged" and relu.steps < 5
    assert "diverged" in relu.reason
    assert lstm.status == "ok" and lstm.steps == 5
    assert sweep.finished and sweep.steps_done == sweep.max_steps == 10


# ---------------------------------------------------------------------------- cache
def _refuse(*args, **kwargs):
    raise AssertionError("a Trainer was built")


def test_a_cached_sweep_does_no_training(tmp_path, monkeypatch):
    first = run(Sweep(TINY, SweepCache(tmp_path)))
    assert first.stored
    monkeypatch.setattr(sweep_module, "Trainer", _refuse)
    second = Sweep(TINY, SweepCache(tmp_path))
    assert second.from_cache and second.finished and second.status == "finished"
    assert second.steps_done == second.max_steps and second.progress == 1.0
    assert second.step(10) == 0
    pd.testing.assert_frame_equal(second.results, first.results)
    # Another spec is another key: a miss, which would train.
    other = SweepSpec(**{**TINY.to_dict(), "steps": 4})
    assert SweepCache(tmp_path).load(other) is None
    with pytest.raises(AssertionError, match="a Trainer was built"):
        Sweep(other, SweepCache(tmp_path)).step(1)


def _corruptions(valid: dict):
    yield b"\x00\xff garbage \x80"
    yield json.dumps(valid).encode()[:-40]  # truncated JSON
    yield b"[1, 2, 3]"
    yield json.dumps({**valid, "key": "0" * 64}).encode()
    yield json.dumps({**valid, "code_version": "old"}).encode()
    yield json.dumps({**valid, "rows": valid["rows"][:-1]}).encode()  # a cell missing
    rows = [dict(row) for row in valid["rows"]]
    rows[0]["metric"] = "high"
    yield json.dumps({**valid, "rows": rows}).encode()
    rows = [dict(row) for row in valid["rows"]]
    del rows[1]["loss"]
    yield json.dumps({**valid, "rows": rows}).encode()
    rows = [dict(row) for row in valid["rows"]]
    rows[0]["model"], rows[2]["model"] = rows[2]["model"], rows[0]["model"]
    yield json.dumps({**valid, "rows": rows}).encode()
    yield b"[" * 100_000  # deeply nested


def test_a_corrupt_cache_file_is_ignored_and_rebuilt(tmp_path):
    cache = SweepCache(tmp_path)
    reference = run(Sweep(TINY, cache)).results
    path = cache.path(TINY)
    valid = json.loads(path.read_text())
    for n, content in enumerate(_corruptions(valid)):
        path.write_bytes(content)
        assert cache.load(TINY) is None, n
        if n in (0, 3):  # a sample of corruptions is rebuilt by training again
            sweep = run(Sweep(TINY, cache), chunk=6)
            assert not sweep.from_cache and sweep.stored
            pd.testing.assert_frame_equal(metrics(cache.load(TINY)), metrics(reference))
    path.unlink()
    path.mkdir()  # not even a file
    assert cache.load(TINY) is None


def test_store_is_atomic_and_survives_a_failing_disk(tmp_path, monkeypatch):
    cache = SweepCache(tmp_path / "new" / "dir")  # created on demand
    results = run(Sweep(TINY)).results
    assert cache.store(TINY, results)
    assert os.listdir(cache.directory) == [cache.path(TINY).name]  # no temp file left
    pd.testing.assert_frame_equal(cache.load(TINY), results)

    # A write that fails half-way (disk full at fsync) leaves the old file whole.
    def full_disk(fd):
        raise OSError(28, "No space left on device")

    changed = results.assign(metric=0.5)
    monkeypatch.setattr(cache_module.os, "fsync", full_disk)
    assert cache.store(TINY, changed) is False
    monkeypatch.undo()
    pd.testing.assert_frame_equal(cache.load(TINY), results)
    assert os.listdir(cache.directory) == [cache.path(TINY).name]

    # An unwritable location (here a file where the directory should be) returns False.
    blocked = tmp_path / "blocked"
    blocked.write_text("not a directory")
    assert SweepCache(blocked / "sweeps").store(TINY, results) is False
    assert SweepCache(blocked).store(TINY, results) is False
    assert SweepCache(blocked).load(TINY) is None


def test_an_unwritable_cache_does_not_stop_a_sweep(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("not a directory")
    sweep = run(Sweep(TINY, SweepCache(blocked)))
    assert sweep.finished and not sweep.stored and len(sweep.results) == 4
    assert "could not be written" in sweep.message


def test_cache_keys_and_default_directory(tmp_path, monkeypatch):
    cache = SweepCache(tmp_path)
    assert cache.key(TINY) == SweepCache(tmp_path / "x").key(TINY)
    assert len(cache.key(TINY)) == 64
    assert cache.key(TINY) != cache.key(SweepSpec(**{**TINY.to_dict(), "seed": 1}))
    before = cache.key(TINY)
    monkeypatch.setattr(cache_module, "code_version", lambda: "another version")
    assert cache.key(TINY) != before  # a code change invalidates every entry
    monkeypatch.undo()
    assert cache_module.code_version() == cache_module.code_version()  # computed once
    monkeypatch.setenv("RNN_EXPLORER_SWEEP_DIR", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("RNN_EXPLORER_SWEEP_DIR")
    top = os.path.dirname(os.path.dirname(os.path.abspath(cache_module.__file__)))
    assert default_cache_dir() == type(tmp_path)(top) / "cache" / "sweeps"


def test_reading_results_while_a_job_trains(tmp_path):
    manager = JobManager(slice_seconds=0.01)
    try:
        job = manager.submit(Sweep(TINY), owner="a")
        job.start()
        seen = set()
        deadline = time.monotonic() + 30
        while job.state == "running" and time.monotonic() < deadline:
            frame = job.trainer.results
            assert list(frame.columns) == list(RESULT_COLUMNS)
            seen.add(len(frame))
            assert 0.0 <= job.trainer.progress <= 1.0
            time.sleep(0.005)  # a loop without a pause holds the GIL the worker needs
        assert job.wait_paused(30) and job.state == "finished"
        assert max(seen | {len(job.trainer.results)}) == 4
    finally:
        manager.shutdown()
