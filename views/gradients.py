"""Gradients: ||dL/dh_t|| through time, over training, and the recurrent spectrum."""

import numpy as np
import streamlit as st

from rnn_core import viz
from rnn_core.models import MODEL_TITLES
from rnn_core.probes import CARRY_GATES, carry_products, spectra_over_training
from rnn_core.tasks.base import LastStepClassification
from rnn_core.viz.translation import mark_decoder_start
from ui import controls, private_data, replay_step
from ui.live_view import of_snapshots
from ui.run import RUN, gradient_curves

cfg = RUN.config()
task = private_data.task_of(cfg)
job = RUN.main_job()

st.title("Gradients through time")
st.markdown(
    f"How far back the error reaches: how much the loss at a late output step "
    f"depends on the hidden state at each earlier step t, for the "
    f"**{MODEL_TITLES[cfg.model]}** on **{task.title}** "
    f"(T = {cfg.seq_len}). A curve that falls steeply to the left is a vanishing "
    f"gradient: early inputs cannot be learned from."
)
controls.run_controls(RUN)
controls.recurrent_states_or_stop(cfg)
replay = replay_step.slider(RUN, "grad.step")

st.markdown("**One click away:**")
fix1, fix2, fix3 = st.columns(3)
GATE_BLOCKS = " (for an LSTM or GRU, every gate's block)" if cfg.model in ("lstm", "gru") else ""
FIXES = {
    "grad.fix_clip": (
        "Clip at norm 1",
        {"clip": 1.0},
        "the whole gradient is rescaled to norm 1 whenever it is longer.",
    ),
    "grad.fix_orth": (
        "Orthogonal init",
        {"init": "orthogonal"},
        f"each recurrent block{GATE_BLOCKS} starts as a random orthogonal matrix, biases at zero.",
    ),
    "grad.fix_irnn": (
        "Identity init (IRNN)",
        {"init": "identity"},
        f"each recurrent block{GATE_BLOCKS} starts as the identity matrix, "
        f"biases at zero; input weights keep torch's uniform draw, and the "
        f"optimizer stays {cfg.optimizer} (Le, Jaitly & Hinton 2015 used "
        f"SGD and small Gaussian input weights).",
    ),
}
for col, (key, (label, change, about)) in zip((fix1, fix2, fix3), FIXES.items(), strict=True):
    if col.button(
        label,
        key=key,
        width="stretch",
        wrap=True,
        help="Restart this run with "
        + ", ".join(f"{k} = {v}" for k, v in change.items())
        + ": "
        + about,
        disabled=all(getattr(cfg, k) == v for k, v in change.items()),
    ):
        RUN.set(cfg.replace(**change))
        st.rerun()


was = controls.phase(RUN.jobs().values())


@st.fragment(run_every=controls.refresh_every(RUN))
def live() -> None:
    current = controls.live_jobs(RUN)
    main = next(iter(current.values()))
    view = replay.view(current.values())
    frame = view.history(main)
    fig = controls.loss_figure_with_alongside(
        view, current, smooth=0.6, title="Loss of every run", labels=RUN.labels()
    )
    controls.chart(
        fig,
        "grad.loss",
        "the loss of every run trained alongside, on the same data and seed; the "
        "dashed line is the trivial baseline.",
    )
    norms = frame["grad_norm"].to_numpy()
    if len(norms):
        gfig = view.build(
            "update_norm",
            [main],
            lambda: viz.loss_figure(
                frame["step"].to_numpy(),
                norms,
                None,
                log_y=True,
                title="Gradient norm of each update (before clipping)",
                label=main.label,
                y_title="gradient norm",
            ),
        )
        controls.chart(
            gfig,
            "grad.update_norm",
            "the size of the whole gradient at each step, on a log scale; "
            "sudden spikes by orders of magnitude are exploding gradients.",
        )
    controls.rerun_on_change(was, controls.phase(current.values()))


live()
controls.latest_snapshots_button("grad.refresh")

snaps = replay.snapshots(job.snapshots)
if not snaps:
    st.info("No snapshots yet: press **Start** or **Step** to train.")
    st.stop()
steps = [s.step for s in snaps]
target = snaps[-1].target_step
layer_note = " of the last layer" if cfg.num_layers > 1 else ""
scored = list(task.scored_indices(cfg.seq_len))
one_step_task = len(scored) == 1
# Sequences of different lengths, each scored at its own last real step: no one output
# step is every sequence's, and the whole loss is the sum of those last-step terms.
own_ends = isinstance(task, LastStepClassification)
if own_ends:
    whole = True
    st.caption(
        f"{task.title} scores each sequence at its own last real step (lengths differ), so "
        f"no single output step is every sequence's: the curves follow the whole loss, "
        f"each sequence's gradient reaching back from its own end."
    )
elif one_step_task:
    whole = False  # scored at one step: the two views are the same curve
    st.caption(
        f"{task.title} is scored at one output step (t = {target}), so the loss "
        f"and that step's loss term are the same."
    )
else:
    whole = (
        st.radio(
            "Gradient of",
            [False, True],
            horizontal=True,
            key="grad.whole",
            format_func=lambda w: (
                "the whole loss (every scored step)"
                if w
                else f"the loss at the last scored step only (t = {target})"
            ),
            help="The whole loss includes each step's own output, so its gradient at h_t has "
            "a direct term at every t and stays flat even when nothing reaches far "
            "back. The last step's loss alone shows how far back that output can "
            "look.",
        )
        or False
    )
if whole:
    label, frames = "‖∂L/∂h_t‖", [s.grad_norm for s in snaps]
    what = (
        f"the derivative of the whole loss (every scored step) with respect to the "
        f"hidden state{layer_note} at each step t"
    )
else:
    label, frames = f"‖∂ℓ_{target}/∂h_t‖", [s.connectivity for s in snaps]
    what = (
        f"the derivative of the loss at output step {target} alone with respect to "
        f"the hidden state{layer_note} at each earlier step t"
    )
fig = of_snapshots(
    ("norm", whole),
    job,
    snaps,
    # an encoder-decoder's line between its encoder's steps and its decoder's
    lambda: mark_decoder_start(
        viz.grad_norm_figure(
            frames, steps, label=label, title=f"{label} through time, over training"
        ),
        snaps[-1].decoder_start,
    ),
)
controls.chart(
    fig,
    "grad.norm_anim",
    f"{what} (through every later step), averaged over the probe sequences' own "
    f"losses, on a log scale. Play to watch training change it.",
)
heat = of_snapshots(
    ("heatmap", whole),
    job,
    snaps,
    lambda: mark_decoder_start(
        viz.grad_heatmap(
            np.array(steps),
            np.stack(frames),
            label=label,
            title=f"log10 {label}: training step × time step",
        ),
        snaps[-1].decoder_start,
    ),
)
controls.chart(
    heat,
    "grad.heatmap",
    "each row is one snapshot: dark on the left means early steps get almost no gradient.",
)

if not (one_step_task or own_ends):
    with st.expander("From another output step"):
        tau = st.select_slider("Output step τ", scored, value=scored[-1], key="grad.tau")
        probe = controls.throttled(
            "grad.tau_cache",
            (job.id, job.steps_done, tau),
            0.0,
            lambda: controls.ask(job, "probe", target_step=tau),
        )
        replay.live_note("This curve")
        if probe is not None:
            controls.chart(
                viz.grad_norm_figure(
                    [probe.connectivity],
                    [probe.step],
                    label=f"‖∂ℓ_{tau}/∂h_t‖",
                    title=f"‖∂ℓ_{tau}/∂h_t‖ at training step {probe.step}",
                ),
                "grad.tau_chart",
                f"the derivative of the loss at output step τ = {tau} alone, for the model "
                f"as it is now; it is zero after τ (a later state cannot change an earlier "
                f"output).",
            )

carry_gate = CARRY_GATES.get(cfg.model)
layer_title = "the last layer" if cfg.num_layers > 1 else "the recurrent layer"
spec = of_snapshots(
    "spectra",
    job,
    snaps,
    lambda: viz.spectra_figure(
        np.array(steps),
        *spectra_over_training(snaps),
        gamma=None if carry_gate else 1.0,
        title=f"Recurrent matrix of {layer_title}: spectral radius and largest singular value",
    ),
)
if carry_gate is None:
    controls.chart(
        spec,
        "grad.spectra",
        "for a plain RNN, if the largest singular value of the recurrent matrix "
        "stays below 1/γ (γ bounds the activation's slope: 1 for tanh and "
        "ReLU), gradients must vanish over long spans; above it they can "
        "explode (Pascanu, Mikolov & Bengio 2013).",
    )
else:
    carry = carry_products(snaps[-1].gates[carry_gate], target)
    symbol = "f" if carry_gate == "forget" else "z"
    controls.chart(
        viz.carry_figure(
            carry,
            gate=carry_gate,
            target_step=target,
            title=f"What carries the {MODEL_TITLES[cfg.model]}'s memory: the "
            f"{carry_gate} gate {symbol}, multiplied along the sequence "
            f"(step {snaps[-1].step})",
        ),
        "grad.carry",
        f"for each unit, {symbol}_(t+1) × … × {symbol}_{target}: the factor by which the "
        f"carried path ({'the cell state c' if carry_gate == 'forget' else 'the z-weighted h'}"
        f") passes a unit's state, and its gradient, from step t to step {target}; the "
        f"paths through the gates add to it. Near 1, the unit remembers across that span; "
        f"near 0 it forgets. Averaged over the snapshot's {snaps[-1].gates[carry_gate].shape[0]} "
        f"probe sequences.",
    )
    controls.chart(
        spec,
        "grad.spectra",
        "the recurrent matrix of each gate block, for reference. The "
        "singular-value bound of Pascanu, Mikolov & Bengio (2013) is for plain "
        "RNNs: a gated cell's memory runs through its gates (above), not through "
        "these matrices alone, so no bound is drawn.",
    )

runs = gradient_curves(whole, snaps, replay.snapshots)
if len(runs) > 1:
    over = viz.overlay_grad_norms(
        runs, label=label, title=f"Runs of this session on {task.title}, T = {cfg.seq_len}"
    )
    controls.chart(
        over,
        "grad.overlay",
        f"the latest {label} of each run of this session on this task and "
        f"length (earlier runs are labelled by what differed from the run on "
        f"screen); a flatter curve carries the error further back in time.",
    )
else:
    st.caption(
        "Train another run alongside (sidebar: another cell, or other settings) or "
        "change a setting to compare runs side by side here (runs on the same task and "
        "length are overlaid)."
    )

controls.downloads(job, "grad.download")
