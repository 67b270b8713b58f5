"""The loss curves of a preset's runs, as the run store holds them (no training).

The Welcome page draws a small picture of what each one-click demo will show. It reads
only the stored histories (``RunStore.history``: meta.json and history.npz), never a
model or a snapshot, and draws nothing for a preset until every run it opens is stored.
A preset's runs are the ones ``rnn_core.warm_store`` trains and the app opens: its cell
and the cells trained alongside (``RUN_OPTIONS``), or each model of a race
(``RACE_OPTIONS``; a model the race refuses is left out, as the race page does).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import cache

import numpy as np

from rnn_core import alongside
from rnn_core.config import ConfigError, RunConfig
from rnn_core.models import MODEL_TITLES
from rnn_core.presets import PRESETS, RACE_OPTIONS, RACE_PRESETS, RUN_OPTIONS
from rnn_core.run_store import RunStore
from rnn_core.tasks import TASKS
from rnn_core.train import Trainer


@dataclass(frozen=True)
class PresetCurves:
    """A preset's stored runs: (model title, steps, loss) each, and the task's baseline."""

    curves: list[tuple[str, np.ndarray, np.ndarray]]
    baseline: float
    steps: int  # the longest run's steps


@cache
def preset_runs(name: str) -> tuple[tuple[str, RunConfig, dict], ...]:
    """(model title, config, Trainer options) of every run the preset ``name`` opens
    (cached: presets are constants; do not change the options dicts)."""
    if name in PRESETS:
        # A talk preset's runs alongside may change other settings than the cell
        # (rnn_core.alongside): each is built and named as the run pages do.
        preset = PRESETS[name]
        models, options = (preset.config.model, *preset.alongside), RUN_OPTIONS
        build = functools.partial(alongside.member_config, preset.config)
        name_of = functools.partial(alongside.title, preset.config, preset.alongside)
    else:
        preset = RACE_PRESETS[name]
        models, options = preset.models, RACE_OPTIONS
        build = lambda model: preset.config.replace(model=model)  # noqa: E731
        name_of = lambda model: MODEL_TITLES.get(model, model)  # noqa: E731
    runs = []
    for model in models:
        try:
            cfg = build(model)
        except ConfigError:
            continue
        runs.append((name_of(model), cfg, Trainer.options_for(cfg, **options)))
    return tuple(runs)


def store_signature(store: RunStore, names) -> tuple[int, ...]:
    """The stored steps of every run of ``names``, 0 where none: it changes whenever a
    picture would, and costs one small file read per run (``RunStore.steps``)."""
    return tuple(
        store.steps(cfg, options) for name in names for _, cfg, options in preset_runs(name)
    )


def stored_curves(store: RunStore, name: str) -> PresetCurves | None:
    """The preset's curves from ``store``, or None until every one of its runs is there."""
    runs = preset_runs(name)
    curves = []
    for title, cfg, options in runs:
        history = store.history(cfg, options)
        if history is None or not len(history):
            return None
        curves.append((title, history["step"].to_numpy(), history["loss"].to_numpy()))
    if not curves:
        return None
    cfg = runs[0][1]
    return PresetCurves(
        curves=curves,
        baseline=float(TASKS[cfg.task].baseline_loss(cfg.seq_len)),
        steps=max(int(steps[-1]) for _, steps, _ in curves),
    )
