"""Every preset blurb is a promise about one deterministic run: each number and behaviour
it names is measured here on that very run (its own config and seed, the server's cap of
5,000 steps). A blurb changed without its test, or a run that stops behaving as its
blurb says, fails here."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_core import RunConfig, Trainer
from rnn_core.alongside import member_config
from rnn_core.presets import PRESETS
from rnn_core.probes import carrier_units

pytestmark = pytest.mark.slow

STEP_CAP = 5000  # the server's default cap per run (ui/session.py)


def train(cfg, steps: int, **kwargs) -> Trainer:
    trainer = Trainer(cfg, probe_every=10**9, **kwargs)
    trainer.step(steps)
    return trainer


def windowed(trainer: Trainer, column: str = "loss", window: int = 100) -> np.ndarray:
    """The mean of the last ``window`` steps, at every step (what a smoothed chart shows)."""
    values = trainer.history[column].to_numpy()
    return np.convolve(values, np.ones(window) / window, mode="valid")  # [i]: steps i+1..i+w


def first_below(trainer: Trainer, level: float, window: int = 100) -> int | None:
    """The first step at which the ``window``-step mean loss is below ``level``."""
    below = np.flatnonzero(windowed(trainer, window=window) < level)
    return int(below[0]) + window if below.size else None


def blurb(name: str) -> str:
    return PRESETS[name].blurb


def test_vanishing():
    """(The Welcome page's "first demo" sentence is about this same run.)"""
    preset = PRESETS["vanishing"]
    base = 1 / 6
    lstm = train(preset.config.replace(model="lstm"), 1000)
    assert first_below(lstm, base / 10) <= 550  # "within about 500 steps"
    tanh = train(preset.config, STEP_CAP)
    assert windowed(tanh).min() > 0.9 * base  # "above 90% of the baseline for all 5,000"
    # Gradients page, at step 1,000: the last step's loss term at the first steps
    tanh_1000 = Trainer(preset.config, probe_every=10**9)
    tanh_1000.step(1000)
    g_tanh = tanh_1000.probe().connectivity
    g_lstm = lstm.probe().connectivity
    assert g_tanh[0] < 1e-10 * g_tanh[-1]  # more than ten orders of magnitude weaker
    assert g_lstm[0] > 1e-2 * g_lstm[-1]  # less than two
    assert "within about 500 steps" in blurb("vanishing") and "all 5,000" in blurb("vanishing")


def alongside_run(name: str) -> RunConfig:
    """The config of the one run a preset trains alongside its own, as the app builds it."""
    preset = PRESETS[name]
    (spec,) = preset.alongside
    return member_config(preset.config, spec)


def test_exploding():
    cfg = PRESETS["exploding"].config
    g = Trainer(cfg).probe().grad_norm
    assert g[0] > 10 * g[-1]  # the gradient grows with distance from the loss
    run = train(cfg, 100)
    assert run.history["grad_norm"].iloc[0] > 1e6  # "over a million"
    assert run.status == "diverged" and run.steps_done == 2  # "diverges at step 2"
    clipped_cfg = alongside_run("exploding")
    # "The same run clipped at norm 1 trains alongside": only the clipping differs.
    assert clipped_cfg.clip == 1.0 and clipped_cfg.replace(clip=None) == cfg
    clipped = train(clipped_cfg, STEP_CAP)
    assert clipped.status == "ok"  # clipping stops the divergence
    final = windowed(clipped)[-1] / (1 / 6)
    assert 0.75 < final < 0.95  # "still about 85% of the baseline"
    text = blurb("exploding")
    assert "at step 2" in text and "about 85%" in text and "clipped at norm 1" in text


def test_irnn():
    cfg = PRESETS["irnn"].config
    base = 1 / 6
    irnn = train(cfg, 1500)
    assert 1150 <= first_below(irnn, base / 10) <= 1450  # "by about step 1,300"
    default_cfg = alongside_run("irnn")
    # "the same network with the default initialisation": only the init differs.
    assert default_cfg.init == "default" and default_cfg.replace(init="identity") == cfg
    default = train(default_cfg, 3200)
    assert windowed(default)[: 1500 - 99].min() > 0.9 * base  # on the baseline to 1,500
    assert 2600 <= first_below(default, base / 10) <= 3200  # "by about step 2,900"
    assert cfg.optimizer == "adam" and "with Adam" in blurb("irnn")


def test_memory():
    run = train(PRESETS["memory"].config, 1000)
    assert windowed(run, "metric")[-1] > 0.99  # "gets every step right by step 1,000"


@torch.no_grad()
def _loss_with_cell_zeroed(model, x, y, unit: int | None, at: int) -> float:
    """The adding loss when one unit's cell state is set to zero after step ``at``:
    whatever that unit was carrying is lost for the steps that follow."""
    rnn = model.rnn
    w_ih, w_hh = rnn.weight_ih_l0, rnn.weight_hh_l0
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0
    h = c = torch.zeros(x.shape[0], rnn.hidden_size)
    for t in range(x.shape[1]):
        i, f, g, o = (x[:, t] @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        if unit is not None and t == at:
            c = c.clone()
            c[:, unit] = 0.0
        h = o.sigmoid() * c.tanh()
    return float(F.mse_loss(model.head(h)[:, 0], y[:, 0]))


def test_gates():
    cfg = PRESETS["gates"].config
    trainer = Trainer(cfg, probe_every=25)
    trainer.step(1000)
    assert windowed(trainer)[-1] < (1 / 6) / 10  # "within 1,000 steps it has learned"
    snap = trainer.snapshots[-1]  # what the Hidden states page reads
    assert snap.step == 1000
    forget = snap.gates["forget"].astype(np.float64)
    assert 0.3 < forget.mean() < 0.5  # "hover around 0.4"
    carriers = carrier_units(
        snap.gates["forget"], snap.gates["input"], trainer.task.marked(snap.inputs)
    )
    assert len(carriers) == 1  # "the one unit"
    carrier = carriers[0].unit
    # It does carry the sum: fresh sequences whose markers both come by step 40; wipe one
    # unit's cell state at step 44. Only the carrier's loss jumps.
    x, y = trainer.task.sample(2048, cfg.seq_len, torch.Generator().manual_seed(777))
    early = (x[..., 1].nonzero()[:, 1].reshape(-1, 2) <= 40).all(dim=1)
    x, y = x[early], y[early]
    intact = _loss_with_cell_zeroed(trainer.model, x, y, None, 44)
    others = [
        _loss_with_cell_zeroed(trainer.model, x, y, u, 44)
        for u in range(cfg.hidden_size)
        if u != carrier
    ]
    wiped = _loss_with_cell_zeroed(trainer.model, x, y, carrier, 44)
    assert intact < 0.01 and max(others) < 0.03
    assert wiped > 0.1 > 3 * max(others)


def test_char():
    cfg = PRESETS["char"].config
    trainer = Trainer(cfg, probe_every=10**9)
    untrained_text = trainer.sample(prime="def ", length=300, temperature=0.8)[1]
    trainer.step(2000)
    step, text = trainer.sample(prime="def ", length=300, temperature=0.8)
    assert step == 2000

    def structure(sample: str) -> tuple[int, bool, bool]:
        indented = sum(1 for line in sample.split("\n")[1:] if line.startswith("    "))
        keyword = re.search(r"\b(def|return|self|if|for|in|import|None|not)\b", sample)
        return indented, keyword is not None, any(q in sample for q in "'\"")

    indented, keyword, quote = structure(text)
    assert indented >= 2 and keyword and quote  # "indented lines, keywords and quotes"
    assert structure(untrained_text)[0] == 0  # noise has no indented lines
    tracking = trainer.track_units()
    assert tracking.state == "cell state c"
    now, before = tracking.trained_best, tracking.untrained_best
    assert abs(now["inside brackets"][1]) > abs(before["inside brackets"][1]) + 0.2
    assert abs(now["position in line"][1]) > abs(before["position in line"][1])


def test_copy():
    cfg = PRESETS["copy"].config
    trainer = train(cfg, STEP_CAP)
    recall = windowed(trainer, "metric")
    assert recall.max() < 0.125 + 0.03  # "near chance (12.5%) ... for all 5,000 steps"


def test_speech():
    """The Speech page reads the model's outputs on the padded test split, as here."""
    from rnn_core import speech

    cfg = PRESETS["speech"].config
    trainer = train(cfg, 100)
    held_out = trainer.history.dropna(subset=["test_metric"])
    assert held_out["test_metric"].iloc[-1] > 0.95  # "within 100 steps ... more than 95%"
    assert trainer.held_out_size == 370  # "of the 370 held-out utterances"
    trainer.step(400)
    x, speakers, lengths = trainer.task.padded("test")
    step, outputs = trainer.outputs(x)
    held = speech.read_held_out(outputs, speakers, lengths)
    right = held.sure_from >= 0
    assert step == 500 and np.median(lengths) == 15  # "the median utterance is 15 frames"
    assert 5 <= np.median(held.sure_from[right] + 1) <= 7  # "right for good from about frame 6"
    assert "at step 500" in blurb("speech") and "about frame 6" in blurb("speech")


def _held_out_skills(trainer: Trainer) -> dict[str, float]:
    """The Time series page's scores: the run's forecast over the held-out series."""
    from rnn_core.held_out_series import stitch, tile
    from rnn_core.skill import forecast_skills

    tiles = tile(trainer.task, "test", trainer.config.seq_len)
    _, outputs = trainer.outputs(tiles.x)
    return forecast_skills(stitch(trainer.task, "test", tiles, outputs), trainer.task.season)


def test_anomaly():
    from rnn_core.held_out_series import record_detections, record_inputs

    trainer = train(PRESETS["anomaly"].config, 100)
    _, outputs = trainer.outputs(record_inputs(trainer.task))
    found = record_detections(trainer.task, outputs, window=30, quantile=0.99)  # page defaults
    net, value = found["model"], found["value"]
    assert net.precision == 1.0  # "every point its forecast error flags lies in" the beat
    assert net.recall == pytest.approx(0.34, abs=0.005)
    assert value.precision == pytest.approx(0.32, abs=0.005)
    assert value.recall == pytest.approx(0.14, abs=0.005)
    text = blurb("anomaly")
    assert "step 100" in text and "99th percentile" in text
    assert "precision 1.0, recall 0.34" in text and "precision 0.32 and recall 0.14" in text


def test_stocks():
    trainer = train(PRESETS["stocks"].config, 200)
    skills = _held_out_skills(trainer)
    assert skills["points"] == 6 * 24  # "the 25 held-out weeks" (each but the first forecast)
    assert skills["r2"] == pytest.approx(0.97, abs=0.005)  # "R² ... is 0.97"
    assert abs(skills["persistence"]) < 0.02  # "within 0.02 of zero"
    assert "step 200" in blurb("stocks") and "within 0.02 of zero" in blurb("stocks")


def test_elnino():
    trainer = train(PRESETS["elnino"].config, 100)
    skills = _held_out_skills(trainer)
    assert skills["persistence"] == pytest.approx(0.79, abs=0.01)
    assert skills["seasonal"] == pytest.approx(0.84, abs=0.01)
    text = blurb("elnino")
    assert "step 100" in text and "about 0.79 against persistence" in text and "0.84" in text


def test_co2():
    trainer = train(PRESETS["co2"].config, 100)
    skills = _held_out_skills(trainer)
    assert skills["r2"] == pytest.approx(0.99, abs=0.005)  # "its R² there is 0.99"
    assert skills["persistence"] == pytest.approx(0.19, abs=0.01)  # "only about 0.19"
    assert "step 100" in blurb("co2") and "about 0.19" in blurb("co2")


def test_translation():
    from rnn_core.number_words import english, german_pieces

    cfg = PRESETS["translation"].config
    assert cfg.param_budget == 10_000 and cfg.model == "gru" and cfg.attention == "luong"

    def held_out_at(history, step: int) -> float:
        return float(history.loc[history["step"] == step, "test_metric"].iloc[0])

    with_attention = train(cfg, 300)
    assert held_out_at(with_attention.history, 300) >= 0.95  # "at least 95% ... by step 300"
    without = train(cfg.replace(attention="off"), 1000)
    assert held_out_at(without.history, 300) < 0.5  # "fewer than half are right then"
    assert held_out_at(without.history, 1000) >= 0.95  # "catches up by step 1,000"
    probe = with_attention.probe()  # sequence 0 is the task's probe number, 374
    task = with_attention.task
    source = english(task.probe_number)
    weights = probe.cross_attention[0]
    looked_at = {
        piece: source[int(weights[d].argmax())]
        for d, piece in enumerate(german_pieces(task.probe_number))
    }
    assert looked_at["vier"] == "four" and looked_at["siebzig"] == "seventy"


def test_captions():
    cfg = PRESETS["captions"].config
    trainer = train(cfg, 1500)
    history = trainer.history
    assert float(history.loc[history["step"] == 1500, "test_metric"].iloc[0]) >= 0.9
    x, _ = trainer.task.held_out(0, cfg.seq_len, None)
    with torch.no_grad():
        _, weights = trainer.model(x, return_attention=True)  # (500, words, regions)
    half = weights.shape[-1] // 2
    assert len(x) == 500
    assert weights[:, 0, :half].sum(-1).mean() > 0.9  # first digit's word: left half
    assert weights[:, 3, half:].sum(-1).mean() > 0.9  # second digit's word: right half


def test_sentiment():
    from rnn_core import sentiment
    from rnn_core.tasks.sentiment import NEGATION_PAIRS

    cfg = PRESETS["sentiment"].config
    trainer = Trainer(cfg, probe_every=10**9)  # held-out accuracy every 25 steps, as the app
    trainer.step(300)
    held_out = trainer.history["test_metric"].dropna()
    assert held_out.iloc[-1] > 0.98  # "within 300 steps ... more than 98% of 800 unseen"
    assert trainer.held_out_size == 800
    task = trainer.task
    codes, labels = task.split_words("test")
    bow = sentiment.bag_of_words_for(task)
    assert round(100 * sentiment.accuracy(bow.positive(codes), labels)) == 68  # "gets 68%"
    index = task.word_index()
    sentences = [s for pair in NEGATION_PAIRS for s, _ in pair]
    expected = np.array([label for pair in NEGATION_PAIRS for _, label in pair])
    pair_codes = sentiment.pad_codes([sentiment.read_sentence(s, index).codes for s in sentences])
    _, outputs = trainer.outputs(sentiment.one_hot_words(pair_codes, task.input_size))
    rnn = sentiment.last_positive(outputs, (pair_codes >= 0).sum(axis=1))
    assert ((rnn > 0.5) == (expected == 1)).all()  # "it flips every pair"
    scores = bow.positive(pair_codes)
    assert np.abs(scores[0::2] - scores[1::2]).max() < 0.05  # "scores almost alike"
    assert all(f in blurb("sentiment") for f in ("300 steps", "98%", "800 unseen", "68%"))
