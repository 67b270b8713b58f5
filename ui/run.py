"""The run the run pages show: one recurrent cell and up to three trained alongside it.

Playground, Hidden states, Gradients and Inside a cell all show this run (``RUN``); the
sidebar (ui.sidebar) edits it. Its URL is the main cell's RunConfig plus
``compare=gru,lstm``, the cells trained alongside on the same task, data and seed (the
URL keeps the short name that links already carry; in the code they are "alongside").
"""

from __future__ import annotations

import numpy as np

from rnn_core import RunConfig
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


def parse_alongside(raw: str, main_model: str) -> tuple[tuple[str, ...], list[str]]:
    """The URL's comma list of cells trained alongside the main one."""
    models, bad = [], []
    for name in str(raw)[:100].split(","):
        name = name.strip()
        if not name:
            continue
        if name in RECURRENT and name != main_model and name not in models:
            models.append(name)
        elif name not in RECURRENT:
            bad.append(name[:20])
    problems = (
        [f"compare: {', '.join(repr(b) for b in bad)} is not one of {', '.join(RECURRENT)}."]
        if bad
        else []
    )
    return tuple(models[:MAX_ALONGSIDE]), problems


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
    alongside, more = parse_alongside(query.get("compare", ""), cfg.model)
    return cfg, alongside, problems + more


def to_query(cfg: RunConfig, alongside: tuple[str, ...]) -> dict[str, str]:
    query = cfg.to_query()
    if alongside:
        query["compare"] = ",".join(alongside)
    return query


def _preset_settings(preset: Preset) -> tuple[RunConfig, tuple[str, ...], str]:
    return preset.config, preset.alongside, PAGES[preset.page]


RUN = RunSet(
    name="run",
    parse_query=parse_query,
    to_query=to_query,
    members=lambda cfg, alongside: (cfg.model, *alongside),
    not_trained="{title} is not trained alongside: {error}",
    presets=PRESETS,
    preset_settings=_preset_settings,
    options=RUN_OPTIONS,
    keep_previous=MAX_PREVIOUS,
)


def gradient_curves(whole: bool, main_snapshots: list) -> dict[str, np.ndarray]:
    """The latest gradient through time of every run of this session that lines up with
    the run on screen: the runs training now (labelled with their step) and the replaced
    runs on the same task and length (labelled by what differed). ``whole``: the whole
    loss's gradient, else the last scored step's term; ``main_snapshots``: the main
    job's snapshots, already read by the page (a read copies the list)."""
    cfg, jobs = RUN.config(), RUN.jobs()
    main = next(iter(jobs.values()))
    curves = {}
    for job in jobs.values():
        snaps = main_snapshots if job is main else job.snapshots
        if snaps:
            last = snaps[-1]
            curves[f"{job.label} (now, step {last.step})"] = (
                last.grad_norm if whole else last.connectivity
            )
    for record in RUN.previous():
        values = record.grad_norm if whole else record.connectivity
        if record.comparable(cfg) and values is not None:
            label = f"{run_label(record.config, cfg)}, earlier (step {record.steps})"
            curves.setdefault(label, values)
    return curves
