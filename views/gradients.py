"""Gradients: ||dL/dh_t|| through time, over training, and the recurrent spectrum."""

import numpy as np
import streamlit as st

from rnn_core import TASKS, viz
from rnn_core.models import MODEL_TITLES
from ui import controls, session

cfg = session.config()
task = TASKS[cfg.task]
job_map = session.jobs()
job = session.main_job()

st.title("Gradients through time")
st.markdown(f"How much the loss at the scored steps depends on the hidden state at each "
            f"earlier step t, for the **{MODEL_TITLES[cfg.model]}** on **{task.title}** "
            f"(T = {cfg.seq_len}). A curve that falls steeply to the left is a vanishing "
            f"gradient: early inputs cannot be learned from.")
controls.run_controls()

st.markdown("**One click away:**")
fix1, fix2, fix3 = st.columns(3)
FIXES = {
    "grad.fix_clip": ("Clip at norm 1", {"clip": 1.0}),
    "grad.fix_orth": ("Orthogonal init", {"init": "orthogonal"}),
    "grad.fix_irnn": ("Identity init (IRNN)", {"init": "identity"}),
}
for col, (key, (label, change)) in zip((fix1, fix2, fix3), FIXES.items(), strict=True):
    if col.button(label, key=key, width="stretch", wrap=True,
                  help="Restart this run with " + ", ".join(f"{k} = {v}" for k, v in
                                                            change.items()) + ".",
                  disabled=all(getattr(cfg, k) == v for k, v in change.items())):
        session.set_config(cfg.replace(**change))
        st.rerun()


@st.fragment(run_every=0.5 if session.any_active(job_map) else None)
def live() -> None:
    current = controls.live_jobs()
    main = next(iter(current.values()))
    frame = main.history
    fig = controls.race_loss_figure(current, frame, smooth=0.6, title="Loss of every run")
    controls.chart(fig, "grad.loss",
                   "the loss of every run trained alongside, on the same data and seed; the "
                   "dashed line is the trivial baseline.")
    norms = frame["grad_norm"].to_numpy()
    if len(norms):
        gfig = viz.loss_figure(frame["step"].to_numpy(), norms, None, log_y=True,
                               title="Gradient norm of each update (before clipping)",
                               label=main.label, y_title="gradient norm")
        controls.chart(gfig, "grad.update_norm",
                       "the size of the whole gradient at each step, on a log scale; "
                       "sudden spikes by orders of magnitude are exploding gradients.")


live()
st.button("Show the latest snapshots", key="grad.refresh", icon=":material/refresh:",
          help="Animations load once so they can play; press to fetch newer snapshots.")

snaps = job.snapshots
if not snaps:
    st.info("No snapshots yet: press **Start** or **Step** to train.")
    st.stop()
steps = [s.step for s in snaps]
frames = [s.grad_norm for s in snaps]
fig = viz.grad_norm_figure(frames, steps, title="‖∂L/∂h_t‖ through time, over training")
controls.chart(fig, "grad.norm_anim",
               "the total derivative of the loss with respect to the hidden state at each "
               "step t (through every later step), averaged over probe sequences, on a log "
               "scale. Play to watch training change it.")
heat = viz.grad_heatmap(np.array(steps), np.stack(frames),
                        title="log10 ‖∂L/∂h_t‖: training step × time step")
controls.chart(heat, "grad.heatmap",
               "each row is one snapshot: dark on the left means early steps get almost no "
               "gradient.")

radius = {k: np.array([s.spectral_radius[k][-1] for s in snaps]) for k in
          snaps[-1].spectral_radius}
singular = {k: np.array([s.max_singular_value[k][-1] for s in snaps]) for k in radius}
spec = viz.spectra_figure(np.array(steps), radius, singular, gamma=1.0,
                          title="Recurrent matrix of the last layer: spectral radius and "
                                "largest singular value")
controls.chart(spec, "grad.spectra",
               "if the largest singular value stays below 1/γ (γ bounds the activation's "
               "slope: 1 for tanh and ReLU), gradients must vanish; above it they can "
               "explode (Pascanu, Mikolov & Bengio 2013).")

runs = {f"{j.label} (now)": j.snapshots[-1].grad_norm
        for j in job_map.values() if j.snapshots}
for record in session.session_runs().previous:
    if record.grad_norm is not None:
        runs.setdefault(f"{record.label} (earlier)", record.grad_norm)
if len(runs) > 1:
    over = viz.overlay_grad_norms(runs, title="Runs of this session side by side")
    controls.chart(over, "grad.overlay",
                   "the latest ‖∂L/∂h_t‖ of each run trained in this session, same task; "
                   "a flatter curve carries the error further back in time.")
else:
    st.caption("Train another cell alongside (sidebar) or change a setting to compare runs "
               "side by side here.")

with st.expander("Download this run"):
    controls.downloads(job, "grad.download")
