"""CNN vs RNN (and attention): the same task, the same seed, side by side."""

import math

import numpy as np
import pandas as pd
import streamlit as st

from rnn_core import TASKS, viz
from rnn_core.models import MODEL_TITLES
from rnn_core.presets import RACE_PRESETS
from ui import controls, replay_step, sweep_panel
from ui.race import RACE
from ui.race_form import race_form

st.title("CNN vs RNN (and attention)")
st.markdown(
    "Several models learn the **same task** from the **same data stream and seed**, each "
    "sized to the same number of parameters and trained with one shared optimiser setting "
    "(not tuned for any of them), so what differs is the architecture. Bai, "
    "Kolter & Koltun (2018) found that a temporal convolutional network (**TCN**: causal, "
    "dilated 1-D convolutions) beat LSTMs and GRUs of equal size, most of all on long "
    "memory. A convolution sees a fixed window, its *receptive field*, all at once; a "
    "recurrent net must carry everything in its state, one step at a time; attention looks "
    "back at every earlier step directly."
)

# Two a row: four in one row wrap into tall slivers on a 1024-pixel projector.
cols = st.columns(2)
for i, (name, preset) in enumerate(RACE_PRESETS.items()):
    if cols[i % 2].button(
        preset.title,
        key=f"race.preset.{name}",
        help=preset.blurb,
        wrap=True,
        icon=":material/flag:",
        width="stretch",
    ):
        RACE.go_to_preset(name)

race_form()
RACE.sync_url()
cfg, task = RACE.config(), TASKS[RACE.config().task]
colours = viz.model_colours([MODEL_TITLES[m] for m in RACE.models()])

with st.expander("About this task", expanded=False):
    st.markdown(task.description)
controls.run_controls(RACE)
replay = replay_step.slider(RACE, "race.step")
if not RACE.jobs():
    st.error(
        "No model of this race can train with these settings (see above). Change the "
        "settings or pick a preset."
    )
    st.stop()


def race_table(job_map, frames) -> pd.DataFrame:
    rows = []
    # the metric's name without its definition (in "About this task"), so columns fit
    metric = task.metric_name.split(" (")[0] + (" (held out)" if task.has_split else " (last 20)")
    for model, job in job_map.items():
        frame = frames[model]
        steps = len(frame)
        seconds = float(frame["seconds"].iloc[-1]) if steps else math.nan
        rows.append(
            {
                "model": job.label,
                "parameters": f"{job.num_parameters:,}",
                "steps": steps,
                "loss (last 20)": controls.fmt(
                    float(frame["loss"].tail(20).mean()) if steps else math.nan
                ),
                metric: controls.fmt(controls.headline(task, frame)[1], 3),
                "ms per step": controls.fmt(1000 * seconds / steps if steps else math.nan, 3),
                "steps per second": controls.steps_per_second(job),
                "shape": job.shape.summary,
            }
        )
    return pd.DataFrame(rows)


was = controls.phase(RACE.jobs().values())


@st.fragment(run_every=controls.refresh_every(RACE))
def live() -> None:
    job_map = controls.live_jobs(RACE)
    view = replay.view(job_map.values())
    frames = {model: view.history(job) for model, job in job_map.items()}
    st.dataframe(race_table(job_map, frames), hide_index=True, width="stretch", key="race.table")
    baseline = next(iter(job_map.values())).baseline_loss
    o1, o2 = st.columns(2)
    log_y = o1.toggle("Log scale", key="race.log_y")
    smooth = o2.slider("Smoothing", 0.0, 0.99, 0.6, 0.01, key="race.smooth")
    charts = [
        (
            "step",
            "training step",
            "Loss against steps",
            "race.loss_steps",
            "one line per model, same data at every step. The dashed line is the loss of "
            "ignoring the input: a model on it has learned nothing.",
        ),
        (
            "seconds",
            "seconds of training",
            "Loss against time",
            "race.loss_time",
            "the same losses against each model's own training time: a model that learns in "
            "fewer steps may still be slower per step.",
        ),
    ]
    for column, (x, x_title, title, key, how) in zip(st.columns(2), charts, strict=True):
        curves = {
            job.label: (frames[m][x].to_numpy(), frames[m]["loss"].to_numpy())
            for m, job in job_map.items()
        }
        with column:
            controls.chart(
                view.build(
                    ("race", x, smooth, log_y),
                    job_map.values(),
                    lambda curves=curves, x_title=x_title, title=title: viz.race_figure(
                        curves,
                        baseline,
                        x_title=x_title,
                        title=title,
                        smooth=smooth,
                        log_y=log_y,
                        colours=colours,
                    ),
                ),
                key,
                how,
            )

    at_step = {job.label: replay.snapshot(job.snapshots) for job in job_map.values()}
    latest = {label: snap for label, snap in at_step.items() if snap is not None}
    if latest:
        token = tuple((label, snap.step) for label, snap in latest.items())
        fig = controls.throttled(
            "race.saliency_cache",
            token,
            2.0,
            lambda: viz.saliency_figure(
                {label: snap.saliency[0] for label, snap in latest.items()},
                scored_steps=task.scored_steps(cfg.seq_len),
                colours=colours,
                title="Where each model looks: ‖∂L/∂x_t‖ on one probe sequence",
            ),
        )
        controls.chart(
            fig,
            "race.saliency",
            "how much this sequence's loss changes when input step t changes, "
            "for each model's latest snapshot (every model gets the same "
            "sequence). A model that has learned to copy has large "
            "values at the steps that showed the digits; a flat low line means "
            "those inputs barely matter to it.",
        )

    controls.rerun_on_change(was, controls.phase(job_map.values()))


live()


# --------------------------------------------------------------------- receptive field
def _dilations(levels: int) -> str:
    shown = [str(2**i) for i in range(levels)]
    return ", ".join(shown) if levels <= 4 else f"{', '.join(shown[:3])}, …, {shown[-1]}"


tcn_job = RACE.jobs().get("tcn")
if tcn_job is not None:
    st.subheader("The TCN's receptive field")
    levels = len(tcn_job.shape.kwargs["channels"])
    field = tcn_job.shape.receptive_field
    need = task.memory_span(cfg.seq_len)
    total = task.total_len(cfg.seq_len)
    st.markdown(
        f"With kernel size k = {cfg.tcn_kernel} and n = {levels} levels of two convolutions "
        f"(dilations {_dilations(levels)}), each output sees the last "
        f"1 + 2(k−1)(2ⁿ−1) = **{field}** input steps and nothing before them."
    )
    if field < need:
        st.warning(
            f"The receptive field ({field} steps) is shorter than the span this task "
            f"needs ({need} steps): the TCN cannot see the inputs its last outputs "
            f"depend on, whatever it learns. Add levels or widen the kernel.",
            icon=":material/visibility_off:",
        )
    controls.chart(
        viz.receptive_field_figure(
            total,
            field,
            need,
            task.scored_steps(cfg.seq_len),
            title="What the last scored output can see",
        ),
        "race.receptive_field",
        "the grey bar is the stretch of input the last scored output depends on; the "
        "coloured bar is what the TCN can see from there (green: enough, red: too short).",
    )

# ----------------------------------------------------------------------- attention maps
attention_job = RACE.jobs().get("transformer")
if attention_job is not None:
    st.subheader("Attention maps over training")
    snaps = [s for s in replay.snapshots(attention_job.snapshots) if s.attention is not None]
    controls.latest_snapshots_button("race.attention_refresh")
    if not snaps:
        st.info("No snapshots yet: start the race, then press *Show the latest snapshots*.")
    else:
        layers, heads = snaps[-1].attention.shape[:2]
        a1, a2 = st.columns(2)
        layer = a1.selectbox(
            "Layer",
            range(layers),
            index=layers - 1,
            key="race.attn_layer",
            format_func=lambda i: f"layer {i + 1}",
        )
        head = a2.radio(
            "Head",
            range(heads),
            horizontal=True,
            key="race.attn_head",
            format_func=lambda i: f"head {i + 1}",
        )
        fig = viz.attention_figure(
            [np.asarray(s.attention[layer, head], dtype=np.float32) for s in snaps],
            [s.step for s in snaps],
            stride=snaps[-1].attention_stride,
            title=f"Layer {layer + 1}, head {head + 1}: how much each step attends to each "
            f"earlier step",
        )
        controls.chart(
            fig,
            "race.attention",
            "row = the step doing the looking (query), column = the step looked "
            "at (key); each row sums to 1, and nothing above the diagonal (the "
            "future) is visible. Press Play to watch it over training.",
        )

# ------------------------------------------------------------------ memory-horizon sweep
sweep_panel.show(cfg, RACE.models(), colours)

# ------------------------------------------------------------------------- image demo
st.subheader("An image or a sequence?")
st.markdown(
    "A convolution is built for data laid out in space, recurrence for data that arrives "
    "in time. The 8×8 handwritten digits below can be either: a **2-D CNN** sees the whole "
    "image at once, an RNN reads it **row by row** (8 steps of 8 pixels) or **pixel by "
    "pixel** (64 steps of one pixel, a real memory problem). Which reading wins at a given "
    "size is for the race to show, not for the built-in assumption: race them with the "
    "*Digits* preset above (or pick the pixel-by-pixel task) and compare accuracy and time "
    "per step in the table."
)
digits = TASKS["digits_rows"]
images, labels = digits.images("test")
pick = st.slider("Example digit", 0, len(images) - 1, 0, key="race.digit")
controls.chart(
    viz.digit_readings_figure(images[pick], int(labels[pick])),
    "race.digit_readings",
    "dark is ink. Left: the image the CNN gets. Right: the same pixels as a "
    "sequence of rows, time running left to right. Bottom: one pixel per step.",
)
