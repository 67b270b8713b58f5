"""The CNN vs RNN race: its settings, its URL and its jobs, apart from the session's run.

A race is one RunConfig of shared settings (task, length, parameter budget, seed, ...;
its ``model`` field is unused) and two to five models. Each model trains as its own job
under the process-wide JobManager, so a race counts against the server's job limit like
any run. The race page's URL describes the race (``models=tcn,lstm,gru`` plus the
settings); visiting the page does not touch the Playground's run, and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from rnn_core import TASKS, ConfigError, RunConfig, Trainer
from rnn_core.jobs import Job
from rnn_core.models import MODEL_TITLES, MODELS
from rnn_core.presets import RACE_PRESETS
from ui import session

PAGE = "views/cnn_vs_rnn.py"
URL_PATH = "cnn_vs_rnn"
CONFIG_KEY = "race.state.config"
MODELS_KEY = "race.state.models"
WARNINGS_KEY = "race.state.url_warnings"

# The tasks a race offers: the memory tasks it is about, two easy sequence tasks, and
# the digits read as an image or a sequence. (char_lm's 97-symbol alphabet makes small
# parameter budgets too coarse for a recurrent model to match within 10%.)
RACE_TASKS = ("copy_memory", "adding", "parity", "sine", "digits_rows", "digits_pixels")
MIN_MODELS, MAX_MODELS = 2, 5
DEFAULT = RACE_PRESETS["race_copy"]
# Race snapshots are light (outputs, saliency, attention): 4 MB keeps about 30 of them
# per model even for the transformer's 2x2 attention maps at 128 x 128.
SNAPSHOT_BYTES = 4 * 2**20


def model_choices(task: str) -> tuple[str, ...]:
    """Models that can race on ``task``: the 2-D CNN only where the input is an image."""
    return tuple(m for m in MODELS if m != "cnn2d" or TASKS[task].image_shape is not None)


@dataclass
class RaceRuns:
    key: tuple | None = None  # (config, models) the jobs were built for
    jobs: dict[str, Job] = field(default_factory=dict)  # model -> job, in race order
    notes: list[str] = field(default_factory=list)  # models that could not race, and why
    sweep_spec: Any = None  # the memory-horizon sweep shown (ui.sweep_panel)
    sweep: Any = None
    sweep_job: Job | None = None


def race_runs() -> RaceRuns:
    runs = session.session_runs()
    if runs.race is None:
        runs.race = RaceRuns()  # the session's jobs share its owner: a closed tab stops both
    return runs.race


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
    name = query.get("preset")
    if name is not None:
        if name in RACE_PRESETS:
            preset = RACE_PRESETS[name]
            return preset.config, preset.models, []
        problems.append(f"preset: {str(name)[:30]!r} is not one of {', '.join(RACE_PRESETS)}.")
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


def init_from_url() -> None:
    if CONFIG_KEY in st.session_state:
        return
    cfg, models, problems = parse_query(st.query_params.to_dict())
    st.session_state[CONFIG_KEY] = cfg
    st.session_state[MODELS_KEY] = models
    st.session_state[WARNINGS_KEY] = problems


def show_url_warnings() -> None:
    session.show_url_warnings(WARNINGS_KEY)


def config() -> RunConfig:
    init_from_url()
    return st.session_state[CONFIG_KEY]


def models() -> tuple[str, ...]:
    init_from_url()
    return st.session_state[MODELS_KEY]


def query_for(cfg: RunConfig, race_models: tuple[str, ...]) -> dict[str, str]:
    query = {k: v for k, v in cfg.to_query().items() if k != "model"}
    query["models"] = ",".join(race_models)
    return query


def sync_url() -> None:
    session.write_url(query_for(config(), models()))


def set_race(cfg: RunConfig, race_models: tuple[str, ...]) -> None:
    st.session_state[CONFIG_KEY] = cfg
    st.session_state[MODELS_KEY] = tuple(race_models)


def go_to_preset(name: str) -> None:
    preset = RACE_PRESETS[name]
    set_race(preset.config, preset.models)
    st.switch_page(PAGE, query_params=query_for(preset.config, preset.models))


# --------------------------------------------------------------------------------- jobs
def model_config(cfg: RunConfig, model: str) -> RunConfig:
    """One racer's configuration (raises ConfigError when it cannot race here)."""
    return cfg.replace(model=model)


def _new_jobs(runs: RaceRuns, cfg: RunConfig, race_models: tuple[str, ...]) -> None:
    manager, owner = session.job_manager(), session.session_runs().owner
    runs.notes = []
    for model in race_models:
        try:
            model_cfg = model_config(cfg, model)
        except ConfigError as err:
            runs.notes.append(f"{MODEL_TITLES[model]} does not race: {err}")
            continue
        trainer = Trainer(model_cfg, snapshot_bytes=SNAPSHOT_BYTES, light_probes=True)
        runs.jobs[model] = manager.submit(trainer, owner=owner, label=MODEL_TITLES[model])


def jobs() -> dict[str, Job]:
    """The race's jobs for the current race settings, in race order."""
    runs = race_runs()
    key = (config(), models())
    if runs.key != key:
        for job in runs.jobs.values():
            job.stop()
        runs.jobs = {}
        runs.key = key
        _new_jobs(runs, *key)
    return runs.jobs


def reset_jobs() -> None:
    runs = race_runs()
    for job in runs.jobs.values():
        job.stop()
    runs.jobs = {}
    _new_jobs(runs, config(), models())


def notes() -> list[str]:
    jobs()
    return race_runs().notes
