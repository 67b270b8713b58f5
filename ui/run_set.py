"""A set of runs that train together, from the URL to the jobs: one type, two instances.

The run pages (Playground, Hidden states, Gradients, Inside a cell) share one run and the
cells trained alongside it (``ui.run.RUN``); the CNN vs RNN page trains a race of two to
five models at one parameter budget (``ui.race.RACE``). Both follow one cycle:

    URL or preset -> settings (a RunConfig and a tuple of model names) -> one job per model

The settings live in ``st.session_state`` under ``<name>.state.*`` (Streamlit clears the
query parameters when the page changes) and are written back to the URL on every page of
the set, so the address bar always describes the runs on screen. New settings stop the
jobs and start new ones. The jobs belong to the browser session (``ui.session``): a
closed tab stops them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st

from rnn_core import ConfigError, RunConfig, Trainer
from rnn_core.jobs import Job, JobBusyError
from rnn_core.models import MODEL_TITLES
from rnn_core.replay import open_run
from rnn_core.tasks import Task
from ui import page_params, private_data, session
from ui.text import escape_markdown

Settings = tuple[RunConfig, tuple[str, ...]]


@dataclass
class RunRecord:
    """What stays of a replaced run for overlays: small arrays, no model."""

    config: RunConfig
    steps: int  # training steps done when it was replaced
    grad_norm: np.ndarray | None  # the whole loss's gradient through time
    connectivity: np.ndarray | None  # the last scored step's loss term's

    @classmethod
    def of(cls, job: Job) -> RunRecord:
        snaps = job.snapshots
        last = snaps[-1] if snaps else None
        return cls(
            config=job.config,
            steps=job.steps_done,
            grad_norm=None if last is None else last.grad_norm,
            connectivity=None if last is None else last.connectivity,
        )

    def comparable(self, cfg: RunConfig) -> bool:
        """Drawn beside ``cfg``'s run only on the same task and sequence length: the
        gradients through time of different tasks or lengths do not line up."""
        return (self.config.task, self.config.seq_len) == (cfg.task, cfg.seq_len)


@dataclass
class HeldJobs:
    """A run set's jobs in one session (kept in the session's resource)."""

    settings: Settings | None = None  # what ``jobs`` were built for
    jobs: dict[str, Job] = field(default_factory=dict)  # model -> job, in set order
    notes: list[str] = field(default_factory=list)  # models that could not train, and why
    previous: list[RunRecord] = field(default_factory=list)  # newest first


def any_active(jobs: Mapping[str, Job]) -> bool:
    return any(j.state.active for j in jobs.values())


def run_label(cfg: RunConfig, reference: RunConfig) -> str:
    """A run's cell and the settings that set it apart from ``reference``'s run."""
    ref = reference.to_query()
    changed = [
        f"{name} {value}"
        for name, value in cfg.to_query().items()
        if name != "model" and ref.get(name) != value
    ]
    return f"{MODEL_TITLES[cfg.model]} ({', '.join(changed) or 'same settings'})"


@dataclass(frozen=True)
class RunSet:
    """One set of runs: how its settings come from a URL and go back to one, which
    models train for them, and how each is trained.

    ``parse_query`` reads settings leniently (every bad value replaced and named in the
    returned problems); ``to_query`` writes them. ``members`` lists the members that train
    for the settings, in the order the pages show them: models, by default, each trained
    on ``config.replace(model=...)``; a set whose members differ in another setting says
    how with ``member_config`` and ``member_title``. A member whose configuration is
    refused is left out with ``not_trained`` as its note. ``presets`` open with
    ``preset_settings`` (their settings and the page they open on).
    """

    name: str
    parse_query: Callable[[dict], tuple[RunConfig, tuple[str, ...], list[str]]]
    to_query: Callable[[RunConfig, tuple[str, ...]], dict[str, str]]
    members: Callable[[RunConfig, tuple[str, ...]], tuple[str, ...]]
    not_trained: str  # "{title}" and "{error}" are filled in
    presets: Mapping[str, Any]
    preset_settings: Callable[[Any], tuple[RunConfig, tuple[str, ...], str]]
    options: Mapping[str, Any]  # the Trainer options of every run of the set
    keep_previous: int = 0  # replaced runs kept (as RunRecords) for overlays
    # A member's configuration from the set's, and its title (label and notes) from the
    # settings: the set's configuration, its members' names, the member.
    member_config: Callable[[RunConfig, str], RunConfig] = lambda cfg, m: cfg.replace(model=m)
    member_title: Callable[[RunConfig, tuple[str, ...], str], str] = lambda cfg, models, m: (
        MODEL_TITLES[m]
    )

    def _key(self, what: str) -> str:
        return f"{self.name}.state.{what}"

    # ---------------------------------------------------------------- URL <-> settings
    def init_from_url(self) -> None:
        """First run of a session on this set's pages: take the settings from the URL."""
        if self._key("config") in st.session_state:
            return
        query = st.query_params.to_dict()
        name = query.pop("preset", None)
        if name is not None and name in self.presets:
            cfg, models, _ = self.preset_settings(self.presets[name])
            problems = []
        else:
            problems = (
                []
                if name is None
                else [f"preset: {str(name)[:30]!r} is not one of {', '.join(self.presets)}."]
            )
            cfg, models, more = self.parse_query(query)
            problems += more
        cfg, problems = private_data.from_link(cfg, problems)
        self.set(cfg, models)
        st.session_state[self._key("url_warnings")] = problems

    def show_url_warnings(self) -> None:
        """One warning naming every URL setting that was replaced by its default."""
        problems = st.session_state.pop(self._key("url_warnings"), None)
        if problems:
            lines = "\n".join(f"- {escape_markdown(p)}" for p in problems)
            st.warning(
                "This link had settings that could not be used; their defaults are "
                f"used instead:\n{lines}",
                icon=":material/link_off:",
            )

    def settings(self) -> Settings:
        self.init_from_url()
        return st.session_state[self._key("config")], st.session_state[self._key("models")]

    def config(self) -> RunConfig:
        return self.settings()[0]

    def models(self) -> tuple[str, ...]:
        return self.settings()[1]

    def sync_url(self) -> None:
        """Make the address bar describe this set's settings (a no-op when it does)."""
        wanted = {**self.to_query(*self.settings()), **page_params.url_params()}
        if st.query_params.to_dict() != wanted:
            st.query_params.from_dict(wanted)

    def set(self, cfg: RunConfig, models: tuple[str, ...] | None = None) -> None:
        """New settings (``models`` None: the same models): the runs on screen are
        replaced at the next ``jobs()``, and the URL follows."""
        if models is None:
            models = self.models()
        st.session_state[self._key("config")] = cfg
        st.session_state[self._key("models")] = tuple(models)

    def go_to_preset(self, name: str) -> None:
        cfg, models, page = self.preset_settings(self.presets[name])
        self.set(cfg, models)
        st.switch_page(
            page, query_params={**self.to_query(cfg, models), **page_params.url_params()}
        )

    # ------------------------------------------------------------------ settings form
    def widgets_follow(
        self, values: Callable[[RunConfig, tuple[str, ...]], dict[str, Any]]
    ) -> Settings:
        """The settings, written into the form's widgets (``values``: widget key -> value)
        when they changed from outside the form (a link, a preset, a one-click fix, a
        reset). A widget whose state Streamlit dropped (it clears the state of widgets a
        finished page run did not draw) gets the settings' value back: drawn empty, it
        would read as the visitor clearing it."""
        settings = self.settings()
        wanted = values(*settings)
        if st.session_state.get(self._key("shown")) != settings:
            st.session_state.update(wanted)
            st.session_state[self._key("shown")] = settings
        else:
            st.session_state.update(
                {key: value for key, value in wanted.items() if key not in st.session_state}
            )
        return settings

    def apply(self, cfg: RunConfig, models: tuple[str, ...], message: str) -> None:
        """Settings read from the form: when they differ, replace the runs and say so."""
        if (cfg, models) != self.settings():
            self.set(cfg, models)
            st.session_state[self._key("shown")] = (cfg, models)
            st.toast(message, icon=":material/restart_alt:")

    # --------------------------------------------------------------------------- jobs
    def _held(self) -> HeldJobs:
        return session.session_runs().sets.setdefault(self.name, HeldJobs())

    def _start_jobs(self, held: HeldJobs, *, private: bool = False) -> None:
        """A job per member model: the shared job of that run (every session that opens
        the same run watches one training), or with ``private`` a fresh one of the
        session's own (after Reset)."""
        manager, owner = session.job_manager(), session.session_runs().owner
        shared, options = session.shared_jobs(), dict(self.options)
        cfg, models = held.settings
        held.jobs, held.notes = {}, []
        for model in self.members(cfg, models):
            label = self.member_title(cfg, models, model)
            try:
                model_cfg = self.member_config(cfg, model)
            except ConfigError as err:
                held.notes.append(self.not_trained.format(title=label, error=err))
                continue
            if private or model_cfg.data == "private":
                # A run on the visitor's upload is always the session's own: never in
                # the shared registry (nobody else may attach) nor in the store.
                trainer = Trainer(model_cfg, task=private_data.run_task(model_cfg), **options)
                held.jobs[model] = manager.submit(trainer, owner=owner, label=label)
            else:
                # Keyed and built by the store's own terms, so a backend that trains
                # elsewhere can name the run by its key and build it there.
                store = session.run_store()
                key = store.key(model_cfg, Trainer.options_for(model_cfg, **options))
                make = functools.partial(open_run, store, model_cfg, **options)
                held.jobs[model] = shared.attach(key, owner, make, label)

    def jobs(self) -> dict[str, Job]:
        """The jobs for the current settings, in the set's order (built on first use)."""
        held = self._held()
        settings = self.settings()
        if held.settings != settings:
            owner = session.session_runs().owner
            for job in held.jobs.values():
                if self.keep_previous and job.steps_done:
                    held.previous = [RunRecord.of(job), *held.previous][: self.keep_previous]
                session.let_go(job, owner)
            held.settings = settings
            self._start_jobs(held)
        return held.jobs

    def reset(self) -> None:
        """Fresh jobs of the session's own from step 0 (same settings, same seed); a
        shared run the session watched goes on for its other viewers."""
        held, owner = self._held(), session.session_runs().owner
        for job in held.jobs.values():
            session.let_go(job, owner)
        held.settings = self.settings()
        self._start_jobs(held, private=True)

    def steer(self) -> dict[str, Job]:
        """The jobs this session may steer alone (pause, step): a shared run that others
        watch is forked into a private one that continues exactly from where the shared
        one is now; one that only this session watches becomes its own. A run that could
        not be forked now is left out (and the visitor told)."""
        held, owner = self._held(), session.session_runs().owner
        options, steerable = dict(self.options), {}
        for model, job in list(self.jobs().items()):
            try:
                held.jobs[model] = steerable[model] = session.shared_jobs().take(
                    job, owner, lambda j: Trainer.resume(*j.ask("checkpoint"), **options)
                )
            except (JobBusyError, ValueError) as err:
                # No copy now (the run was too busy to answer, or its state would not
                # resume): leave the shared run alone rather than steer it for everyone.
                st.toast(f"{job.label}: no copy of your own yet ({err}); try again.")
        return steerable

    def viewers(self, job: Job) -> int:
        """How many sessions watch ``job`` together (0: it is this session's own)."""
        return session.shared_jobs().viewers(job)

    def main_job(self) -> Job:
        return next(iter(self.jobs().values()))

    def page_run(self) -> tuple[RunConfig, Task, Job]:
        """(config, task, main job) for a page that shows one run; the job is marked seen
        (a page of it is open, so its idle timer restarts)."""
        cfg, job = self.config(), self.main_job()
        job.touch()
        return cfg, private_data.task_of(cfg), job

    def labels(self) -> dict[str, str]:
        """Each member's title for the current settings (what charts and status lines
        name it by: a shared job keeps the label of whoever opened it first)."""
        cfg, models = self.settings()
        return {m: self.member_title(cfg, models, m) for m in self.members(cfg, models)}

    def notes(self) -> list[str]:
        self.jobs()
        return self._held().notes

    def previous(self) -> list[RunRecord]:
        return self._held().previous

    def active(self) -> bool:
        return any_active(self.jobs())
