"""A run as a standalone PyTorch script: ``script_for(config)`` returns its source.

The script imports torch (and the standard library; numpy, and pandas for the speakers,
for a task on a data file) and no part of the app, and does what the Trainer does for
the run: the same batches from a generator seeded with the run's data stream, the
same model and initial weights, the same optimiser, clipping and divergence rule, so its
losses are the run's history (tests/test_export_script.py runs scripts in an isolated
interpreter and compares them with ``Trainer.step`` to 1e-6). It is assembled from the
pieces in ``rnn_core.script_templates`` and ``rnn_core.script_data_templates``: one per
task and per model choice, so a script holds no branch for any other task or model.

What is exported: every recurrent cell (tanh and ReLU RNN, LSTM, GRU) with any layers,
width, batch, optimiser, learning rate, clipping, initialisation, recurrent scale and
seed, on the tasks whose data is generated and on those that read a data file the app
bundles (or plotly ships): the script reads the same file from a checkout of RNN
Explorer (``--data`` says where else) and prepares it as the task does
(``EXPORTABLE_TASKS``; sentiment's sentences are made by a restatement of the app's
review grammar, from the same seed). Refused with a sentence (``ExportError``) saying
which runs are exportable: a run on a visitor's upload (its data never leaves the
session), the encoder-decoders and the non-recurrent models.
"""

from __future__ import annotations

import json
import textwrap

import torch

from rnn_core import script_data_templates as data_tpl
from rnn_core import script_templates as tpl
from rnn_core.config import RunConfig
from rnn_core.models import MODEL_TITLES, RECURRENT
from rnn_core.recurrent_layers import GATE_NAMES, RECURRENT_LAYERS
from rnn_core.tasks import TASKS, review_grammar
from rnn_core.tasks.base import ASSETS_DIR, ENCODER_DECODERS
from rnn_core.tasks.sentiment import HELD_OUT_SENTENCES
from rnn_core.train import DATA_STREAM

DEFAULT_STEPS = 1000
_WIDTH = 100  # the generated code's line length (this repository's, pyproject.toml)
_OPTIMIZER_TITLES = {"adam": "Adam", "sgd": "SGD with momentum 0.9", "rmsprop": "RMSprop"}

# The piece of script of each task whose batches are generated, from the task's constants.
_TASK_PIECES = {
    "adding": lambda task: tpl.TASK_ADDING.substitute(),
    "copy_memory": lambda task: tpl.TASK_COPY_MEMORY.substitute(
        n_digits=task.n_digits, n_symbols=task.n_symbols
    ),
    "parity": lambda task: tpl.TASK_PARITY.substitute(),
    "sine": lambda task: tpl.TASK_SINE.substitute(
        n_components=task.n_components,
        freq_range=repr(tuple(task.freq_range)),
        amp_range=repr(tuple(task.amp_range)),
        noise_std=repr(task.noise_std),
    ),
}
GENERATED_TASKS = tuple(_TASK_PIECES)


def _data_path(task) -> str:
    """Where the app reads the task's file, from the top of a checkout (posix slashes)."""
    return task.default_path.relative_to(ASSETS_DIR.parent).as_posix()


def _digits(task):
    return data_tpl.DIGITS.substitute(
        data_path=_data_path(task),
        reading="row by row" if task.pixels_per_step > 1 else "pixel by pixel",
        pixels_per_step=task.pixels_per_step,
        split_seed=task.split_seed,
        train_fraction=repr(task.train_fraction),
        max_value=task.max_value,
    )


def _literal(value) -> str:
    """A constant as Python source, strings in double quotes (as ruff formats them)."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        items = ", ".join(_literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _assignment(name: str, value) -> str:
    """``NAME = value`` as ruff formats it: on one line if it fits, else a tuple one item
    a line."""
    line = f"{name} = {_literal(value)}"
    if len(line) <= _WIDTH or not isinstance(value, tuple):
        return line
    return f"{name} = (\n" + "".join(f"    {_literal(item)},\n" for item in value) + ")"


def _sentiment(task):
    """The sentiment piece: its grammar's word lists and probabilities are the engine's
    (rnn_core/tasks/review_grammar.py), written into the script as constants."""
    names = (
        "NOUNS",
        "INTENSIFIERS",
        "VERBS",
        "NEGATORS",
        "UNKNOWN",
        "P_NEGATED",
        "P_INTENSIFIED",
        "P_AT_ALL",
        "P_NEVER",
        "P_UNKNOWN_NOUN",
        "P_AND",
        "P_BUT",
        "P_END",
    )
    constants = [_assignment(name, getattr(review_grammar, name)) for name in names]
    constants.append(_assignment("HELD_OUT_SENTENCES", HELD_OUT_SENTENCES))
    return data_tpl.SENTIMENT.substitute(
        data_path=_data_path(task),
        n_train=task.n_train,
        n_test=task.n_test,
        split_seed=task.split_seed,
        vocabulary_size=task.input_size,
        constants="\n".join(constants),
    )


# The pieces of the tasks on a bundled file (rnn_core.script_data_templates), and the
# third-party imports each needs besides torch.
_DATA_PIECES = {
    "char_lm": lambda task: data_tpl.CHAR_LM.substitute(
        data_path=_data_path(task),
        train_fraction=repr(task.train_fraction),
        n_symbols=task.input_size,
    ),
    "co2": lambda task: data_tpl.CO2.substitute(
        data_path=_data_path(task),
        train_fraction=repr(task.train_fraction),
        scale=repr(task.scale),
    ),
    "elnino": lambda task: data_tpl.ELNINO.substitute(
        data_path=_data_path(task), train_years=task.train_years
    ),
    "ecg": lambda task: data_tpl.ECG.substitute(
        data_path=_data_path(task),
        stride=task.stride,
        train_fraction=repr(task.train_fraction),
        scale=repr(task.scale),
    ),
    "stocks": lambda task: data_tpl.STOCKS.substitute(
        train_weeks=task.train_weeks, scale=repr(task.scale)
    ),
    "digits_rows": _digits,
    "digits_pixels": _digits,
    "speakers": lambda task: data_tpl.SPEAKERS.substitute(
        data_path=_data_path(task),
        n_coefficients=task.input_size,
        n_speakers=task.output_size,
    ),
    "sentiment": _sentiment,
}
_DATA_NEEDS = {"char_lm": ("torch",), "speakers": ("torch", "numpy", "pandas")}
_DATA_STDLIB = {"stocks": ("gzip", "importlib.util")}
_TASK_PIECES.update(_DATA_PIECES)
EXPORTABLE_TASKS = tuple(_TASK_PIECES)
# How the sentence of exported tasks names each one (every exportable task has a name).
_SHORT_NAMES = {
    "adding": "adding",
    "copy_memory": "copy memory",
    "parity": "parity",
    "sine": "waveforms",
    "char_lm": "the character model",
    "co2": "CO₂",
    "stocks": "stock prices",
    "elnino": "El Niño",
    "ecg": "ECG",
    "digits_rows": "the digits read by rows",
    "digits_pixels": "the digits read by pixels",
    "speakers": "speakers",
    "sentiment": "sentiment",
}


class ExportError(ValueError):
    """A run that the script export does not cover; the message says which do."""


def _exportable_sentence() -> str:
    generated = ", ".join(_SHORT_NAMES[name] for name in GENERATED_TASKS)
    files = [_SHORT_NAMES[name] for name in _DATA_PIECES]
    return (
        f"Scripts cover the four recurrent cells on the generated tasks ({generated}) and "
        f"on the app's data files ({', '.join(files[:-1])} and {files[-1]})."
    )


def export_refusal(config: RunConfig) -> str | None:
    """Why ``config``'s run cannot be exported as a script, in a sentence (None: it can)."""
    task = TASKS[config.task]
    if config.data != "default":
        # checked first: whatever the model and task, an upload stays in its session
        return (
            "This run trains on your own uploaded data, which never leaves your session, "
            "so it is not exported as a script."
        )
    if config.model not in RECURRENT:
        reason = f"The {MODEL_TITLES[config.model]} is not exported as a script."
    elif task.architecture in ENCODER_DECODERS:
        reason = f"{task.title} trains an encoder-decoder, which the script does not cover."
    elif config.task not in EXPORTABLE_TASKS:
        reason = f"{task.title} is not among the exported tasks."
    else:
        return None
    return f"{reason} {_exportable_sentence()}"


def file_name(config: RunConfig) -> str:
    return f"rnn_explorer_{config.model}_{config.task}.py"


def script_for(config: RunConfig, steps: int = DEFAULT_STEPS) -> str:
    """The source of a standalone script that trains ``config``'s run (``steps`` by
    default when run without ``--steps``). ExportError for a run it does not cover."""
    refusal = export_refusal(config)
    if refusal is not None:
        raise ExportError(refusal)
    # One blank line between the imports and the settings (isort's rule before code that
    # is not a definition), two between the other pieces, as between definitions (PEP 8).
    head = _header(config, steps).strip("\n") + "\n\n" + _settings(config).strip("\n")
    parts = [
        head,
        _TASK_PIECES[config.task](TASKS[config.task]),
        tpl.MODEL.substitute(title=MODEL_TITLES[config.model], layer=tpl.LAYERS[config.model]),
        *_initialisation(config),
        tpl.TRAIN.substitute(
            optimizer=tpl.OPTIMIZERS[config.optimizer],
            default_steps=steps,
            **_data_parts(config),
        ),
    ]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def _data_parts(config: RunConfig) -> dict[str, str]:
    """What the header and the training loop say about the task's data."""
    if config.task not in _DATA_PIECES:
        return tpl.GENERATED_DATA
    needs = _DATA_NEEDS.get(config.task, ("torch", "numpy"))
    imports = tuple(data_tpl.IMPORTS[name] for name in needs if name != "torch")
    listed = " and ".join([", ".join(needs[:-1]), needs[-1]] if len(needs) > 1 else needs)
    return tpl.file_data(
        f"it needs {listed}",
        _DATA_STDLIB.get(config.task, ()),
        imports,
        file_name(config),
        tpl.IN_PLOTLY if config.task == "stocks" else tpl.IN_CHECKOUT,
    )


def _header(config: RunConfig, steps: int) -> str:
    task = TASKS[config.task]
    shape = config.shape.kwargs
    clip = f"gradient clipping at {config.clip:g}" if config.clip is not None else "no clipping"
    scale = (
        f", recurrent blocks scaled to spectral radius {config.recurrent_scale:g}"
        if config.recurrent_scale is not None
        else ""
    )
    summary = (
        f"{MODEL_TITLES[config.model]} on {task.title} (T = {config.seq_len}): hidden size "
        f"{shape['hidden_size']}, {shape['num_layers']} layer(s), batch {config.batch_size}, "
        f"{_OPTIMIZER_TITLES[config.optimizer]} at learning rate {config.learning_rate:g}, "
        f"{clip}, {config.init} initialisation{scale}, seed {config.seed}."
    )
    query = "&".join(f"{k}={v}" for k, v in config.to_query().items())
    return tpl.HEADER.substitute(
        summary=textwrap.fill(summary, _WIDTH - len('"""')),
        torch_version=torch.__version__,
        file_name=file_name(config),
        default_steps=steps,
        query=query,
        **_data_parts(config),
    )


def _settings(config: RunConfig) -> str:
    task = TASKS[config.task]
    shape = config.shape.kwargs
    total = task.total_len(config.seq_len)
    text = tpl.SETTINGS.substitute(
        seq_len=config.seq_len,
        seq_len_note="" if total == config.seq_len else f" (the sequences have {total} steps)",
        batch_size=config.batch_size,
        hidden_size=shape["hidden_size"],
        num_layers=shape["num_layers"],
        learning_rate=repr(float(config.learning_rate)),
        max_grad_norm=(
            repr(float(config.clip)) + tpl.CLIP_NOTE
            if config.clip is not None
            else "math.inf" + tpl.NO_CLIP_NOTE
        ),
        seed=config.seed,
        data_stream=f"{DATA_STREAM:_}",
        baseline=repr(task.baseline_loss(config.seq_len)),
    )
    if config.recurrent_scale is not None:
        text += (
            f"RECURRENT_SCALE = {float(config.recurrent_scale)!r}  "
            f"# each initial recurrent block's spectral radius\n"
        )
    return text


def _initialisation(config: RunConfig) -> list[str]:
    """The pieces that set the initial weights: the helpers the recipe needs, then
    ``initialise``."""
    init, scale = config.init, config.recurrent_scale
    helpers = []
    if init != "default" or scale is not None:
        gates = len(GATE_NAMES[RECURRENT_LAYERS[config.model][0]])
        comment = tpl.GATE_COMMENTS[config.model]
        helpers.append(tpl.BLOCKS.substitute(gates=gates, gate_comment=comment))
    if init == "orthogonal":
        helpers.append(tpl.ORTHOGONAL_HELPER)
    recipe, recipe_doc = "", ""
    if init != "default":
        block = (
            "torch.eye(HIDDEN_SIZE)"
            if init == "identity"
            else ("random_orthogonal(HIDDEN_SIZE, generator)")
        )
        recipe += tpl.RECIPE_BLOCKS.substitute(block_value=block)
        recipe_doc += tpl.RECIPE_DOC[init]
    if scale is not None:
        recipe += tpl.RECIPE_SCALE
        recipe_doc += tpl.RECIPE_DOC["scale"]
    doc = textwrap.fill(
        tpl.INIT_DOC + recipe_doc, _WIDTH, initial_indent="    ", subsequent_indent="    "
    ).lstrip()
    return [*helpers, tpl.INIT.substitute(recipe=recipe, doc=doc)]
