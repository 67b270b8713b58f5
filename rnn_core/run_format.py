"""How a stored run is written: its history, snapshots and checkpoint as bytes, and back.

Nothing is pickled. The history is one array per column and the snapshots every field of
every ``Probe``, flattened (``s{i}.{field}``, ``s{i}.{field}.{key}``) with a layout member
saying which fields are None, arrays, dicts or scalars; both are ``.npz`` archives read with
``np.load(..., allow_pickle=False)``. The checkpoint is written with ``torch.save`` and read
only with ``torch.load(..., weights_only=True)``. ``rnn_core.run_store`` keeps these bytes
in entries on disk; anything a reader cannot use raises ``EntryError``.
"""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

import numpy as np
import pandas as pd
import torch

from rnn_core.probes import Probe

_ZIP_MAGIC = b"PK\x03\x04"
_LAYOUT = "__layout__"  # the snapshots.npz member that describes the others


class EntryError(Exception):
    """Why an entry on disk cannot be used (the message goes into the warning)."""


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def one_line(error: BaseException | str) -> str:
    # torch's refusals span many lines; the warning must stay one line.
    text = " ".join(str(error).split())
    if isinstance(error, BaseException) and not isinstance(error, EntryError):
        text = f"{type(error).__name__}: {text}"  # a bare KeyError says only the key
    return text if len(text) <= 300 else text[:297] + "..."


# ------------------------------------------------------------------- encoding
def _plain_array(name: str, value: np.ndarray) -> np.ndarray:
    if value.dtype.hasobject:
        raise ValueError(f"{name}: object arrays would need pickle; the store refuses them")
    return value


def encode_history(history: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
    columns = [str(c) for c in history.columns]
    if len(set(columns)) != len(columns) or columns != list(history.columns):
        raise ValueError("history columns must be distinct strings")
    arrays = {c: _plain_array(f"history[{c!r}]", history[c].to_numpy()) for c in columns}
    return arrays, columns


def decode_history(arrays: dict[str, np.ndarray], columns: list[str], rows: int) -> pd.DataFrame:
    if set(arrays) != set(columns):
        raise EntryError("history.npz does not hold the columns meta.json lists")
    for name in columns:
        if arrays[name].shape != (rows,):
            raise EntryError(
                f"history column {name!r} has shape {arrays[name].shape}, not ({rows},)"
            )
    return pd.DataFrame({name: arrays[name] for name in columns}, columns=columns)


def encode_snapshots(snapshots: list[Probe]) -> dict[str, np.ndarray]:
    """Every field of every Probe as named arrays, plus a layout saying what each field
    was: an array, a dict of arrays (its keys in order), an int, a float or None."""
    arrays: dict[str, np.ndarray] = {}
    layout = []
    for i, probe in enumerate(snapshots):
        if not isinstance(probe, Probe):
            raise TypeError(f"snapshots[{i}] is a {type(probe).__name__}, not a Probe")
        kinds: dict[str, Any] = {}
        for f in dataclasses.fields(Probe):
            value = getattr(probe, f.name)
            name = f"s{i}.{f.name}"
            if value is None:
                kinds[f.name] = "none"
            elif isinstance(value, np.ndarray):
                kinds[f.name] = "array"
                arrays[name] = _plain_array(name, value)
            elif isinstance(value, dict):
                keys = list(value)
                if not all(isinstance(k, str) for k in keys):
                    raise ValueError(f"{name}: dict keys must be strings")
                for k in keys:
                    if not isinstance(value[k], np.ndarray):
                        raise ValueError(f"{name}.{k} is not a numpy array")
                    arrays[f"{name}.{k}"] = _plain_array(f"{name}.{k}", value[k])
                kinds[f.name] = {"dict": keys}
            elif isinstance(value, bool | np.bool_):
                kinds[f.name] = "bool"
                arrays[name] = np.asarray(value, dtype=bool)
            elif isinstance(value, int | np.integer):
                kinds[f.name] = "int"
                arrays[name] = np.asarray(value, dtype=np.int64)
            elif isinstance(value, float | np.floating):
                kinds[f.name] = "float"
                arrays[name] = np.asarray(value, dtype=np.float64)
            else:
                raise ValueError(f"{name}: cannot store a {type(value).__name__}")
        layout.append(kinds)
    arrays[_LAYOUT] = np.frombuffer(canonical_json(layout).encode(), dtype=np.uint8)
    return arrays


_SCALARS = {"bool": bool, "int": int, "float": float}


def decode_snapshots(arrays: dict[str, np.ndarray], count: int) -> list[Probe]:
    if _LAYOUT not in arrays:
        raise EntryError("snapshots.npz has no layout")
    layout = json.loads(arrays.pop(_LAYOUT).tobytes().decode())
    if not isinstance(layout, list) or len(layout) != count:
        raise EntryError(f"snapshots.npz does not describe the {count} snapshots of meta.json")
    names = {f.name for f in dataclasses.fields(Probe)}
    used = set()
    snapshots = []
    for i, kinds in enumerate(layout):
        if not isinstance(kinds, dict) or not set(kinds) <= names:
            raise EntryError(f"snapshot {i}: fields that a Probe does not have")
        values = {}
        for field_name, kind in kinds.items():
            name = f"s{i}.{field_name}"
            if kind == "none":
                values[field_name] = None
            elif kind == "array":
                values[field_name] = arrays[name]
                used.add(name)
            elif isinstance(kind, dict) and isinstance(kind.get("dict"), list):
                values[field_name] = {k: arrays[f"{name}.{k}"] for k in kind["dict"]}
                used.update(f"{name}.{k}" for k in kind["dict"])
            elif kind in _SCALARS:
                scalar = arrays[name]
                if scalar.shape != ():
                    raise EntryError(f"{name} is not a scalar")
                values[field_name] = _SCALARS[kind](scalar.item())
                used.add(name)
            else:
                raise EntryError(f"{name}: unknown kind {kind!r}")
        snapshots.append(Probe(**values))  # TypeError when a required field is missing
    if used != set(arrays):
        raise EntryError("snapshots.npz holds arrays its layout does not name")
    return snapshots


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def npz_arrays(data: bytes, what: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except Exception as error:  # zipfile, numpy's header parser and ValueError all occur
        raise EntryError(f"{what} is not a readable npz: {one_line(error)}") from error


def checkpoint_bytes(checkpoint: dict) -> bytes:
    if not isinstance(checkpoint, dict):
        raise TypeError(f"checkpoint must be a dict, got {type(checkpoint).__name__}")
    buffer = io.BytesIO()
    try:
        torch.save(checkpoint, buffer)
    except Exception as error:  # an object pickle cannot reach (a local class, a lock)
        raise ValueError(f"the checkpoint cannot be saved: {one_line(error)}") from error
    data = buffer.getvalue()
    # Refuse now what load would refuse later: an entry whose checkpoint cannot be read
    # with weights_only would be stored, found bad and deleted on every visit.
    try:
        torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:
        raise ValueError(
            f"the checkpoint holds objects torch.load(weights_only=True) refuses: {one_line(error)}"
        ) from error
    return data


def load_checkpoint(data: bytes) -> dict:
    # torch.save writes a zip archive; the older raw-pickle format is never ours, and
    # refusing it here keeps torch's legacy loader (and its warnings) out of the way.
    if not data.startswith(_ZIP_MAGIC):
        raise EntryError("checkpoint.pt is not the zip archive torch.save writes")
    try:
        checkpoint = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as error:  # UnpicklingError for a refused object, RuntimeError for a bad zip
        reason = f"checkpoint.pt refused by torch.load(weights_only=True): {one_line(error)}"
        raise EntryError(reason) from error
    if not isinstance(checkpoint, dict):
        raise EntryError(f"checkpoint.pt holds a {type(checkpoint).__name__}, not a dict")
    return checkpoint
