"""Hidden states: the network's state over time and over training, its gates, its path."""

import numpy as np
import streamlit as st

from rnn_core import text_units, viz
from rnn_core.models import MODEL_TITLES
from ui import controls, session

cfg, task, job = session.page_run()

st.title("Hidden states")
st.markdown(f"Inside the **{MODEL_TITLES[cfg.model]}** on **{task.title}** (T = {cfg.seq_len}): "
            "the state it carries from step to step, on fixed probe sequences, at every "
            "snapshot taken during training.")
controls.run_controls()
controls.status_line(job)
st.button("Show the latest snapshots", key="hidden.refresh", icon=":material/refresh:",
          help="Animations load once so they can play; press to fetch newer snapshots.")

snaps = job.snapshots
if not snaps:
    st.info("No snapshots yet: press **Start** or **Step** to train, then come back or "
            "press *Show the latest snapshots*.")
    st.stop()

steps = [s.step for s in snaps]
last = snaps[-1]
n_layers = last.hidden_layers.shape[0]
c1, c2 = st.columns(2)
layer = c1.selectbox("Layer", range(n_layers), index=n_layers - 1, key="hidden.layer",
                     format_func=lambda i: f"layer {i + 1}" + (" (last)" if i == n_layers - 1
                                                                else ""))
seq = c2.radio("Probe sequence", range(last.hidden.shape[0]), horizontal=True,
               key="hidden.seq", format_func=lambda i: f"#{i + 1}")

bounded = cfg.model != "rnn_relu"  # tanh-bounded states live in [-1, 1]
frames = [s.hidden_layers[layer, seq].T for s in snaps]  # (H, T) per snapshot
top = 1.0 if bounded else max(float(np.nanmax(np.abs(f))) for f in frames) or 1.0
fig = viz.animated_heatmap(frames, steps, zmin=-top, zmax=top, zmid=0,
                           colorscale=viz.DIVERGING, colorbar_title="h",
                           title=f"Hidden state h_t, layer {layer + 1}, over training")
controls.chart(fig, "hidden_heatmap",
               "each row is one hidden unit, each column one time step of the same probe "
               "sequence; red is positive, blue negative. Press Play or drag the slider to "
               "move through training.")

bars = viz.time_step_bars(last.hidden_layers[layer, seq],
                          title=f"All units at one time step (training step {last.step})")
controls.chart(bars, "hidden.time_bars",
               "press Play to step through the sequence: each bar is one unit's value at "
               "time step t.")

if last.gates:
    last_layer = n_layers - 1
    if layer != last_layer:
        st.caption("Gates are recorded for the last layer.")
    st.subheader("Gates" + (" and cell state" if last.cell is not None else ""))
    panels = dict(last.gates)
    if last.cell is not None:
        panels = {"cell state c_t": None, **panels}
    tabs = st.tabs(list(panels))
    for tab, name in zip(tabs, panels, strict=True):
        with tab:
            if name == "cell state c_t":
                gframes = [s.cell[seq].T for s in snaps]
                top_c = max(float(np.nanmax(np.abs(f))) for f in gframes) or 1.0
                gfig = viz.animated_heatmap(gframes, steps, zmin=-top_c, zmax=top_c, zmid=0,
                                            colorscale=viz.DIVERGING, colorbar_title="c",
                                            title="LSTM cell state c_t over training")
            elif name in ("cell", "new"):  # tanh candidates: signed
                gframes = [s.gates[name][seq].T for s in snaps]
                gfig = viz.animated_heatmap(gframes, steps, zmin=-1, zmax=1, zmid=0,
                                            colorscale=viz.DIVERGING, colorbar_title=name,
                                            title=f"{name} candidate over training")
            else:  # sigmoid gates: 0 closed, 1 open
                gframes = [s.gates[name][seq].T for s in snaps]
                gfig = viz.animated_heatmap(gframes, steps, zmin=0, zmax=1,
                                            colorscale=viz.SEQUENTIAL, colorbar_title=name,
                                            title=f"{name} gate over training")
            controls.chart(gfig, f"hidden.gate.{name}",
                           "rows are units, columns time steps; for a gate, 0 is closed and "
                           "1 open. Play to watch it change over training.")
    sigmoid = {k: v for k, v in last.gates.items() if k not in ("cell", "new")}
    sat = viz.saturation_figure(sigmoid)
    controls.chart(sat, "hidden.saturation",
                   "one dot per unit and gate: how often it is nearly closed (< 0.1, right) "
                   "or nearly open (> 0.9, up). Dots near a corner act like switches; dots "
                   "near the origin are used gradually (Karpathy, Johnson & Fei-Fei 2015).")

st.subheader("The state's path")
dims = st.segmented_control("Projection", [2, 3], default=2, key="hidden.pca_dims",
                            format_func=lambda d: f"{d}-D") or 2
pca = viz.pca_trajectory(last.hidden_layers[layer, seq], dims=dims,
                         title=f"Hidden trajectory on its first {dims} principal components")
controls.chart(pca, "hidden.pca",
               "each point is the whole hidden state at one time step, projected on the "
               "directions of greatest variance; colour runs from the first step to the last.")

if task.name == "char_lm":
    st.subheader("What the units track")
    codes = last.inputs[seq].argmax(axis=-1)
    text = task.decode(codes.tolist())
    hidden = last.hidden_layers[layer, seq]  # (T, H)
    ranking = text_units.rank_units(hidden, text_units.text_features(text))
    options = [u for u, _, _ in ranking]
    labels = {u: f"unit {u}: {f} (r = {r:+.2f})" for u, f, r in ranking}
    unit = st.selectbox("Unit (best trackers of something visible first)", options,
                        key="hidden.unit", format_func=labels.get)
    st.html(text_units.activation_html(text, hidden[:, unit]))
    st.caption("How to read this: each character's background is the chosen unit's value "
               "after reading it (red positive, blue negative).")

with st.expander("Download this run"):
    controls.downloads(job, "hidden.download")
