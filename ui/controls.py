"""Run controls and the pieces every run page shares: status, downloads, captions.

The button keys ``train_toggle``, ``train_step`` and ``train_reset`` are a testing
contract (browser tests click them): keep them exactly.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable

import streamlit as st

from rnn_core import viz
from rnn_core.jobs import Job, JobBusyError, JobState
from rnn_core.train import full_probes
from ui import figure_export, page_params, presenter, session
from ui.live_view import REFRESH_SECONDS, LiveView
from ui.run_set import RunSet
from ui.text import escape_markdown

STEP_CHUNK = 10  # the Step button's steps
# Keys for Start/Pause, Step and Reset (Streamlit keeps R and C for itself, so Reset is 0:
# back to step 0). A key pressed while typing in a text box types; Streamlit does not fire
# the button.
SHORTCUTS = {"toggle": "Space", "step": "S", "reset": "0"}
_LOG = logging.getLogger(__name__)


def _toggle(runs: RunSet, pause: bool) -> None:
    """Do what the button said when it was pressed (``pause``), not what the runs' state
    says now: in a class, many press Start on a run another viewer has just started, and
    their click must not pause (fork) it."""
    if pause != runs.active():
        return  # already done, by another viewer, the cap or the idle timer
    if pause:
        # Pausing steers: a run others watch is forked first (ui.run_set.RunSet.steer).
        for job in runs.steer().values():
            job.pause()
    else:
        # Starting a shared run trains it for all of its viewers.
        for job in runs.jobs().values():
            job.start()


def _step(runs: RunSet) -> None:
    for job in runs.steer().values():
        job.request_steps(STEP_CHUNK)


def run_controls(runs: RunSet, key_prefix: str = "") -> None:
    """Start/Pause, Step and Reset for every job of a run set, and the notes on models
    that could not train. ``key_prefix`` keeps a second set's buttons on one page apart
    (the first set's keys are the testing contract above, and only its buttons take the
    keyboard shortcuts: two buttons with one shortcut would both fire)."""
    active = runs.active()
    keys = {} if key_prefix else SHORTCUTS
    c1, c2, c3 = st.columns(3)
    c1.button(
        "Pause" if active else "Start",
        key=f"{key_prefix}train_toggle",
        on_click=_toggle,
        args=(runs, active),
        type="primary",
        icon=":material/pause:" if active else ":material/play_arrow:",
        width="stretch",
        shortcut=keys.get("toggle"),
    )
    c2.button(
        f"Step ×{STEP_CHUNK}",
        key=f"{key_prefix}train_step",
        on_click=_step,
        args=(runs,),
        icon=":material/skip_next:",
        width="stretch",
        help="Run 10 optimizer steps, then pause. Works before Start.",
        shortcut=keys.get("step"),
    )
    c3.button(
        "Reset",
        key=f"{key_prefix}train_reset",
        on_click=runs.reset,
        icon=":material/restart_alt:",
        width="stretch",
        help="Back to step 0 with the same seed.",
        shortcut=keys.get("reset"),
    )
    for note in runs.notes():
        st.info(escape_markdown(note))


def recurrent_states_or_stop(cfg) -> None:
    """For a page that follows a recurrent state through every step (Hidden states,
    Gradients, Inside a cell): on a run that has none over its whole sequence (a
    captioner reads its image with a CNN) say so, and draw nothing more."""
    if not full_probes(cfg):
        st.info(
            "This run's encoder is a convolutional network: there is no recurrent state "
            "over the image's steps, so this page has nothing to follow. The **Captions** "
            "page shows where its recurrent decoder looks for each word, and the "
            "Playground its loss.",
            icon=":material/info:",
        )
        st.stop()


def phase(jobs: Iterable[Job]) -> str:
    """What sets a live fragment's pace and the buttons' labels: "running" while a job
    trains, "queued" while they only wait for a slot, else "still"."""
    states = {job.state for job in jobs}
    if JobState.RUNNING in states:
        return "running"
    return "queued" if JobState.QUEUED in states else "still"


def refresh_every(runs: RunSet) -> float | None:
    """How often a live fragment reruns: twice a second while a run trains, once a second
    while one of them is shared with other viewers (at class scale each refresh costs
    every viewer's browser a redraw; bench/bench_class.py measured about half a core
    for one page at twice a second); once a second while the runs only wait for a slot
    (their place in the queue moves, their curves do not); every two seconds while a run
    that stands still is shared (any of its viewers may start it); never otherwise (a
    button press reruns the page)."""
    jobs = runs.jobs().values()
    shared = any(runs.viewers(job) > 1 for job in jobs)
    pace = {
        "running": 2 * REFRESH_SECONDS if shared else REFRESH_SECONDS,
        "queued": 2 * REFRESH_SECONDS,
    }.get(phase(jobs))
    if pace is None and shared:
        pace = 4 * REFRESH_SECONDS
    return pace


def rerun_on_change(was, now) -> None:
    """In a live fragment: rerun the whole page when the jobs it watches changed phase
    since the page last ran (``was``, taken by the page itself, against ``now``: each a
    ``phase`` or whether they were active) without a button of this page (a free slot, a
    cap, the idle timer, divergence, another viewer of a shared run), so the buttons say
    what they will do and the fragment ticks at the right pace. A fragment's rerun keeps
    the values of the page run that defined it."""
    if was != now:
        st.rerun()


def latest_snapshots_button(key: str) -> None:
    """Animated figures are sent once so they can play; this reruns the page to send
    the snapshots taken since."""
    st.button(
        "Show the latest snapshots",
        key=key,
        icon=":material/refresh:",
        help="Animations load once so they can play; press to fetch newer snapshots.",
    )


def status_line(job: Job, viewers: int = 0, label: str | None = None) -> None:
    """One plain sentence about the job; errors and divergence said plainly. A run that
    ``viewers`` sessions watch together says so (and that steering it forks a copy).
    ``label`` names the job as the page does (default: the job's own label)."""
    label = job.label if label is None else label
    steps, cap = job.steps_done, session.job_manager().step_cap
    if job.state == JobState.IDLE and steps >= cap:
        text = f"trained to this server's cap of {cap:,} steps (kept from an earlier run)."
    elif job.state == JobState.IDLE and steps:
        text = f"kept from an earlier run at step {steps:,}: press Start (or Step) to train on."
    elif job.state == JobState.IDLE:
        text = "ready: press Start (or Step) to train."
    elif job.state == JobState.QUEUED:
        position = f" (position {job.queue_position})" if job.queue_position else ""
        wait = job.estimated_wait
        about = (
            f" About {max(1, round(wait)):,} s if the runs ahead train on to their end."
            if wait is not None
            else ""
        )
        text = (
            f"waiting for a free training slot{position}: the site trains a limited "
            f"number of runs at once.{about} Runs kept from earlier visitors open at once."
        )
    else:
        text = job.reason or job.state
    if job.state in (JobState.DIVERGED, JobState.FAILED):
        st.error(
            f"**{label} {job.state}.** {escape_markdown(text)} Press **Reset** to start again.",
            icon=":material/warning:",
        )
    else:
        watched = (
            f" Shared: {viewers} people are watching this run; Pause, Step or Reset give "
            f"you a copy of your own."
            if viewers > 1
            else ""
        )
        st.caption(f"{label}: {text}{watched}")


def headline(task, frame) -> tuple[str, float]:
    """The task's metric for a history: held-out where the task has a split (the last
    evaluation), else the mean of the last 20 training steps."""
    if frame.empty:
        return task.metric_name, math.nan
    if task.has_split:
        tests = frame["test_metric"].dropna()
        return f"{task.metric_name} (held out)", float(tests.iloc[-1]) if len(tests) else math.nan
    return task.metric_name, float(frame["metric"].tail(20).mean())


def fmt(value: float, digits: int = 4) -> str:
    """A number for a metric or table cell; a dash while there is none."""
    return "–" if not math.isfinite(value) else f"{value:.{digits}g}"


def steps_per_second(job: Job) -> str:
    sps = job.steps_per_second
    return "–" if sps is None or not math.isfinite(sps) else f"{sps:.1f}"


def downloads(job: Job, key: str) -> None:
    """An expander with the run's history as CSV and its configuration as JSON (exact,
    re-loadable), its training script and its weights (ui.exports)."""
    from ui import exports  # it uses this module's answer_or_note

    cfg = job.config
    with st.expander("Download this run"):
        c1, c2 = st.columns(2)
        c1.download_button(
            "History (CSV)",
            job.history.to_csv(index=False),
            file_name=f"rnn-explorer-{cfg.model}-{cfg.task}-history.csv",
            mime="text/csv",
            key=f"{key}.csv",
            icon=":material/download:",
            on_click="ignore",
        )
        c2.download_button(
            "Configuration (JSON)",
            json.dumps(cfg.to_query(), indent=2),
            file_name=f"rnn-explorer-{cfg.model}-{cfg.task}-config.json",
            mime="application/json",
            key=f"{key}.json",
            icon=":material/download:",
            on_click="ignore",
        )
        exports.take_it_with_you(job, key)


def answer_or_note(job: Job, question: str, **kwargs) -> tuple[object, tuple[str, str] | None]:
    """(``job.ask(question, **kwargs)``, None), or (None, (level, text)) saying why there is
    no answer: "info" when the run was too busy to answer in time, "warning" when the
    model's numbers overflowed (an outcome of training), "error" for anything else (then
    also logged in full, since it is a bug)."""
    try:
        return job.ask(question, **kwargs), None
    except JobBusyError:
        return None, (
            "info",
            f"{job.label} is busy training and did not answer in time; "
            f"this view shows it at the next refresh.",
        )
    except ArithmeticError as exc:
        return None, ("warning", f"{job.label}: {escape_markdown(str(exc))}.")
    except Exception as exc:  # noqa: BLE001 - one view fails, the page and the run go on
        _LOG.exception("question %r to job %s failed", question, job.id)
        return None, (
            "error",
            f"Could not read the model for this view: "
            f"{escape_markdown(str(exc) or type(exc).__name__)}",
        )


def show_note(note: tuple[str, str] | None) -> None:
    if note is not None:
        level, text = note
        getattr(st, level)(text)


def ask(job: Job, question: str, **kwargs):
    """``job.ask(question, **kwargs)`` for a page: None, with the note on the page, when
    there is no answer (``answer_or_note``)."""
    answer, note = answer_or_note(job, question, **kwargs)
    show_note(note)
    return answer


def chart(fig, key: str, how_to_read: str) -> None:
    """Every chart: a namespaced key, a one-line 'how to read this' caption and an Export
    menu (ui.figure_export; not in presenter mode, which keeps only a speaker's controls).
    Presenter mode enlarges the copy sent to the browser; an export is of ``fig`` itself."""
    shown = presenter.for_screen(fig)  # presenter mode's larger type (ui/presenter.py)
    st.plotly_chart(shown, key=key, config={"displaylogo": False, "responsive": True})
    st.caption(f"How to read this: {how_to_read}")
    if not page_params.presenting():
        figure_export.export_menu(fig, key)


def throttled(key: str, token, seconds: float, build, *, exact=None):
    """``build()``'s value, rebuilt only when ``token`` changed and at least ``seconds``
    passed since the last build. Live fragments rerun twice a second in the process that
    trains; figures that need not move that often must not take the GIL that often.
    ``exact``: what the value is of (a visitor's input): when it changed, the value is
    rebuilt at once, since a value of the old input would be wrong, not just late."""
    now = time.monotonic()
    cached = st.session_state.get(key)
    if cached is None or cached[3] != exact or (cached[0] != token and now - cached[1] >= seconds):
        cached = (token, now, build(), exact)
        st.session_state[key] = cached
    return cached[2]


def live_jobs(runs: RunSet, labels: dict[str, str] | None = None) -> dict[str, Job]:
    """For a live fragment: the run set's jobs, marked seen (a page is open, so the idle
    timer restarts), each with its status line (named by ``labels``, by member, where
    given, else as the run set names it). Main job first."""
    job_map = runs.jobs()
    labels = runs.labels() if labels is None else labels
    for member, job in job_map.items():
        job.touch()
        status_line(job, runs.viewers(job), labels.get(member))
    return job_map


def loss_figure_with_alongside(
    view: LiveView,
    job_map: dict[str, Job],
    *,
    smooth: float,
    title: str,
    log_y: bool = False,
    with_test: bool = False,
    labels: dict[str, str] | None = None,
):
    """The main run's loss at the view's moment with the baseline and clipping marks, and
    every run trained alongside as another line (each history up to the view's replay
    step, if any: ui.replay_step), each named by ``labels`` (by member) where given, else
    by its job's label. Built once for all viewers of the same runs with the same
    options."""
    names = {member: (labels or {}).get(member, job.label) for member, job in job_map.items()}

    def build():
        main_member, main = next(iter(job_map.items()))
        frame = view.history(main)
        others = {}
        for member, job in job_map.items():
            if job is not main:
                history = view.history(job)
                others[names[member]] = (history["step"].to_numpy(), history["loss"].to_numpy())
        tests = frame.dropna(subset=["test_loss"]) if with_test else frame.iloc[:0]
        return viz.loss_figure(
            frame["step"].to_numpy(),
            frame["loss"].to_numpy(),
            main.baseline_loss,
            clipped_steps=frame.loc[frame["clipped"], "step"].to_numpy(),
            log_y=log_y,
            smooth=smooth,
            test_steps=tests["step"].to_numpy() if len(tests) else None,
            test_loss=tests["test_loss"].to_numpy() if len(tests) else None,
            test_baseline=main.test_baseline_loss if with_test else None,
            title=title,
            others=others,
            label=names[main_member] if others else None,
        )

    key = ("loss", smooth, log_y, with_test, title, tuple(names.values()))
    return view.build(key, job_map.values(), build)


class NoAnswerError(Exception):
    """The job gave no answer; the note saying why is already on the page."""


def outputs_of(job: Job):
    """``forward(x) -> outputs``: the job's "outputs" answer for inputs x (numpy both
    ways), for rnn_core functions that read the model on a page's own inputs (greedy
    decoding). Raises NoAnswerError, with the note on the page (``ask``), when there is none."""

    def forward(x):
        answer = ask(job, "outputs", x=x)
        if answer is None:
            raise NoAnswerError
        return answer[1]

    return forward
