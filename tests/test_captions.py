"""Captions (issue 12, item 5): compositions of bundled digits, the CNN encoder and
recurrent decoder, greedy captions, the behaviour (at least 90% exact captions of held-out
handwriting, attention on the digit each word names), and the pages on a captions run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from rnn_core import ConfigError, RunConfig, Trainer
from rnn_core.captioner import Captioner
from rnn_core.models import RECURRENT, build_model, count_parameters
from rnn_core.presets import PRESETS, RACE_OPTIONS
from rnn_core.tasks import TASKS
from rnn_core.tasks.captions import (
    CAPTION_SYMBOLS,
    composition,
    exact_captions,
    greedy_caption,
    picture_of,
)
from ui.run import PAGES

TASK = TASKS["captions"]
T = TASK.min_seq_len  # 16 image columns, then 5 decoder steps
S, D = TASK.source_len, TASK.decoder_len
PRESET = PRESETS["captions"].config
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_a_composition_is_two_digits_then_the_caption():
    images, labels = TASK.digits("test")
    sevens, twos = (torch.nonzero(labels == d).flatten() for d in (7, 2))
    image = composition(TASK, 7, 2, sample=1)
    np.testing.assert_array_equal(
        picture_of(image), np.concatenate([images[sevens[1]], images[twos[1]]], axis=1)
    )
    x, y = TASK.held_out(0, T, None)
    words = [CAPTION_SYMBOLS[i] for i in y[0]]
    assert words[1:3] == ["left", "of"] and words[4] == "<end>"
    decoder_inputs = [TASK.alphabet[i] for i in x[0, S:].argmax(dim=1)]
    assert decoder_inputs == ["<start>", *words[:4]]  # the caption shifted right


def test_held_out_compositions_use_only_held_out_digits_and_never_change():
    x, y = TASK.held_out(0, T, None)
    assert len(y) == 500
    test_images = {im.tobytes() for im in TASK.digits("test")[0].numpy()}
    train_images = {im.tobytes() for im in TASK.digits("train")[0].numpy()}
    for row in x[:50].numpy():
        picture = picture_of(row)
        for half in (picture[:, :8], picture[:, 8:]):
            key = np.ascontiguousarray(half).tobytes()
            assert key in test_images and key not in train_images
    again = Trainer(PRESET.replace(seed=5))._eval  # another run's held-out set
    assert torch.equal(again[0], x) and torch.equal(again[1], y)


def test_baseline_is_the_loss_of_position_frequencies():
    x, y = TASK.held_out(0, T, None)
    logits = torch.full((len(y), T, TASK.output_size), -1e9)
    for d in range(D):
        counts = torch.bincount(y[:, d], minlength=TASK.output_size).double()
        logits[:, S + d] = torch.log(counts / counts.sum()).clamp(min=-1e9).float()
    assert TASK.loss(logits, y).item() == pytest.approx(TASK.baseline_loss(T, "test"), rel=1e-5)


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("attention", ["off", "luong"])
def test_every_cell_decodes_from_the_cnn(cell, attention):
    cfg = RunConfig(task="captions", seq_len=T, model=cell, attention=attention, hidden_size=8)
    model = build_model(cfg, TASK.input_size, TASK.output_size, cfg.shape.kwargs)
    assert isinstance(model, Captioner)
    assert count_parameters(model) == cfg.shape.num_parameters
    x, _ = TASK.sample(3, T, torch.Generator().manual_seed(0))
    out, weights = model(x, return_attention=True)
    assert out.shape == (3, T, TASK.output_size) and not out[:, :S].any()
    if attention == "luong":
        assert weights.shape == (3, D, S // 2)  # one region per two image columns
        np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, atol=1e-5)
    else:
        assert weights is None


def test_a_captioner_has_light_probes_and_no_other_model():
    cfg = RunConfig(task="captions", seq_len=T, hidden_size=8, attention="luong")
    trainer = Trainer(cfg)
    assert trainer.light_probes and trainer.options == Trainer.options_for(cfg)
    assert Trainer.options_for(cfg, **RACE_OPTIONS)["light_probes"]
    trainer.step(1)
    assert trainer.snapshots[-1].cross_attention.shape == (2, D, S // 2)
    with pytest.raises(ConfigError):
        RunConfig(task="captions", seq_len=T, model="tcn")


# ------------------------------------------------------------------------- behaviour

STEPS = 1500


@pytest.fixture(scope="module")
def trained() -> Trainer:
    """The preset's run (GRU decoder of 48 with attention, seed 0), STEPS steps."""
    trainer = Trainer(PRESET, probe_every=STEPS, eval_every=STEPS)
    trainer.step(STEPS)
    return trainer


def test_captions_of_held_out_handwriting_are_right(trained):
    score = trained.history["test_metric"].dropna()
    assert int(trained.history["step"].iloc[-1]) == STEPS
    assert score.iloc[-1] >= 0.90  # the bar and the preset's claim


def test_each_digit_word_looks_at_its_digit(trained):
    x, _ = TASK.held_out(0, T, None)
    with torch.no_grad():
        _, weights = trained.model(x, return_attention=True)  # (500, D, regions)
    half = weights.shape[-1] // 2
    # the preset: over 90% of the attention, on average over the held-out images
    assert weights[:, 0, :half].sum(-1).mean() > 0.9  # the left digit's word: left half
    assert weights[:, 3, half:].sum(-1).mean() > 0.9  # the right digit's word: right half


def test_greedy_captions_are_right_exactly_where_teacher_forced_ones_are(trained):
    x, y = TASK.held_out(0, T, None)
    with torch.no_grad():
        forced = exact_captions(trained.model(x), y).numpy()[:100]

    def forward(inputs):
        return trained.outputs(inputs)[1]

    greedy = np.array(
        [
            greedy_caption(forward, row[:S])[0] == [CAPTION_SYMBOLS[i] for i in y[k, :4]]
            for k, row in enumerate(x[:100].numpy())
        ]
    )
    assert (~greedy).sum() > 0  # a few are wrong: both outcomes occur
    np.testing.assert_array_equal(greedy, forced)


# --------------------------------------------------------------------------- the pages


def test_the_captions_page_and_the_run_pages_on_a_captions_run():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGES["captions"]).run()
    assert not at.exception
    at.button(key="captions.open").click().run()
    assert at.session_state["run.state.config"] == PRESET
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while at.metric[0].value != "10" and time.monotonic() < deadline:
        time.sleep(0.2)
        at.run()
    at.button(key="captions.refresh").click().run()
    charts = [c.proto.id for c in at.get("plotly_chart")]
    assert any(k.endswith("captions.attention_anim") for k in charts)
    assert any(k.endswith("captions.attention_image") for k in charts)
    at.selectbox(key="captions.left").set_value(3).run()
    assert not at.exception
    assert any(
        "it is **three left of two**" in m.value or "(right)" in m.value for m in at.markdown
    )
    for page in ("playground", "hidden_states", "gradients", "inside_cell"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
        if page != "playground":  # no recurrent state over the image: said, not a traceback
            assert any("convolutional network" in i.value for i in at.info)
