"""A content-addressed store of finished (or growing) runs on disk.

A run is deterministic: the same RunConfig gives the same history step for step
(``rnn_core.train``). So a run needs training once; everyone who opens the same link
can then replay it from here, and a later visitor can resume it from its checkpoint.

One entry per key, a directory named by the key's first hex digits::

    <store>/<prefix>/meta.json       key, config query, options, versions, steps,
                                     created time, every file's size and sha256
    <store>/<prefix>/history.npz     one array per history column
    <store>/<prefix>/snapshots.npz   every field of every snapshot Probe, flattened
    <store>/<prefix>/checkpoint.pt   the trainer's checkpoint (``torch.save``)

Nothing is pickled: the arrays are read with ``np.load(..., allow_pickle=False)`` and
the checkpoint with ``torch.load(..., weights_only=True)``, so a file planted in the
store cannot run code. The last use of an entry is its ``meta.json``'s mtime (set on
every save and load), which keeps ``meta.json`` itself written once.

Writers build an entry in a temporary directory inside the store and ``os.rename`` it
into place, so a reader never sees a half-written entry; the short commit step (compare
steps, evict, rename) holds one lock file per store, so several server processes can
share one directory. Readers take no lock: they read every file of an entry through one
open directory handle, so an entry replaced while they read is read whole or not at all.
Anything wrong with an entry (truncated, corrupt, another version, not ours) makes
``load`` return None, log one WARNING line and remove the entry; it never raises.

How the bytes are written is in ``rnn_core.run_format``. What stays here is longer than
most modules on purpose: the write, commit, evict and discard steps are one protocol
between processes, and it is by reading them together that one sees no reader can ever
take a torn or foreign entry for a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rnn_core.probes import Probe
from rnn_core.run_format import (
    EntryError,
    canonical_json,
    checkpoint_bytes,
    decode_history,
    decode_snapshots,
    encode_history,
    encode_snapshots,
    load_checkpoint,
    npz_arrays,
    npz_bytes,
    one_line,
)

try:  # POSIX; without it (Windows) commits are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover - the app runs on Linux
    fcntl = None

logger = logging.getLogger(__name__)

# Bump whenever the numbers a run records change for the same RunConfig (training,
# tasks, models, probes, the history's or snapshots' columns): it is part of every key,
# so entries of the old engine are never found again and age out by eviction.
ENGINE_VERSION = 1

# Identifies our meta.json among other JSON files; SCHEMA is this file layout's version.
FORMAT = "rnn-explorer-run"
SCHEMA = 1

# 2 GiB. An entry is mostly its snapshots, which the Trainer keeps near ``snapshot_bytes``
# (24 MiB by default), and its checkpoint (weights and optimiser state: under LIMITS a
# model has at most about 1.8 M parameters, some 30 MB with Adam's two moments). The
# default run at the 5,000-step cap is about 10 MB on disk (201 snapshots of 47 KB), so
# 2 GiB keeps some 200 of those and at least 30 of the largest: enough for every preset
# and a class's worth of variations, and still a small share of a server's disk.
DEFAULT_MAX_MB = 2048.0

PREFIX_HEX = 16  # directory name: 64 bits of the key; meta.json holds the full key
STALE_SECONDS = 3600  # a temporary directory this old is a crashed writer's leftover
_META_MAX_BYTES = 1 << 20  # our meta.json is a few KB; refuse to parse anything huge
_FILES = ("history.npz", "snapshots.npz", "checkpoint.pt")
_TMP, _TRASH, _LOCK = ".tmp-", ".trash-", ".lock"


@dataclass
class StoredRun:
    """A run read back from the store."""

    history: pd.DataFrame
    snapshots: list[Probe]
    checkpoint: dict
    steps: int
    key: str
    query: dict[str, str]  # the RunConfig's to_query()
    options: dict[str, Any]
    engine_version: int
    torch_version: str
    created: float  # seconds since the epoch, when this entry was written
    nbytes: int  # the entry's files together
    path: Path


def default_store_dir() -> Path:
    """$RNN_EXPLORER_RUN_STORE if set, else cache/runs at the repository top."""
    env = os.environ.get("RNN_EXPLORER_RUN_STORE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "cache" / "runs"


def default_max_mb() -> float:
    """$RNN_EXPLORER_RUN_STORE_MB if set to a positive number, else DEFAULT_MAX_MB."""
    env = os.environ.get("RNN_EXPLORER_RUN_STORE_MB")
    if env:
        try:
            value = float(env)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value > 0:
            return value
        logger.warning(
            "RNN_EXPLORER_RUN_STORE_MB=%r is not a positive number; using %s",
            env,
            DEFAULT_MAX_MB,
        )
    return DEFAULT_MAX_MB


def run_key(config, options: dict) -> str:
    """sha256 (hex) of the run's identity: its config query, the trainer options that
    change what it records, ENGINE_VERSION and torch's version. ``options`` must be
    JSON data (ValueError or TypeError otherwise)."""
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    payload = {
        "config": config.to_query(),
        "engine_version": ENGINE_VERSION,
        "torch": torch.__version__,
        "options": options,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


# ----------------------------------------------------------------------- files
def _write_file(directory: Path, name: str, data: bytes) -> None:
    with open(directory / name, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_at(dir_fd: int, name: str, limit: int) -> bytes:
    """Up to limit + 1 bytes of ``name`` in the open directory (so a longer file shows)."""
    fd = os.open(name, os.O_RDONLY, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    # An inode number can be reused once a directory is deleted; a rename into place or
    # a new file changes the ctime, so the three together tell one entry from its successor.
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class RunStore:
    """Runs on disk, one entry per (config, options) key; see the module docstring.

    ``directory``: default ``$RNN_EXPLORER_RUN_STORE`` or ``cache/runs`` in the checkout.
    ``max_mb``: bound on the entries' files together, in MiB (default
    ``$RNN_EXPLORER_RUN_STORE_MB`` or DEFAULT_MAX_MB); least recently used entries are
    evicted to stay under it.
    """

    def __init__(self, directory: str | os.PathLike | None = None, max_mb: float | None = None):
        self.directory = Path(directory) if directory is not None else default_store_dir()
        self.max_mb = float(max_mb) if max_mb is not None else default_max_mb()
        if not self.max_mb > 0:
            raise ValueError(f"max_mb must be positive, got {max_mb}")
        self.max_bytes = int(self.max_mb * 2**20)

    # ------------------------------------------------------------------ naming
    def key(self, config, options: dict) -> str:
        return run_key(config, options)

    def path(self, config, options: dict) -> Path:
        """The entry's directory (whether or not it exists)."""
        return self.directory / self.key(config, options)[:PREFIX_HEX]

    @staticmethod
    def _is_entry_name(name: str) -> bool:
        return len(name) == PREFIX_HEX and all(c in "0123456789abcdef" for c in name)

    # ------------------------------------------------------------------ reading
    def steps(self, config, options: dict) -> int:
        """How many steps the stored run holds, 0 when none: reads meta.json alone (the
        files are checked by ``load``). Not a use for eviction; never raises on a bad
        entry (it is 0 here and removed by the next ``load``)."""
        key = self.key(config, options)
        try:
            raw = (self.directory / key[:PREFIX_HEX] / "meta.json").read_bytes()
            return self._check_meta(raw, key, config, options)["steps"]
        except (OSError, EntryError):
            return 0

    def history(self, config, options: dict) -> pd.DataFrame | None:
        """The stored run's history alone, or None: reads meta.json and history.npz
        (checked against its sha256), never the snapshots or the checkpoint, so a page
        can draw many runs' curves cheaply. Not a use for eviction; never raises on a bad
        entry and leaves removing it to ``load``."""
        key = self.key(config, options)
        try:
            dir_fd = os.open(self.directory / key[:PREFIX_HEX], os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            meta = self._check_meta(
                _read_at(dir_fd, "meta.json", _META_MAX_BYTES), key, config, options
            )
            expected = meta["files"]["history.npz"]
            raw = _read_at(dir_fd, "history.npz", expected["bytes"])
            if len(raw) != expected["bytes"] or (
                hashlib.sha256(raw).hexdigest() != expected["sha256"]
            ):
                raise EntryError("history.npz does not match meta.json")
            return decode_history(
                npz_arrays(raw, "history.npz"),
                meta["history"]["columns"],
                meta["history"]["rows"],
            )
        except Exception as error:  # anything on disk may be wrong; never raise
            logger.debug("run store: no history from %s: %s", key[:PREFIX_HEX], one_line(error))
            return None
        finally:
            os.close(dir_fd)

    def load(self, config, options: dict) -> StoredRun | None:
        """The stored run, or None when there is none or it cannot be trusted (then one
        WARNING line names the entry and why, and the entry is removed). Never raises
        for anything found on disk."""
        key = self.key(config, options)
        path = self.directory / key[:PREFIX_HEX]
        try:
            dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("run store: cannot open entry %s: %s", path, one_line(error))
            return None
        try:
            seen = _identity(os.fstat(dir_fd))
            try:
                run = self._read_entry(dir_fd, path, key, config, options)
            except MemoryError:
                # This process is short of memory, which says nothing about the entry.
                logger.warning("run store: out of memory reading entry %s", path.name)
                return None
            except Exception as error:  # anything on disk may be wrong; never raise
                self._discard(path, seen, error)
                return None
            # A use, for eviction: the most recently used entries survive.
            with contextlib.suppress(OSError):
                now = time.time_ns()
                os.utime("meta.json", ns=(now, now), dir_fd=dir_fd)
            return run
        finally:
            os.close(dir_fd)

    def _check_meta(self, raw: bytes, key: str, config, options: dict) -> dict:
        if len(raw) > _META_MAX_BYTES:
            raise EntryError("meta.json is too large to be ours")
        try:
            meta = json.loads(raw.decode("utf-8"))
        except ValueError as error:
            raise EntryError(f"meta.json is not JSON: {one_line(error)}") from error
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise EntryError("meta.json is not a run store entry")
        if meta.get("schema") != SCHEMA:
            raise EntryError(f"schema {meta.get('schema')!r}, this store reads {SCHEMA}")
        if meta.get("engine_version") != ENGINE_VERSION:
            raise EntryError(
                f"engine version {meta.get('engine_version')!r}, this engine is {ENGINE_VERSION}"
            )
        if meta.get("torch") != torch.__version__:
            raise EntryError(f"torch {meta.get('torch')!r}, this is torch {torch.__version__}")
        if meta.get("key") != key:
            raise EntryError("meta.json holds another key")
        if meta.get("config") != config.to_query():
            raise EntryError("meta.json holds another config")
        if meta.get("options") != json.loads(canonical_json(options)):
            raise EntryError("meta.json holds other options")
        steps = meta.get("steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise EntryError(f"steps {steps!r} is not a count")
        files = meta.get("files")
        if not isinstance(files, dict) or set(files) != set(_FILES):
            raise EntryError("meta.json does not list the entry's files")
        for name, info in files.items():
            if (
                not isinstance(info, dict)
                or not isinstance(info.get("bytes"), int)
                or info["bytes"] < 0
                or not isinstance(info.get("sha256"), str)
            ):
                raise EntryError(f"meta.json's record of {name} is malformed")
        return meta

    def _read_entry(self, dir_fd: int, path: Path, key: str, config, options) -> StoredRun:
        meta = self._check_meta(
            _read_at(dir_fd, "meta.json", _META_MAX_BYTES), key, config, options
        )
        data = {}
        for name in _FILES:
            expected = meta["files"][name]
            raw = _read_at(dir_fd, name, expected["bytes"])
            if len(raw) != expected["bytes"]:
                raise EntryError(f"{name} has {len(raw)} bytes, meta.json says {expected['bytes']}")
            if hashlib.sha256(raw).hexdigest() != expected["sha256"]:
                raise EntryError(f"{name} does not match its sha256 in meta.json")
            data[name] = raw
        history_meta = meta.get("history")
        if not isinstance(history_meta, dict):
            raise EntryError("meta.json has no history record")
        history = decode_history(
            npz_arrays(data["history.npz"], "history.npz"),
            history_meta["columns"],
            history_meta["rows"],
        )
        snapshots = decode_snapshots(
            npz_arrays(data["snapshots.npz"], "snapshots.npz"), meta["snapshots"]
        )
        checkpoint = load_checkpoint(data["checkpoint.pt"])
        return StoredRun(
            history=history,
            snapshots=snapshots,
            checkpoint=checkpoint,
            steps=meta["steps"],
            key=key,
            query=meta["config"],
            options=meta["options"],
            engine_version=meta["engine_version"],
            torch_version=meta["torch"],
            created=float(meta["created"]),
            nbytes=sum(f["bytes"] for f in meta["files"].values()),
            path=path,
        )

    def _discard(self, path: Path, seen: tuple, error: BaseException) -> None:
        """Remove a bad entry, unless what is at ``path`` now is no longer what was read
        (a writer replaced it, or another reader removed it, meanwhile)."""
        try:
            with self._locked():
                try:
                    current = _identity(os.stat(path))
                except OSError:
                    current = None
                if current != seen:
                    # Not a bad entry: it was replaced or evicted while being read.
                    logger.debug("run store: %s changed while being read (%s)", path, error)
                    return
                aside = self._aside(path)
        except OSError:  # a read-only store: the lock file cannot be opened
            aside = None
        logger.warning(
            "run store: ignored entry %s: %s; %s",
            path.name,
            one_line(error),
            "removed" if aside is not None else "could not remove it",
        )
        if aside is not None:
            _remove_tree(aside)

    def _aside(self, path: Path) -> Path | None:
        """Rename an entry out of the way (atomic for readers); the caller deletes it."""
        aside = self.directory / f"{_TRASH}{path.name}-{secrets.token_hex(4)}"
        try:
            os.rename(path, aside)
        except OSError:
            return None
        return aside

    # ------------------------------------------------------------------ writing
    def save(
        self,
        config,
        options: dict,
        *,
        history: pd.DataFrame,
        snapshots: list[Probe],
        checkpoint: dict,
    ) -> None:
        """Store the run, replacing an entry of the same key only if this one has more
        steps (a run only grows); its steps are the history's last ``step``.

        ``options`` (JSON data) are the trainer options that change what the run records;
        they are part of the key. The history's columns and dtypes are kept, its index is
        not (a Trainer's is 0..n-1). Arguments the store cannot keep without pickle (an
        object column, a checkpoint that ``torch.load(weights_only=True)`` refuses)
        raise; a disk that refuses (full, read-only) logs a WARNING and stores nothing;
        so does a run larger than the whole bound."""
        key = self.key(config, options)
        steps = int(history["step"].iloc[-1]) if len(history) else 0
        if steps <= self.steps(config, options):
            return  # cheap early exit; the decision that counts is taken under the lock
        history_arrays, columns = encode_history(history)
        files = {
            "history.npz": npz_bytes(history_arrays),
            "snapshots.npz": npz_bytes(encode_snapshots(snapshots)),
            "checkpoint.pt": checkpoint_bytes(checkpoint),
        }
        meta = {
            "format": FORMAT,
            "schema": SCHEMA,
            "key": key,
            "config": config.to_query(),
            "options": json.loads(canonical_json(options)),
            "engine_version": ENGINE_VERSION,
            "torch": torch.__version__,
            "steps": steps,
            "history": {"columns": columns, "rows": len(history)},
            "snapshots": len(snapshots),
            "created": time.time(),
            "files": {
                name: {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                for name, data in files.items()
            },
        }
        meta_bytes = json.dumps(meta, indent=1, allow_nan=False).encode()
        size = sum(len(d) for d in files.values()) + len(meta_bytes)
        name = key[:PREFIX_HEX]
        if size > self.max_bytes:
            logger.warning(
                "run store: not storing %s: %d bytes is more than the store's bound (%s MiB)",
                name,
                size,
                self.max_mb,
            )
            return
        tmp = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = self.directory / f"{_TMP}{name}-{os.getpid()}-{secrets.token_hex(4)}"
            tmp.mkdir()
            for file_name, data in files.items():
                _write_file(tmp, file_name, data)
            _write_file(tmp, "meta.json", meta_bytes)  # last: a complete entry has one
            _fsync_dir(tmp)
            if self._commit(tmp, self.directory / name, steps, size):
                tmp = None
        except OSError as error:
            logger.warning("run store: could not store %s: %s", name, one_line(error))
        finally:
            if tmp is not None:
                _remove_tree(tmp)

    def _commit(self, tmp: Path, final: Path, steps: int, size: int) -> bool:
        """Put ``tmp`` in place as ``final`` unless an entry with as many steps is there
        already (another process may have stored the same run meanwhile). True when
        ``tmp`` was used."""
        trash = []
        try:
            with self._locked():
                self._clean_stale()
                existing = self._entry_steps(final)
                if existing is not None and existing >= steps:
                    return False
                self._evict(size, keep=final.name, trash=trash)
                if final.exists():
                    aside = self._aside(final)
                    if aside is None:
                        raise OSError(f"could not move the older {final.name} aside")
                    trash.append(aside)
                os.rename(tmp, final)
                now = time.time_ns()
                os.utime(final / "meta.json", ns=(now, now))
                _fsync_dir(self.directory)
                return True
        finally:
            for path in trash:  # deleted outside the lock: other commits need not wait
                _remove_tree(path)

    def _entry_steps(self, path: Path) -> int | None:
        """Steps of the entry at ``path`` by its meta.json, None if absent or unreadable
        (an unreadable entry is replaced by any new one)."""
        try:
            meta = json.loads((path / "meta.json").read_bytes()[:_META_MAX_BYTES])
            steps = meta["steps"] if meta.get("format") == FORMAT else None
            return steps if isinstance(steps, int) else None
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    # ------------------------------------------------------------------ size bound
    def entries(self) -> list[tuple[str, int, int]]:
        """(name, bytes, last use in ns) of every entry, least recently used first."""
        found = []
        try:
            listing = list(os.scandir(self.directory))
        except OSError:
            return []
        for item in listing:
            if not self._is_entry_name(item.name) or not item.is_dir(follow_symlinks=False):
                continue
            size = 0
            used = None
            try:
                for sub in os.scandir(item.path):
                    st = sub.stat(follow_symlinks=False)
                    size += st.st_size
                    if sub.name == "meta.json":
                        used = st.st_mtime_ns
                if used is None:  # no meta.json: not a usable entry, evict it first
                    used = 0
            except OSError:
                continue  # removed meanwhile
            found.append((item.name, size, used))
        return sorted(found, key=lambda e: (e[2], e[0]))

    def total_bytes(self) -> int:
        """The entries' files together (what ``max_mb`` bounds)."""
        return sum(size for _, size, _ in self.entries())

    def _evict(self, incoming: int, keep: str, trash: list[Path]) -> None:
        """Move least recently used entries aside until ``incoming`` more bytes fit,
        counting the entry ``keep`` (about to be replaced) as gone. Under the lock."""
        entries = [e for e in self.entries() if e[0] != keep]
        total = sum(size for _, size, _ in entries) + incoming
        for name, size, _ in entries:
            if total <= self.max_bytes:
                break
            aside = self._aside(self.directory / name)
            if aside is not None:
                trash.append(aside)
                total -= size
                logger.info("run store: evicted %s (%d bytes, least recently used)", name, size)

    def _clean_stale(self) -> None:
        """Remove temporary and trash directories left by a crash (older than an hour)."""
        cutoff = time.time() - STALE_SECONDS
        with contextlib.suppress(OSError):
            for item in os.scandir(self.directory):
                if item.name.startswith((_TMP, _TRASH)):
                    with contextlib.suppress(OSError):
                        if item.stat(follow_symlinks=False).st_mtime < cutoff:
                            _remove_tree(Path(item.path))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """The store's commit lock, across processes and threads (a new open file
        description per call, so threads of one process exclude each other too)."""
        if fcntl is None:  # pragma: no cover
            yield
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
