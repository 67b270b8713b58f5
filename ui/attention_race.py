"""With and without attention at one parameter budget: the Translation page's race.

The race follows the session's run (``ui.run.RUN``) on an encoder-decoder task: the same
settings at the run's parameter budget (or, when it has none, at its parameter count),
trained once with Luong attention and once without; each is sized to the budget, so the
one without attention gets the wider encoder and decoder. Its members are shared runs
like any other, so the member with the session's run's own settings is that run's job,
trained once. The race has no URL of its own: the session's run's URL describes it.
"""

from __future__ import annotations

from rnn_core import LIMITS, RunConfig
from rnn_core.presets import RUN_OPTIONS
from ui.run import parse_query
from ui.run_set import RunSet

MEMBERS = ("luong", "off")  # with attention first, then without
TITLES = {"luong": "with attention", "off": "without attention"}


def race_config(cfg: RunConfig) -> RunConfig:
    """The race's settings for the session's run ``cfg`` (ConfigError when no model of
    this cell has within 10% of its parameter count)."""
    if cfg.param_budget is not None:
        return cfg
    lo, hi = LIMITS["param_budget"]
    return cfg.replace(param_budget=int(min(max(cfg.shape.num_parameters, lo), hi)))


def follow(cfg: RunConfig) -> None:
    """Make the race the one for the session's run ``cfg`` (its jobs change at the next
    ``ATTENTION_RACE.jobs()`` when that is another race)."""
    ATTENTION_RACE.set(race_config(cfg), ())


def _parse_query(query: dict) -> tuple[RunConfig, tuple[str, ...], list[str]]:
    # Read only if the race were shown before ``follow``: the session's run's URL.
    cfg, _, problems = parse_query(query)
    return race_config(cfg), (), problems


ATTENTION_RACE = RunSet(
    name="attention_race",
    parse_query=_parse_query,
    to_query=lambda cfg, _: cfg.to_query(),
    members=lambda cfg, _: MEMBERS,
    not_trained="{title} does not train at this budget: {error}",
    presets={},
    preset_settings=lambda preset: (preset.config, (), "views/translation.py"),
    options=RUN_OPTIONS,
    member_config=lambda cfg, attention: cfg.replace(attention=attention),
    member_title=lambda cfg, models, attention: TITLES[attention],
)
