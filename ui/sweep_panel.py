"""The memory-horizon sweep on the CNN vs RNN page: Bai et al.'s figure, done live.

The sweep's settings follow the race (its models, budget and seed; its task when the
race is on copy memory or adding, else copy memory). A finished sweep comes from the
disk cache at once; otherwise one click runs it as a background job under the shared
JobManager (so it waits for a slot like any run), with a progress bar.
"""

from __future__ import annotations

import streamlit as st

from rnn_core import TASKS, RunConfig, viz_compare
from rnn_core.jobs import Job
from rnn_core.models import MODEL_TITLES
from rnn_core.sweep import SWEEP_MODELS, SWEEP_TASKS, Sweep, default_spec
from rnn_core.sweep_cache import SweepCache
from ui import controls, race, session

COPY_CHANCE = 0.125  # one of 8 digits


@st.cache_resource(show_spinner=False)
def sweep_cache() -> SweepCache:
    """One per process; the directory comes from RNN_EXPLORER_SWEEP_DIR or the default."""
    return SweepCache()


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


def _job_for(spec) -> tuple[Sweep, Job | None]:
    """The session's sweep for ``spec``: a finished one from the cache, or a job."""
    runs = race.race_runs()
    if runs.sweep_spec != spec or (runs.sweep_job is None and not runs.sweep.finished):
        # A new spec, or one never run here that another visitor (or server process)
        # may have finished since: a fresh Sweep looks in the cache first.
        if runs.sweep_job is not None:
            runs.sweep_job.stop()
        runs.sweep_spec, runs.sweep_job = spec, None
        runs.sweep = Sweep(spec, sweep_cache())
    return runs.sweep, runs.sweep_job


def _run(spec) -> None:
    runs = race.race_runs()
    sweep, job = _job_for(spec)
    if job is None or job.state == "stopped":
        # (a job untouched for long is dropped by the manager; the Sweep keeps its
        # finished cells, so a new job resumes where it stopped)
        job = session.job_manager().submit(
            sweep, owner=session.session_runs().owner, label="Memory-horizon sweep"
        )
        runs.sweep_job = job
    job.start()


def _pause() -> None:
    job = race.race_runs().sweep_job
    if job is not None:
        job.pause()


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
    sweep, job = _job_for(spec)

    @st.fragment(run_every=1.0 if job is not None and job.state in ("running", "queued") else None)
    def live() -> None:
        sweep_now, job_now = _job_for(spec)
        if job_now is not None:
            job_now.touch()
        active = job_now is not None and job_now.state in ("running", "queued")
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
            st.caption(session.escape_markdown(sweep_now.message))
        results = sweep_now.results
        if len(results):
            results["model"] = results["model"].map(MODEL_TITLES)
            if spec.task == "copy_memory":
                fig = viz_compare.sweep_figure(
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
                fig = viz_compare.sweep_figure(
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
        was = st.session_state.get("sweep.was_active")
        st.session_state["sweep.was_active"] = active
        if was and not active:
            st.rerun()  # finished or paused by itself: redraw the buttons, stop ticking

    live()
