"""The run store: round trips of real runs, keys, bad entries, eviction, and two
processes saving one run while a reader loads it."""

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import pickle
import random
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import rnn_core.run_store as run_store
from rnn_core import RunConfig, Trainer
from rnn_core.probes import Probe
from rnn_core.run_store import ENGINE_VERSION, RunStore, run_key
from rnn_core.train import HISTORY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
STEPS = 30
# co2 has a held-out split: test_loss has values every 5 steps and NaN in between.
RECURRENT = RunConfig(model="lstm", task="co2", seq_len=12, hidden_size=8, batch_size=8)
LIGHT = RunConfig(model="transformer", task="co2", seq_len=12, hidden_size=8, batch_size=8)
OPTIONS = {"light_probes": False, "snapshot_bytes": 24 * 2**20}


class Planted:
    """An object whose unpickling runs code: it touches a file."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def train(config: RunConfig, steps: int = STEPS) -> Trainer:
    trainer = Trainer(config, probe_every=5, eval_every=5)
    trainer.step(steps)
    return trainer


@dataclasses.dataclass
class Run:
    config: RunConfig
    history: pd.DataFrame
    snapshots: list
    checkpoint: dict

    def save_into(self, store: RunStore, options=OPTIONS, config=None) -> None:
        store.save(
            config or self.config,
            options,
            history=self.history,
            snapshots=self.snapshots,
            checkpoint=self.checkpoint,
        )

    def upto(self, steps: int) -> "Run":
        """The same run as it stood at ``steps`` (a run only grows)."""
        return Run(
            self.config,
            self.history.iloc[:steps].reset_index(drop=True),
            [s for s in self.snapshots if s.step <= steps],
            {**self.checkpoint, "steps": steps, "marker": torch.full((3,), float(steps))},
        )


def as_run(trainer: Trainer) -> Run:
    # Any plain dict of tensors and numbers stands for Trainer.checkpoint() here.
    checkpoint = {"model": trainer.model.state_dict(), "steps": trainer.steps_done, "lr": 0.01}
    return Run(trainer.config, trainer.history, trainer.snapshots, checkpoint)


@pytest.fixture(scope="module")
def lstm_run() -> Run:
    trainer = train(RECURRENT)
    run = as_run(trainer)
    # Snapshots are compact (float16 states, no weights, pre-activations or grad_h): add
    # one full probe so every kind of Probe field is stored and read back.
    run.snapshots.append(trainer.probe())
    return run


@pytest.fixture(scope="module")
def light_run() -> Run:
    return as_run(train(LIGHT))


def assert_same_value(a, b, where: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert (a.dtype, a.shape) == (b.dtype, b.shape), where
        assert a.tobytes() == b.tobytes(), where  # bit for bit, NaN included
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), where  # gate order kept
        for k in a:
            assert_same_value(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    else:
        assert type(a) is type(b) and a == b, where


def assert_same_probes(a: list[Probe], b: list[Probe]) -> None:
    assert len(a) == len(b)
    for i, (pa, pb) in enumerate(zip(a, b, strict=True)):
        for f in dataclasses.fields(Probe):
            assert_same_value(getattr(pa, f.name), getattr(pb, f.name), f"s{i}.{f.name}")


def assert_same_run(stored, run: Run) -> None:
    pd.testing.assert_frame_equal(stored.history, run.history, check_exact=True)
    assert list(stored.history.dtypes) == list(run.history.dtypes)
    assert_same_probes(stored.snapshots, run.snapshots)
    assert_same_value(stored.checkpoint, run.checkpoint, "checkpoint")


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "rnn_core.run_store" and r.levelno >= logging.WARNING
    ]


# ---------------------------------------------------------------------- round trip
@pytest.mark.parametrize("which", ["lstm_run", "light_run"])
def test_a_real_run_round_trips_exactly(which, request, tmp_path, caplog):
    run = request.getfixturevalue(which)
    # What the run holds, so the round trip covers every kind of field.
    assert list(run.history.columns) == list(HISTORY_COLUMNS)
    assert run.history["test_loss"].isna().any() and run.history["test_loss"].notna().any()
    assert run.history["clipped"].dtype == bool
    assert [s.step for s in run.snapshots[:7]] == [0, 5, 10, 15, 20, 25, 30]
    last = run.snapshots[-1]
    if which == "lstm_run":
        compact, full = run.snapshots[-2:]
        # a compact snapshot keeps weight rows (for a replayed "Inside a cell") and an
        # empty dict of pre-activations: both kinds of dict field round trip
        assert compact.gates and compact.weights and compact.preactivations == {}
        assert compact.grad_h is None
        assert compact.hidden_layers.dtype == np.float16 and compact.target_step is not None
        assert full.weights and full.preactivations and full.grad_h.dtype == np.float32
    else:
        assert last.hidden_layers is None and last.gates == {} and last.target_step is None
        assert last.attention.dtype == np.float16 and last.saliency is not None

    store = RunStore(tmp_path, max_mb=100)
    assert store.load(run.config, OPTIONS) is None and store.steps(run.config, OPTIONS) == 0
    run.save_into(store)
    stored = store.load(run.config, OPTIONS)
    assert_same_run(stored, run)
    assert stored.steps == STEPS == store.steps(run.config, OPTIONS)
    assert stored.key == run_key(run.config, OPTIONS)
    assert stored.query == run.config.to_query() and stored.options == OPTIONS
    assert stored.engine_version == ENGINE_VERSION and stored.torch_version == torch.__version__
    assert stored.path == tmp_path / stored.key[:16]
    assert not warnings_of(caplog)

    # The documented format: four files, plain JSON metadata, arrays without pickle.
    entry = stored.path
    assert sorted(os.listdir(entry)) == [
        "checkpoint.pt",
        "history.npz",
        "meta.json",
        "snapshots.npz",
    ]
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["key"] == stored.key and meta["steps"] == STEPS
    assert meta["config"] == run.config.to_query() and meta["torch"] == torch.__version__
    for name, info in meta["files"].items():
        data = (entry / name).read_bytes()
        assert info == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    with np.load(entry / "history.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(HISTORY_COLUMNS)
    with np.load(entry / "snapshots.npz", allow_pickle=False) as npz:
        assert "s6.inputs" in npz.files
        if which == "lstm_run":
            assert npz["s6.gates.forget"].dtype == np.float16
            assert npz["s7.weights.weight_hh"].dtype == np.float32
    assert stored.nbytes == sum(i["bytes"] for i in meta["files"].values())
    # A fresh store object on the same directory reads the same run.
    assert_same_run(RunStore(tmp_path).load(run.config, OPTIONS), run)


def test_keys_change_with_config_engine_torch_and_options(monkeypatch):
    key = run_key(RECURRENT, OPTIONS)
    assert len(key) == 64
    assert key == run_key(
        RunConfig(**dataclasses.asdict(RECURRENT)), dict(reversed(OPTIONS.items()))
    )
    others = {
        "seed": run_key(dataclasses.replace(RECURRENT, seed=1), OPTIONS),
        "model": run_key(dataclasses.replace(RECURRENT, model="gru"), OPTIONS),
        "light_probes": run_key(RECURRENT, {**OPTIONS, "light_probes": True}),
        "snapshot_bytes": run_key(RECURRENT, {**OPTIONS, "snapshot_bytes": 2**20}),
        "no options": run_key(RECURRENT, {}),
    }
    monkeypatch.setattr(run_store, "ENGINE_VERSION", ENGINE_VERSION + 1)
    others["engine"] = run_key(RECURRENT, OPTIONS)
    monkeypatch.setattr(run_store, "ENGINE_VERSION", ENGINE_VERSION)
    monkeypatch.setattr(run_store.torch, "__version__", "0.0.1")
    others["torch"] = run_key(RECURRENT, OPTIONS)
    monkeypatch.undo()
    assert run_key(RECURRENT, OPTIONS) == key
    assert len({key, *others.values()}) == len(others) + 1, others
    with pytest.raises(TypeError):
        run_key(RECURRENT, {"options": object()})
    with pytest.raises(ValueError):
        run_key(RECURRENT, {"nan": float("nan")})


def test_an_entry_of_another_engine_version_is_never_found(lstm_run, tmp_path, monkeypatch, caplog):
    store = RunStore(tmp_path, max_mb=100)
    monkeypatch.setattr(run_store, "ENGINE_VERSION", ENGINE_VERSION + 1)
    lstm_run.save_into(store)
    assert store.steps(RECURRENT, OPTIONS) == STEPS
    monkeypatch.undo()
    assert store.load(RECURRENT, OPTIONS) is None and store.steps(RECURRENT, OPTIONS) == 0
    assert not warnings_of(caplog)  # another key: nothing wrong, simply absent


def test_a_run_only_grows(lstm_run, tmp_path, monkeypatch):
    store = RunStore(tmp_path, max_mb=100)
    short = lstm_run.upto(20)
    short.save_into(store)
    assert store.steps(RECURRENT, OPTIONS) == 20
    assert_same_run(store.load(RECURRENT, OPTIONS), short)
    lstm_run.save_into(store)  # more steps: replaces
    assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)
    for fewer in (lstm_run.upto(10), lstm_run.upto(STEPS)):  # fewer or as many: kept
        fewer.save_into(store)
        assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)
    # A writer that looked before another process stored the longer run (its steps()
    # said 0) still keeps the longer one when it comes to put its own in place.
    monkeypatch.setattr(store, "steps", lambda config, options: 0)
    lstm_run.upto(20).save_into(store)
    monkeypatch.undo()
    assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)
    assert sorted(os.listdir(tmp_path)) == sorted([".lock", store.path(RECURRENT, OPTIONS).name])


def test_the_wrong_arguments_raise_and_store_nothing(lstm_run, tmp_path):
    store = RunStore(tmp_path, max_mb=100)
    for thing, refusal in (
        (Planted(str(tmp_path / "ran")), "weights_only"),
        (lambda: 0, "cannot be saved"),
    ):
        with pytest.raises(ValueError, match=refusal):
            store.save(
                RECURRENT,
                OPTIONS,
                history=lstm_run.history,
                snapshots=lstm_run.snapshots,
                checkpoint={"model": {}, "thing": thing},
            )
    assert not (tmp_path / "ran").exists()
    with pytest.raises(TypeError):
        store.save(RECURRENT, OPTIONS, history=lstm_run.history, snapshots=[1], checkpoint={"a": 1})
    objects = lstm_run.history.astype({"loss": object})
    with pytest.raises(ValueError, match="pickle"):
        store.save(RECURRENT, OPTIONS, history=objects, snapshots=[], checkpoint={})
    assert store.load(RECURRENT, OPTIONS) is None
    assert [p for p in tmp_path.iterdir() if p.name != ".lock"] == []


# ---------------------------------------------------------------------- bad entries
def rewrite_meta(entry: Path, **changes) -> None:
    meta = json.loads((entry / "meta.json").read_text())
    meta.update(changes)
    (entry / "meta.json").write_text(json.dumps(meta))


def refresh_file_record(entry: Path, name: str) -> None:
    """Make meta.json agree with a file's new bytes, so only the file's content is wrong."""
    data = (entry / name).read_bytes()
    meta = json.loads((entry / "meta.json").read_text())
    meta["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (entry / "meta.json").write_text(json.dumps(meta))


def truncate(entry, name="snapshots.npz"):
    data = (entry / name).read_bytes()
    (entry / name).write_bytes(data[: len(data) // 2])


def flip_bytes(entry, name="history.npz", refresh=False):
    data = bytearray((entry / name).read_bytes())
    for i in range(len(data) // 2, len(data) // 2 + 8):
        data[i] ^= 0xFF
    (entry / name).write_bytes(bytes(data))
    if refresh:
        refresh_file_record(entry, name)


def garbage_npz(entry, name="snapshots.npz"):
    (entry / name).write_bytes(b"PK\x03\x04" + os.urandom(400))
    refresh_file_record(entry, name)


def npz_with_an_object_array(entry, name="history.npz"):
    # A well-formed npz whose one array needs pickle: np.load(allow_pickle=False) refuses.
    np.savez(entry / name, step=np.array([{"a": 1}], dtype=object))
    refresh_file_record(entry, name)


def history_of_another_length(entry, name="history.npz"):
    with np.load(entry / name, allow_pickle=False) as npz:
        arrays = {k: npz[k][:-1] for k in npz.files}
    with open(entry / name, "wb") as handle:
        np.savez(handle, **arrays)
    refresh_file_record(entry, name)


BAD_ENTRIES = {
    "truncated file": (truncate, "snapshots.npz has"),
    "missing file": (lambda e: (e / "checkpoint.pt").unlink(), "FileNotFoundError"),
    "flipped bytes": (flip_bytes, "sha256"),
    "corrupt npz, meta agreeing": (lambda e: flip_bytes(e, refresh=True), "npz"),
    "garbage npz, meta agreeing": (garbage_npz, "not a readable npz"),
    "object array in npz": (npz_with_an_object_array, "not a readable npz"),
    "history shorter than meta": (history_of_another_length, "shape"),
    "meta not JSON": (lambda e: (e / "meta.json").write_bytes(b"\xff{nope"), "not JSON"),
    "meta a JSON list": (lambda e: (e / "meta.json").write_text("[1, 2]"), "not a run store"),
    "meta of another program": (
        lambda e: (e / "meta.json").write_text('{"name": "x", "steps": 3}'),
        "not a run store",
    ),
    "another engine": (lambda e: rewrite_meta(e, engine_version=ENGINE_VERSION - 1), "engine"),
    "another torch": (lambda e: rewrite_meta(e, torch="1.0.0"), "torch"),
    "another key": (lambda e: rewrite_meta(e, key="0" * 64), "another key"),
    "another config": (lambda e: rewrite_meta(e, config={"model": "gru"}), "another config"),
    "other options": (lambda e: rewrite_meta(e, options={}), "other options"),
    "negative steps": (lambda e: rewrite_meta(e, steps=-1), "steps"),
}


@pytest.mark.parametrize("damage", list(BAD_ENTRIES))
def test_a_bad_entry_is_a_miss_reported_once_and_removed(damage, lstm_run, tmp_path, caplog):
    store = RunStore(tmp_path, max_mb=100)
    lstm_run.save_into(store)
    entry = store.path(RECURRENT, OPTIONS)
    spoil, reason = BAD_ENTRIES[damage]
    spoil(entry)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="rnn_core.run_store"):
        assert store.load(RECURRENT, OPTIONS) is None
    warned = warnings_of(caplog)
    assert len(warned) == 1, warned
    assert entry.name in warned[0] and reason in warned[0] and "\n" not in warned[0]
    assert not entry.exists()
    assert [p.name for p in tmp_path.iterdir()] == [".lock"]  # nothing left aside
    assert store.steps(RECURRENT, OPTIONS) == 0
    caplog.clear()
    assert store.load(RECURRENT, OPTIONS) is None and not warnings_of(caplog)
    lstm_run.save_into(store)  # and the run can be stored again
    assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)


def test_a_bad_entry_in_a_read_only_store_is_still_a_miss(lstm_run, tmp_path, monkeypatch, caplog):
    store = RunStore(tmp_path, max_mb=100)
    lstm_run.save_into(store)
    truncate(store.path(RECURRENT, OPTIONS))

    def read_only(self):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(RunStore, "_locked", read_only)
    assert store.load(RECURRENT, OPTIONS) is None  # does not raise
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "could not remove it" in warned[0], warned


def test_a_pickled_object_in_a_checkpoint_is_refused_not_run(lstm_run, tmp_path, caplog):
    store = RunStore(tmp_path / "store", max_mb=100)
    lstm_run.save_into(store)
    entry = store.path(RECURRENT, OPTIONS)
    marker = tmp_path / "ran"
    torch.save({"model": {}, "evil": Planted(str(marker))}, entry / "checkpoint.pt")
    refresh_file_record(entry, "checkpoint.pt")
    # The planted file does run code under a plain load (so the test can tell)...
    torch.load(entry / "checkpoint.pt", weights_only=False)
    assert marker.exists()
    marker.unlink()
    # ...and the store refuses it without running it.
    assert store.load(RECURRENT, OPTIONS) is None
    assert not marker.exists()
    warned = warnings_of(caplog)
    assert len(warned) == 1 and entry.name in warned[0] and "weights_only" in warned[0], warned
    assert not entry.exists()


def test_a_raw_pickle_as_checkpoint_is_refused(lstm_run, tmp_path, caplog):
    store = RunStore(tmp_path, max_mb=100)
    lstm_run.save_into(store)
    entry = store.path(RECURRENT, OPTIONS)
    (entry / "checkpoint.pt").write_bytes(pickle.dumps({"model": Planted(str(tmp_path / "x"))}))
    refresh_file_record(entry, "checkpoint.pt")
    assert store.load(RECURRENT, OPTIONS) is None
    assert not (tmp_path / "x").exists()
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "zip archive" in warned[0], warned


@pytest.mark.parametrize("after", ["meta.json", "checkpoint.pt"])
def test_an_entry_replaced_while_being_read_is_read_whole_or_not_at_all(
    after, lstm_run, tmp_path, monkeypatch, caplog
):
    store = RunStore(tmp_path, max_mb=100)
    short = lstm_run.upto(20)
    short.save_into(store)
    read_at = run_store._read_at
    replaced = []

    def read_then_replace(dir_fd, name, limit):
        data = read_at(dir_fd, name, limit)
        if name == after and not replaced:
            replaced.append(name)
            lstm_run.save_into(store)  # another process stores the longer run meanwhile
        return data

    monkeypatch.setattr(run_store, "_read_at", read_then_replace)
    stored = store.load(RECURRENT, OPTIONS)
    monkeypatch.undo()
    assert replaced
    if after == "meta.json":
        assert stored is None  # the files it had yet to read were deleted with the old entry
    else:
        assert_same_run(stored, short)  # everything read before: the old run, whole
    assert not warnings_of(caplog)  # a replacement is not a bad entry...
    assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)  # ...and the new one stays


def test_leftovers_of_a_crashed_writer_are_ignored_then_cleaned(lstm_run, tmp_path, caplog):
    store = RunStore(tmp_path, max_mb=100)
    name = store.path(RECURRENT, OPTIONS).name
    # A writer that died mid-write: a partial entry in a temporary directory, and one that
    # died mid-replace: the old entry moved aside, the new one not yet in place.
    old_tmp = tmp_path / f".tmp-{name}-1-dead"
    old_trash = tmp_path / f".trash-{name}-dead"
    young_tmp = tmp_path / f".tmp-{name}-2-busy"
    for partial in (old_tmp, old_trash, young_tmp):
        partial.mkdir()
        (partial / "history.npz").write_bytes(b"PK\x03\x04 half")
    assert store.load(RECURRENT, OPTIONS) is None and store.steps(RECURRENT, OPTIONS) == 0
    assert store.total_bytes() == 0
    hours_ago = time.time() - 2 * 3600
    for stale in (old_tmp, old_trash):
        os.utime(stale, (hours_ago, hours_ago))
    lstm_run.save_into(store)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".lock", name, young_tmp.name])
    assert_same_run(store.load(RECURRENT, OPTIONS), lstm_run)
    assert not warnings_of(caplog)


def test_a_refusing_disk_logs_and_keeps_the_old_entry(lstm_run, tmp_path, monkeypatch, caplog):
    store = RunStore(tmp_path, max_mb=100)
    short = lstm_run.upto(10)
    short.save_into(store)

    def full_disk(directory, name, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_store, "_write_file", full_disk)
    lstm_run.save_into(store)  # does not raise
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "No space left" in warned[0]
    monkeypatch.undo()
    assert_same_run(store.load(RECURRENT, OPTIONS), short)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".lock", store.path(RECURRENT, OPTIONS).name]
    )


# ---------------------------------------------------------------------- size bound
def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def test_eviction_keeps_the_store_under_its_bound_most_recently_used_first(
    lstm_run, tmp_path, caplog
):
    probe_store = RunStore(tmp_path / "probe", max_mb=100)
    lstm_run.save_into(probe_store)
    entry_bytes = probe_store.total_bytes()
    assert entry_bytes == dir_bytes(tmp_path / "probe")  # the bound counts what is on disk
    # Room for three entries and a half.
    store = RunStore(tmp_path / "store", max_mb=3.5 * entry_bytes / 2**20)
    configs = [dataclasses.replace(RECURRENT, seed=i) for i in range(10)]
    for i, config in enumerate(configs):
        lstm_run.save_into(store, config=config)
        assert store.steps(config, OPTIONS) == STEPS  # the entry just saved stays
        assert dir_bytes(tmp_path / "store") <= store.max_bytes
        # The first run is opened after every save: the most recently used survives.
        assert store.load(configs[0], OPTIONS) is not None, i
    kept = [i for i, c in enumerate(configs) if store.steps(c, OPTIONS)]
    assert kept == [0, 8, 9]
    assert len(store.entries()) == 3
    assert not warnings_of(caplog)
    # Without loads, the oldest saves go first.
    for config in configs[1:6]:
        lstm_run.save_into(store, config=config)
    assert [i for i, c in enumerate(configs) if store.steps(c, OPTIONS)] == [3, 4, 5]


def test_a_run_larger_than_the_bound_is_not_stored(lstm_run, tmp_path, caplog):
    store = RunStore(tmp_path, max_mb=0.01)
    lstm_run.save_into(store)
    assert store.steps(RECURRENT, OPTIONS) == 0 and store.total_bytes() == 0
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "bound" in warned[0]


def test_the_default_directory_and_bound(tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("RNN_EXPLORER_RUN_STORE", raising=False)
    monkeypatch.delenv("RNN_EXPLORER_RUN_STORE_MB", raising=False)
    store = RunStore()
    assert store.directory == ROOT / "cache" / "runs"
    assert store.max_mb == run_store.DEFAULT_MAX_MB == 2048
    assert "cache/" in (ROOT / ".gitignore").read_text().splitlines()
    monkeypatch.setenv("RNN_EXPLORER_RUN_STORE", str(tmp_path))
    monkeypatch.setenv("RNN_EXPLORER_RUN_STORE_MB", "64")
    store = RunStore()
    assert store.directory == tmp_path and store.max_bytes == 64 * 2**20
    assert RunStore(tmp_path / "x", max_mb=1).max_bytes == 2**20
    monkeypatch.setenv("RNN_EXPLORER_RUN_STORE_MB", "lots")
    assert RunStore().max_mb == run_store.DEFAULT_MAX_MB
    assert len(warnings_of(caplog)) == 1


# ---------------------------------------------------------------------- two processes
# Each round is one key that both writers grow from a few steps to STEPS by random
# strides, so they keep replacing the entry the reader is reading (the round in progress)
# and often find that the other one stored a longer run meanwhile.
RACE_ROUNDS = 6


def race_writer(directory: str, versions: dict, seed: int, barrier) -> None:
    """Grow every round's run by random strides, as fast as possible; exit with an error
    if the store logged a warning here (a failed save, a good entry judged bad)."""
    torch.set_num_threads(1)
    warned = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = warned.append
    logging.getLogger("rnn_core.run_store").addHandler(handler)
    store = RunStore(directory, max_mb=1000)
    rng = random.Random(seed)
    barrier.wait()
    for r in range(RACE_ROUNDS):
        n = 0
        while n < STEPS:
            n = min(STEPS, n + rng.randint(1, 3))
            versions[n].save_into(store, options={"round": r})
    if warned:
        raise SystemExit(f"the store warned: {[w.getMessage() for w in warned]}")


def test_two_processes_saving_one_run_and_a_reader_never_see_a_torn_entry(
    lstm_run, tmp_path, caplog
):
    versions = {n: lstm_run.upto(n) for n in range(1, STEPS + 1)}
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    writers = [
        ctx.Process(target=race_writer, args=(str(tmp_path), versions, seed, barrier))
        for seed in (1, 2)
    ]
    for w in writers:
        w.start()
    store = RunStore(tmp_path, max_mb=1000)
    seen = {r: 0 for r in range(RACE_ROUNDS)}
    loads = found = 0
    try:
        barrier.wait(timeout=120)
        deadline = time.monotonic() + 300
        current = 0  # the first round not finished: where the writers are
        while any(w.is_alive() for w in writers) and time.monotonic() < deadline:
            while current < RACE_ROUNDS and store.steps(RECURRENT, {"round": current}) == STEPS:
                current += 1
            for r in range(current, min(current + 2, RACE_ROUNDS)):
                stored = store.load(RECURRENT, {"round": r})
                loads += 1
                if stored is None:
                    continue
                found += 1
                assert stored.steps in versions, stored.steps
                assert_same_run(stored, versions[stored.steps])
                assert stored.steps >= seen[r], (r, stored.steps, seen[r])  # only grows
                seen[r] = stored.steps
        for w in writers:
            w.join(timeout=60)
            assert w.exitcode == 0
    finally:
        for w in writers:  # only on a failure above: the writers this test started
            if w.is_alive():
                w.terminate()
                w.join(timeout=10)
    assert found > 0, f"the reader never overlapped the writers ({loads} loads)"
    assert not warnings_of(caplog)  # a race is never mistaken for a bad entry
    for r in range(RACE_ROUNDS):
        assert_same_run(store.load(RECURRENT, {"round": r}), versions[STEPS])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == RACE_ROUNDS + 1 and ".lock" in names  # no temp or trash left
