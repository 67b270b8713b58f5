"""The run the run pages show: one recurrent cell and up to three trained alongside it.

Playground, Hidden states, Gradients and Inside a cell all show this run (``RUN``); the
sidebar (ui.sidebar) edits it. Its URL is the main cell's RunConfig plus
``compare=gru,init:default,clip:1+lr:0.001``: the runs trained alongside on the same task
and length, each the main run with its cell or other settings changed (rnn_core.alongside
says how; ``compare=gru,lstm``, the form older links carry, still names cells). The URL
keeps the short name that links already carry; in the code they are "alongside".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnn_core import RunConfig, alongside
from rnn_core.models import RECURRENT
from rnn_core.presets import PRESETS, RUN_OPTIONS, Preset
from ui.run_set import RunSet, run_label

PAGES = {
    "welcome": "views/welcome.py",
    "playground": "views/playground.py",
    "hidden_states": "views/hidden_states.py",
    "gradients": "views/gradients.py",
    "inside_cell": "views/inside_cell.py",
    "speech": "views/speech.py",
    "series": "views/series.py",
    "translation": "views/translation.py",
    "captions": "views/captions.py",
    "sentiment": "views/sentiment.py",
    "your_data": "views/your_data.py",
}
MAX_ALONGSIDE = 3
MAX_PREVIOUS = 4  # replaced runs kept per session for overlays (small arrays only)


def parse_alongside(raw: str, main: RunConfig) -> tuple[tuple[str, ...], list[str]]:
    """The URL's comma list of runs trained alongside the main one (rnn_core.alongside:
    a cell, settings changed, or both), each bad part named in one sentence."""
    return alongside.parse_list(raw, main, MAX_ALONGSIDE)


def parse_query(query: dict) -> tuple[RunConfig, tuple[str, ...], list[str]]:
    cfg, errors = RunConfig.from_query(query, lenient=True)
    problems = [str(e) for e in errors]
    if cfg.model not in RECURRENT:
        # The run pages look inside a recurrent cell; other models race on their page.
        problems.append(
            f"model: {cfg.model} is not a recurrent cell here (one of "
            f"{', '.join(RECURRENT)}); it races on the CNN vs RNN page."
        )
        cfg, errors = RunConfig.from_query({**query, "model": RunConfig().model}, lenient=True)
    runs, more = parse_alongside(query.get("compare", ""), cfg)
    return cfg, runs, problems + more


def to_query(cfg: RunConfig, specs: tuple[str, ...]) -> dict[str, str]:
    query = cfg.to_query()
    if specs:
        query["compare"] = ",".join(specs)
    return query


def _preset_settings(preset: Preset) -> tuple[RunConfig, tuple[str, ...], str]:
    return preset.config, preset.alongside, PAGES[preset.page]


RUN = RunSet(
    name="run",
    parse_query=parse_query,
    to_query=to_query,
    members=lambda cfg, specs: (cfg.model, *specs),
    member_config=alongside.member_config,
    member_title=alongside.title,
    not_trained="{title} is not trained alongside: {error}",
    presets=PRESETS,
    preset_settings=_preset_settings,
    options=RUN_OPTIONS,
    keep_previous=MAX_PREVIOUS,
)


def gradient_curves(
    whole: bool, main_snapshots: list, upto: Callable[[list], list] = lambda snaps: snaps
) -> dict[str, np.ndarray]:
    """The latest gradient through time of every run of this session that lines up with
    the run on screen: the runs training now (named as the run set names them, with
    their step) and the replaced runs on the same task and length (labelled by what
    differed). ``whole``: the whole loss's gradient, else the last scored step's term;
    ``main_snapshots``: the main job's snapshots, already read by the page (a read copies
    the list); ``upto``: what a replay keeps of a job's snapshots (ui.replay_step)."""
    cfg, jobs, labels = RUN.config(), RUN.jobs(), RUN.labels()
    main = next(iter(jobs.values()))
    curves = {}
    for member, job in jobs.items():
        snaps = main_snapshots if job is main else upto(job.snapshots)
        if snaps:
            last = snaps[-1]
            curves[f"{labels.get(member, job.label)} (now, step {last.step})"] = (
                last.grad_norm if whole else last.connectivity
            )
    for record in RUN.previous():
        values = record.grad_norm if whole else record.connectivity
        if record.comparable(cfg) and values is not None:
            label = f"{run_label(record.config, cfg)}, earlier (step {record.steps})"
            curves.setdefault(label, values)
    return curves
