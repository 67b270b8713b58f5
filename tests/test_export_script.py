"""The exported training script: standalone, readable, and the app's loss curve.

Each script is written to a temporary directory and run by an isolated interpreter
(``python -I``: no PYTHONPATH, no user site, not the current directory), where rnn_core
cannot be imported, and its losses must equal ``Trainer.step``'s history.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import torch

from rnn_core import RunConfig, Trainer
from rnn_core.export_script import EXPORTABLE_TASKS, ExportError, export_refusal, script_for
from rnn_core.tasks import TASKS

STEPS = 200
SMALL = {"seq_len": 8, "hidden_size": 8, "batch_size": 8}

# Every cell on the adding problem, and other tasks besides; across them clipping on and
# off, every optimiser, every initialisation, recurrent scales, one and two layers.
RUNS = {
    "tanh-adding": {"model": "rnn_tanh", "task": "adding", "clip": 1.0},
    "relu-adding-identity": {
        "model": "rnn_relu",
        "task": "adding",
        "init": "identity",
        "optimizer": "sgd",
        "lr": 0.05,
        "seed": 7,
    },
    "lstm-adding-2-layers": {"model": "lstm", "task": "adding", "clip": 0.5, "num_layers": 2},
    "gru-adding-orthogonal-scaled": {
        "model": "gru",
        "task": "adding",
        "init": "orthogonal",
        "recurrent_scale": 0.8,
        "optimizer": "rmsprop",
    },
    "tanh-parity-sgd": {"model": "rnn_tanh", "task": "parity", "optimizer": "sgd", "clip": None},
    "relu-copy-rmsprop": {
        "model": "rnn_relu",
        "task": "copy_memory",
        "optimizer": "rmsprop",
        "clip": None,
        "seq_len": 3,
    },
    "lstm-sine-scaled": {"model": "lstm", "task": "sine", "recurrent_scale": 1.2, "seed": 3},
    "gru-copy-identity-clipped": {
        "model": "gru",
        "task": "copy_memory",
        "init": "identity",
        "clip": 0.2,
        "seq_len": 3,
    },
}
# The tasks on a data file: each script reads the repository's file (--data), from a
# folder where the default path does not exist. Every cell among them, and each task's
# own parsing, normalisation and split.
DATA_RUNS = {
    "lstm-char-lm": {"model": "lstm", "task": "char_lm", "seq_len": 12},
    "gru-co2": {"model": "gru", "task": "co2", "seq_len": 12},
    "tanh-stocks-sgd": {"model": "rnn_tanh", "task": "stocks", "optimizer": "sgd", "lr": 0.05},
    "relu-elnino-identity": {
        "model": "rnn_relu",
        "task": "elnino",
        "seq_len": 12,
        "init": "identity",
        "lr": 0.003,
    },
    "lstm-ecg-2-layers": {"model": "lstm", "task": "ecg", "seq_len": 12, "num_layers": 2},
    "gru-digits-rows": {"model": "gru", "task": "digits_rows"},
    "tanh-digits-pixels": {"model": "rnn_tanh", "task": "digits_pixels", "seq_len": 64},
    "lstm-speakers-rmsprop": {
        "model": "lstm",
        "task": "speakers",
        "seq_len": 29,
        "optimizer": "rmsprop",
        "lr": 0.003,
    },
    "gru-sentiment": {"model": "gru", "task": "sentiment", "seq_len": 18},
}
RUNS.update(DATA_RUNS)
# Each script runs as __main__ with its own command line, all of them in one isolated
# interpreter (importing torch costs seconds; one start-up instead of one per script).
# Arguments: script, CSV, data file ("-": none) for each script.
DRIVER = """
import runpy, sys
runs = sys.argv[1:]
for script, out, data in zip(runs[::3], runs[1::3], runs[2::3]):
    sys.argv = [script, "--steps", "STEPS", "--csv", out, "--print-every", "50"]
    sys.argv += ["--data", data] if data != "-" else []
    runpy.run_path(script, run_name="__main__")
""".replace("STEPS", str(STEPS))


def _config(name: str) -> RunConfig:
    return RunConfig(**{**SMALL, **RUNS[name]})


def _isolated(args, cwd, **kwargs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run(
        [sys.executable, "-I", *args], cwd=cwd, env=env, capture_output=True, text=True, **kwargs
    )


@pytest.fixture(scope="module")
def script_losses(tmp_path_factory) -> dict[str, list[tuple[int, float, float]]]:
    """Each run's (step, loss, grad_norm) rows, as its exported script wrote them."""
    folder = tmp_path_factory.mktemp("scripts")
    args = []
    for name in RUNS:
        source = script_for(_config(name))
        assert "rnn_core" not in source  # it names nothing of the app's code
        (folder / f"{name}.py").write_text(source)
        data = str(TASKS[RUNS[name]["task"]]._path) if name in DATA_RUNS else "-"
        args += [f"{name}.py", f"{name}.csv", data]
    (folder / "driver.py").write_text(DRIVER)
    done = _isolated(["driver.py", *args], cwd=folder, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(f"step {STEPS:6d}  loss") == len(RUNS)  # it prints as it trains
    rows = {}
    for name in RUNS:
        with (folder / f"{name}.csv").open() as f:
            rows[name] = [
                (int(r["step"]), float(r["loss"]), float(r["grad_norm"])) for r in csv.DictReader(f)
            ]
    return rows


def test_the_scripts_interpreter_cannot_import_rnn_core(tmp_path):
    done = _isolated(["-c", "import rnn_core"], cwd=tmp_path, timeout=60)
    assert done.returncode != 0
    assert "No module named 'rnn_core'" in done.stderr


@pytest.mark.parametrize("name", list(RUNS))
def test_the_exported_script_reproduces_the_trainers_losses(name, script_losses):
    torch.set_num_threads(1)  # as the app and the script train
    # A probe cadence past the run: snapshots do not change the history (train.py), and
    # they take most of a tiny run's time.
    trainer = Trainer(_config(name), probe_every=STEPS + 1)
    assert trainer.step(STEPS) == STEPS, trainer.message
    history = trainer.history
    rows = script_losses[name]
    assert [r[0] for r in rows] == history["step"].tolist()
    loss = torch.tensor([r[1] for r in rows], dtype=torch.float64)
    expected = torch.tensor(history["loss"].to_numpy(), dtype=torch.float64)
    # trained, not frozen: a script that never updates would pass a loose comparison
    assert (expected[:20].mean() - expected[-20:].mean()).abs() > 1e-3
    assert torch.allclose(loss, expected, rtol=1e-6, atol=1e-6), float(
        (loss - expected).abs().max()
    )
    norms = torch.tensor([r[2] for r in rows], dtype=torch.float64)
    expected_norms = torch.tensor(history["grad_norm"].to_numpy(), dtype=torch.float64)
    assert torch.allclose(norms, expected_norms, rtol=1e-6, atol=1e-6)
    if RUNS[name].get("clip") is not None:
        assert history["clipped"].any()  # the clipping bound was reached, so it was tested


def test_a_script_holds_only_its_own_task_model_and_recipe():
    source = script_for(RunConfig(model="gru", task="parity"))
    for other in (
        "nn.LSTM",
        "nn.RNN(",
        "copy",
        "sine",
        "markers",
        "random_orthogonal",
        "torch.eye",
        "RECURRENT_SCALE",
        "SGD",
        "RMSprop",
    ):
        assert other not in source, other
    scaled = script_for(RunConfig(model="lstm", init="identity", recurrent_scale=0.5))
    assert "torch.eye(HIDDEN_SIZE)" in scaled and "RECURRENT_SCALE = 0.5" in scaled
    assert "GATES = 4" in scaled  # an LSTM's weight_hh stacks four blocks
    assert "math.inf" in script_for(RunConfig(clip=None))


def test_the_script_is_lint_clean_python(tmp_path):
    ruff = pytest.importorskip("ruff")  # noqa: F841 - the dev requirements install it
    copy = RunConfig(
        model="rnn_relu",
        task="copy_memory",
        init="orthogonal",
        recurrent_scale=1.5,
        clip=None,
        optimizer="sgd",
        num_layers=2,
    )
    paths = []
    # every task piece, so each one's code and imports pass the linters
    for cfg in [copy, *(_config(name) for name in RUNS)]:
        paths.append(tmp_path / f"{cfg.task}_{cfg.model}_{len(paths)}.py")
        paths[-1].write_text(script_for(cfg))
    for args in (["format", "--check"], ["check", "--select", "E,F,W,I,B,UP,SIM"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--isolated", "--line-length", "100", *paths],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _any_length(task: str) -> int:
    spec = TASKS[task]
    return max(spec.min_seq_len, min(20, spec.max_seq_len or 20))


def test_runs_the_script_does_not_cover_are_refused_with_a_sentence():
    assert export_refusal(RunConfig()) is None
    for task in EXPORTABLE_TASKS:
        assert export_refusal(RunConfig(task=task, seq_len=_any_length(task))) is None
    for cfg, reason in (
        (RunConfig(model="tcn"), "TCN is not exported"),
        (RunConfig(task="translation", model="gru", seq_len=10), "encoder-decoder"),
        (RunConfig(task="captions", model="lstm", seq_len=21), "encoder-decoder"),
    ):
        with pytest.raises(ExportError) as err:
            script_for(cfg)
        text = str(err.value)
        assert reason in text, text
        assert text.endswith(".") and "(adding, copy memory" in text, text
        assert "the character model" in text and "sentiment)" in text, text


@pytest.mark.parametrize("task", ["char_lm", "co2", "ecg", "sentiment"])
def test_a_run_on_uploaded_data_is_refused_whatever_its_task(task):
    # The same settings on the app's data export; on a visitor's upload nothing does:
    # its data never leaves the session.
    cfg = RunConfig(task=task, seq_len=_any_length(task), data="private")
    with pytest.raises(ExportError) as err:
        script_for(cfg)
    assert str(err.value) == (
        "This run trains on your own uploaded data, which never leaves your session, "
        "so it is not exported as a script."
    )


def test_a_script_on_a_data_file_imports_only_what_its_task_needs():
    text = script_for(RunConfig(task="char_lm", seq_len=20))
    assert 'DATA_PATH = "assets/corpus/python_stdlib.txt"' in text
    assert "import numpy" not in text and "import pandas" not in text
    assert "--data" in text and "sample_batch(data, data_generator)" in text
    speakers = script_for(RunConfig(task="speakers", seq_len=29))
    assert "import pandas as pd" in speakers and "japanese_vowels.csv.gz" in speakers
    for other in ("one_hot", "sliding_window_view", "default_rng", "genfromtxt"):
        assert other not in speakers, other
    assert "sample_batch(data_generator)" in script_for(RunConfig(task="adding"))


def test_a_script_without_its_data_file_says_where_to_find_it(tmp_path):
    # run from a folder that is not a checkout: the default path is not there
    (tmp_path / "script.py").write_text(script_for(RunConfig(task="co2", seq_len=12)))
    done = _isolated(["script.py", "--steps", "1"], cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "no data file at assets/data/co2_mauna_loa_weekly.csv: pass --data PATH" in (done.stderr)
    assert "Traceback" not in done.stderr


def test_the_playground_offers_a_data_file_runs_script_but_not_an_uploads():
    from streamlit.testing.v1 import AppTest

    from tests.test_your_data import APP, _elnino_csv
    from ui.run import PAGES

    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in {"task": "co2", "seq_len": "12", "hidden_size": "8"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception, at.exception
    assert at.session_state["run.state.config"].task == "co2"
    assert at.download_button(key="play.download.script").label == "PyTorch script (.py)"
    # the same task on the visitor's own series: no script, a sentence saying why
    at.switch_page(PAGES["your_data"]).run()
    at.radio(key="data.kind").set_value("forecast").run()
    at.file_uploader(key="data.file").set_value(("sst.csv", _elnino_csv(), "text/csv")).run()
    at.button(key="data.train").click().run()
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception, at.exception
    cfg = at.session_state["run.state.config"]
    assert (cfg.task, cfg.data) == ("co2", "private")
    with pytest.raises(KeyError):
        at.download_button(key="play.download.script")
    assert any("never leaves your session" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]
