"""Weights files: the download round trip, and every file the inspector must refuse."""

from __future__ import annotations

import io
import os
import pickle
import runpy
import uuid
import zipfile
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnn_core import RunConfig, Trainer
from rnn_core.export_script import script_for
from rnn_core.models import build_model
from rnn_core.tasks import TASKS
from rnn_core.weights_file import (
    MAX_FILE_BYTES,
    WeightsFileError,
    describe,
    model_shapes,
    read_weights,
    recurrent_spectra,
    shape_problems,
    weights_bytes,
)
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SMALL = RunConfig(model="gru", num_layers=2, hidden_size=8, batch_size=8, seq_len=10)


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_downloaded_weights_load_back_into_a_fresh_model_and_the_script(tmp_path):
    trainer = Trainer(SMALL, probe_every=1000)
    trainer.step(20)
    checkpoint, _, _ = trainer.resume_point()
    weights = read_weights(weights_bytes(checkpoint["model"]))
    state = trainer.model.state_dict()
    assert list(weights) == list(state)
    for name, tensor in state.items():
        assert torch.equal(weights[name], tensor), name
    task = TASKS[SMALL.task]
    x, _ = task.sample(4, SMALL.seq_len, torch.Generator().manual_seed(5))
    expected = trainer.model(x)
    fresh = build_model(SMALL, task.input_size, task.output_size)  # initial weights
    assert not torch.equal(fresh(x), expected)  # so the load below is what makes them equal
    fresh.load_state_dict(weights)
    assert torch.equal(fresh(x), expected)
    # The exported script's model has the same names: the file loads into it too.
    script = tmp_path / "script.py"
    script.write_text(script_for(SMALL))
    namespace = runpy.run_path(str(script), run_name="exported")  # defines, does not train
    scripted = namespace["Model"]()
    scripted.load_state_dict(weights)
    assert torch.equal(scripted(x), expected)


class _Payload:
    """What an attacker's pickle holds: unpickling it calls os.system."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dumps"])
def test_a_pickle_with_code_in_it_is_refused_and_never_runs(writer, tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    payload = {"rnn.weight_hh_l0": _Payload(marker)}
    data = _saved(payload) if writer == "torch.save" else pickle.dumps(payload)
    # the attack is real: an unguarded unpickler runs it
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe)))
    assert probe.exists()
    with pytest.raises(WeightsFileError) as err:
        read_weights(data)
    assert not marker.exists()
    text = str(err.value)
    assert "would run code" in text and "system" in text, text


def _deflated_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (40 * 2**20))  # 40 MB in about 40 KB
    return buffer.getvalue()


def _stored_zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, b"not a tensor")
    return buffer.getvalue()


MALFORMED = {
    "empty": (b"", "empty"),
    "text": (b"step,loss\n1,0.5\n", "not a PyTorch weights file"),
    "bare pickle": (pickle.dumps({"w": [1.0, 2.0]}), "bare pickle"),
    "oversized": (b"\0" * (MAX_FILE_BYTES + 1), "MB"),
    "zip bomb": (_deflated_bomb(), "compressed entries"),
    "another zip": (_stored_zip("word/document.xml"), "no data.pkl"),
    "damaged torch file": (_stored_zip("archive/data.pkl"), "torch.load can read"),
    "a list": (_saved([torch.ones(2)]), "holds a list, not a state_dict"),
    "a tensor": (_saved(torch.ones(2)), "holds a Tensor, not a state_dict"),
    "empty dict": (_saved({}), "no tensors"),
    "a number inside": (_saved({"w": 3}), "is not a tensor"),
    "an unnamed tensor": (_saved({3: torch.ones(2)}), "no usable name"),
    "NaN": (_saved({"w": torch.tensor([1.0, float("nan"), float("inf")])}), "2 NaN or infinite"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_every_malformed_file_gets_its_sentence(case):
    data, fragment = MALFORMED[case]
    with pytest.raises(WeightsFileError) as err:
        read_weights(data)
    text = str(err.value)
    assert fragment in text, text
    assert text.endswith(".") and "\n" not in text and len(text) < 400


def test_description_fit_and_spectra_of_a_file():
    weights = read_weights(_saved({"a": torch.tensor([[3.0, -4.0]]), "b": torch.arange(3)}))
    table = describe(weights).set_index("name")
    assert table.loc["a", "shape"] == "1 × 2" and table.loc["b", "dtype"] == "int64"
    assert table.loc["a", "norm"] == pytest.approx(5.0)
    assert (table.loc["a", "min"], table.loc["a", "max"]) == (-4.0, 3.0)
    # The IRNN recipe with a recurrent scale: every gate's block is 0.5 I.
    scaled = SMALL.replace(init="identity", recurrent_scale=0.5)
    task = TASKS[scaled.task]
    state = build_model(scaled, task.input_size, task.output_size).state_dict()
    weights = read_weights(weights_bytes(state))
    assert shape_problems(weights, model_shapes(scaled)) == []
    spectra = recurrent_spectra(weights, "gru")
    assert len(spectra) == 2 * 3  # two layers, three gates each
    assert spectra["spectral radius"].to_numpy() == pytest.approx(0.5)
    assert set(spectra["gate"]) == {"reset", "update", "new"}
    problems = shape_problems(weights, model_shapes(RunConfig()))  # a 1-layer LSTM, 32 wide
    assert any("not in the model: rnn.weight_ih_l1" in p for p in problems)
    assert any("rnn.weight_hh_l0 is 24 × 8, the model's is 128 × 32" in p for p in problems)


def test_the_playground_offers_the_downloads_and_inspects_an_upload():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception, at.exception
    script = at.download_button(key="play.download.script")
    assert script.label == "PyTorch script (.py)"
    at.button(key="play.download.weights_prepare").click().run()
    assert not at.exception, at.exception
    assert at.download_button(key="play.download.weights_file").label.startswith(
        "Weights at step 0"
    )
    # A file of this session's run (the default configuration) fits it.
    task = TASKS[RunConfig().task]
    state = build_model(RunConfig(), task.input_size, task.output_size).state_dict()
    at.file_uploader(key="play.weights.upload").set_value(
        ("weights.pt", weights_bytes(state), "application/octet-stream")
    )
    at.run()
    assert not at.exception, at.exception
    assert not at.error
    assert any("fit this session's run" in s.value for s in at.success)
    tables = len(at.dataframe)
    at.toggle(key="play.weights.spectra").set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.dataframe) == tables + 1  # the recurrent blocks' spectra
    # a bad file: its sentence, no traceback
    at.file_uploader(key="play.weights.upload").set_value(
        ("evil.pt", pickle.dumps({"w": _Payload(Path("/nonexistent/x"))}), "application/x")
    )
    at.run()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "would run code" in at.error[0].value


def test_the_layout_follows_the_task_the_run_trains_on():
    """A run on uploaded data keeps a registered task's name but has its own input width:
    the layout a weights file is checked against must come from the task it trains on."""
    cfg = RunConfig(task="char_lm", hidden_size=8)
    own = model_shapes(cfg)
    other = model_shapes(cfg, TASKS["adding"])
    assert own["rnn.weight_ih_l0"] == (4 * 8, TASKS["char_lm"].input_size)
    assert other["rnn.weight_ih_l0"] == (4 * 8, TASKS["adding"].input_size)
