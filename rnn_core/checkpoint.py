"""The checkpoint format of ``Trainer.checkpoint()``, and the checks behind ``Trainer.resume``.

A checkpoint comes back from anywhere (a file another process wrote, a shared run's
answer), so before a trainer takes it over every piece is checked against the run it
claims to be: a misfit raises CheckpointError with a sentence saying what does not fit,
rather than a shape error at the next step or, worse, a run that quietly continues
another one. The dict holds only what ``torch.load(..., weights_only=True)`` reads back:
tensors, numbers, strings, None, and lists, tuples and dicts of them.
"""

from __future__ import annotations

import operator

import pandas as pd
import torch

from rnn_core.config import ConfigError, RunConfig
from rnn_core.probes import Probe

# The layout of Trainer.checkpoint()'s dict; resume() refuses any other. Bump it whenever
# a key is added, dropped or changes meaning.
CHECKPOINT_VERSION = 1
CHECKPOINT_KEYS = (
    "version",
    "config",
    "options",
    "steps_done",
    "probe_every",
    "seconds",
    "status",
    "message",
    "model",
    "optimizer",
    "last_good",
    "data_generator",
    "record",
)
# The Trainer options a checkpoint keeps: each one changes the history or the snapshots.
OPTION_NAMES = (
    "probe_every",
    "snapshot_bytes",
    "probe_batch",
    "snapshot_sequences",
    "eval_every",
    "eval_batch",
    "light_probes",
)


class CheckpointError(ValueError):
    """A checkpoint that cannot continue a run: another format version, missing keys,
    another run's pieces, or a history or snapshots of another step."""


def plain_options(options: dict) -> dict:
    """Trainer options as a checkpoint keeps them: whole numbers and one bool."""
    try:
        return {
            name: bool(value) if name == "light_probes" else operator.index(value)
            for name, value in options.items()
        }
    except TypeError:
        raise ValueError(
            f"Trainer options must be whole numbers to checkpoint: {options}"
        ) from None


def tensor_copies(value):
    """``value`` with every tensor cloned and every mapping a plain dict."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: tensor_copies(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(tensor_copies(v) for v in value)
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _listed(values, most: int = 6) -> str:
    values = list(values)
    if len(values) > most:
        values = [*values[: most - 1], "...", values[-1]]
    return "[" + ", ".join(map(str, values)) + "]"


def _keys_misfit(missing: list, unexpected: list) -> str:
    parts = [f"lacks {', '.join(map(repr, missing))}"] if missing else []
    parts += [f"has unexpected {', '.join(map(repr, unexpected))}"] if unexpected else []
    return " and ".join(parts)


def checked_fields(checkpoint) -> dict:
    """The checkpoint, once its keys and scalar values have the right types."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"a checkpoint is the dict of Trainer.checkpoint(), not a {type(checkpoint).__name__}"
        )
    version = checkpoint.get("version")
    if not _is_int(version) or version != CHECKPOINT_VERSION:
        raise CheckpointError(
            f"the checkpoint is of format version {version!r}; this engine reads version "
            f"{CHECKPOINT_VERSION} only"
        )
    missing = [k for k in CHECKPOINT_KEYS if k not in checkpoint]
    unexpected = sorted(map(str, set(checkpoint) - set(CHECKPOINT_KEYS)))
    if missing or unexpected:
        raise CheckpointError(f"the checkpoint {_keys_misfit(missing, unexpected)}")
    ck = checkpoint
    problems = []
    if not _is_int(ck["steps_done"]) or ck["steps_done"] < 0:
        problems.append(f"steps_done {ck['steps_done']!r} is not a count")
    if not _is_int(ck["probe_every"]) or ck["probe_every"] < 1:
        problems.append(f"probe_every {ck['probe_every']!r} is not a positive whole number")
    seconds = ck["seconds"]
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not seconds >= 0:
        problems.append(f"seconds {seconds!r} is not a duration")
    if ck["status"] not in ("ok", "diverged"):
        problems.append(f"status {ck['status']!r} is neither 'ok' nor 'diverged'")
    if not isinstance(ck["message"], str):
        problems.append("message is not a string")
    options = ck["options"]
    if not isinstance(options, dict) or sorted(map(str, options)) != sorted(OPTION_NAMES):
        problems.append(f"options are not the Trainer options {', '.join(OPTION_NAMES)}")
    else:
        for name, value in options.items():
            if name == "light_probes":
                ok = isinstance(value, bool)
            else:  # a zero cadence or batch would fail at the first step
                ok = _is_int(value) and value >= (0 if name == "snapshot_bytes" else 1)
            if not ok:
                problems.append(f"option {name}={value!r} is not valid")
    record = ck["record"]
    if (
        not isinstance(record, dict)
        or sorted(map(str, record)) != ["last_row", "snapshot_nbytes", "snapshot_steps"]
        or not (
            record["last_row"] is None
            or isinstance(record["last_row"], list)
            and all(isinstance(v, int | float) for v in record["last_row"])
        )
        or not isinstance(record["snapshot_steps"], list)
        or not all(_is_int(s) for s in record["snapshot_steps"])
        or not _is_int(record["snapshot_nbytes"])
    ):
        problems.append("its record (last history row, snapshot steps and bytes) is malformed")
    if problems:
        raise CheckpointError(f"the checkpoint does not fit: {'; '.join(problems)}")
    return ck


def checked_config(query) -> RunConfig:
    """The RunConfig of a checkpoint's ``config`` (``RunConfig.to_query()``), strictly."""
    if not isinstance(query, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in query.items()
    ):
        raise CheckpointError("the checkpoint's config is not a RunConfig query (str to str)")
    try:
        config = RunConfig.from_query(query)
    except ConfigError as err:
        raise CheckpointError(f"the checkpoint's config is not a valid run: {err}") from None
    exact = config.to_query()
    if exact != query:
        # from_query takes defaults for missing keys and ignores unknown ones; a checkpoint
        # names every field in its canonical form, so anything else is another engine's run.
        missing = [k for k in exact if k not in query]
        unexpected = [k for k in query if k not in exact]
        other = [f"{k}={query[k]!r}" for k in exact if k in query and query[k] != exact[k]]
        misfit = _keys_misfit(missing, unexpected)
        misfit += (" and " if misfit and other else "") + (
            f"writes {', '.join(other)} otherwise" if other else ""
        )
        raise CheckpointError(f"the checkpoint's config is not RunConfig.to_query(): it {misfit}")
    return config


def check_tensor(what: str, value, reference: torch.Tensor) -> None:
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"the checkpoint's {what} is a {type(value).__name__}, not a tensor")
    if value.shape != reference.shape or value.dtype != reference.dtype:
        raise CheckpointError(
            f"the checkpoint's {what} is {tuple(value.shape)} {value.dtype}; this run's model "
            f"has {tuple(reference.shape)} {reference.dtype}"
        )


def check_tensors(what: str, saved, expected: dict) -> None:
    """Raise CheckpointError unless ``saved`` has ``expected``'s keys, tensor for tensor
    of the same shape and dtype (``load_state_dict`` would cast another dtype silently)."""
    if not isinstance(saved, dict):
        raise CheckpointError(f"the checkpoint's {what} is not a dict of tensors")
    missing = [k for k in expected if k not in saved]
    unexpected = [str(k) for k in saved if k not in expected]
    if missing or unexpected:
        raise CheckpointError(
            f"the checkpoint's {what} does not fit this run's model: it "
            f"{_keys_misfit(missing[:6], unexpected[:6])}"
        )
    for name, reference in expected.items():
        check_tensor(f"{what} {name}", saved[name], reference)


def check_tensor_list(what: str, saved, params: list) -> None:
    if not isinstance(saved, list | tuple) or len(saved) != len(params):
        raise CheckpointError(
            f"the checkpoint's {what} is not a list of {len(params)} tensors (one a parameter)"
        )
    for i, (value, param) in enumerate(zip(saved, params, strict=True)):
        check_tensor(f"{what}[{i}]", value, param)


def _same_setting(a, b) -> bool:
    """Equal, and of the same types all the way down (no tensor comparisons)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_setting(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(_same_setting, a, b))
    return not isinstance(a, torch.Tensor) and a == b


def check_optimizer(saved, optimizer: torch.optim.Optimizer, params: list, name: str) -> None:
    """Raise CheckpointError unless ``saved`` is a state_dict of ``optimizer`` (its fresh
    self, over ``params``; ``name`` is the run's optimizer, for the message)."""
    # load_state_dict replaces the hyperparameters by the saved ones and checks no state
    # shape until the next step, so both are checked here against this run's optimizer.
    fresh = optimizer.state_dict()  # the one the config builds, before any step
    if not isinstance(saved, dict) or sorted(map(str, saved)) != ["param_groups", "state"]:
        raise CheckpointError("the checkpoint's optimizer is not an optimizer's state_dict")
    if not _same_setting(saved["param_groups"], fresh["param_groups"]):
        raise CheckpointError(
            f"the checkpoint's optimizer settings are not this run's {name} "
            f"(learning rate {optimizer.param_groups[0]['lr']:g}, {len(params)} parameters)"
        )
    state = saved["state"]
    if not isinstance(state, dict):
        raise CheckpointError("the checkpoint's optimizer state is not a dict")
    for index, entry in state.items():
        if not _is_int(index) or not 0 <= index < len(params) or not isinstance(entry, dict):
            raise CheckpointError(
                f"the checkpoint's optimizer state {index!r} is not one of this run's "
                f"{len(params)} parameters"
            )
        for key, value in entry.items():
            if value is None:  # an SGD without momentum keeps no buffer
                continue
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"the checkpoint's optimizer state {key!r} is not a tensor")
            if value.dim() > 0:  # 0-d: a step count
                check_tensor(f"optimizer {key} of parameter {index}", value, params[index])


def _same_values(a: list, b: list) -> bool:
    """Equal element for element, NaN equal to NaN."""
    return len(a) == len(b) and all(
        x == y or (x != x and y != y) for x, y in zip(a, b, strict=True)
    )


def history_rows(history, columns: tuple, steps_done: int, last_row: list | None) -> list[tuple]:
    """A history DataFrame as a trainer's own rows (tuples in the order of ``columns``:
    ``step`` an int, ``clipped`` a bool, the rest floats), once it is the checkpoint's."""
    if not isinstance(history, pd.DataFrame):
        raise CheckpointError(
            f"the history is the DataFrame of Trainer.history, not a {type(history).__name__}"
        )
    if sorted(map(str, history.columns)) != sorted(columns):
        raise CheckpointError(
            f"the history's columns are {_listed(history.columns, 10)}, not {_listed(columns, 10)}"
        )
    casts = [int if c == "step" else bool if c == "clipped" else float for c in columns]
    try:
        rows = [
            tuple(cast(value) for cast, value in zip(casts, row, strict=True))
            for row in history[list(columns)].itertuples(index=False, name=None)
        ]
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"the history holds a value that is not a number: {err}") from None
    steps = [row[0] for row in rows]
    if steps != list(range(1, steps_done + 1)):
        raise CheckpointError(
            f"the history's steps are {_listed(steps)}, but the checkpoint was taken after "
            f"step {steps_done}: hand over the history of the same moment (resume_point())"
        )
    if rows:
        last = list(rows[-1])
        del last[columns.index("seconds")]
        if last_row is None or not _same_values(last, last_row):
            raise CheckpointError(
                f"the history's step {steps_done} is not the checkpointed run's "
                f"(another run's history?)"
            )
    return rows


def checked_snapshots(snapshots, record: dict) -> list[Probe]:
    """The snapshots as a list, once they are those the checkpoint's ``record`` lists."""
    if isinstance(snapshots, Probe) or not isinstance(snapshots, list | tuple):
        raise CheckpointError("the snapshots are the list of Trainer.snapshots")
    snapshots = list(snapshots)
    if not all(isinstance(p, Probe) for p in snapshots):
        raise CheckpointError("the snapshots must all be Probes (Trainer.snapshots)")
    steps = [p.step for p in snapshots]
    if steps != record["snapshot_steps"]:
        raise CheckpointError(
            f"the snapshots are of steps {_listed(steps)}, the checkpoint's of steps "
            f"{_listed(record['snapshot_steps'])}: hand over the snapshots of the same "
            f"moment (resume_point())"
        )
    nbytes = sum(p.nbytes for p in snapshots)
    if nbytes != record["snapshot_nbytes"]:
        # The byte budget thins the snapshots: other sizes would thin them at other steps.
        raise CheckpointError(
            f"the snapshots hold {nbytes:,} bytes of arrays, the checkpointed run's "
            f"{record['snapshot_nbytes']:,}: their arrays were changed"
        )
    return snapshots
