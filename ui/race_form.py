"""The CNN vs RNN page's settings form: widgets -> the race's settings (ui.race.RACE).

The race has its own settings on its page (the sidebar edits the run pages' run): its
task, length, parameter budget and models, and the TCN's and the transformer's shape.
"""

from __future__ import annotations

import streamlit as st

from rnn_core import LIMITS, TASKS, ConfigError, RunConfig
from rnn_core.models import MODEL_TITLES
from ui import race
from ui.race import RACE
from ui.text import escape_markdown

DEFAULT_BUDGET = 10_000  # shown when a race has no budget (a race always needs one)


def _widget_values(cfg: RunConfig, models: tuple[str, ...]) -> dict[str, object]:
    """What the form's widgets show for a race (by widget key)."""
    return {
        "race.task": cfg.task,
        "race.seq_len": cfg.seq_len,
        "race.models": list(models),
        "race.budget": cfg.param_budget or DEFAULT_BUDGET,
        "race.seed": cfg.seed,
        "race.batch_size": cfg.batch_size,
        "race.tcn_kernel": cfg.tcn_kernel,
        "race.tcn_levels": cfg.tcn_levels or 0,
        "race.attn_heads": cfg.attn_heads,
        "race.attn_layers": cfg.attn_layers,
    }


def _on_task_change() -> None:
    # A new task: its own length range (digits are fixed-length) and suitable models.
    s = st.session_state
    task = TASKS[s["race.task"]]
    low, high = task.min_seq_len, task.max_seq_len or int(LIMITS["seq_len"][1])
    s["race.seq_len"] = min(max(int(s["race.seq_len"]), low), high)
    s["race.models"] = [m for m in s["race.models"] if m in race.model_choices(task.name)]


def race_form() -> None:
    """Draw the race's settings; apply a valid change, explain an invalid one."""
    cfg, _ = RACE.widgets_follow(_widget_values)
    s = st.session_state
    with st.container(border=True, key="race.settings"):
        c1, c2, c3 = st.columns([2, 1, 2])
        c1.selectbox(
            "Task",
            race.RACE_TASKS,
            format_func=lambda t: TASKS[t].title,
            key="race.task",
            on_change=_on_task_change,
        )
        task = TASKS[s["race.task"]]
        high = task.max_seq_len or int(LIMITS["seq_len"][1])
        c2.number_input(
            f"Sequence length T ({task.min_seq_len}–{high})",
            min_value=task.min_seq_len,
            max_value=high,
            step=10,
            key="race.seq_len",
            disabled=task.min_seq_len == high,
        )
        c3.slider(
            "Parameter budget (each model)",
            1_000,
            50_000,
            step=500,
            key="race.budget",
            help="Each model's width is chosen so its parameter count is within 10% "
            "of this (Bai et al. compared models at equal size).",
        )
        st.multiselect(
            f"Models ({race.MIN_MODELS} to {race.MAX_MODELS})",
            race.model_choices(task.name),
            format_func=MODEL_TITLES.get,
            key="race.models",
            max_selections=race.MAX_MODELS,
        )
        with st.expander("More settings"):
            a1, a2, a3 = st.columns(3)
            a1.number_input("TCN kernel size (2–8)", 2, 8, key="race.tcn_kernel")
            a2.number_input(
                "TCN levels (0 = enough to cover the sequence)", 0, 10, key="race.tcn_levels"
            )
            a3.number_input("Seed", 0, int(LIMITS["seed"][1]), key="race.seed")
            b1, b2, b3 = st.columns(3)
            b1.number_input("Attention heads (1–4)", 1, 4, key="race.attn_heads")
            b2.number_input("Attention layers (1–2)", 1, 2, key="race.attn_layers")
            b3.number_input("Batch size (1–256)", 1, 256, key="race.batch_size")
    chosen = tuple(s["race.models"])
    if len(chosen) < race.MIN_MODELS:
        st.warning(f"Pick at least {race.MIN_MODELS} models; the race on screen is unchanged.")
        return
    try:
        new = cfg.replace(
            task=task.name,
            seq_len=int(s["race.seq_len"]),
            param_budget=int(s["race.budget"]),
            seed=int(s["race.seed"]),
            batch_size=int(s["race.batch_size"]),
            tcn_kernel=int(s["race.tcn_kernel"]),
            tcn_levels=int(s["race.tcn_levels"]) or None,
            attn_heads=int(s["race.attn_heads"]),
            attn_layers=int(s["race.attn_layers"]),
        )
    except ConfigError as err:
        st.error(f"Not applied: {escape_markdown(str(err))}")
        return
    RACE.apply(new, chosen, "Race settings changed: the race was reset.")
