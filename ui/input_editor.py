"""Edit the input, see the inside change: the editor of the run's probe sequence #1 and
what the trained model does on the edit, for Hidden states and Inside a cell.

Each task gets its editor (``probe_edits.editor_kind``): the adding problem's markers
and marked values, the digits copy memory must remember, a string for the character
model or parity, a sentence for sentiment, a drawn digit image, typed values for a
one-channel series. The edit and the original go to the run in one "probe_inputs"
question (the job answers between two steps), asked again only when the edit changes
or, while the run trains, at most every few seconds.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from rnn_core import probe_edits, viz
from rnn_core.cell_step import step_breakdown
from rnn_core.probe_edits import EditError
from ui import controls

REFRESH_SECONDS = 2.0  # while the run trains, the edit's probe follows it this often


def _defaults(task, x0: np.ndarray) -> dict[str, object]:
    """The editor's widget values (by key suffix) that spell the original sequence."""
    kind = probe_edits.editor_kind(task)
    if kind == "adding":
        first, second, a, b = probe_edits.adding_marks(x0)
        return {"first": first, "second": second, "first_value": a, "second_value": b}
    if kind == "copy":
        return {"digits": probe_edits.copy_digits(x0)}
    if kind == "symbols":
        return {"text": probe_edits.symbols_text(x0, task.alphabet)}
    if kind == "sentence":
        return {"text": probe_edits.sentence_text(x0, task.alphabet)}
    if kind == "image":
        return {"text": probe_edits.image_text(x0, task.image_shape)}
    return {"text": probe_edits.values_text(x0)}


def _reset(prefix: str, values: dict[str, object]) -> None:
    for name, value in values.items():
        st.session_state[f"{prefix}.edit.{name}"] = value


def _toggle_clicked(prefix: str) -> None:
    """The drawing's callback: toggle the clicked pixel in the text the visitor edits."""
    points = st.session_state[f"{prefix}.edit.image"]["selection"]["points"]
    key = f"{prefix}.edit.text"
    for point in points[-1:]:  # the pixel just clicked
        st.session_state[key] = probe_edits.toggle_pixel(
            st.session_state[key], int(point["y"]), int(point["x"])
        )


def _drawing(prefix: str, image: np.ndarray) -> None:
    """The drawn digit; clicking a pixel toggles it (ink to blank, blank to ink)."""
    st.plotly_chart(
        viz.image_figure(image, title="The drawn digit (click a pixel)"),
        key=f"{prefix}.edit.image",
        on_select=lambda: _toggle_clicked(prefix),
        selection_mode="points",
        # no mode bar: its buttons covered the title in a 1024 px window
        config={"displayModeBar": False, "responsive": True},
    )
    st.caption(
        "How to read this: the image as the network reads it, row by row from the top; "
        "click a pixel to ink or blank it, or type in the grid."
    )


def _editor(prefix: str, task, x0: np.ndarray, run_id: str) -> np.ndarray | None:
    """The task's editor, started from ``x0``; the edited inputs, or None with the
    reason on the page."""
    kind = probe_edits.editor_kind(task)
    defaults = _defaults(task, x0)
    origin = (run_id, x0.tobytes())
    kept_key = f"{prefix}.edit.kept"
    if st.session_state.get(f"{prefix}.edit.of") != origin:  # another run: start again
        st.session_state[f"{prefix}.edit.of"] = origin
        st.session_state[kept_key] = defaults
        _reset(prefix, defaults)
    else:
        # Streamlit drops the values of widgets a page run did not draw (a visit to another
        # page): give them back the visitor's edit, kept under a key of no widget.
        kept = st.session_state.get(kept_key, defaults)
        for name, value in defaults.items():
            st.session_state.setdefault(f"{prefix}.edit.{name}", kept.get(name, value))
    key = f"{prefix}.edit."
    T = len(x0)
    try:
        if kind == "adding":
            c1, c2, c3, c4 = st.columns(4)
            first = c1.number_input("First marker at step", 0, T - 1, step=1, key=key + "first")
            value_a = c2.number_input(
                "its value", 0.0, 1.0, step=0.05, format="%.3f", key=key + "first_value"
            )
            second = c3.number_input("Second marker at step", 0, T - 1, step=1, key=key + "second")
            value_b = c4.number_input(
                "its value", 0.0, 1.0, step=0.05, format="%.3f", key=key + "second_value"
            )
            edited = probe_edits.adding_inputs(x0, first, second, value_a, value_b)
        elif kind == "copy":
            digits = st.text_input("The 10 digits to remember (each 1 to 8)", key=key + "digits")
            edited = probe_edits.copy_inputs(x0, digits)
        elif kind == "symbols":
            text = st.text_area(
                f"The sequence it reads (up to {T} characters)", key=key + "text", height=120
            )
            edited = probe_edits.symbols_inputs(text, task.alphabet, T)
        elif kind == "sentence":
            text = st.text_input("The sentence it reads", key=key + "text")
            edited, unknown = probe_edits.sentence_inputs(text, task)
            if unknown:
                st.caption(
                    "Read as an unknown word (not in the training vocabulary): "
                    + ", ".join(repr(w) for w in unknown[:10])
                )
        elif kind == "image":
            draw, picture = st.columns([1, 1])
            text = draw.text_area(
                "The digit: one line a row, 0 blank to 9 full ink",
                key=key + "text",
                height=230,
            )
            edited = probe_edits.image_inputs(x0, text, task.image_shape)
            with picture:
                _drawing(prefix, edited.reshape(task.image_shape))
        else:
            text = st.text_area(
                f"One value a step, separated by commas (up to {T})", key=key + "text"
            )
            edited = probe_edits.values_inputs(x0, text, T)
    except EditError as err:
        st.warning(str(err), icon=":material/edit_off:")
        edited = None
    st.session_state[kept_key] = {
        name: st.session_state[f"{prefix}.edit.{name}"] for name in defaults
    }
    st.button(
        "Back to the original",
        key=f"{prefix}.edit.reset",
        on_click=_reset,
        args=(prefix, defaults),
        icon=":material/undo:",
    )
    return edited


def _edit_and_probe(prefix: str, job, task, x0: np.ndarray):
    """(probe of [original, edit], changed steps), or None when there is nothing to show
    (no editor for the task, a bad edit, no edit yet, no answer)."""
    if probe_edits.editor_kind(task) is None:
        st.caption("Editing this task's input is not offered here.")
        return None
    x0 = np.asarray(x0, dtype=np.float32)
    edited = _editor(prefix, task, x0, job.id)
    if edited is None:
        return None
    n = len(edited)  # a shorter string is compared with the original's first n steps
    changed = probe_edits.changed_steps(x0, edited)
    if n == len(x0) and not len(changed):
        st.caption("Change the sequence above: the model's answer and the difference appear here.")
        return None
    pair = controls.throttled(
        f"{prefix}.edit.probe",
        (job.id, job.steps_done),
        REFRESH_SECONDS,
        lambda: controls.ask(job, "probe_inputs", x=np.stack([x0[:n], edited])),
        exact=(job.id, edited.tobytes()),
    )
    if pair is None:
        st.session_state.pop(f"{prefix}.edit.probe", None)  # ask again at the next rerun
        return None
    original, edit = (
        probe_edits.prediction_text(task, pair.inputs[i], pair.outputs[i]) for i in (0, 1)
    )
    st.markdown(
        f"At training step {pair.step}, on the original the model {original}.  \n"
        f"On the edit it **{edit}**."
    )
    return pair, changed


def hidden_states_section(job, task, cfg, x0: np.ndarray, layer: int) -> None:
    """Hidden states: the editor, the edit's states (or a gate) and their difference from
    the original's, for the model as it is now."""
    st.subheader("Edit the input")
    st.markdown(
        "Change probe sequence #1 and see what the trained model does on it: its states "
        "on the edit, and the difference from the original (edited minus original)."
    )
    result = _edit_and_probe("hidden", job, task, x0)
    if result is None:
        return
    pair, changed = result
    panels = {f"hidden state h, layer {layer + 1}": pair.hidden_layers[layer]}
    if pair.cell is not None:
        panels["cell state c"] = pair.cell
    panels.update({f"{name} gate": gate for name, gate in pair.gates.items()})
    what = st.selectbox("Compare", list(panels), key="hidden.edit.what")
    states = panels[what]
    symbol = {"hidden": "h", "cell": "c"}.get(what.split(" state")[0], what.split()[0])
    gate = what.endswith("gate") and not what.startswith(("cell", "new"))
    bounded = what.startswith("hidden") and cfg.model != "rnn_relu"  # tanh: within ±1
    controls.chart(
        viz.edited_states_figure(
            states[1],
            title=f"{what} on the edited sequence",
            colorbar_title=symbol,
            gate=gate,
            bound=1.0 if bounded or what.startswith(("cell gate", "new")) else None,
            changed_steps=changed,
        ),
        "hidden.edit.states",
        "rows are units, columns time steps, for the model as it is now; dashed lines "
        "mark the steps you edited (the first one, when there are many).",
    )
    controls.chart(
        viz.difference_figure(
            states[1],
            states[0],
            title=f"Edited minus original: {what}",
            colorbar_title=symbol,
            changed_steps=changed,
        ),
        "hidden.edit.difference",
        "red where the edit raised a unit's value, blue where it lowered it, white where "
        "nothing changed. A recurrent net reads in order, so nothing changes before the "
        "first edited step.",
    )


def inside_cell_section(job, task, cfg, x0: np.ndarray, t: int, units: int) -> None:
    """Inside a cell: the editor, and the step breakdown at step t on the edit, with
    its difference from the original's."""
    st.subheader("Edit the input")
    st.markdown(
        "Change probe sequence #1 and see every term of this step recomputed on the edit "
        "by the trained model, and how far each moved from the original's."
    )
    result = _edit_and_probe("cell", job, task, x0)
    if result is None:
        return
    pair, changed = result
    T = pair.inputs.shape[1]
    if t >= T:
        st.caption(f"The edited sequence has {T} steps: showing its last, t = {T - 1}.")
        t = T - 1
    edited = step_breakdown(cfg.model, pair, seq=1, t=t, units=units).table.T
    original = step_breakdown(cfg.model, pair, seq=0, t=t, units=units).table.T
    first = int(changed[0]) if len(changed) else None
    if first is not None and t < first:
        note = (
            f" The first edited step is {first}: a recurrent net has not read it yet at "
            f"step {t}, so nothing differs. Move t to {first} or later."
        )
    else:
        note = "" if first is None else f" The first edited step is {first}."
    st.caption(f"Step t = {t} on the edited sequence.{note}")
    for table, label in ((edited, "on the edit"), (edited - original, "edited minus original")):
        st.markdown(f"**{label}**")
        table.columns = [f"unit\N{NO-BREAK SPACE}{unit}" for unit in table.columns]
        st.table(table.style.format("{:+.3f}" if label.startswith("edited") else "{:.3f}"))
