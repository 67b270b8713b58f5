"""The memory-horizon sweep on the CNN vs RNN page: Bai et al.'s figure, done live.

The sweep's settings follow the race (its models, budget and seed; its task when the
race is on copy memory or adding, else copy memory). A finished sweep comes from the
disk cache at once; otherwise one click runs it as a background job under the shared
JobManager (so it waits for a slot like any run), with a progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rnn_core import TASKS, RunConfig, viz
from rnn_core.jobs import Job, JobState
from rnn_core.models import MODEL_TITLES
from rnn_core.sweep import Sweep
from rnn_core.sweep_cache import SweepCache
from rnn_core.sweep_spec import SWEEP_MODELS, SWEEP_TASKS, SweepSpec, default_spec
from ui import controls, session
from ui.text import escape_markdown

COPY_CHANCE = 0.125  # one of 8 digits


@st.cache_resource(show_spinner=False)
def sweep_cache() -> SweepCache:
    """One per process; the directory comes from RNN_EXPLORER_SWEEP_DIR or the default."""
    return SweepCache()


@dataclass
class SweepOnScreen:
    """The session's sweep: the spec on screen, its Sweep, and the job running it."""

    spec: SweepSpec
    sweep: Sweep
    job: Job | None = None


def spec_for(cfg: RunConfig, models: tuple[str, ...]):
    """The sweep that matches a race, or None when no racer is a sequence model."""
    task = cfg.task if cfg.task in SWEEP_TASKS else "copy_memory"
    chosen = tuple(m for m in models if m in SWEEP_MODELS)
    if not chosen:
        return None
    return default_spec(
        task,
        chosen,
        param_budget=cfg.param_budget or 10_000,
        seed=cfg.seed,
        tcn_kernel=cfg.tcn_kernel,
        attn_heads=cfg.attn_heads,
        attn_layers=cfg.attn_layers,
    )


def _on_screen(spec: SweepSpec) -> SweepOnScreen:
    """The session's sweep for ``spec``: a finished one from the cache, or one to run."""
    runs = session.session_runs()
    shown = runs.sweep
    if shown is None or shown.spec != spec or (shown.job is None and not shown.sweep.finished):
        # A new spec, or one never run here that another visitor (or server process)
        # may have finished since: a fresh Sweep looks in the cache first.
        if shown is not None and shown.job is not None:
            shown.job.stop()
        shown = runs.sweep = SweepOnScreen(spec, Sweep(spec, sweep_cache()))
    return shown


def _run(spec: SweepSpec) -> None:
    shown = _on_screen(spec)
    if shown.job is None or shown.job.state == JobState.STOPPED:
        # (a job untouched for long is dropped by the manager; the Sweep keeps its
        # finished cells, so a new job resumes where it stopped)
        shown.job = session.job_manager().submit(
            shown.sweep, owner=session.session_runs().owner, label="Memory-horizon sweep"
        )
    shown.job.start()


def _pause() -> None:
    shown = session.session_runs().sweep
    if shown is not None and shown.job is not None:
        shown.job.pause()


def show(cfg: RunConfig, models: tuple[str, ...], colours: dict) -> None:
    st.subheader("Memory horizon: how far back can each model remember?")
    spec = spec_for(cfg, models)
    if spec is None:
        st.info(
            "The sweep trains sequence models; this race has none. Add a TCN, LSTM or GRU to sweep."
        )
        return
    task = TASKS[spec.task]
    titles = ", ".join(MODEL_TITLES[m] for m in spec.models)
    st.markdown(
        f"Bai et al.'s figure, live: **{task.title}** at T = "
        f"{', '.join(str(t) for t in spec.lengths)}, each of {titles} trained for "
        f"{spec.steps} steps at {spec.param_budget:,} parameters (seed {spec.seed}), then "
        f"scored on 256 fresh sequences. Finished sweeps are kept on the server, so the "
        f"next visitor sees them at once."
    )
    job = _on_screen(spec).job

    was_active = job is not None and job.state.active

    @st.fragment(run_every=1.0 if was_active else None)
    def live() -> None:
        shown = _on_screen(spec)
        sweep_now, job_now = shown.sweep, shown.job
        if job_now is not None:
            job_now.touch()
        active = job_now is not None and job_now.state.active
        if not sweep_now.finished:
            c1, c2 = st.columns(2)
            if active:
                c1.button(
                    "Pause the sweep",
                    key="sweep.pause",
                    on_click=_pause,
                    icon=":material/pause:",
                    width="stretch",
                )
            else:
                c1.button(
                    "Run the sweep" if sweep_now.steps_done == 0 else "Resume the sweep",
                    key="sweep.run",
                    on_click=_run,
                    args=(spec,),
                    type="primary",
                    icon=":material/play_arrow:",
                    width="stretch",
                    help="Trains every model at every length, one after another, "
                    "in the background: a few minutes on one core.",
                )
            current = sweep_now.current
            where = (
                f"now: {MODEL_TITLES[current[0]]} at T = {current[1]}"
                if current and sweep_now.steps_done
                else "not started"
            )
            st.progress(
                sweep_now.progress,
                text=f"{sweep_now.progress:.0%} of {spec.max_steps:,} steps ({where})",
            )
            if job_now is not None:
                controls.status_line(job_now)
        else:
            st.caption(escape_markdown(sweep_now.message))
        results = sweep_now.results
        if len(results):
            results["model"] = results["model"].map(MODEL_TITLES)
            if spec.task == "copy_memory":
                fig = viz.sweep_figure(
                    results,
                    y="metric",
                    y_title="accuracy on the recalled digits",
                    reference=COPY_CHANCE,
                    reference_name="chance (12.5%)",
                    colours=colours,
                    title="Copy memory: final accuracy against sequence length",
                )
                how = (
                    "each point is one model trained at one length; the dashed line is "
                    "chance. A model at chance has not carried the digits across T "
                    "steps. Crosses mark runs that could not train (hover for why)."
                )
            else:
                fig = viz.sweep_figure(
                    results,
                    y="loss_ratio",
                    y_title="final loss / baseline loss",
                    reference=1.0,
                    reference_name="baseline (learned nothing)",
                    colours=colours,
                    title="Adding: final loss against sequence length",
                )
                how = (
                    "1 means the model does no better than predicting the average sum; "
                    "near 0 means it adds the two marked values. Crosses mark runs that "
                    "could not train (hover for why)."
                )
            controls.chart(fig, "sweep.figure", how)
            with st.expander("Sweep results table"):
                st.dataframe(results, hide_index=True, width="stretch", key="sweep.table")
        controls.rerun_on_change(was_active, active)

    live()
