"""Take a run with you: its training script and its weights, and a weights file inspector.

``take_it_with_you`` adds two downloads to a page's "Download this run" expander
(ui.controls.downloads): the run as a standalone PyTorch script (``rnn_core.export_script``,
a string, built as the page runs) and its weights as a state_dict .pt file, prepared
only when asked (the job answers "checkpoint" between two training steps, and a page
run must not wait for that). ``weights_inspector`` reads an uploaded .pt file with
``rnn_core.weights_file.read_weights`` (``torch.load(..., weights_only=True)`` only)
and shows what it holds and whether it fits the session's run.
"""

from __future__ import annotations

import streamlit as st

from rnn_core.config import RunConfig
from rnn_core.export_script import export_refusal, file_name, script_for
from rnn_core.jobs import Job
from rnn_core.models import MODEL_TITLES
from rnn_core.weights_file import (
    MAX_FILE_MB,
    WeightsFileError,
    describe,
    model_shapes,
    read_weights,
    recurrent_spectra,
    shape_problems,
    weights_bytes,
)
from ui import private_data
from ui.controls import answer_or_note, show_note
from ui.text import escape_markdown

WEIGHTS_TIMEOUT = 10.0  # seconds a click waits for a training run to answer


def take_it_with_you(job: Job, key: str) -> None:
    """The script and weights downloads of ``job``'s run (widget keys under ``key``)."""
    cfg = job.config
    c1, c2 = st.columns(2)
    refusal = export_refusal(cfg)
    if refusal is None:
        c1.download_button(
            "PyTorch script (.py)",
            script_for(cfg),
            file_name=file_name(cfg),
            mime="text/x-python",
            key=f"{key}.script",
            icon=":material/code:",
            on_click="ignore",
            help="The same data, model, initial weights, optimiser and seed in plain "
            "PyTorch: run it and it reproduces this run's loss curve.",
        )
    else:
        c1.caption(escape_markdown(refusal))
    prepared = st.session_state.get(f"{key}.weights")
    if prepared is not None and prepared[0] != job.id:  # another run's (before a Reset)
        del st.session_state[f"{key}.weights"]
        prepared = None
    if prepared is not None:
        _, step, data = prepared
        c2.download_button(
            f"Weights at step {step:,} (.pt)",
            data,
            file_name=f"rnn-explorer-{cfg.model}-{cfg.task}-step{step}-weights.pt",
            mime="application/octet-stream",
            key=f"{key}.weights_file",
            icon=":material/download:",
            on_click="ignore",
        )
    c2.button(
        "Weights (state_dict .pt)" if prepared is None else "Prepare again (latest step)",
        key=f"{key}.weights_prepare",
        on_click=_prepare_weights,
        args=(job, key),
        icon=":material/deployed_code:",
        help="Takes the model's weights between two training steps and offers them as a "
        "file that torch.load(path, weights_only=True) reads.",
    )
    show_note(st.session_state.pop(f"{key}.weights_note", None))


def _prepare_weights(job: Job, key: str) -> None:
    """Button callback: ask the job for its weights (between two steps) and keep the
    file's bytes for the download button, or a note saying why there are none."""
    answer, note = answer_or_note(job, "checkpoint", timeout=WEIGHTS_TIMEOUT)
    if answer is None:
        if note[0] == "info":  # busy: a button is not redrawn at the next refresh
            note = (
                "info",
                f"{job.label} is busy training and did not answer within "
                f"{WEIGHTS_TIMEOUT:g} s: press again, or pause the run first.",
            )
        st.session_state[f"{key}.weights_note"] = note
        return
    checkpoint = answer[0]
    data = weights_bytes(checkpoint["model"])
    st.session_state[f"{key}.weights"] = (job.id, int(checkpoint["steps_done"]), data)


def weights_inspector(cfg: RunConfig, key: str) -> None:
    """An uploader for a state_dict file and what it holds, checked against ``cfg``'s
    model. Every refusal is one sentence; the file is never run."""
    with st.expander("Inspect a weights file"):
        uploaded = st.file_uploader(
            f"A state_dict .pt file (up to {MAX_FILE_MB} MB)",
            type=["pt", "pth"],
            key=f"{key}.upload",
            max_upload_size=MAX_FILE_MB,
            help="Read with torch.load(..., weights_only=True): tensors only; a file "
            "with Python code in it is refused, never run.",
        )
        if uploaded is None:
            st.caption(
                "Upload weights downloaded from this app (or any state_dict) to see each "
                "tensor's shape and size, and whether they fit this session's run."
            )
            return
        weights, error = _read_once(uploaded, key)
        if error is not None:
            st.error(escape_markdown(error), icon=":material/block:")
            return
        st.dataframe(
            describe(weights),
            key=f"{key}.tensors",
            hide_index=True,
            column_config={
                "dtype": st.column_config.TextColumn(width="small"),
                **{c: st.column_config.NumberColumn(format="%.4g") for c in ("norm", "min", "max")},
            },
        )
        task = private_data.task_of(cfg)
        problems = shape_problems(weights, model_shapes(cfg, task))
        title = f"this session's run ({MODEL_TITLES[cfg.model]} on {task.title})"
        if problems:
            st.info(
                escape_markdown(f"These weights do not fit {title}: {'; '.join(problems)}."),
                icon=":material/info:",
            )
            return
        st.success(escape_markdown(f"These weights fit {title}: the same tensors and shapes."))
        if st.toggle("Look at its recurrent blocks", key=f"{key}.spectra"):
            spectra = recurrent_spectra(weights, cfg.model)
            st.dataframe(spectra, key=f"{key}.spectra_table", hide_index=True)
            st.caption(
                "How to read this: each gate's H × H recurrent block. A spectral radius "
                "above 1 lets a linear recurrence through it grow; below 1 it fades "
                "(tanh and the gates squash what grows)."
            )


def _read_once(uploaded, key: str):
    """(weights, None) or (None, refusal) for an uploaded file, read once per upload
    (the page reruns on every widget change)."""
    cached = st.session_state.get(f"{key}.read")
    if cached is None or cached[0] != uploaded.file_id:
        try:
            cached = (uploaded.file_id, read_weights(uploaded.getvalue()), None)
        except WeightsFileError as err:
            cached = (uploaded.file_id, None, str(err))
        st.session_state[f"{key}.read"] = cached
    return cached[1], cached[2]
