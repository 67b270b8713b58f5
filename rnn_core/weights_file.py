"""A run's weights as a state_dict file, and reading such a file back to inspect it.

``weights_bytes`` writes a model's state_dict (plain tensors, ``torch.save``) as the
app's "Weights (state_dict .pt)" download; the exported script (``export_script``) and
any ``nn.Module`` of the same shape load it.

``read_weights`` reads a file a visitor uploads. A .pt file is a pickle, and unpickling
runs whatever code the pickle names, so the file is only ever read with
``torch.load(..., weights_only=True)``, whose unpickler accepts tensors and plain
containers and refuses every other global before calling it. Before that, the file's
size, its zip layout (what ``torch.save`` has written since PyTorch 1.6: stored, never
compressed, entries) and the sizes it declares are checked, so a small file cannot
unpack into a large one. Anything else is refused with ``WeightsFileError``, whose
message is one sentence for the page: an empty file, a file too large, a pickle with
code in it (named, never run), a file that is not a PyTorch file, anything but a dict of
named tensors, a tensor with NaN or infinite values.

``describe``, ``shape_problems`` and ``recurrent_spectra`` read an accepted file: what
each tensor holds, whether it fits a run's model, and the spectral radius of each of its
recurrent blocks (no training, no model built).
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
import warnings
import zipfile

import pandas as pd
import torch

from rnn_core.models import builder_for
from rnn_core.recurrent_layers import GATE_NAMES, RECURRENT_LAYERS, spectral_radius
from rnn_core.tasks import TASKS

MB = 2**20
# The largest run this app trains (4 layers of an LSTM 256 wide) has about 2.1 million
# parameters, 8.4 MB as float32: twice that is room for any run's weights.
MAX_FILE_MB = 16
MAX_FILE_BYTES = MAX_FILE_MB * MB
MAX_UNPACKED_BYTES = 2 * MAX_FILE_BYTES  # what the archive's entries may add up to
MAX_ENTRIES = 4096  # zip entries: one per tensor storage plus a few of torch's own
MAX_TENSORS = 1024
MAX_NAME = 200  # characters of a tensor's name

_GLOBAL = re.compile(r"GLOBAL ([\w.]{1,80})")
# Pickle opcodes that fetch a Python object by name (and so may call it).
_NAMING_OPCODES = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX"}


class WeightsFileError(ValueError):
    """A file that is not a state_dict this app reads; the message says why, in a sentence."""


def weights_bytes(state_dict: dict[str, torch.Tensor]) -> bytes:
    """``state_dict`` as the bytes of a .pt file: a plain dict of contiguous CPU tensors,
    which ``torch.load(..., weights_only=True)`` (and ``read_weights``) reads back."""
    plain = {str(k): v.detach().to("cpu").clone().contiguous() for k, v in state_dict.items()}
    buffer = io.BytesIO()
    torch.save(plain, buffer)
    return buffer.getvalue()


def read_weights(data: bytes) -> dict[str, torch.Tensor]:
    """The state_dict in the bytes of an uploaded file, or WeightsFileError saying why
    not. Reads only with ``torch.load(..., weights_only=True)``: nothing in the file runs."""
    size = len(data)
    if size == 0:
        raise WeightsFileError("The file is empty.")
    if size > MAX_FILE_BYTES:
        raise WeightsFileError(
            f"The file is {size / MB:.1f} MB; this app reads weights files of up to "
            f"{MAX_FILE_MB} MB (the largest run it trains needs about 8.4 MB)."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise WeightsFileError(_not_a_zip(data))
    _check_archive(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols it reads
            loaded = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        raise WeightsFileError(_code_refusal(str(err))) from None
    except Exception as err:  # noqa: BLE001 - any failure of a visitor's file is a sentence
        reason = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        raise WeightsFileError(
            f"The file is a zip archive but not one torch.load can read ({reason})."
        ) from None
    return _checked_state_dict(loaded)


def _not_a_zip(data: bytes) -> str:
    """The refusal of a file that is not a zip archive: a bare pickle (with code in it,
    or not) or anything else. A pickle is only scanned (pickletools), never loaded."""
    names = _pickle_globals(data)
    if names:
        return _code_refusal(" ".join(f"GLOBAL {n}" for n in names))
    if names is not None:
        return (
            "The file is a bare pickle, not a PyTorch file: save weights with "
            "torch.save(model.state_dict(), path), which writes a zip archive."
        )
    return (
        "This is not a PyTorch weights file: torch.save writes a zip archive (since "
        "PyTorch 1.6), and this file is not one."
    )


def _pickle_globals(data: bytes) -> list[str] | None:
    """The objects a pickle would fetch by name ("module.name"; "code" for the opcodes
    that build an object from one already fetched), or None when the bytes are not one
    whole pickle. Read with pickletools, which decodes opcodes and runs none."""
    names, strings = [], []
    try:
        for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
            if isinstance(arg, str):
                strings = [*strings[-1:], arg]  # STACK_GLOBAL takes the last two
            if opcode.name == "GLOBAL":
                names.append(str(arg).replace(" ", ".")[:80])
            elif opcode.name == "STACK_GLOBAL" and len(strings) == 2:
                names.append(".".join(strings)[:80])
            elif opcode.name in _NAMING_OPCODES:
                names.append("code")
    except Exception:  # noqa: BLE001 - not a pickle (genops raises on the first bad opcode)
        return None
    return list(dict.fromkeys(names))[:4]


def _code_refusal(detail: str) -> str:
    found = [name for name in dict.fromkeys(_GLOBAL.findall(detail)) if name != "code"]
    named = f" (it calls {', '.join(found)})" if found else ""
    return (
        f"The file holds Python objects beyond tensors{named}: unpickling it would run "
        f"code, so it was not read. A state_dict saved with "
        f"torch.save(model.state_dict(), path) holds only tensors."
    )


def _check_archive(data: bytes) -> None:
    """Refuse an archive that would unpack into much more than it is (a zip bomb) or
    that torch.save could not have written."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise WeightsFileError(f"The file is a damaged zip archive ({err}).") from None
    if len(entries) > MAX_ENTRIES:
        raise WeightsFileError(
            f"The archive has {len(entries):,} entries; a state_dict this app reads has "
            f"at most {MAX_ENTRIES:,}."
        )
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        raise WeightsFileError(
            "The archive has compressed entries, which torch.save never writes; it is "
            "refused rather than unpacked."
        )
    declared = sum(entry.file_size for entry in entries)
    if declared > MAX_UNPACKED_BYTES:
        raise WeightsFileError(
            f"The archive declares {declared / MB:,.0f} MB of contents, more than this app "
            f"unpacks ({MAX_UNPACKED_BYTES // MB} MB)."
        )
    if not any(entry.filename.endswith("data.pkl") for entry in entries):
        raise WeightsFileError(
            "The file is a zip archive but not a PyTorch file (it has no data.pkl)."
        )


def _checked_state_dict(loaded) -> dict[str, torch.Tensor]:
    if not isinstance(loaded, dict):
        raise WeightsFileError(
            f"The file holds a {type(loaded).__name__}, not a state_dict (a dict from "
            f"names to tensors, as model.state_dict() gives)."
        )
    if not loaded:
        raise WeightsFileError("The file holds an empty dict: there are no tensors in it.")
    if len(loaded) > MAX_TENSORS:
        raise WeightsFileError(
            f"The file holds {len(loaded):,} entries; a state_dict this app reads has at "
            f"most {MAX_TENSORS:,}."
        )
    weights = {}
    for name, value in loaded.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME:
            raise WeightsFileError(
                f"The entry {_shown(name)} has no usable name: a state_dict names every "
                f"tensor with a string of 1 to {MAX_NAME} characters."
            )
        if not isinstance(value, torch.Tensor):
            raise WeightsFileError(
                f"The entry {_shown(name)} is not a tensor (it is of type "
                f"{type(value).__name__}): a state_dict maps names to tensors."
            )
        if value.layout != torch.strided or value.is_quantized:
            raise WeightsFileError(f"The tensor {_shown(name)} is not a dense tensor.")
        if value.is_floating_point() or value.is_complex():
            bad = int((~torch.isfinite(value)).sum())
            if bad:
                raise WeightsFileError(
                    f"The tensor {_shown(name)} holds {bad:,} NaN or infinite value(s) "
                    f"(of {value.numel():,}): these weights cannot be inspected (a run "
                    f"that diverged? The app keeps its last finite weights)."
                )
        weights[name] = value.detach()
    return weights


def _shown(name) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------- inspecting
def describe(weights: dict[str, torch.Tensor]) -> pd.DataFrame:
    """One row per tensor: name, shape, dtype, norm, min, max."""
    rows = []
    for name, tensor in weights.items():
        values = tensor.double() if not tensor.is_complex() else tensor.abs().double()
        empty = values.numel() == 0
        rows.append(
            {
                "name": name,
                "shape": " × ".join(str(n) for n in tensor.shape) or "scalar",
                "dtype": str(tensor.dtype).removeprefix("torch."),
                "norm": float(values.norm()) if not empty else 0.0,
                "min": float(values.min()) if not empty else math.nan,
                "max": float(values.max()) if not empty else math.nan,
            }
        )
    return pd.DataFrame(rows)


def model_shapes(config, task=None) -> dict[str, tuple[int, ...]]:
    """The state_dict layout (name -> shape) of ``config``'s model, built on the meta
    device (no memory, no weights drawn). ``task``: the task object the run trains on when
    it is not the registered one (uploaded data may have other input widths)."""
    task = TASKS[config.task] if task is None else task
    builder = builder_for(config.model, task, config.attention)
    model = builder(task.input_size, task.output_size, device="meta", **config.shape.kwargs)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def shape_problems(weights: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]]) -> list:
    """Sentences saying how ``weights`` differ from a model's layout ``shapes`` (missing
    or extra tensors, other shapes); empty when every name and shape matches."""
    problems = []
    missing = [n for n in shapes if n not in weights]
    extra = [n for n in weights if n not in shapes]
    if missing:
        problems.append(f"missing {_listed(missing)}")
    if extra:
        problems.append(f"not in the model: {_listed(extra)}")
    differ = [n for n, shape in shapes.items() if n in weights and weights[n].shape != shape]
    for name in differ[:4]:
        got = " × ".join(map(str, weights[name].shape)) or "scalar"
        problems.append(f"{name} is {got}, the model's is {' × '.join(map(str, shapes[name]))}")
    if len(differ) > 4:
        problems.append(f"{len(differ) - 4} more of other shapes")
    return problems


def _listed(names: list[str], most: int = 4) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


_WEIGHT_HH = re.compile(r"(?:^|\.)weight_hh_l(\d+)$")


def recurrent_spectra(weights: dict[str, torch.Tensor], cell: str) -> pd.DataFrame:
    """The spectral radius and largest singular value of every H x H recurrent block in
    ``weights`` (each ``weight_hh_l{k}`` split into ``cell``'s gates): above 1, a
    linear recurrence through that block grows; below, it fades."""
    gates = GATE_NAMES[RECURRENT_LAYERS[cell][0]]
    rows = []
    for name, tensor in weights.items():
        match = _WEIGHT_HH.search(name)
        if match is None or tensor.dim() != 2 or not tensor.is_floating_point():
            continue
        rows_, cols = tensor.shape
        if rows_ != len(gates) * cols:
            continue  # not this cell's layout: nothing to split
        for gate, block in zip(gates, tensor.chunk(len(gates), dim=0), strict=True):
            rows.append(
                {
                    "tensor": name,
                    "layer": int(match.group(1)),
                    "gate": gate,
                    "spectral radius": spectral_radius(block),
                    "largest singular value": float(torch.linalg.matrix_norm(block.double(), 2)),
                }
            )
    return pd.DataFrame(
        rows, columns=["tensor", "layer", "gate", "spectral radius", "largest singular value"]
    )
