"""The configuration sidebar shared by every page: widgets -> RunConfig.

Widget choices and ranges come from rnn_core's CHOICES and LIMITS, so adding a task or
a model is one registry entry. Changing any setting replaces the run (and the URL).
"""

from __future__ import annotations

import streamlit as st

from rnn_core import CHOICES, LIMITS, TASKS, ConfigError, RunConfig
from rnn_core.alongside import relative_to
from rnn_core.config import DEFAULT_LR, field_names
from rnn_core.models import MODEL_TITLES, RECURRENT
from rnn_core.seq2seq import ATTENTION_TITLES
from rnn_core.tasks.base import ENCODER_DECODERS
from ui import private_data
from ui.alongside_form import alongside_form
from ui.run import MAX_ALONGSIDE, RUN
from ui.text import escape_markdown

PREFIX = "cfg."

INIT_TITLES = {
    "default": "default (uniform)",
    "orthogonal": "orthogonal",
    "identity": "identity (IRNN)",
}
DATA_TITLES = {"private": "your upload", "default": "the task's own"}
OPTIMIZER_TITLES = {"adam": "Adam", "sgd": "SGD (momentum 0.9)", "rmsprop": "RMSprop"}


def _range(name: str) -> str:
    lo, hi = LIMITS[name]
    return f"{lo:g}–{hi:g}"


def _widget_values(cfg: RunConfig, alongside: tuple[str, ...]) -> dict[str, object]:
    """What the widgets show for ``cfg`` (after a preset, a URL or a reset), by key."""
    values = {PREFIX + name: getattr(cfg, name) for name in field_names()}
    values[PREFIX + "use_clip"] = cfg.clip is not None
    values[PREFIX + "clip"] = cfg.clip if cfg.clip is not None else 1.0
    values[PREFIX + "use_scale"] = cfg.recurrent_scale is not None
    values[PREFIX + "recurrent_scale"] = cfg.recurrent_scale or 1.0
    values[PREFIX + "use_budget"] = cfg.param_budget is not None
    return values


def _number(label: str, name: str, step, fmt: str | None = None, **kw):
    lo, hi = LIMITS[name]
    cast = int if isinstance(step, int) else float
    return st.number_input(
        f"{label} ({_range(name)})",
        min_value=cast(lo),
        max_value=cast(hi),
        step=step,
        format=fmt,
        key=PREFIX + name,
        **kw,
    )


def _fit_length_to_task() -> None:
    """A task just picked whose lengths exclude the current T gets the nearest one it
    allows: the digits are read in 8 or 64 steps, the stock series holds 24. Otherwise
    the pick was refused ("Not applied") until the visitor found the range by hand."""
    s = st.session_state
    task = _chosen_task()
    high = task.max_seq_len or int(LIMITS["seq_len"][1])
    s[PREFIX + "seq_len"] = min(max(int(s[PREFIX + "seq_len"]), task.min_seq_len), high)


def _chosen_data() -> str:
    """The data picked in the sidebar: "private" only for a task this session uploaded."""
    s = st.session_state
    uploaded = s[PREFIX + "task"] in private_data.private_tasks()
    return s.get(PREFIX + "data", "default") if uploaded else "default"


def _chosen_task():
    """The task picked in the sidebar, on the session's upload when that is picked."""
    name = st.session_state[PREFIX + "task"]
    if _chosen_data() == "private":
        return private_data.private_tasks()[name]
    return TASKS[name]


def config_sidebar() -> None:
    """Draw the settings; apply a valid change, explain an invalid one."""
    RUN.widgets_follow(_widget_values)
    s = st.session_state
    with st.sidebar:
        st.header("Run settings")
        st.selectbox("Cell", RECURRENT, format_func=MODEL_TITLES.get, key=PREFIX + "model")
        st.selectbox(
            "Task",
            CHOICES["task"],
            format_func=lambda t: TASKS[t].title,
            key=PREFIX + "task",
            on_change=_fit_length_to_task,
        )
        if s[PREFIX + "task"] in private_data.private_tasks():
            st.radio(
                "Data",
                ("private", "default"),
                format_func=DATA_TITLES.get,
                key=PREFIX + "data",
                on_change=_fit_length_to_task,
                help="Your upload stays in this session only: never stored or shared.",
            )
        task = _chosen_task()
        encoder_decoder = task.architecture in ENCODER_DECODERS
        if task.min_seq_len == task.max_seq_len:
            # A task of one length (digits, translation): nothing to choose.
            s[PREFIX + "seq_len"] = task.min_seq_len
        _number(
            "Sequence length T",
            "seq_len",
            1,
            disabled=task.min_seq_len == task.max_seq_len,
            help=f"{task.title}: {task.min_seq_len}–"
            f"{task.max_seq_len or int(LIMITS['seq_len'][1])} steps.",
        )
        if encoder_decoder:
            st.selectbox(
                "Decoder attention",
                CHOICES["attention"],
                format_func=ATTENTION_TITLES.get,
                key=PREFIX + "attention",
                help="Luong attention: at each step the decoder weighs the encoder's "
                "states. None: it reads only the encoder's last state.",
            )
        budget = RUN.config().param_budget
        if budget is not None:
            # A link or preset sized the run by its parameter count; the hidden size
            # applies once this is off.
            st.checkbox(f"Size to {budget:,} parameters", key=PREFIX + "use_budget")
        _number(
            "Hidden size",
            "hidden_size",
            1,
            disabled=budget is not None and s[PREFIX + "use_budget"],
        )
        _number("Layers", "num_layers", 1)
        _number("Batch size", "batch_size", 1)
        with st.expander("Optimisation", expanded=False):
            st.selectbox(
                "Optimizer",
                CHOICES["optimizer"],
                format_func=OPTIMIZER_TITLES.get,
                key=PREFIX + "optimizer",
            )
            _number(
                "Learning rate",
                "lr",
                1e-4,
                "%.5f",
                placeholder=f"default {DEFAULT_LR[s[PREFIX + 'optimizer']]:g}",
                help="Leave empty for the optimizer's recommended default.",
            )
            st.checkbox("Clip the gradient norm", key=PREFIX + "use_clip")
            _number("Max gradient norm", "clip", 0.1, "%.2f", disabled=not s[PREFIX + "use_clip"])
            st.selectbox(
                "Initialisation", CHOICES["init"], format_func=INIT_TITLES.get, key=PREFIX + "init"
            )
            st.checkbox(
                "Rescale the recurrent matrix",
                key=PREFIX + "use_scale",
                help="Set every recurrent block's initial spectral radius.",
            )
            _number(
                "Spectral radius",
                "recurrent_scale",
                0.1,
                "%.2f",
                disabled=not s[PREFIX + "use_scale"],
            )
            _number("Seed", "seed", 1)
        alongside_form(RUN, MAX_ALONGSIDE)
        try:
            # Settings without a widget here (the parameter budget, the race models'
            # shapes) stay as the run has them.
            new = RUN.config().replace(
                model=s[PREFIX + "model"],
                task=s[PREFIX + "task"],
                seq_len=int(s[PREFIX + "seq_len"]),
                hidden_size=int(s[PREFIX + "hidden_size"]),
                num_layers=int(s[PREFIX + "num_layers"]),
                batch_size=int(s[PREFIX + "batch_size"]),
                optimizer=s[PREFIX + "optimizer"],
                lr=s[PREFIX + "lr"],
                clip=float(s[PREFIX + "clip"]) if s[PREFIX + "use_clip"] else None,
                init=s[PREFIX + "init"],
                recurrent_scale=float(s[PREFIX + "recurrent_scale"])
                if s[PREFIX + "use_scale"]
                else None,
                seed=int(s[PREFIX + "seed"]),
                attention=s[PREFIX + "attention"] if encoder_decoder else "off",
                param_budget=budget if budget is not None and s[PREFIX + "use_budget"] else None,
                data=_chosen_data(),
            )
        except ConfigError as err:
            st.error(f"Not applied: {escape_markdown(str(err))}")
            return
        short = private_data.length_problem(new)
        if short:
            st.error(f"Not applied: {escape_markdown(short)}")
            return
        # The runs alongside keep the settings they change; one that now equals the
        # main run (its cell picked as the main one, say) is left out.
        RUN.apply(new, relative_to(RUN.models(), new), "Settings changed: the run was reset.")
