"""The memory-horizon sweep's on-disk cache: finished tables kept across sessions.

A sweep is deterministic (rnn_core.sweep), so its finished table is kept as one JSON
file per spec, keyed by the spec and by a hash of the engine's source: a visitor who
asks for a sweep that anyone has finished before gets it at once, and a code change
that could alter results invalidates every entry. Files are written atomically, so
several server processes can share one directory, and a missing, stale or corrupt file
is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from rnn_core.sweep_spec import RESULT_COLUMNS, ROW_STATUSES, SweepSpec, results_frame

CACHE_SCHEMA = 1
_CACHE_MAX_BYTES = 1_000_000  # a full sweep's table is a few KB; refuse anything huge
# The engine's files (paths under rnn_core/) that decide a sweep's numbers: a change to
# any of them may change the results, so it changes every cache key. A folder (a package)
# stands for every Python file in it, so a module added to it later is covered too.
_VERSIONED_SOURCES = (
    "config.py",
    "tasks",
    "models.py",
    "tcn.py",
    "attention.py",
    "image_cnn.py",
    "budget.py",
    "train.py",
    "sweep.py",
    "sweep_spec.py",
    "sweep_cache.py",
)


@functools.cache
def code_version() -> str:
    """sha256 over the source files that decide results, and torch's version."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _VERSIONED_SOURCES:
        source = here / name
        for path in sorted(source.rglob("*.py")) if source.is_dir() else [source]:
            digest.update(path.relative_to(here).as_posix().encode() + b"\0")
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"<missing>")
            digest.update(b"\0")
    digest.update(f"torch {torch.__version__}".encode())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """$RNN_EXPLORER_SWEEP_DIR if set, else cache/sweeps at the repository top."""
    env = os.environ.get("RNN_EXPLORER_SWEEP_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "cache" / "sweeps"


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _json_number(value: Any) -> Any:
    """NaN and pandas' NA as None (JSON has no NaN); numpy scalars as Python numbers."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number_ok(value: Any, optional: bool) -> bool:
    if value is None:
        return optional
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _row_ok(row: Any) -> bool:
    if not isinstance(row, dict) or set(row) != set(RESULT_COLUMNS):
        return False
    return (
        isinstance(row["model"], str)
        and _is_int(row["seq_len"])
        and row["status"] in ROW_STATUSES
        and isinstance(row["reason"], str)
        and all(_number_ok(row[k], True) for k in ("metric", "loss", "loss_ratio"))
        and _number_ok(row["baseline"], False)
        and _number_ok(row["seconds"], False)
        and (row["num_parameters"] is None or _is_int(row["num_parameters"]))
        and _is_int(row["steps"])
        and row["steps"] >= 0
    )


class SweepCache:
    """Finished sweep tables as ``<directory>/<key>.json``, one file per spec.

    ``load`` never raises: a missing, unreadable, malformed or stale file is a miss.
    ``store`` writes atomically (a temporary file in the same directory, fsync'ed, then
    renamed over the final name), so a reader never sees a half-written table, and
    returns False instead of raising when the disk refuses (read-only, full).
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def key(self, spec: SweepSpec) -> str:
        payload = _canonical({"spec": spec.to_dict(), "code_version": code_version()})
        return hashlib.sha256(payload.encode()).hexdigest()

    def path(self, spec: SweepSpec) -> Path:
        return self.directory / f"{self.key(spec)}.json"

    def load(self, spec: SweepSpec) -> pd.DataFrame | None:
        """The cached table of ``spec``, or None (never raises on a bad file)."""
        try:
            path = self.path(spec)
            with open(path, "rb") as handle:
                raw = handle.read(_CACHE_MAX_BYTES + 1)
            if len(raw) > _CACHE_MAX_BYTES:
                return None
            data = json.loads(raw.decode("utf-8"))
            return self._validated(spec, data)
        except (OSError, ValueError, TypeError, KeyError, RecursionError):
            return None  # ValueError covers bad UTF-8 and bad JSON

    def _validated(self, spec: SweepSpec, data: Any) -> pd.DataFrame | None:
        if not isinstance(data, dict):
            return None
        if (
            data.get("schema") != CACHE_SCHEMA
            or data.get("key") != self.key(spec)
            or data.get("code_version") != code_version()
            or data.get("spec") != spec.to_dict()
        ):
            return None
        rows = data.get("rows")
        if not isinstance(rows, list) or len(rows) != len(spec.cells):
            return None
        for row, (model, length) in zip(rows, spec.cells, strict=True):
            if not _row_ok(row) or row["model"] != model or row["seq_len"] != length:
                return None
        clean = []
        for row in rows:
            row = dict(row)
            for name in ("metric", "loss", "loss_ratio"):
                row[name] = math.nan if row[name] is None else float(row[name])
            for name in ("baseline", "seconds"):
                row[name] = float(row[name])
            clean.append(row)
        return results_frame(clean)

    def store(self, spec: SweepSpec, results: pd.DataFrame) -> bool:
        """Write ``results`` for ``spec`` atomically; False if the disk refused."""
        rows = [
            {name: _json_number(value) for name, value in row.items()}
            for row in results[list(RESULT_COLUMNS)].to_dict("records")
        ]
        text = json.dumps(
            {
                "schema": CACHE_SCHEMA,
                "key": self.key(spec),
                "code_version": code_version(),
                "spec": spec.to_dict(),
                "rows": rows,
            },
            indent=1,
            allow_nan=False,
        )
        tmp_name = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            final = self.path(spec)
            with tempfile.NamedTemporaryFile(
                "w",
                encoding="utf-8",
                dir=self.directory,
                prefix=f".{final.stem}.",
                suffix=".tmp",
                delete=False,
            ) as handle:
                tmp_name = handle.name
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, final)
            tmp_name = None
            return True
        except OSError:
            return False
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
