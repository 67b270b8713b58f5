"""The sidebar's "Train alongside": the runs trained beside the main one, each with a
remove button, and a form to add one that differs in a cell or in chosen settings.

A run alongside is the main run with some settings changed (rnn_core.alongside); the
form writes its text from the widgets and adds it to the run set's settings, so the URL
(``compare=``) and the runs follow as for any other setting.
"""

from __future__ import annotations

import streamlit as st

from rnn_core import CHOICES, LIMITS, ConfigError, RunConfig
from rnn_core import alongside as runs_alongside
from rnn_core.config import DEFAULT_LR
from rnn_core.models import MODEL_TITLES, RECURRENT
from ui.run_set import RunSet
from ui.text import escape_markdown

KEY = "cfg.add"  # the form's widget keys start with this
SAME = "same"
FIELD_TITLES = {
    "hidden_size": "Hidden size",
    "num_layers": "Layers",
    "batch_size": "Batch size",
    "optimizer": "Optimizer",
    "lr": "Learning rate",
    "clip": "Gradient clipping (max norm)",
    "init": "Initialisation",
    "recurrent_scale": "Recurrent scale (spectral radius)",
    "seed": "Seed",
}
# The box that sets an optional setting to None, and what None means for it.
NONE_TITLES = {
    "lr": "the optimizer's default",
    "clip": "no clipping",
    "recurrent_scale": "no rescaling",
}
_INTS = ("hidden_size", "num_layers", "batch_size", "seed")


def _remove(runs: RunSet, spec: str) -> None:
    cfg, specs = runs.settings()
    runs.set(cfg, tuple(s for s in specs if s != spec))


def _value(name: str) -> object:
    s = st.session_state
    if name in NONE_TITLES and s.get(f"{KEY}.{name}.none"):
        return None
    value = s[f"{KEY}.{name}"]
    return int(value) if name in _INTS else value


def _add(runs: RunSet) -> None:
    """The form's run added to the settings, or the reason why not kept for the form."""
    s = st.session_state
    cfg, specs = runs.settings()
    changes: dict[str, object] = {}
    if s[f"{KEY}.cell"] != SAME:
        changes["model"] = s[f"{KEY}.cell"]
    for name in s.get(f"{KEY}.fields", []):
        changes[name] = _value(name)
    spec = runs_alongside.canonical({k: v for k, v in changes.items() if getattr(cfg, k) != v})
    problem = None
    if not spec:
        problem = "That is the main run itself: choose another cell or change a setting."
    elif spec in specs:
        problem = "That run already trains alongside."
    else:
        try:
            runs_alongside.member_config(cfg, spec)
        except (ConfigError, ValueError) as err:
            problem = f"That run cannot train: {err}"
    if problem is None:
        runs.set(cfg, (*specs, spec))
        st.toast(
            f"Training alongside: {runs_alongside.title(cfg, (*specs, spec), spec)}.",
            icon=":material/add:",
        )
    s[f"{KEY}.problem"] = problem


def _setting_widget(name: str, cfg: RunConfig) -> None:
    """One setting's value for the run to add, starting from the main run's."""
    key, current = f"{KEY}.{name}", getattr(cfg, name)
    if name in CHOICES:
        st.session_state.setdefault(key, current)
        st.selectbox(FIELD_TITLES[name], CHOICES[name], key=key)
        return
    if name in NONE_TITLES:
        st.session_state.setdefault(f"{key}.none", False)
        st.checkbox(f"{FIELD_TITLES[name]}: {NONE_TITLES[name]}", key=f"{key}.none")
    lo, hi = LIMITS[name]
    if name in _INTS:
        st.session_state.setdefault(key, int(current))
        st.number_input(FIELD_TITLES[name], int(lo), int(hi), step=1, key=key)
    else:
        if current is None:
            current = DEFAULT_LR[cfg.optimizer] if name == "lr" else 1.0
        st.session_state.setdefault(key, float(current))
        st.number_input(
            FIELD_TITLES[name],
            float(lo),
            float(hi),
            step=0.1 if name != "lr" else 1e-4,
            format="%.5f" if name == "lr" else "%.2f",
            key=key,
            disabled=bool(st.session_state.get(f"{key}.none")),
        )


def alongside_form(runs: RunSet, max_runs: int) -> None:
    """The runs trained alongside (each with a remove button) and the form that adds one;
    at most ``max_runs``."""
    cfg, specs = runs.settings()
    st.markdown("**Train alongside** (same task and length)")
    titles = {spec: runs_alongside.title(cfg, specs, spec) for spec in specs}
    for i, spec in enumerate(specs):
        c1, c2 = st.columns([5, 1], vertical_alignment="center")
        c1.markdown(escape_markdown(titles[spec]))
        c2.button(
            "",
            key=f"{KEY}.remove.{i}",
            icon=":material/close:",
            on_click=_remove,
            args=(runs, spec),
            help=f"Stop training {titles[spec]} alongside.",
        )
    if len(specs) >= max_runs:
        st.caption(f"At most {max_runs} runs train alongside: remove one to add another.")
        return
    with st.expander("Add a run", expanded=not specs):
        st.selectbox(
            "Cell",
            [SAME, *(m for m in RECURRENT if m != cfg.model)],
            format_func=lambda m: "same cell" if m == SAME else MODEL_TITLES[m],
            key=f"{KEY}.cell",
        )
        chosen = st.multiselect(
            "Settings to change",
            list(runs_alongside.FIELDS),
            format_func=FIELD_TITLES.get,
            key=f"{KEY}.fields",
        )
        for name in chosen:
            _setting_widget(name, cfg)
        st.button(
            "Add",
            key=f"{KEY}.button",
            icon=":material/add:",
            on_click=_add,
            args=(runs,),
            help="Train this run beside the main one, on the same task, length and data "
            "stream (the seed, unless you change it).",
        )
        problem = st.session_state.pop(f"{KEY}.problem", None)
        if problem:
            st.error(escape_markdown(problem))
