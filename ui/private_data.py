"""A visitor's uploaded data: kept in their session only, and the task a run page shows.

An upload becomes a task of the kind it replaces (``rnn_core.tasks.uploaded``), kept in
``st.session_state`` by task name, never in a process-wide cache or the run store. A run
on it has ``data="private"`` in its RunConfig; ``task_of`` is the one place a page turns a
config into its task, so every run page shows the session's own task for such a run. A
link to a private run opened anywhere else finds no such task here: ``from_link`` says
so and opens the same settings on the task's default data.
"""

from __future__ import annotations

import streamlit as st

from rnn_core import TASKS, RunConfig
from rnn_core.tasks import Task

KEY = "uploads.tasks"  # task name -> this session's uploaded task of that name
NOT_SHARED = (
    "data: this run used private data (a visitor's upload) that was not shared; the "
    "same settings are shown on the task's default data instead."
)


def private_tasks() -> dict[str, Task]:
    return st.session_state.setdefault(KEY, {})


def keep(task: Task) -> None:
    """``task`` (an uploaded one) replaces the session's data of its task name."""
    private_tasks()[task.name] = task


def task_of(cfg: RunConfig) -> Task:
    """The task a run of ``cfg`` trains on: the session's upload for private data."""
    if cfg.data == "private" and cfg.task in private_tasks():
        return private_tasks()[cfg.task]
    return TASKS[cfg.task]


def run_task(cfg: RunConfig) -> Task | None:
    """What a Trainer takes as ``task``: the upload for private data, else None."""
    return task_of(cfg) if cfg.data == "private" else None


def from_link(cfg: RunConfig, problems: list[str]) -> tuple[RunConfig, list[str]]:
    """Settings read from a link: private data this session does not hold (it was
    another visitor's) becomes the default data, with a note why."""
    if cfg.data == "private" and cfg.task not in private_tasks():
        return cfg.replace(data="default"), [*problems, NOT_SHARED]
    return cfg, problems


def length_problem(cfg: RunConfig) -> str | None:
    """Why the session's data cannot give ``cfg``'s sequence length (None: it can)."""
    if cfg.data != "private":
        return None
    task = task_of(cfg)
    high = task.max_seq_len or cfg.seq_len
    if task.min_seq_len <= cfg.seq_len <= high:
        return None
    return (
        f"seq_len: your uploaded data gives sequences of {task.min_seq_len} to {high} "
        f"steps, not {cfg.seq_len}."
    )
