"""Translation (issue 12, item 1): number words, the task's layout and masking, the
encoder-decoder and its probes, typed input and greedy decoding, and the behaviour: with
attention at least 95% exact match on held-out numbers, without attention at the same
parameter budget and step clearly worse on the longest inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_core import ConfigError, RunConfig, Trainer
from rnn_core.cell_step import step_breakdown
from rnn_core.models import RECURRENT, build_model, count_parameters
from rnn_core.number_words import english, german, german_pieces
from rnn_core.presets import PRESETS, RACE_OPTIONS
from rnn_core.probes import take_probe
from rnn_core.seq2seq import Seq2Seq
from rnn_core.tasks import TASKS
from rnn_core.tasks.translation import ALPHABET, INDEX, exact_matches, source_lengths
from rnn_core.translate import (
    TypedInputError,
    accuracy_by_length,
    greedy_decode,
    number_of,
    parse_english,
    scores_by_length,
)

TASK = TASKS["translation"]
T = TASK.min_seq_len  # 10: four source steps, six decoder steps
S, D = TASK.source_len, TASK.decoder_len
PRESET = PRESETS["translation"].config


def small(**changes) -> RunConfig:
    return RunConfig(task="translation", seq_len=T, hidden_size=8, batch_size=8).replace(**changes)


# --------------------------------------------------------------------------- number words


@pytest.mark.parametrize(
    ("n", "words", "word"),
    [
        (1, "one", "eins"),
        (7, "seven", "sieben"),
        (16, "sixteen", "sechzehn"),
        (17, "seventeen", "siebzehn"),
        (21, "twenty one", "einundzwanzig"),
        (30, "thirty", "dreißig"),
        (66, "sixty six", "sechsundsechzig"),
        (100, "one hundred", "einhundert"),
        (101, "one hundred one", "einhunderteins"),
        (374, "three hundred seventy four", "dreihundertvierundsiebzig"),
        (777, "seven hundred seventy seven", "siebenhundertsiebenundsiebzig"),
        (999, "nine hundred ninety nine", "neunhundertneunundneunzig"),
    ],
)
def test_number_words_follow_the_rules(n, words, word):
    assert " ".join(english(n)) == words
    assert german(n) == word


def test_every_number_has_distinct_words_and_no_other():
    assert len({tuple(english(n)) for n in range(1, 1000)}) == 999
    assert len({german(n) for n in range(1, 1000)}) == 999
    for bad in (0, 1000, -3, 2.0, True):
        with pytest.raises(ValueError):
            english(bad)


# ----------------------------------------------------------------------------- the task


def test_fixed_split_of_every_number():
    train, test = TASK.numbers("train"), TASK.numbers("test")
    assert len(test) == 200 and len(train) == 799
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(1, 1000))
    assert {len(english(int(n))) for n in test} == {1, 2, 3, 4}  # every length is held out


def test_one_example_is_one_sequence_source_then_decoder_inputs():
    x, y = TASK.held_out(0, T, None)
    row = int(np.flatnonzero(TASK.numbers("test") == TASK.numbers("test")[0])[0])
    n = int(TASK.numbers("test")[row])
    symbols = [ALPHABET[i] for i in x[row].argmax(dim=1)]
    words, pieces = english(n), german_pieces(n)
    assert symbols[:S] == ["<pad>"] * (S - len(words)) + words  # left-padded source
    assert symbols[S : S + len(pieces) + 1] == ["<start>", *pieces]  # shifted right
    assert [ALPHABET[i] for i in y[row, : len(pieces) + 1]] == [*pieces, "<end>"]
    assert int(y[row, D]) == len(pieces) + 1
    assert source_lengths(x)[row] == len(words)


def test_padding_values_do_not_change_loss_or_metric():
    x, y = TASK.sample(64, T, torch.Generator().manual_seed(3))
    outputs = torch.randn(64, T, TASK.output_size, generator=torch.Generator().manual_seed(4))
    lengths = y[:, D]
    assert (lengths < D).any()  # some targets are padded
    padded = torch.arange(D) >= lengths[:, None]
    y2 = y.clone()
    y2[:, :D][padded] = torch.randint(0, TASK.output_size, (int(padded.sum()),))
    outputs2 = outputs.clone()
    outputs2[:, S:][padded] = 100.0 * torch.randn(int(padded.sum()), TASK.output_size)
    outputs2[:, :S] = 7.0  # the source's steps are never scored either
    assert TASK.loss(outputs2, y2) == TASK.loss(outputs, y)
    assert TASK.metric(outputs2, y2) == TASK.metric(outputs, y)
    # ...and a model's outputs at the real target steps ignore the decoder's padded inputs
    model = build_model(small(model="gru", attention="luong"), TASK.input_size, TASK.output_size)
    x2 = x.clone()
    x2[:, S:][padded] = torch.rand(int(padded.sum()), TASK.input_size)
    with torch.no_grad():
        assert TASK.loss(model(x2), y) == TASK.loss(model(x), y)


def test_baseline_is_the_loss_of_position_frequencies():
    x, y = TASK.held_out(0, T, None)
    logits = torch.full((len(y), T, TASK.output_size), -1e9)
    for d in range(D):
        reach = y[:, D] > d
        counts = torch.bincount(y[reach, d], minlength=TASK.output_size).double()
        logits[:, S + d] = torch.log(counts / counts.sum()).clamp(min=-1e9).float()
    assert TASK.loss(logits, y).item() == pytest.approx(TASK.baseline_loss(T, "test"), rel=1e-5)
    assert TASK.baseline_loss(T) < np.log(TASK.output_size)


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("attention", ["off", "luong"])
def test_every_cell_builds_an_encoder_decoder_whose_unroll_matches(cell, attention):
    cfg = small(model=cell, attention=attention, num_layers=2)
    model = build_model(cfg, TASK.input_size, TASK.output_size, cfg.shape.kwargs)
    assert isinstance(model, Seq2Seq) and model.encoder is not model.decoder
    assert count_parameters(model) == cfg.shape.num_parameters
    x, y = TASK.sample(3, T, torch.Generator().manual_seed(1))
    with torch.no_grad():
        fused = model(x)
    assert fused.shape == (3, T, TASK.output_size)
    assert not fused[:, :S].any()  # the encoder's steps write nothing
    probe = take_probe(model, TASK, x, y, step=0)
    np.testing.assert_allclose(probe.outputs, fused.numpy(), atol=1e-5)
    assert probe.hidden_layers.shape == (2, 3, T, cfg.hidden_size)
    assert probe.decoder_start == S
    assert probe.grad_h is not None and np.abs(probe.grad_h[:, :S]).sum() > 0  # reaches back
    if attention == "luong":
        assert probe.cross_attention.shape == (3, D, S)
        np.testing.assert_allclose(probe.cross_attention.sum(axis=-1), 1.0, atol=1e-5)
    else:
        assert probe.cross_attention is None
    # Inside a cell recomputes every step from the right weights, the decoder's first
    # step from the encoder's last state
    for t in (0, S - 1, S, T - 1):
        assert step_breakdown(cell, probe, seq=1, t=t, units=8).max_error < 1e-4


def test_attention_is_for_encoder_decoder_tasks_only():
    with pytest.raises(ConfigError) as info:
        RunConfig(task="adding", attention="luong")
    assert info.value.field == "attention"
    with pytest.raises(ConfigError) as info:
        RunConfig(task="translation", seq_len=T, model="transformer")
    assert info.value.field == "model"
    # links from before the field open as before, and the field round-trips
    assert RunConfig.from_query({"task": "adding"}).attention == "off"
    assert RunConfig.from_query(PRESET.to_query()) == PRESET


def test_budget_sizes_both_variants_and_attention_costs_width():
    on, off = PRESET, PRESET.replace(attention="off")
    for cfg in (on, off):
        assert abs(cfg.shape.num_parameters - 10_000) <= 1_000
    assert off.shape.kwargs["hidden_size"] > on.shape.kwargs["hidden_size"]


def test_probes_are_full_for_every_cell_and_light_ones_keep_attention():
    cfg = small(model="lstm", attention="luong")
    assert Trainer(cfg).options == Trainer.options_for(cfg)
    assert not Trainer(cfg).light_probes
    light = Trainer(cfg, **RACE_OPTIONS)
    light.step(1)
    snap = light.snapshots[-1]
    assert snap.hidden_layers is None and snap.cross_attention.shape == (2, D, S)


# ----------------------------------------------------------------------- typed input


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "Type a number"),
        ("   ", "Type a number"),
        ("nine " * 2000, "10,000 characters"),
        ("twenty 🙂 one", "Not known: '🙂'"),
        ("374", "Not known: '374'"),
        ("zwanzig", "Not known: 'zwanzig'"),
        ("one two three four five", "5 words"),
        ("and and", "Type a number"),
    ],
)
def test_bad_typed_input_says_what_to_type(text, needle):
    with pytest.raises(TypedInputError, match=needle):
        parse_english(text)


def test_typed_input_is_forgiving_about_case_hyphens_and_and():
    assert parse_english("  One Hundred and Twenty-One ") == ["one", "hundred", "twenty", "one"]
    assert number_of(["one", "hundred", "twenty", "one"]) == 121
    assert number_of(["twenty", "twenty"]) is None


def test_accuracy_by_length_counts_each_length():
    accuracy, counts = accuracy_by_length([True, False, True, True], [1, 1, 3, 3], max_length=4)
    assert counts.tolist() == [2, 0, 2, 0]
    assert accuracy[0] == 0.5 and accuracy[2] == 1.0 and np.isnan(accuracy[1])


# ------------------------------------------------------------------------- behaviour

STEPS = 300  # the preset's claim: at least 95% held out by step 300 with attention


@pytest.fixture(scope="module")
def trained():
    """The preset's run (GRU, Luong attention, 10,000 parameters, seed 0) and the same
    budget without attention, each trained STEPS steps."""
    runs = {}
    for attention in ("luong", "off"):
        trainer = Trainer(PRESET.replace(attention=attention), probe_every=100, eval_every=100)
        trainer.step(STEPS)
        runs[attention] = trainer
    return runs


def held_out_outputs(trainer: Trainer) -> np.ndarray:
    x, _ = TASK.held_out(0, T, None)
    return trainer.outputs(x.numpy())[1]


def test_attention_translates_held_out_numbers_and_beats_no_attention_on_long_ones(trained):
    with_attention, by_length, counts = scores_by_length(TASK, held_out_outputs(trained["luong"]))
    without, by_length_off, _ = scores_by_length(TASK, held_out_outputs(trained["off"]))
    assert with_attention >= 0.95
    assert counts.tolist() == [3, 18, 54, 125]
    # the longest sources (four words): at least 40 points apart at the same step
    assert by_length[3] - by_length_off[3] >= 0.4
    assert without < 0.5  # the preset: fewer than half right without attention at step 300
    # the history's held-out score is the same number
    assert trained["luong"].history["test_metric"].dropna().iloc[-1] == pytest.approx(
        with_attention
    )


def test_greedy_decoding_is_right_exactly_where_teacher_forced_exact_match_is(trained):
    trainer = trained["off"]  # about half right: both outcomes occur

    def forward(x):
        return trainer.outputs(x)[1]

    x, y = TASK.held_out(0, T, None)
    with torch.no_grad():
        forced = exact_matches(trainer.model(x), y).numpy()
    greedy = np.array(
        [
            "".join(greedy_decode(forward, english(int(n)))[0]) == german(int(n))
            for n in TASK.numbers("test")
        ]
    )
    assert 0 < greedy.sum() < len(greedy)
    np.testing.assert_array_equal(greedy, forced)


def test_attention_crosses_where_german_swaps_units_and_tens(trained):
    snap = trained["luong"].snapshots[-1]  # step 300; sequence 0 is the probe number, 374
    assert snap.step == STEPS
    weights = snap.cross_attention[0].astype(np.float64)  # (D, S): piece x source word
    source = [ALPHABET[i] for i in snap.inputs[0][:S].argmax(axis=1)]
    pieces = german_pieces(TASK.probe_number)
    assert source == english(TASK.probe_number)
    looked_at = {piece: source[int(weights[d].argmax())] for d, piece in enumerate(pieces)}
    assert looked_at["vier"] == "four" and looked_at["siebzig"] == "seventy"
    assert looked_at["drei"] == "three"
    assert INDEX["four"] != INDEX["seventy"]


# ---------------------------------------------------------------------------- figures


def test_figures_show_attention_lengths_and_the_boundary():
    import plotly.graph_objects as go

    from rnn_core.viz.translation import (
        accuracy_by_length_figure,
        attention_over_training,
        mark_decoder_start,
    )

    frames = [np.full((3, 4), 0.25), np.eye(3, 4)]
    fig = attention_over_training(
        frames,
        [0, 100],
        source_words=["<pad>", "twenty", "one", "x"],
        target_pieces=["ein", "und", "zwanzig"],
        title="t",
    )
    assert len(fig.frames) == 2
    assert list(fig.layout.xaxis.ticktext) == ["<pad>", "twenty", "one", "x"]
    assert list(fig.layout.yaxis.ticktext) == ["ein", "und", "zwanzig"]
    bars = accuracy_by_length_figure(
        {"with": np.array([1.0, 0.5]), "without": np.array([np.nan, 0.25])},
        np.array([0, 4]),
        title="t",
    )
    assert [list(t.y) for t in bars.data][1][1] == 25.0
    assert list(bars.data[0].x) == ["1 word (0 held out)", "2 words (4 held out)"]
    marked = mark_decoder_start(go.Figure(), 4)
    assert [shape.x0 for shape in marked.layout.shapes] == [3.5]
    assert not mark_decoder_start(go.Figure(), None).layout.shapes
