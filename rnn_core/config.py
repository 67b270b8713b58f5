"""RunConfig: the one typed description of a training run, its limits, and its URL form.

Widgets build a RunConfig; the engine only ever sees a RunConfig. Every field has a
default, every value is validated on construction, and ``to_query``/``from_query``
round-trip it through a URL so that a shared link restores the exact run.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from rnn_core.budget import ModelShape, model_shape, within_budget
from rnn_core.models import MODEL_TITLES, MODELS, RECURRENT  # noqa: F401 - re-exported
from rnn_core.tasks import TASKS
from rnn_core.tasks.base import ENCODER_DECODERS
from rnn_core.tasks.uploaded import KIND_TASKS

CHOICES: dict[str, tuple[str, ...]] = {
    # Recurrent cells first: the run pages offer only these (RECURRENT); the race page
    # adds the TCN, the transformer and, on image tasks, the 2-D CNN.
    "model": tuple(MODELS),
    "task": tuple(TASKS),
    "optimizer": ("adam", "sgd", "rmsprop"),
    "init": ("default", "orthogonal", "identity"),
    # Encoder-decoder tasks only (Task.architecture in ENCODER_DECODERS).
    "attention": ("off", "luong"),
    # "private": the task's data is the visitor's own upload (rnn_core.tasks.uploaded),
    # which lives in their session only: such a run is never stored or shared.
    "data": ("default", "private"),
}

# Inclusive (min, max) per numeric field. Optional fields (lr, clip, recurrent_scale,
# param_budget, tcn_levels) may also be None; the range applies to their numeric values.
LIMITS: dict[str, tuple[float, float]] = {
    "seq_len": (1, 2000),
    "hidden_size": (1, 256),
    "num_layers": (1, 4),
    "batch_size": (1, 256),
    "lr": (1e-5, 1.0),
    "clip": (0.01, 100.0),
    "recurrent_scale": (0.01, 10.0),
    "seed": (0, 2**31 - 1),
    "param_budget": (1_000, 50_000),
    "tcn_kernel": (2, 8),
    "tcn_levels": (1, 10),
    "attn_heads": (1, 4),
    "attn_layers": (1, 2),
}

_INT_FIELDS = (
    "seq_len",
    "hidden_size",
    "num_layers",
    "batch_size",
    "seed",
    "param_budget",
    "tcn_kernel",
    "tcn_levels",
    "attn_heads",
    "attn_layers",
)
_OPTIONAL_FIELDS = ("lr", "clip", "recurrent_scale", "param_budget", "tcn_levels")
_OPTIONAL_FLOAT_FIELDS = ("lr", "clip", "recurrent_scale")

# Joint cost cap on one training step, in "multiply-add equivalents" (budget.py holds
# the estimate for every model). A least-squares fit of measured step times (forward,
# backward, Adam; one thread; bench/cost_cap.py) over batch, length, width and layers
# gave, for the slowest cell (the GRU, on ATen loops): 5.2e-11 s per multiply-add, plus
# about 200 multiply-adds' worth per gate unit and step (elementwise work), plus about
# 1.65e6 per time step and layer (the per-step kernel overhead that dominates at small
# widths). At the cap, bench/cost_cap.py measures steps of 0.07-0.25 s (worst: the GRU
# at T=1000); it still admits T = 1000 on the memory tasks at hidden 32, batch 64.
MAX_STEP_COST = 4_100_000_000

# Recommended learning rates when RunConfig.lr is None, per optimizer. Adam at 1e-2
# with clipping at 1 solves the adding problem at T=50 with an LSTM or GRU by about
# step 550 (1e-3 did not within 1,000); the same settings are used for the plain RNNs
# so that a side-by-side run differs only in the cell.
DEFAULT_LR = {"adam": 1e-2, "sgd": 0.1, "rmsprop": 1e-3}

_MAX_TEXT = 40  # longest query value we accept; anything longer is hostile or a mistake


class ConfigError(ValueError):
    """An invalid configuration value. ``field`` names the offending RunConfig field."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _show(value: Any) -> str:
    """A short, inert rendering of a user-supplied value for error messages."""
    text = repr(value)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 3] + "..."


def _range_text(name: str, optional: bool | None = None) -> str:
    lo, hi = LIMITS[name]
    fmt = "{:d}" if name in _INT_FIELDS else "{:g}"
    text = f"{fmt.format(int(lo) if name in _INT_FIELDS else lo)} to "
    text += fmt.format(int(hi) if name in _INT_FIELDS else hi)
    if optional is None:
        optional = name in _OPTIONAL_FIELDS
    return text + (", or none" if optional else "")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a training run.

    The same RunConfig gives the same training history (at the same number of torch
    threads). ``lr=None`` means the optimizer's recommended default (``DEFAULT_LR``);
    ``clip=None`` means no gradient clipping; ``recurrent_scale`` rescales every
    initial recurrent H x H block to that spectral radius (how a preset makes
    gradients explode). Invalid values raise ``ConfigError``.

    ``param_budget`` (None = off) sizes every model to within ±10% of that many
    trainable parameters instead of ``hidden_size`` (``shape`` says how); the TCN has
    ``tcn_kernel`` and ``tcn_levels`` (None = the fewest levels whose receptive field
    covers the sequence), the transformer ``attn_heads`` and ``attn_layers``. On a task
    that asks for an encoder-decoder (translation), ``model`` is the encoder's and the
    decoder's cell and ``attention`` says whether the decoder attends to the encoder's
    states ("luong") or reads only its own ("off", the only value other tasks take).
    ``init`` and ``recurrent_scale`` apply to recurrent models only. ``data="private"``
    says the task's data is a visitor's upload (a task of ``KIND_TASKS``), which the
    Trainer must be given (``Trainer(config, task=...)``): such a run is never stored.
    """

    model: str = "lstm"
    task: str = "adding"
    seq_len: int = 50
    hidden_size: int = 32
    num_layers: int = 1
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float | None = None
    clip: float | None = 1.0
    init: str = "default"
    recurrent_scale: float | None = None
    seed: int = 0
    param_budget: int | None = None
    tcn_kernel: int = 8
    tcn_levels: int | None = None
    attn_heads: int = 2
    attn_layers: int = 2
    attention: str = "off"
    data: str = "default"

    def __post_init__(self) -> None:
        for name in field_names():
            check_field(name, getattr(self, name))
        _check_joint(self)

    # ----------------------------------------------------------------- derived values
    @property
    def learning_rate(self) -> float:
        """The learning rate actually used (the default when ``lr`` is None)."""
        return DEFAULT_LR[self.optimizer] if self.lr is None else self.lr

    @property
    def shape(self) -> ModelShape:
        """The model's widths, exact parameter count and step cost (budget.py)."""
        return model_shape(self)

    @property
    def cost(self) -> int:
        """Estimated cost of one training step (the quantity MAX_STEP_COST caps)."""
        return self.shape.cost

    def replace(self, **changes: Any) -> RunConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------- URL round trip
    def to_query(self) -> dict[str, str]:
        """Every field as a string (None as "none"), so a link stays exact even if
        the defaults change later; ``data`` only when it is not the default."""
        out = {}
        for name in field_names():
            if name == "data" and self.data == "default":
                continue  # the usual data: links, store keys and checkpoints as before
            value = getattr(self, name)
            out[name] = (
                "none"
                if value is None
                else (repr(float(value)) if name in _OPTIONAL_FLOAT_FIELDS else str(value))
            )
        return out

    @classmethod
    def from_query(cls, mapping: Mapping[str, Any], lenient: bool = False):
        """Build a RunConfig from URL query parameters.

        Missing keys take their defaults and unknown keys are ignored. Strict mode
        raises ConfigError on the first bad value. ``lenient=True`` returns
        ``(RunConfig, [ConfigError, ...])`` with every bad field at its default.
        """
        values: dict[str, Any] = {}
        errors: list[ConfigError] = []
        for name in field_names():
            if name not in mapping:
                continue
            raw = mapping[name]
            if isinstance(raw, list | tuple):  # a repeated parameter: the last one wins
                raw = raw[-1] if raw else ""
            try:
                values[name] = _parse(name, raw)
            except ConfigError as err:
                if not lenient:
                    raise
                errors.append(err)
        if not lenient:
            return cls(**values)
        # Joint constraints (task length range, cost cap) blame one field at a time;
        # reset it to its default and retry. Each retry removes a key, so this ends.
        while True:
            try:
                return cls(**values), errors
            except ConfigError as err:
                if err.field == "seq_len" and "seq_len" not in values and "task" in values:
                    # A link that names a task but no length (?task=digits_pixels): the
                    # task's nearest length to the default, as the sidebar picks one when
                    # the task changes; nothing the link said was wrong.
                    task = TASKS[values["task"]]
                    high = task.max_seq_len or int(LIMITS["seq_len"][1])
                    values["seq_len"] = min(max(cls().seq_len, task.min_seq_len), high)
                    continue
                errors.append(err)
                # The blamed field may be a default the link did not set: then drop the
                # link's last value instead, or this loop never ends.
                values.pop(err.field if err.field in values else next(reversed(values)))


def field_names() -> tuple[str, ...]:
    """The user-facing fields, in declaration order (also the URL keys)."""
    return tuple(f.name for f in fields(RunConfig))


def _parse(name: str, raw: Any) -> Any:
    """Parse one query string into a typed value, or raise ConfigError."""
    if not isinstance(raw, str):
        raw = str(raw)
    if len(raw) > _MAX_TEXT or "\x00" in raw:
        raise ConfigError(
            name,
            f"{name}: value {_show(raw)} is not valid (too long or contains control characters).",
        )
    text = raw.strip()
    if name in CHOICES:
        if text not in CHOICES[name]:
            raise ConfigError(
                name, f"{name}: {_show(raw)} is not one of {', '.join(CHOICES[name])}."
            )
        return text
    if name in _OPTIONAL_FIELDS and text.lower() in ("none", "null", ""):
        return None
    if name in _INT_FIELDS:
        if not re.fullmatch(r"[+-]?\d{1,12}", text, re.ASCII):
            raise ConfigError(
                name, f"{name}: {_show(raw)} is not a whole number; allowed {_range_text(name)}."
            )
        return int(text)
    # Floats: plain decimal or scientific notation only, so "nan", "inf", "0x10",
    # "1_000" and friends are refused before float() can accept them.
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?", text, re.ASCII):
        raise ConfigError(
            name, f"{name}: {_show(raw)} is not a number; allowed {_range_text(name)}."
        )
    return float(text)


def parse_value(name: str, raw: Any) -> Any:
    """One URL value of the field ``name``, typed and checked on its own (ConfigError
    when it is not a valid value of that field): for settings written apart from a
    whole configuration (a run trained alongside another, ``rnn_core.alongside``)."""
    value = _parse(name, raw)
    check_field(name, value)
    return value


def check_field(name: str, value: Any, *, optional: bool | None = None) -> None:
    """Raise ConfigError unless ``value`` is valid for the RunConfig field ``name`` on its
    own: one of its CHOICES, or a number of the field's type within its LIMITS.

    ``optional`` says whether None is allowed; by default where RunConfig allows it.
    ``optional=False`` is for callers that need the number itself even where a run takes
    None as "off" (a sweep always sizes its models to a parameter budget). Constraints
    between fields (the task's range of lengths, the cost cap) are not checked here:
    ``check_seq_len`` checks a length for a task.
    """
    if optional is None:
        optional = name in _OPTIONAL_FIELDS
    if name in CHOICES:
        if not isinstance(value, str) or value not in CHOICES[name]:
            raise ConfigError(
                name, f"{name}: {_show(value)} is not one of {', '.join(CHOICES[name])}."
            )
        return
    if value is None and optional:
        return
    lo, hi = LIMITS[name]
    if name in _INT_FIELDS:
        ok_type = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
    allowed = _range_text(name, optional)
    if not ok_type:
        raise ConfigError(name, f"{name}: {_show(value)} has the wrong type; allowed {allowed}.")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise ConfigError(name, f"{name}: {_show(value)} is out of range; allowed {allowed}.")


def check_seq_len(task: str, seq_len: Any) -> None:
    """Raise ConfigError unless ``seq_len`` is a valid RunConfig.seq_len on the task named
    ``task``: within the field's LIMITS and within the task's own range of lengths."""
    check_field("task", task)
    check_field("seq_len", seq_len)
    spec = TASKS[task]
    hi = spec.max_seq_len if spec.max_seq_len is not None else LIMITS["seq_len"][1]
    if not spec.min_seq_len <= seq_len <= hi:
        raise ConfigError(
            "seq_len",
            f"seq_len: {seq_len} is out of range for task "
            f"{task}; allowed {spec.min_seq_len} to {hi}.",
        )


def _check_joint(cfg: RunConfig) -> None:
    check_seq_len(cfg.task, cfg.seq_len)
    if cfg.data != "default" and cfg.task not in KIND_TASKS.values():
        raise ConfigError(
            "data",
            f"data: task {cfg.task} takes no uploaded data (these do: "
            f"{', '.join(KIND_TASKS.values())}).",
        )
    task = TASKS[cfg.task]
    encoder_decoder = task.architecture in ENCODER_DECODERS
    if encoder_decoder and cfg.model not in RECURRENT:
        raise ConfigError(
            "model",
            f"model: {task.title} is written by a recurrent decoder; choose a recurrent "
            f"cell ({', '.join(RECURRENT)}), not "
            f"{MODEL_TITLES[cfg.model]}.",
        )
    if cfg.attention != "off" and not encoder_decoder:
        raise ConfigError(
            "attention",
            f"attention: {cfg.attention!r} needs an encoder-decoder task (translation, captions); "
            f"task {cfg.task} is read by one network, so attention must be 'off'.",
        )
    if cfg.model == "cnn2d" and task.image_shape is None:
        raise ConfigError(
            "model",
            f"model: the 2-D CNN reads images; task {cfg.task} is "
            f"not an image (use a digits task).",
        )
    shape = cfg.shape
    if cfg.param_budget is not None and not within_budget(shape.num_parameters, cfg.param_budget):
        raise ConfigError(
            "param_budget",
            f"param_budget: no {MODEL_TITLES[cfg.model]} "
            f"on {cfg.task} has within 10% of {cfg.param_budget:,} "
            f"parameters (the nearest has {shape.num_parameters:,}).",
        )
    cost = shape.cost
    if cost > MAX_STEP_COST:
        # Blame the size field furthest above its default, so that lenient parsing
        # resets the setting most responsible for the cost.
        sizes = ["batch_size", "seq_len"] + (
            ["param_budget"] if cfg.param_budget is not None else ["hidden_size", "num_layers"]
        )
        culprit = max(sizes, key=lambda n: getattr(cfg, n) / _SIZE_DEFAULTS[n])
        raise ConfigError(
            culprit,
            f"{culprit}: {getattr(cfg, culprit)} makes one training step too costly "
            f"(estimated {cost / MAX_STEP_COST:.1f}x the quarter-second budget); "
            f"reduce the batch size, sequence length, layers, hidden size or parameter "
            f"budget.",
        )


_DEFAULTS = RunConfig()
_SIZE_DEFAULTS = {
    "batch_size": _DEFAULTS.batch_size,
    "seq_len": _DEFAULTS.seq_len,
    "hidden_size": _DEFAULTS.hidden_size,
    "num_layers": _DEFAULTS.num_layers,
    "param_budget": 10_000,
}
