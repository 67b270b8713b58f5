"""Your data: upload a series, a text or labelled sentences, preview them, train on them.

Parsing and checks are in rnn_core.uploads, the tasks in rnn_core.tasks.uploaded, the
session's keeping of them in ui.private_data: this page holds the widgets.
"""

import logging

import numpy as np
import streamlit as st

from rnn_core import RunConfig, uploads, viz
from rnn_core.config import ConfigError
from rnn_core.tasks.uploaded import (
    UploadedLabelledTask,
    UploadedRecordTask,
    UploadedSeriesTask,
    UploadedTextTask,
)
from ui import controls, private_data
from ui.run import PAGES, RUN
from ui.text import escape_markdown

_LOG = logging.getLogger(__name__)
KIND_TITLES = {
    "forecast": "Time series: forecasting",
    "anomaly": "Time series: anomaly detection",
    "text": "Text: character model",
    "labelled": "Labelled sentences: classification",
}
FILE_TYPES = {"forecast": "CSV", "anomaly": "CSV", "text": "text", "labelled": "CSV"}
NONE = "(none)"
PREVIEW_ROWS = 8

st.title("Your data")
st.markdown(
    "Train the networks of this app on your own data: a **CSV time series** for "
    "forecasting or anomaly detection, a **plain-text file** for the character model, or "
    "a **CSV of `text,label` rows** (two labels) for sentence classification. The data "
    "replaces the data of the matching task, so every run page (Playground, Hidden "
    "states, Gradients, Inside a cell, Time series, Sentiment) then shows your run."
)
st.info(
    "**Private.** Your file stays in this browser session's memory: it is never written "
    "to disk, never kept in the run store, and no other visitor can open or join a run "
    "on it. A link to such a run opens its settings on the task's own data instead. "
    "Closing the tab discards it.",
    icon=":material/lock:",
)

kind = st.radio(
    "What is in your file?",
    list(KIND_TITLES),
    format_func=KIND_TITLES.get,
    key="data.kind",
    horizontal=True,
)
# One uploader for every kind, so a file stays when the kind changes (Streamlit forgets
# a widget that a run does not draw).
upload = st.file_uploader(
    f"Your {FILE_TYPES[kind]} file",
    type=["csv", "txt", "tsv"],
    key="data.file",
    help=f"At most {uploads.MAX_BYTES / 10**6:g} MB.",
)
st.caption(
    f"**Limits:** files up to **{uploads.MAX_BYTES / 10**6:g} MB** (the server refuses "
    f"uploads over {uploads.MAX_UPLOAD_MB} MB too); CSV files up to "
    f"**{uploads.MAX_ROWS:,} rows** and **{uploads.MAX_COLUMNS} columns**; a series needs "
    f"at least {uploads.MIN_SERIES_ROWS} values, and gaps of up to {uploads.MAX_GAP} "
    f"missing values are filled in by interpolation; texts of "
    f"{uploads.MIN_TEXT_CHARS:,} to **{uploads.MAX_TEXT_CHARS:,} characters** with at "
    f"most {uploads.MAX_ALPHABET} different ones; labelled files of at least "
    f"{uploads.MIN_LABELLED_ROWS} rows (the {uploads.MAX_VOCABULARY:,} most frequent words "
    f"are the vocabulary). UTF-8 text only. Nothing in a file is ever evaluated: a cell "
    f"that starts like a spreadsheet formula (=, +, -, @) is shown with a leading quote."
)
if upload is None:
    st.stop()


def _table(upload, min_rows: int) -> uploads.Table:
    """The upload's table, parsed once per file (kept in this session only)."""
    held = st.session_state.get("data.table")
    if held is None or held[0] != (upload.file_id, min_rows):
        held = ((upload.file_id, min_rows), uploads.read_table(upload.getvalue(), min_rows))
        st.session_state["data.table"] = held
    return held[1]


def _keep_valid(key: str, options: list, default):
    """A widget's remembered value that is not an option of this file goes back to the
    default (a new file has other columns)."""
    value = st.session_state.get(key)
    valid = all(v in options for v in value) if isinstance(value, list) else value in options
    if value is None or not valid:
        st.session_state[key] = default


def series_task(table: uploads.Table):
    numeric, dates = uploads.numeric_columns(table), uploads.date_columns(table)
    c1, c2, c3 = st.columns(3)
    many = kind == "forecast"
    _keep_valid("data.columns", numeric, uploads.default_columns(table))
    columns = c1.multiselect(
        "Value column" + ("s (each its own series)" if many else ""),
        numeric,
        key="data.columns",
        max_selections=8 if many else 1,
    )
    _keep_valid("data.date", [NONE, *dates], dates[0] if dates else NONE)
    date = c2.selectbox("Date column", [NONE, *dates], key="data.date")
    resample = c3.selectbox(
        "Resample (mean per period)",
        list(uploads.RESAMPLE_RULES),
        key="data.resample",
        disabled=date == NONE,
        help="Dates are parsed and sorted; a period's values are averaged.",
    )
    series_choices = {
        "columns": columns,
        "date_column": None if date == NONE else date,
        "resample": "none" if date == NONE else resample,
    }
    if kind == "forecast":
        c1, c2 = st.columns(2)
        horizon = c1.number_input(
            f"Forecast horizon (steps ahead, 1–{uploads.MAX_HORIZON})",
            1,
            uploads.MAX_HORIZON,
            1,
            key="data.horizon",
        )
        normalise = c2.checkbox(
            "Normalise (z-score on the training part)", True, key="data.normalise"
        )
        series = uploads.series_from_table(table, **series_choices)
        task = UploadedSeriesTask(series, horizon=int(horizon), normalise=normalise)
    else:
        others = [c for c in numeric if c not in columns]
        _keep_valid("data.labels", [NONE, *others], NONE)
        label = st.selectbox(
            "Anomaly labels (optional: a column, nonzero = abnormal)",
            [NONE, *others],
            key="data.labels",
        )
        series = uploads.series_from_table(
            table, **series_choices, label_column=None if label == NONE else label
        )
        task = UploadedRecordTask(series)
    for note in series.notes:
        st.caption(f"Done: {escape_markdown(note)}.")
    st.dataframe(
        uploads.neutralised(table.cells.head(PREVIEW_ROWS)), key="data.rows", hide_index=True
    )
    train = task.series_list("train")[0]
    shown = np.concatenate([np.stack(task.series_list(s), axis=1) for s in ("train", "test")])
    times = np.concatenate([task.times("train")[0], task.times("test")[0]])
    controls.chart(
        viz.upload_series_figure(
            times,
            shown,
            task.labels(),
            float(times[len(train)]),
            time_name=series.time_name,
            unit=task.unit,
        ),
        "data.series",
        "your series as the network reads it (after the choices above); the shaded part "
        "is held out: the net never trains on it and is scored there.",
    )
    return task


def text_task():
    text = uploads.parse_text(upload.getvalue())
    task = UploadedTextTask(text)
    st.markdown(
        f"{len(text):,} characters, {task.input_size} different ones; the last "
        f"{1 - task.train_fraction:.0%} is held out."
    )
    st.code(text[:600], language=None)
    return task


def labelled_task():
    from rnn_core.tasks.review_grammar import MAX_WORDS  # noqa: PLC0415

    labelled = uploads.parse_labelled(upload.getvalue(), MAX_WORDS)
    task = UploadedLabelledTask(labelled)
    if labelled.cut:
        st.caption(f"{labelled.cut:,} sentences were cut to their first {MAX_WORDS} words.")
    st.markdown(
        f"{len(labelled.labels):,} rows, {task.input_size - 1:,} words in the vocabulary; "
        f"{len(task.sentences('test')[0]):,} rows held out (a seeded random choice)."
    )
    st.dataframe(
        uploads.neutralised(_table(upload, uploads.MIN_LABELLED_ROWS).cells.head(PREVIEW_ROWS)),
        key="data.rows",
        hide_index=True,
    )
    names = [uploads.neutralise(c) for c in labelled.class_names]
    controls.chart(
        viz.label_counts_figure(names, np.bincount(labelled.labels, minlength=2)),
        "data.labels_chart",
        "how many rows carry each label; a very uneven split makes guessing the "
        "commoner label a strong baseline.",
    )
    return task


try:
    if kind in ("forecast", "anomaly"):
        task = series_task(_table(upload, uploads.MIN_SERIES_ROWS))
    elif kind == "text":
        task = text_task()
    else:
        task = labelled_task()
except uploads.UploadError as err:
    st.error(escape_markdown(str(err)), icon=":material/error:")
    st.stop()
except Exception as err:  # noqa: BLE001 - a visitor's file must never reach a traceback
    _LOG.warning("upload not read: %s: %s", type(err).__name__, err)
    st.error("The file could not be read.", icon=":material/error:")
    st.stop()


def train_on(task) -> None:
    """The session's run on this data, fresh, then the Playground."""
    private_data.keep(task)
    cfg = RUN.config()
    high = task.max_seq_len
    length = min(max(task.min_seq_len, 100 if task.name == "char_lm" else 50), high)
    changes = {"task": task.name, "data": "private", "seq_len": length, "attention": "off"}
    try:
        new = cfg.replace(**changes)
    except ConfigError:  # settings of another task (a parameter budget) that do not fit
        new = RunConfig(model=cfg.model, seed=cfg.seed, **changes)
    RUN.set(new)
    RUN.reset()  # fresh runs of this session's own on the new data, even if cfg is equal
    st.switch_page(PAGES["playground"], query_params=RUN.to_query(*RUN.settings()))


if st.button("Train on this data", key="data.train", type="primary", icon=":material/play_arrow:"):
    train_on(task)
st.caption(
    f"Opens the Playground with the session's run on {task.title}; start it there. The "
    f"run keeps your other settings (cell, size, optimiser)."
)
