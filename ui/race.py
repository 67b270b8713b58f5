"""The CNN vs RNN race (``RACE``): its settings and its URL, apart from the session's run.

A race is one RunConfig of shared settings (task, length, parameter budget, seed, ...;
its ``model`` field is unused) and two to five models. Each model trains as its own job
under the process-wide JobManager, so a race counts against the server's job limit like
any run. The race page's URL describes the race (``models=tcn,lstm,gru`` plus the
settings); visiting the page does not touch the Playground's run, and back.
"""

from __future__ import annotations

from rnn_core import TASKS, ConfigError, RunConfig
from rnn_core.models import MODELS
from rnn_core.presets import RACE_OPTIONS, RACE_PRESETS, RacePreset
from ui.run_set import RunSet

PAGE = "views/cnn_vs_rnn.py"
URL_PATH = "cnn_vs_rnn"

# The tasks a race offers: the memory tasks it is about, two easy sequence tasks, the
# digits read as an image or a sequence, who is speaking (real, variable-length
# sequences scored at each one's own end), and the sentiment of sentences read word
# by word. (char_lm's 97-symbol alphabet makes small parameter budgets too coarse for
# a recurrent model to match within 10%; sentiment's 124 inputs and 2 outputs match
# every model within 10% at 5,000, 10,000 and 20,000.)
RACE_TASKS = (
    "copy_memory",
    "adding",
    "parity",
    "sine",
    "digits_rows",
    "digits_pixels",
    "speakers",
    "sentiment",
)
MIN_MODELS, MAX_MODELS = 2, 5
DEFAULT = RACE_PRESETS["race_copy"]


def model_choices(task: str) -> tuple[str, ...]:
    """Models that can race on ``task``: the 2-D CNN only where the input is an image."""
    return tuple(m for m in MODELS if m != "cnn2d" or TASKS[task].image_shape is not None)


# --------------------------------------------------------------------------- URL <-> state
def parse_models(raw, task: str) -> tuple[tuple[str, ...], list[str]]:
    """The race's models from a comma list; unknown, duplicate or unsuitable names are
    dropped with a message, at most MAX_MODELS are kept."""
    names, problems = [], []
    for name in str(raw)[:200].split(","):
        name = name.strip()
        if not name or name in names:
            continue
        if name not in model_choices(task):
            problems.append(
                f"models: {name[:20]!r} cannot race on {task}; choose from "
                f"{', '.join(model_choices(task))}."
            )
            continue
        names.append(name)
    if len(names) > MAX_MODELS:
        problems.append(f"models: at most {MAX_MODELS} race at once; kept the first {MAX_MODELS}.")
    return tuple(names[:MAX_MODELS]), problems


def default_length(task: str) -> int:
    """The default race's length, moved into ``task``'s range (digits are fixed)."""
    spec = TASKS[task]
    high = spec.max_seq_len or DEFAULT.config.seq_len
    return min(max(DEFAULT.config.seq_len, spec.min_seq_len), high)


def parse_query(query: dict) -> tuple[RunConfig, tuple[str, ...], list[str]]:
    """A race from URL parameters, leniently: every bad value is replaced by the default
    race's and named in the returned problems."""
    problems: list[str] = []
    values = {k: v for k, v in query.items() if k not in ("model", "models", "preset")}
    if values.get("task", DEFAULT.config.task) not in RACE_TASKS:
        problems.append(
            f"task: {str(values['task'])[:30]!r} is not one of {', '.join(RACE_TASKS)}."
        )
        values.pop("task")
    merged = {**DEFAULT.config.to_query(), **values}
    task = merged["task"]
    if "task" in values and "seq_len" not in values:
        merged["seq_len"] = str(default_length(task))
    defaults = {**DEFAULT.config.to_query(), "seq_len": str(default_length(task))}
    if str(merged["param_budget"]).strip().lower() in ("none", "null", ""):
        # the page races at equal size only (checked before the loop, so the default
        # budget still meets the cost cap together with the other settings)
        problems.append(
            f"param_budget: a race matches every model's size; using "
            f"{DEFAULT.config.param_budget:,}."
        )
        merged["param_budget"] = defaults["param_budget"]
    for _ in range(len(defaults)):
        # A bad value falls back to the default race's (not RunConfig's) value; each
        # pass replaces at least one field, and the default race itself is valid.
        try:
            cfg = RunConfig.from_query(merged)
            break
        except ConfigError as err:
            problems.append(str(err))
            merged[err.field] = defaults[err.field]
    else:
        cfg = DEFAULT.config
    models, model_problems = parse_models(query.get("models", ",".join(DEFAULT.models)), cfg.task)
    problems += model_problems
    if len(models) < MIN_MODELS:
        problems.append(
            f"models: a race needs {MIN_MODELS} to {MAX_MODELS} models; "
            f"using {', '.join(DEFAULT.models)}."
        )
        models = tuple(m for m in DEFAULT.models if m in model_choices(cfg.task))
    return cfg, models, problems


def to_query(cfg: RunConfig, models: tuple[str, ...]) -> dict[str, str]:
    query = {k: v for k, v in cfg.to_query().items() if k != "model"}
    query["models"] = ",".join(models)
    return query


def _preset_settings(preset: RacePreset) -> tuple[RunConfig, tuple[str, ...], str]:
    return preset.config, preset.models, PAGE


RACE = RunSet(
    name="race",
    parse_query=parse_query,
    to_query=to_query,
    members=lambda cfg, models: models,
    not_trained="{title} does not race: {error}",
    presets=RACE_PRESETS,
    preset_settings=_preset_settings,
    options=RACE_OPTIONS,
)
