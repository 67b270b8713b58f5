"""Playground: train the session's run live and watch its loss against the baseline."""

import streamlit as st

from rnn_core import viz
from rnn_core.models import MODEL_TITLES
from ui import controls, exports, private_data, replay_step, session
from ui.run import RUN

cfg = RUN.config()
task = private_data.task_of(cfg)
manager = session.job_manager()

st.title("Playground")
st.markdown(
    f"**{MODEL_TITLES[cfg.model]}** on **{task.title}**, T = {cfg.seq_len}, hidden "
    # the shape's width: a parameter budget (the translation preset's) may set it
    f"size {cfg.shape.kwargs['hidden_size']}, {cfg.num_layers} layer(s), seed {cfg.seed}."
)
with st.expander("About this task", expanded=False):
    st.markdown(task.description)
controls.run_controls(RUN)

opt1, opt2, opt3 = st.columns([1.4, 2, 2])  # "Log scale" fits at 1024 px
log_y = opt1.toggle("Log scale", key="play.log_y")
smooth = opt2.slider(
    "Smoothing",
    0.0,
    0.99,
    0.6,
    0.01,
    key="play.smooth",
    help="Exponential moving average of the loss curve (0 = raw).",
)
temperature = None
if task.name == "char_lm":
    temperature = opt3.slider(
        "Sampling temperature",
        0.1,
        2.0,
        0.8,
        0.05,
        key="play.temperature",
        help="Low: the model's favourite characters. High: more variety.",
    )


was = controls.phase(RUN.jobs().values())
replay = replay_step.slider(RUN, "play.step", play_key="play.replay")


@st.fragment(run_every=0.5 if replay.playing else controls.refresh_every(RUN))
def live() -> None:
    job_map = controls.live_jobs(RUN)
    main = next(iter(job_map.values()))
    shown = replay.at(main)
    view = shown.view(job_map.values())
    frame = view.history(main)
    steps = shown.steps_done(main)
    name, value = controls.headline(task, frame)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Step", f"{steps:,}")
    m2.metric(
        "Loss (last 20)",
        controls.fmt(float(frame["loss"].tail(20).mean())) if len(frame) else "–",
        help=f"Trivial baseline: {main.baseline_loss:.4g}",
    )
    m3.metric(name.capitalize(), controls.fmt(value, 3))
    m4.metric("Steps per second", controls.steps_per_second(main))
    cap = manager.step_cap
    st.progress(
        min(1.0, steps / cap), text=f"{steps:,} of {cap:,} steps (this server's cap per run)"
    )

    fig = controls.loss_figure_with_alongside(
        view,
        job_map,
        smooth=smooth,
        log_y=log_y,
        with_test=True,
        title="Training loss",
        labels=RUN.labels(),
    )
    held_out = (
        f" The held-out loss (on {main.held_out_size} sequences the model never "
        f"trains on) has its own dashed line: that split's baseline."
        if task.has_split
        else ""
    )
    controls.chart(
        fig,
        "loss_chart",
        "the loss per training step (lower is better). The dashed line is what a "
        "model that ignores its input can reach; a curve that stays on it has "
        "learned nothing. Crosses mark steps whose gradient was clipped." + held_out,
    )

    snap = shown.snapshot(main.snapshots)
    if snap is not None:
        shown_target, scored_steps = task.shown_target(snap.targets[0], cfg.seq_len)
        seq_fig = controls.throttled(
            "play.sequence_cache",
            (main.id, snap.step),
            2.0,
            lambda: view.build(
                ("sequence", snap.step),
                [main],
                lambda: viz.sequence_figure(
                    snap.inputs[0],
                    shown_target,
                    snap.outputs[0],
                    target_type=task.target_type,
                    scored_steps=scored_steps,
                    alphabet=task.alphabet,
                    class_names=task.class_names,
                    title=f"One probe sequence at step {snap.step}: input, target, prediction",
                ),
            ),
            exact=shown.step,  # a replayed step is shown at once
        )
        controls.chart(
            seq_fig,
            "play.sequence",
            "the same fixed sequence every time: what the model was given, what "
            "it should answer at the scored steps, and what it answered.",
        )

    if temperature is not None:
        # The job answers between two training steps; the text is reproducible for its
        # step (the generator is seeded by the run's seed and that step). A note (no
        # answer) is kept with it, so it stays on screen until the next sample.
        sampled, note, at_temperature = controls.throttled(
            "play.sample_cache",
            (main.id, main.steps_done, temperature),
            3.0,
            lambda: (
                *controls.answer_or_note(
                    main, "sample", prime="def ", length=300, temperature=temperature
                ),
                temperature,
            ),
        )
        controls.show_note(note)
        if sampled is not None:
            at_step, text = sampled
            st.markdown(
                f"**Sampled from the model at step {at_step}** (temperature {at_temperature:.2f}):"
            )
            st.code("def " + text, language=None)
            shown.live_note("The sample")

    controls.rerun_on_change(was, controls.phase(job_map.values()))
    if replay.playing and shown.step is None:
        st.rerun()  # the replay has drawn the whole run: stop ticking


live()
controls.downloads(RUN.main_job(), "play.download")
exports.weights_inspector(cfg, "play.weights")
