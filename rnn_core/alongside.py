"""Runs trained alongside a main run: each one the main run's RunConfig with a few
settings changed, written as a short text that a URL can carry.

A run alongside shares the main run's task and sequence length (so its curves line up
on the same charts) and may change its cell and any of ``FIELDS``. Its text is a
``+``-joined list of parts, each a cell name or ``setting:value``, with the settings in
RunConfig's order and only those that differ from the main run::

    gru                  a GRU, everything else as the main run
    init:default         the main run's cell with the default initialisation
    clip:1+lr:0.001      the main run's cell, clipped at norm 1, learning rate 0.001
    gru+clip:none        a GRU without clipping

So ``compare=gru,lstm``, the form links carried when only the cell could differ, opens
the same runs as before. Values are read and checked as RunConfig reads a URL
(``rnn_core.config.parse_value``): nothing a link carries is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable

from rnn_core.config import ConfigError, RunConfig, field_names, parse_value
from rnn_core.models import MODEL_TITLES, RECURRENT

# The settings a run alongside may change: everything but the task and its length (the
# curves share one chart) and the shapes of non-recurrent models (these runs are cells).
FIELDS = (
    "hidden_size",
    "num_layers",
    "batch_size",
    "optimizer",
    "lr",
    "clip",
    "init",
    "recurrent_scale",
    "seed",
)
MAX_TEXT = 200  # the whole list's longest accepted text: four runs of a few settings fit
_NONE_WORDS = {"lr": "default", "clip": "off", "recurrent_scale": "off"}


def _text(value) -> str:
    """A value as a run's text writes it: floats short (1, not 1.0), None as "none"."""
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


def overrides(spec: str, main: RunConfig) -> dict[str, object]:
    """The settings that ``spec`` changes from ``main``'s (its cell as "model"); only
    those that differ. Raises ValueError with a sentence naming the bad part."""
    changes: dict[str, object] = {}
    for part in spec.split("+"):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.partition(":")
        name = name.strip()
        if not sep:
            if name not in RECURRENT:
                raise ValueError(
                    f"{part[:20]!r} is not a cell ({', '.join(RECURRENT)}) nor a setting:value pair"
                )
            name, value = "model", name
        elif name not in FIELDS:
            raise ValueError(
                f"{name[:20]!r} is not a setting a run alongside may change ({', '.join(FIELDS)})"
            )
        else:
            try:
                value = parse_value(name, raw)
            except ConfigError as err:
                raise ValueError(str(err).rstrip(".")) from None
        if name in changes:
            twice = "names a second cell" if name == "model" else f"sets {name} twice"
            raise ValueError(f"{part[:20]!r} {twice}")
        changes[name] = value
    return {k: v for k, v in changes.items() if getattr(main, k) != v}


def canonical(changes: dict[str, object]) -> str:
    """The text of a run that changes ``changes`` (cell first, settings in RunConfig's
    order); empty for no change (the main run itself)."""
    parts = [str(changes["model"])] if "model" in changes else []
    parts += [f"{k}:{_text(changes[k])}" for k in field_names() if k in changes and k != "model"]
    return "+".join(parts)


def member_config(main: RunConfig, spec: str) -> RunConfig:
    """The configuration of the run ``spec`` alongside ``main`` (the main run's for its
    own cell name). Raises ConfigError when the combination is not a valid run (the cost
    cap, say), ValueError for a text that is not a run's."""
    if spec == main.model:
        return main
    return main.replace(**overrides(spec, main))


def parse_list(raw: str, main: RunConfig, max_runs: int) -> tuple[tuple[str, ...], list[str]]:
    """A URL's comma list of runs alongside ``main``: their canonical texts (repeats and
    copies of the main run left out, at most ``max_runs``) and one sentence per part that
    was dropped, each starting "compare:"."""
    raw = str(raw)
    if len(raw) > MAX_TEXT:
        return (), [
            f"compare: a list of {len(raw):,} characters is longer than {MAX_TEXT}; "
            f"no run was trained alongside."
        ]
    specs: list[str] = []
    problems: list[str] = []
    extra: list[str] = []
    for entry in raw.split(","):
        if not entry.strip():
            continue
        try:
            spec = canonical(overrides(entry, main))
        except ValueError as err:
            problems.append(f"compare: {entry.strip()[:40]!r} was dropped: {err}.")
            continue
        if not spec or spec in specs:
            continue  # the main run itself, or a repeat: nothing more to train
        if len(specs) == max_runs:
            extra.append(repr(entry.strip()[:40]))
            continue
        specs.append(spec)
    if extra:
        problems.append(
            f"compare: at most {max_runs} runs train alongside; {', '.join(extra)} "
            f"{'was' if len(extra) == 1 else 'were'} dropped."
        )
    return tuple(specs), problems


def relative_to(specs: Iterable[str], main: RunConfig) -> tuple[str, ...]:
    """``specs`` rewritten for a changed main run: each keeps the settings it names, and
    one that now equals the main run (or another) is left out."""
    out: list[str] = []
    for spec in specs:
        try:
            text = canonical(overrides(spec, main))
        except ValueError:
            continue
        if text and text not in out:
            out.append(text)
    return tuple(out)


def _setting(name: str, value) -> str:
    shown = _NONE_WORDS.get(name, "none") if value is None else _text(value)
    return f"{name.replace('_', ' ')} {shown}"


def title(main: RunConfig, specs: Iterable[str], member: str) -> str:
    """A run's name on the charts: its cell, and the settings in which the runs of the
    set differ. The main run (``member`` its cell name) names its own value of every
    setting a run alongside changes; a run alongside names the values it changes."""
    specs = tuple(specs)
    values = {k: getattr(main, k) for k in field_names()}
    names: set[str] = set()
    if member == main.model:
        for spec in specs:
            try:
                names |= set(overrides(spec, main)) - {"model"}
            except ValueError:
                continue
    else:
        try:
            changes = overrides(member, main)
        except ValueError:
            return member[:40]
        # Read from the values, not a RunConfig: a combination refused by the cost cap
        # still gets its name (in the note that says why it does not train).
        values.update(changes)
        names = set(changes) - {"model"}
    shown = [_setting(k, values[k]) for k in field_names() if k in names]
    return MODEL_TITLES[values["model"]] + (f" ({', '.join(shown)})" if shown else "")
