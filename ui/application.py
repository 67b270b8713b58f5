"""What every application page shares: when the session's run is on another task, a few
lines about the application and a button for each of its presets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st

from rnn_core import TASKS
from rnn_core.tasks import Task
from ui import controls
from ui.replay_step import Replay
from ui.run import RUN


def open_or_explain(
    tasks: str | Sequence[str], about: str, presets: str | Sequence[str], key: str
) -> None:
    """Return when the session's run is on one of ``tasks``; otherwise say what the page
    shows (``about``, markdown), offer each of ``presets`` as a button (key ``key``, or
    ``key.NAME`` for several), and stop the page."""
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    if RUN.config().task in tasks:
        return
    st.markdown(about)
    picks = " or ".join(f"**{TASKS[name].title}**" for name in tasks)
    st.info(
        f"The session's run is on **{TASKS[RUN.config().task].title}**, so there is nothing "
        f"of this kind to show yet: open the demo, or pick {picks} as the task in the "
        "sidebar.",
        icon=":material/info:",
    )
    presets = (presets,) if isinstance(presets, str) else tuple(presets)
    for col, name in zip(st.columns(len(presets)), presets, strict=True):
        chosen = RUN.presets[name]
        if col.button(
            chosen.title,
            key=key if len(presets) == 1 else f"{key}.{name}",
            type="primary",
            icon=":material/play_arrow:",
            help=chosen.blurb,
            wrap=True,
            width="stretch" if len(presets) > 1 else "content",
        ):
            RUN.go_to_preset(name)
    st.stop()


def live_exact_match(
    task: Task, held_out: str, key: str, how_to_read: str, replay: Replay | None = None
) -> None:
    """The live part of a page whose run writes a sequence (translation, captions): the
    step, the held-out exact match (``held_out`` says of what: "{n}" is the held-out
    count), the loss and its chart (``key``, ``how_to_read``), at the run's pace, or at
    the step a ``replay`` shows."""
    replay = replay or Replay()
    was = controls.phase(RUN.jobs().values())

    @st.fragment(run_every=controls.refresh_every(RUN))
    def live() -> None:
        job_map = controls.live_jobs(RUN)
        main = next(iter(job_map.values()))
        view = replay.view(job_map.values())
        frame = view.history(main)
        _, value = controls.headline(task, frame)
        m1, m2, m3 = st.columns(3)
        m1.metric("Step", f"{replay.steps_done(main):,}")
        m2.metric(
            "Exact match (held out)",
            "–" if not np.isfinite(value) else f"{100 * value:.1f}%",
            help=held_out.format(n=main.held_out_size),
        )
        m3.metric(
            "Loss (last 20)",
            controls.fmt(float(frame["loss"].tail(20).mean())) if len(frame) else "–",
            help=f"Trivial baseline: {main.baseline_loss:.4g}",
        )
        fig = controls.loss_figure_with_alongside(
            view, job_map, smooth=0.6, with_test=True, title="Training loss", labels=RUN.labels()
        )
        controls.chart(fig, key, how_to_read)
        controls.rerun_on_change(was, controls.phase(job_map.values()))

    live()
