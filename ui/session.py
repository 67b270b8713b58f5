"""The browser session's run: its configuration, its background jobs, and the URL.

The configuration lives in ``st.session_state`` (Streamlit clears query parameters on
page change) and is written back to the URL on every page, so the address bar always
describes the run on screen. Jobs belong to the session: a session-scoped resource
stops them when the tab closes, and the process-wide JobManager bounds how many train
at once.
"""

from __future__ import annotations

import atexit
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st
import torch

from rnn_core import TASKS, ConfigError, RunConfig, Trainer
from rnn_core.jobs import Job, JobManager
from rnn_core.models import MODEL_TITLES, RECURRENT
from rnn_core.presets import PRESETS

PAGES = {
    "welcome": "views/welcome.py",
    "playground": "views/playground.py",
    "hidden_states": "views/hidden_states.py",
    "gradients": "views/gradients.py",
    "inside_cell": "views/inside_cell.py",
}

CONFIG_KEY = "run.config"
COMPARE_KEY = "run.compare"
WARNINGS_KEY = "run.url_warnings"
MAX_PREVIOUS = 4  # finished runs kept per session for overlays (small arrays only)

# Snapshots per run: about 50 frames at T=200, hidden 64 (LSTM), small enough for
# many visitors (a run's snapshots never exceed this).
SNAPSHOT_BYTES = 16 * 2**20


def _env(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@st.cache_resource(show_spinner=False)
def job_manager() -> JobManager:
    """One per server process. Settings come from the environment so a host can size
    them: RNN_EXPLORER_MAX_JOBS, RNN_EXPLORER_STEP_CAP, RNN_EXPLORER_IDLE_SECONDS."""
    # Once per process: each job trains on one intra-op thread, so concurrent jobs
    # share the cores instead of oversubscribing them (GUIDE: threads).
    torch.set_num_threads(1)
    manager = JobManager(
        # 4: a race of up to four models trains side by side by default; on 2 cores each
        # then runs at about half speed, and further runs queue (set it to suit the host).
        max_running=max(1, int(_env("RNN_EXPLORER_MAX_JOBS", 4))),
        step_cap=max(10, int(_env("RNN_EXPLORER_STEP_CAP", 5000))),
        idle_timeout=max(5.0, _env("RNN_EXPLORER_IDLE_SECONDS", 120)),
    )
    # Join the workers before the interpreter tears down: a daemon thread still inside a
    # torch op at exit aborts the process ("terminate called without an active
    # exception"), which ends a stopped server with a crash in its log.
    atexit.register(manager.shutdown)
    return manager


@dataclass
class RunRecord:
    """What stays of a replaced run for overlays: small arrays, no model."""

    config: RunConfig
    steps: int  # training steps done when it was replaced
    grad_norm: np.ndarray | None  # the whole loss's gradient through time
    connectivity: np.ndarray | None  # the last scored step's loss term's

    def comparable(self, cfg: RunConfig) -> bool:
        """Drawn beside ``cfg``'s run only on the same task and sequence length: the
        gradients through time of different tasks or lengths do not line up."""
        return (self.config.task, self.config.seq_len) == (cfg.task, cfg.seq_len)


@dataclass
class SessionRuns:
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    key: tuple | None = None  # (config, compare) the jobs were built for
    jobs: dict[str, Job] = field(default_factory=dict)  # model -> job, main first
    previous: list[RunRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a companion was skipped
    race: Any = None  # the CNN vs RNN page's jobs (ui.race.RaceRuns), same owner


def _release(runs: SessionRuns) -> None:
    job_manager().stop_owner(runs.owner)


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def session_runs() -> SessionRuns:
    return SessionRuns()


# --------------------------------------------------------------------------- URL <-> state
def escape_markdown(text: str) -> str:
    """Visitor-supplied text shown by st.warning/st.error is markdown: make it inert."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$])", r"\\\1", text)


def parse_compare(raw: str, main_model: str) -> tuple[tuple[str, ...], list[str]]:
    """The comma list of models trained alongside the main one."""
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
    return tuple(models[:3]), problems


def init_from_url() -> None:
    """First run of a session: take the configuration from the URL (leniently)."""
    if CONFIG_KEY in st.session_state:
        return
    query = st.query_params.to_dict()
    problems: list[str] = []
    name = query.get("preset")
    if name is not None and name in PRESETS:
        cfg, compare = PRESETS[name].config, PRESETS[name].compare
    else:
        if name is not None:
            problems.append(f"preset: {name[:30]!r} is not one of {', '.join(PRESETS)}.")
        cfg, errors = RunConfig.from_query(query, lenient=True)
        problems += [str(e) for e in errors]
        if cfg.model not in RECURRENT:
            # The run pages look inside a recurrent cell; other models race on their page.
            problems.append(
                f"model: {cfg.model} is not a recurrent cell here (one of "
                f"{', '.join(RECURRENT)}); it races on the CNN vs RNN page."
            )
            cfg, errors = RunConfig.from_query({**query, "model": RunConfig().model}, lenient=True)
        compare, compare_problems = parse_compare(query.get("compare", ""), cfg.model)
        problems += compare_problems
    st.session_state[CONFIG_KEY] = cfg
    st.session_state[COMPARE_KEY] = compare
    st.session_state[WARNINGS_KEY] = problems


def show_url_warnings(key: str = WARNINGS_KEY) -> None:
    """One warning naming every URL setting (stored under ``key`` by the first run)
    that was replaced by its default."""
    problems = st.session_state.pop(key, None)
    if problems:
        lines = "\n".join(f"- {escape_markdown(p)}" for p in problems)
        st.warning(
            "This link had settings that could not be used; their defaults are "
            f"used instead:\n{lines}",
            icon=":material/link_off:",
        )


def write_url(wanted: dict[str, str]) -> None:
    """Make the address bar say ``wanted`` (a no-op when it already does)."""
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def config() -> RunConfig:
    init_from_url()
    return st.session_state[CONFIG_KEY]


def compare() -> tuple[str, ...]:
    init_from_url()
    return st.session_state[COMPARE_KEY]


def query_for(cfg: RunConfig, models: tuple[str, ...]) -> dict[str, str]:
    query = cfg.to_query()
    if models:
        query["compare"] = ",".join(models)
    return query


def sync_url() -> None:
    """Write the run's configuration to the URL (every page, every run)."""
    write_url(query_for(config(), compare()))


def set_config(cfg: RunConfig, models: tuple[str, ...] | None = None) -> None:
    """Change the configuration: the run on screen is replaced (the URL follows)."""
    models = compare() if models is None else models
    models = tuple(m for m in models if m != cfg.model)
    st.session_state[CONFIG_KEY] = cfg
    st.session_state[COMPARE_KEY] = models


def go_to_preset(name: str) -> None:
    preset = PRESETS[name]
    set_config(preset.config, preset.compare)
    st.switch_page(PAGES[preset.page], query_params=query_for(preset.config, preset.compare))


# --------------------------------------------------------------------------------- jobs
def run_label(cfg: RunConfig, reference: RunConfig) -> str:
    """A run's cell and the settings that set it apart from ``reference``'s run."""
    ref = reference.to_query()
    changed = [
        f"{name} {value}"
        for name, value in cfg.to_query().items()
        if name != "model" and ref.get(name) != value
    ]
    return f"{MODEL_TITLES[cfg.model]} ({', '.join(changed) or 'same settings'})"


def _record(job: Job) -> RunRecord:
    snaps = job.snapshots
    last = snaps[-1] if snaps else None
    return RunRecord(
        config=job.config,
        steps=job.steps_done,
        grad_norm=None if last is None else last.grad_norm,
        connectivity=None if last is None else last.connectivity,
    )


def _new_jobs(runs: SessionRuns, cfg: RunConfig, models: tuple[str, ...]) -> None:
    manager = job_manager()
    runs.notes = []
    for model in (cfg.model, *models):
        try:
            model_cfg = cfg if model == cfg.model else cfg.replace(model=model)
        except ConfigError as err:
            runs.notes.append(f"{MODEL_TITLES[model]} is not trained alongside: {err}")
            continue
        trainer = Trainer(model_cfg, snapshot_bytes=SNAPSHOT_BYTES)
        runs.jobs[model] = manager.submit(trainer, owner=runs.owner, label=MODEL_TITLES[model])


def jobs() -> dict[str, Job]:
    """The session's jobs for the current configuration, main model first."""
    runs = session_runs()
    key = (config(), compare())
    if runs.key != key:
        for job in runs.jobs.values():
            job.stop()
            if job.steps_done:
                runs.previous = ([_record(job)] + runs.previous)[:MAX_PREVIOUS]
        runs.jobs = {}
        runs.key = key
        _new_jobs(runs, *key)
    return runs.jobs


def main_job() -> Job:
    return next(iter(jobs().values()))


def page_run() -> tuple[RunConfig, object, Job]:
    """(config, task, main job) for a page that shows one run; the job is marked seen."""
    cfg = config()
    job = main_job()
    job.touch()  # a page of this run is open: its idle timer restarts
    return cfg, TASKS[cfg.task], job


def reset_jobs() -> None:
    """Reset: stop and replace the jobs with fresh ones from step 0 (same seed)."""
    runs = session_runs()
    for job in runs.jobs.values():
        job.stop()
    runs.jobs = {}
    _new_jobs(runs, config(), compare())


def any_active(job_map: dict[str, Job]) -> bool:
    return any(j.state in ("running", "queued") for j in job_map.values())
