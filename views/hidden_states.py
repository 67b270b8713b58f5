"""Hidden states: the network's state over time and over training, its gates, its path."""

import numpy as np
import streamlit as st

from rnn_core import text_units, viz
from rnn_core.models import MODEL_TITLES
from rnn_core.probes import carrier_units
from rnn_core.viz.translation import mark_decoder_start
from ui import controls, input_editor, replay_step
from ui.run import RUN

cfg, task, job = RUN.page_run()

st.title("Hidden states")
st.markdown(
    f"Inside the **{MODEL_TITLES[cfg.model]}** on **{task.title}** (T = {cfg.seq_len}): "
    "the state it carries from step to step, on fixed probe sequences, at every "
    "snapshot taken during training."
)
controls.run_controls(RUN)
controls.recurrent_states_or_stop(cfg)
replay = replay_step.slider(RUN, "hidden.step")
controls.status_line(job)
controls.latest_snapshots_button("hidden.refresh")

snaps = replay.snapshots(job.snapshots)
if not snaps:
    st.info(
        "No snapshots yet: press **Start** or **Step** to train, then come back or "
        "press *Show the latest snapshots*."
    )
    st.stop()

steps = [s.step for s in snaps]
last = snaps[-1]
n_layers = last.hidden_layers.shape[0]
c1, c2 = st.columns(2)
layer = c1.selectbox(
    "Layer",
    range(n_layers),
    index=n_layers - 1,
    key="hidden.layer",
    format_func=lambda i: f"layer {i + 1}" + (" (last)" if i == n_layers - 1 else ""),
)
seq = c2.radio(
    "Probe sequence",
    range(last.hidden.shape[0]),
    horizontal=True,
    key="hidden.seq",
    format_func=lambda i: f"#{i + 1}",
)

fig = viz.signed_over_training(
    [s.hidden_layers[layer, seq].T for s in snaps],  # (H, T) per snapshot
    steps,
    bound=None if cfg.model == "rnn_relu" else 1.0,  # a tanh keeps h within ±1
    colorbar_title="h",
    title=f"Hidden state h_t, layer {layer + 1}, over training",
)
# An encoder-decoder's states are the encoder's, then the decoder's: the line marks where.
mark_decoder_start(fig, last.decoder_start)
controls.chart(
    fig,
    "hidden_heatmap",
    "each row is one hidden unit, each column one time step of the same probe "
    "sequence; red is positive, blue negative. Press Play or drag the slider to "
    "move through training."
    + (
        f" Steps 0–{last.decoder_start - 1} are the encoder reading the source; from "
        f"step {last.decoder_start} on, the decoder (its own weights, starting from the "
        "encoder's last state) writes the translation."
        if last.decoder_start is not None
        else ""
    ),
)

bars = viz.time_step_bars(
    last.hidden_layers[layer, seq], title=f"All units at one time step (training step {last.step})"
)
controls.chart(
    bars,
    "hidden.time_bars",
    "press Play to step through the sequence: each bar is one unit's value at time step t.",
)

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
            if name == "cell state c_t":  # not bounded by 1 as h is
                gfig = viz.signed_over_training(
                    [s.cell[seq].T for s in snaps],
                    steps,
                    colorbar_title="c",
                    title="LSTM cell state c_t over training",
                )
            elif name in ("cell", "new"):  # tanh candidates
                gfig = viz.signed_over_training(
                    [s.gates[name][seq].T for s in snaps],
                    steps,
                    bound=1.0,
                    colorbar_title=name,
                    title=f"{name} candidate over training",
                )
            else:
                gfig = viz.gate_over_training(
                    [s.gates[name][seq].T for s in snaps],
                    steps,
                    name=name,
                    title=f"{name} gate over training",
                )
            mark_decoder_start(gfig, last.decoder_start)
            controls.chart(
                gfig,
                f"hidden.gate.{name}",
                "rows are units, columns time steps; for a gate, 0 is closed and "
                "1 open. Play to watch it change over training.",
            )
    if "forget" in last.gates and hasattr(task, "marked"):
        carriers = carrier_units(
            last.gates["forget"], last.gates["input"], task.marked(last.inputs)
        )
        mean_forget = float(np.mean(last.gates["forget"], dtype=np.float64))
        if carriers:
            named = "; ".join(
                f"**unit {c.unit}** (forget gate ≥ {c.min_forget:.3f} from the first marker "
                f"to the end; input gate {c.input_at_marks:.2f} at the markers, at most "
                f"{c.max_input_elsewhere:.2f} elsewhere)"
                for c in carriers
            )
            st.success(
                f"At step {last.step}, the unit(s) that carry the marked values to "
                f"the end: {named}. Across all units the forget gate averages "
                f"{mean_forget:.2f}: most units forget within a few steps.",
                icon=":material/memory:",
            )
        else:
            st.caption(
                f"At step {last.step}, no unit yet keeps its forget gate above 0.98 "
                f"from the first marker to the end while its input gate opens only "
                f"at the markers (the mean forget gate is {mean_forget:.2f}). Train "
                f"on: once the loss falls well below the baseline, one unit usually "
                f"does."
            )
    sigmoid = {k: v for k, v in last.gates.items() if k not in ("cell", "new")}
    sat = viz.saturation_figure(sigmoid)
    n_seq = next(iter(sigmoid.values())).shape[0] if sigmoid else 0
    controls.chart(
        sat,
        "hidden.saturation",
        f"one dot per unit and gate: the fraction of time steps (over the "
        f"snapshot's {n_seq} probe sequences) at which it is nearly closed "
        f"(< 0.1, right) or nearly open (> 0.9, up). A dot in the bottom-right "
        f"corner is a gate that is almost always closed, top-left almost always "
        f"open; dots along the diagonal from one to the other are saturated "
        f"nearly all the time yet switch between closed and open, like switches; "
        f"dots near the origin are used gradually (the reading of Karpathy, "
        f"Johnson & Fei-Fei 2015).",
    )

st.subheader("The state's path")
dims = (
    st.segmented_control(
        "Projection", [2, 3], default=2, key="hidden.pca_dims", format_func=lambda d: f"{d}-D"
    )
    or 2
)
pca = viz.pca_trajectory(
    last.hidden_layers[layer, seq],
    dims=dims,
    title=f"Hidden trajectory on its first {dims} principal components",
)
controls.chart(
    pca,
    "hidden.pca",
    "each point is the whole hidden state at one time step, projected on the "
    "directions of greatest variance; colour runs from the first step to the last.",
)

if task.name == "char_lm":
    st.subheader("What the units track")
    tracking = controls.throttled(
        "hidden.tracking_cache",
        (job.id, job.steps_done),
        5.0,
        lambda: controls.ask(job, "track_units"),
    )
    replay.live_note("This table")
    if tracking is not None:
        trained, untrained = tracking.trained_best, tracking.untrained_best
        st.dataframe(
            [
                {
                    "feature": f,
                    "best unit now": trained[f][0],
                    "r now": trained[f][1],
                    "best unit untrained": untrained[f][0],
                    "r untrained": untrained[f][1],
                }
                for f in text_units.FEATURES
            ],
            hide_index=True,
            width="stretch",
            key="hidden.tracking_table",
            column_config={
                c: st.column_config.NumberColumn(format="%+.2f") for c in ("r now", "r untrained")
            },
        )
        st.caption(
            f"How to read this: Pearson correlation r of each unit's {tracking.state} "
            f"(last layer) with a feature of {tracking.chars:,} characters of held-out "
            f"code read in one pass, for the model at training step {tracking.step} and "
            f"for the same network before training (its initial weights). Even untrained "
            f"units correlate with slowly changing features, so a unit tracks a feature "
            f"only as far as its r beats the untrained column."
        )
        labels: dict[int, str] = {}  # each unit by its strongest feature, strongest first
        for u, f, r in tracking.ranking:
            labels.setdefault(u, f"unit {u}: {f} (r = {r:+.2f})")
        unit = st.selectbox(
            "Unit (best trackers of something visible first)",
            list(labels),
            key="hidden.unit",
            format_func=labels.get,
        )
        values = tracking.excerpt_hidden[:, unit]
        scale = float(np.abs(values).max()) or 1.0  # c is not bounded by 1 as h is
        st.html(viz.activation_html(tracking.excerpt, values, vmin=-scale, vmax=scale))
        st.caption(
            f"Each character's background is the chosen unit's {tracking.state} "
            f"after reading it (red positive, blue negative, full colour at "
            f"±{scale:.2g}), on the first {len(tracking.excerpt)} characters of that "
            f"held-out text."
        )

input_editor.hidden_states_section(job, task, cfg, last.inputs[0], layer)
replay.live_note("The edited input (and its unedited twin)")

controls.downloads(job, "hidden.download")
