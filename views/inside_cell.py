"""Inside a cell: one time step of the trained cell, with its actual numbers."""

import numpy as np
import streamlit as st

from rnn_core.cell_step import step_breakdown
from rnn_core.models import MODEL_TITLES
from ui import controls, input_editor, replay_step
from ui.run import RUN

SHOWN_UNITS = 8

cfg, task, job = RUN.page_run()

st.title("Inside a cell")
st.markdown(
    f"The **{MODEL_TITLES[cfg.model]}**'s equations at one time step of a probe "
    "sequence, with the trained model's actual numbers."
)
controls.run_controls(RUN)
controls.recurrent_states_or_stop(cfg)
replay = replay_step.slider(RUN, "cell.step")
hidden_size = cfg.shape.kwargs["hidden_size"]  # a parameter budget may set it
if hidden_size > SHOWN_UNITS:
    st.caption(
        f"Showing units 0–{SHOWN_UNITS - 1} of {hidden_size}; a hidden size of "
        f"{SHOWN_UNITS} or less shows every unit."
    )

# A fresh probe of sequence 0 with the weights it was taken with: the job answers between
# two training steps, so the states and weights are of one step. Asked again only when
# the run has moved on (moving t reuses it).
# A replayed step reads its snapshot, which keeps the weights the breakdown needs.
probe = replay.snapshot(job.snapshots) if replay.step is not None else None
if probe is not None and not probe.weights:
    st.info(
        "The snapshot at this step was kept without the weights this page needs (by an "
        "older version of the app): the model is shown as it is now."
    )
    probe = None
probe = probe or controls.throttled(
    "cell.probe_cache",
    (job.id, job.steps_done),
    0.0,
    lambda: controls.ask(job, "probe", sequences=1),
)
if probe is None:
    st.session_state.pop("cell.probe_cache", None)  # ask again at the next rerun
    st.stop()
total = probe.inputs.shape[1]
st.caption(f"The model as it was at training step {probe.step}.")
T_KEY = "cell.t"
st.session_state.setdefault(T_KEY, 0)
st.session_state[T_KEY] = min(st.session_state[T_KEY], total - 1)


def _move(delta: int) -> None:
    st.session_state[T_KEY] = int(np.clip(st.session_state[T_KEY] + delta, 0, total - 1))


if total > 1:
    # [1, 6, 1] cut the buttons' labels at a 1024 px window
    b1, b2, b3 = st.columns([1, 4, 1])
    b1.button("◀ t−1", key="cell.prev", on_click=_move, args=(-1,), width="stretch")
    b2.slider("Time step t", 0, total - 1, key=T_KEY)
    b3.button("t+1 ▶", key="cell.next", on_click=_move, args=(1,), width="stretch")
else:  # a slider needs two values: a one-step sequence has only t = 0
    st.caption("The sequence has one time step: t = 0.")
t = st.session_state[T_KEY]

breakdown = step_breakdown(cfg.model, probe, seq=0, t=t, units=SHOWN_UNITS)
# Each equation gets the page's full width: in a 3:2 split beside the input, the longer
# ones (GRU's n_t is about 410 px) were cut off at a 1024 px window.
for equation in breakdown.equations:
    st.latex(equation)
in_col, note_col = st.columns([2, 3])
with in_col:
    layers = probe.hidden_layers.shape[0]
    if layers > 1:
        # The equations are the last layer's: its input is the layer below's state.
        st.markdown(
            f"**Input x_t** (what layer {layers} reads at this step: layer "
            f"{layers - 1}'s hidden state h_t)"
        )
        st.dataframe({"x_t": breakdown.x_t}, width="stretch")
    elif task.alphabet and probe.inputs.shape[-1] == len(task.alphabet):
        st.markdown("**Input x_t** (what the cell reads at this step)")
        symbol = task.alphabet[int(np.argmax(breakdown.x_t))]
        st.code(f"one-hot symbol {symbol!r}", language=None)
    else:
        st.markdown("**Input x_t** (what the cell reads at this step)")
        st.dataframe({"x_t": breakdown.x_t}, width="stretch")
with note_col:
    st.caption(
        f"How to read the table below: one column per hidden unit; rows follow the "
        f"equations from top to bottom. Recomputed here from the weights, these numbers "
        f"match the model's own h_t to within {breakdown.max_error:.1e}."
    )
# One row per term and one column per unit: at most SHOWN_UNITS + 1 columns, where one
# column per term (up to 13 for an LSTM) scrolled sideways. A static table wraps its
# row labels, so three decimals fit a 1024 px window; four did not.
terms = breakdown.table.T
# A no-break space: the row labels wrap when the table is narrow, not these headers.
terms.columns = [f"unit\N{NO-BREAK SPACE}{unit}" for unit in terms.columns]
st.table(terms.style.format("{:.3f}"))

input_editor.inside_cell_section(job, task, cfg, probe.inputs[0], t, SHOWN_UNITS)
replay.live_note("The edited input (and its unedited twin)")

controls.downloads(job, "cell.download")
