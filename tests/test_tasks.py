"""Tests for the task registry: data layout, determinism, losses and exact baselines.

Baselines are checked against predictors written here independently of
rnn_core.tasks: explicit constants and logits for the synthetic tasks, and
brute-force enumeration of every training window (or image) for the bundled data.
Monte Carlo agreement is judged in standard errors of the per-sequence loss.
"""

import csv
import gzip
import math
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core.tasks import (
    TASKS,
    CharLMTask,
    CO2Task,
    DigitsPixelsTask,
    DigitsRowsTask,
    get_task,
)
from rnn_core.tasks.base import LastStepClassification

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "assets" / "corpus" / "python_stdlib.txt"
CO2_CSV = ROOT / "assets" / "data" / "co2_mauna_loa_weekly.csv"
DIGITS_CSV = ROOT / "assets" / "data" / "digits.csv.gz"
SYMBOL_TASKS = ["copy_memory", "parity", "char_lm"]
SERIES_TASKS = ["stocks", "elnino", "ecg"]  # recorded series with a held-out split
FORECAST_TASKS = ["sine", "co2", *SERIES_TASKS]
DIGITS_TASKS = ["digits_rows", "digits_pixels"]
LAST_STEP_TASKS = ["adding", *DIGITS_TASKS]  # one target per sequence, scored at the last step
N_SE = 5  # Monte Carlo tolerance in standard errors


def gen(seed):
    return torch.Generator().manual_seed(seed)


def assert_mc_mean(per_sample, expected):
    """The mean of iid per-sample values agrees with `expected` within N_SE standard errors."""
    per_sample = np.asarray(per_sample, dtype=np.float64)
    se = per_sample.std(ddof=1) / math.sqrt(len(per_sample))
    assert abs(per_sample.mean() - expected) <= N_SE * se + 1e-9, (per_sample.mean(), expected, se)
    return per_sample.mean(), se


def squared_error_per_sample(outputs, y):
    return ((outputs - y) ** 2).mean(dim=(1, 2))


def cross_entropy_per_sample(outputs, y):
    log_p = F.log_softmax(outputs.double(), dim=-1)
    return -log_p.gather(-1, y[..., None]).squeeze(-1).mean(dim=1)


def log_probs(probs):
    """Logits whose softmax is `probs`, with a large finite penalty for impossible symbols."""
    probs = torch.as_tensor(probs, dtype=torch.float64)
    impossible = torch.tensor(-1e4, dtype=torch.float64)
    return torch.where(probs > 0, probs.clamp_min(1e-300).log(), impossible).float()


def same_for_every_sequence(per_step):
    """A predictor that ignores x: the same (T, C) outputs for every sequence of the batch."""
    return lambda x, y: per_step.expand(y.shape[0], *per_step.shape)


def monte_carlo(task, seq_len, predictor, per_sample_loss, n_batches, batch_size, seed=0):
    """Per-sample losses of `predictor` over fresh batches; also checks task.loss on each batch."""
    g = gen(seed)
    losses = []
    for _ in range(n_batches):
        x, y = task.sample(batch_size, seq_len, g)
        outputs = predictor(x, y)
        per_sample = per_sample_loss(outputs, y)
        expected = per_sample.mean().item()
        assert task.loss(outputs, y).item() == pytest.approx(expected, rel=1e-5, abs=1e-9)
        losses.append(per_sample)
    return torch.cat(losses).numpy()


def valid_seq_lens(task, wanted=(1, 2, 17, 50)):
    high = task.max_seq_len if task.max_seq_len is not None else max(wanted)
    return sorted({t for t in (*wanted, task.min_seq_len) if task.min_seq_len <= t <= high})


def a_seq_len(task, wanted):
    """`wanted`, or the nearest seq_len the task accepts (digits tasks take one length only)."""
    high = task.max_seq_len if task.max_seq_len is not None else wanted
    return min(max(wanted, task.min_seq_len), high)


def perfect_outputs(task, y, seq_len):
    """Outputs of a predictor that knows y."""
    if task.name == "adding":
        outputs = torch.full((y.shape[0], seq_len, 1), -5.0)
        outputs[:, -1, 0] = y[:, 0]
        return outputs
    if task.name in DIGITS_TASKS:
        # confidently wrong before the last step, which alone is scored
        outputs = 30.0 * F.one_hot((y[:, None] + 1) % 10, 10).float().repeat(1, seq_len, 1)
        outputs[:, -1] = 30.0 * F.one_hot(y, 10).float()
        return outputs
    if isinstance(task, LastStepClassification):
        # confidently wrong everywhere but at each sequence's own last real step
        labels, lengths = y[:, 0], y[:, 1]
        wrong = 30.0 * F.one_hot((labels + 1) % task.output_size, task.output_size).float()
        outputs = wrong[:, None].repeat(1, seq_len, 1)
        outputs[torch.arange(len(y)), lengths - 1] = (
            30.0 * F.one_hot(labels, task.output_size).float()
        )
        return outputs
    if task.name == "captions":  # y: the decoder's targets; the image's steps are unscored
        outputs = torch.zeros(y.shape[0], seq_len, task.output_size)
        outputs[:, task.source_len :] = 30.0 * F.one_hot(y, task.output_size).float()
        return outputs
    if task.name == "translation":
        # y: the decoder's targets, then their length; the source's steps are not scored
        outputs = torch.zeros(y.shape[0], seq_len, task.output_size)
        outputs[:, task.source_len :] = 30.0 * F.one_hot(y[:, :-1], task.output_size).float()
        return outputs
    if task.target_type == "classification":
        return 30.0 * F.one_hot(y, task.output_size).float()
    return y.clone()


# ---------------------------------------------------------------- registry


def test_registry_has_the_tasks_in_ui_order_and_consistent_attributes():
    assert list(TASKS) == [
        "adding",
        "copy_memory",
        "sine",
        "parity",
        "char_lm",
        "co2",
        "digits_rows",
        "digits_pixels",
        "speakers",
        "stocks",
        "elnino",
        "ecg",
        "translation",
        "captions",
        "sentiment",
    ]
    for name, task in TASKS.items():
        assert task.name == name and get_task(name) is task
        assert task.target_type in ("regression", "classification")
        assert task.title and len(task.description) > 200 and task.metric_name
        assert isinstance(task.higher_is_better, bool) and isinstance(task.has_split, bool)
        assert task.has_split == (
            name
            in (
                "char_lm",
                "co2",
                *DIGITS_TASKS,
                "speakers",
                *SERIES_TASKS,
                "translation",
                "captions",
                "sentiment",
            )
        )
        if task.alphabet is not None:
            # output classes are the alphabet's first symbols (translation writes only
            # German pieces and reads English words too)
            assert len(task.alphabet) == task.input_size >= task.output_size
        if task.class_names is not None:  # classes other than the input symbols
            assert len(task.class_names) == task.output_size
        if name in DIGITS_TASKS:
            assert task.image_shape == (8, 8) and task.min_seq_len == task.max_seq_len
            assert task.min_seq_len * task.input_size == 64  # the whole image, nothing else
        else:
            assert task.image_shape is None
    with pytest.raises(KeyError, match="adding"):
        get_task("addition")


@pytest.mark.parametrize("name", list(TASKS))
def test_bad_split_and_seq_len_are_rejected(name):
    task = TASKS[name]
    with pytest.raises(ValueError):
        task.sample(2, 10, gen(0), split="valid")
    with pytest.raises(ValueError):
        task.sample(2, task.min_seq_len - 1, gen(0))
    if task.max_seq_len is not None:
        task.sample(2, task.max_seq_len, gen(0), split="test")
        with pytest.raises(ValueError):
            task.sample(2, task.max_seq_len + 1, gen(0))


# ---------------------------------------------------------------- shapes and layout


@pytest.mark.parametrize("name", list(TASKS))
def test_shapes_and_dtypes(name):
    task = TASKS[name]
    for seq_len in valid_seq_lens(task):
        for split in ("train", "test"):
            x, y = task.sample(3, seq_len, gen(seq_len), split=split)
            total = task.total_len(seq_len)
            assert x.dtype == torch.float32 and x.shape == (3, total, task.input_size)
            assert total == seq_len + (20 if name == "copy_memory" else 0)
            if name == "adding":
                assert y.dtype == torch.float32 and y.shape == (3, 1)
                assert task.scored_steps(seq_len) == slice(seq_len - 1, seq_len)
            elif name == "captions":
                assert y.dtype == torch.long and y.shape == (3, task.decoder_len)
                assert task.scored_steps(seq_len) == slice(task.source_len, total)
            elif name == "translation":
                assert y.dtype == torch.long and y.shape == (3, task.decoder_len + 1)
                assert task.source_len + task.decoder_len == total
                assert task.scored_steps(seq_len) == slice(task.source_len, total)
            elif name in DIGITS_TASKS:
                assert y.dtype == torch.long and y.shape == (3,)
                assert y.min() >= 0 and y.max() < task.output_size == 10
                assert task.scored_steps(seq_len) == slice(seq_len - 1, seq_len)
            elif isinstance(task, LastStepClassification):
                # (class, length): zero padding after each sequence's last real step
                assert y.dtype == torch.long and y.shape == (3, 2)
                assert y[:, 0].min() >= 0 and y[:, 0].max() < task.output_size
                assert y[:, 1].min() >= 1 and y[:, 1].max() <= total
                for row, length in zip(x, y[:, 1].tolist(), strict=True):
                    assert float(row[length:].abs().sum()) == 0.0
                if task.alphabet is not None:  # one-hot words, then zero padding
                    real = torch.arange(total)[None] < y[:, 1][:, None]  # (3, T)
                    assert torch.equal(x.sum(dim=-1), real.float())
                continue
            elif task.target_type == "classification":
                assert y.dtype == torch.long and y.shape == (3, total)
                assert y.min() >= 0 and y.max() < task.output_size
                assert task.scored_steps(seq_len) == slice(0, total)
            else:
                assert y.dtype == torch.float32 and y.shape == (3, seq_len, 1)
            if task.alphabet is not None and name != "captions":  # one-hot symbols
                assert set(x.unique().tolist()) <= {0.0, 1.0}
                assert torch.equal(x.sum(dim=-1), torch.ones(3, total))


def test_adding_layout():
    task = TASKS["adding"]
    x, y = task.sample(500, 30, gen(1))
    values, markers = x[..., 0], x[..., 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(markers.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(markers.sum(dim=1), torch.full((500,), 2.0))
    assert torch.allclose(y[:, 0], (values * markers).sum(dim=1))


def test_adding_markers_are_uniform_over_all_steps():
    # a common variant puts one marker in each half; ours draws both from all T steps
    task, seq_len, n = TASKS["adding"], 10, 20000
    x, _ = task.sample(n, seq_len, gen(2))
    markers = x[..., 1]
    counts = markers.sum(dim=0).numpy()  # each position is marked with probability 2/T
    p = 2 / seq_len
    assert np.all(np.abs(counts - n * p) < N_SE * math.sqrt(n * p * (1 - p)))
    first_half = markers[:, : seq_len // 2].sum(dim=1)
    assert (first_half == 2).any() and (first_half == 0).any()


@pytest.mark.parametrize("seq_len", [1, 5, 40])
def test_copy_memory_layout(seq_len):
    task = TASKS["copy_memory"]
    x, y = task.sample(64, seq_len, gen(seq_len))
    symbols = x.argmax(dim=-1)
    digits = symbols[:, :10]
    assert ((digits >= 1) & (digits <= 8)).all()
    assert (symbols[:, 10 : seq_len + 9] == 0).all()  # T - 1 blanks
    assert (symbols[:, seq_len + 9 :] == 9).all() and symbols.shape[1] - (seq_len + 9) == 11
    assert (y[:, : seq_len + 10] == 0).all()
    assert torch.equal(y[:, seq_len + 10 :], digits)
    assert task.alphabet == [str(d) for d in range(10)]


def test_parity_targets_are_running_xor():
    task = TASKS["parity"]
    x, y = task.sample(32, 40, gen(3))
    bits = x.argmax(dim=-1).tolist()
    for row_bits, row_y in zip(bits, y.tolist(), strict=True):
        parity, expected = 0, []
        for bit in row_bits:
            parity ^= bit
            expected.append(parity)
        assert row_y == expected


@pytest.mark.parametrize("name", FORECAST_TASKS)
def test_forecast_target_is_next_input(name):
    x, y = TASKS[name].sample(16, a_seq_len(TASKS[name], 30), gen(4))
    assert torch.equal(y[:, :-1], x[:, 1:])


def test_char_lm_target_is_next_character():
    x, y = TASKS["char_lm"].sample(16, 30, gen(5))
    assert torch.equal(y[:, :-1], x[:, 1:].argmax(dim=-1))


def test_co2_windows_start_at_zero():
    x, _ = TASKS["co2"].sample(16, 30, gen(6), split="test")
    assert torch.equal(x[:, 0, 0], torch.zeros(16))


# ---------------------------------------------------------------- determinism


@pytest.mark.parametrize("name", list(TASKS))
def test_same_seed_same_batch_and_global_rng_untouched(name):
    task = TASKS[name]
    seq_len = a_seq_len(task, 20)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        state = torch.get_rng_state()
        x1, y1 = task.sample(8, seq_len, gen(123))
        assert torch.equal(torch.get_rng_state(), state)
        torch.manual_seed(99)  # a different global state must not matter
        x2, y2 = task.sample(8, seq_len, gen(123))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    x3, y3 = task.sample(8, seq_len, gen(124))
    assert not (torch.equal(x1, x3) and torch.equal(y1, y3))


# ---------------------------------------------------------------- losses and metrics


@pytest.mark.parametrize("name", list(TASKS))
def test_perfect_predictor_gets_the_best_metric(name):
    task = TASKS[name]
    seq_len = a_seq_len(task, 25)
    x, y = task.sample(32, seq_len, gen(7))
    outputs = perfect_outputs(task, y, task.total_len(seq_len))
    metric = task.metric(outputs, y)
    assert isinstance(metric, float)
    if task.higher_is_better:
        assert metric == pytest.approx(1.0)
    else:
        assert 0 <= metric < 1e-6
    assert task.loss(outputs, y).item() < 1e-3 * task.baseline_loss(seq_len)


@pytest.mark.parametrize("name", FORECAST_TASKS)
def test_forecast_metric_is_skill_against_persistence_on_the_same_steps(name):
    """Repeating the current value (the input) scores 0; a forecaster half-way between
    that and the truth has a quarter of persistence's squared error, so skill 0.75."""
    task = TASKS[name]
    x, y = task.sample(32, 20, gen(8))
    assert task.metric(x, y) == pytest.approx(0.0, abs=1e-6)
    assert task.metric(x, y, split="test") == pytest.approx(0.0, abs=1e-6)
    assert task.metric((x + y) / 2, y) == pytest.approx(0.75, abs=1e-5)
    # the first step has no persistence forecast in the batch: it is not scored
    wild = ((x + y) / 2).clone()
    wild[:, 0] += 100.0
    assert task.metric(wild, y) == pytest.approx(0.75, abs=1e-5)
    assert math.isnan(task.metric(x[:, :1], y[:, :1]))


def test_adding_accuracy_counts_errors_below_tolerance():
    task = TASKS["adding"]
    y = torch.tensor([[1.0], [1.0], [1.0], [1.0]])
    outputs = torch.zeros(4, 3, 1)
    outputs[:, -1, 0] = torch.tensor([1.03, 0.97, 1.05, 0.5])
    assert task.metric(outputs, y) == pytest.approx(0.5)


def test_copy_memory_accuracy_ignores_the_blank_steps():
    task, seq_len = TASKS["copy_memory"], 30
    _, y = task.sample(16, seq_len, gen(9))
    blanks_only = 30.0 * F.one_hot(torch.zeros_like(y), 10).float()
    assert task.metric(blanks_only, y) == 0.0  # digits are never 0


def test_char_lm_metric_is_bits_per_character():
    task = TASKS["char_lm"]
    _, y = task.sample(8, 20, gen(10))
    uniform = torch.zeros(8, 20, task.output_size)
    assert task.metric(uniform, y) == pytest.approx(math.log2(task.output_size), rel=1e-6)


# ---------------------------------------------------------------- baselines, synthetic tasks


def test_adding_baseline_is_one_sixth_not_0_1767():
    task, seq_len = TASKS["adding"], 20
    assert task.baseline_loss(seq_len) == pytest.approx(1 / 6, abs=1e-12)

    def predict_one(x, y):
        outputs = torch.full((x.shape[0], seq_len, 1), 100.0)  # unscored steps: garbage
        outputs[:, -1, 0] = 1.0
        return outputs

    def last_step_error(outputs, y):
        return (outputs[:, -1, 0] - y[:, 0]) ** 2

    losses = monte_carlo(task, seq_len, predict_one, last_step_error, n_batches=10, batch_size=4000)
    mean, se = assert_mc_mean(losses, 1 / 6)
    assert abs(mean - 0.1767) > N_SE * se


def test_adding_remembering_one_value_gives_one_twelfth():
    task, seq_len = TASKS["adding"], 20

    def predict_first_plus_half(x, y):
        first_marked = x[..., 1].argmax(dim=1)  # argmax returns the first of the two
        outputs = torch.zeros(x.shape[0], seq_len, 1)
        outputs[:, -1, 0] = x[torch.arange(x.shape[0]), first_marked, 0] + 0.5
        return outputs

    losses = monte_carlo(
        task, seq_len, predict_first_plus_half, lambda o, y: (o[:, -1, 0] - y[:, 0]) ** 2, 10, 4000
    )
    assert_mc_mean(losses, 1 / 12)


@pytest.mark.parametrize("seq_len", [1, 50, 200])
def test_copy_memory_baseline(seq_len):
    task = TASKS["copy_memory"]
    expected = 10 * math.log(8) / (seq_len + 20)
    assert task.baseline_loss(seq_len) == pytest.approx(expected, rel=1e-12)
    # certain blank for T + 10 steps, then uniform over the digits 1..8
    probs = torch.zeros(seq_len + 20, 10)
    probs[: seq_len + 10, 0] = 1.0
    probs[seq_len + 10 :, 1:9] = 1 / 8
    predictor = same_for_every_sequence(log_probs(probs))
    losses = monte_carlo(task, seq_len, predictor, cross_entropy_per_sample, 4, 256)
    assert losses == pytest.approx(np.full_like(losses, expected), rel=1e-5)


def test_copy_memory_empirical_predictor_does_not_beat_baseline():
    # the per-position frequencies of the samples themselves, scored on fresh samples
    task, seq_len = TASKS["copy_memory"], 50
    _, y = task.sample(20000, seq_len, gen(11))
    freq = F.one_hot(y, 10).double().mean(dim=0)  # (T+20, 10)
    predictor = same_for_every_sequence(log_probs(freq))
    losses = monte_carlo(task, seq_len, predictor, cross_entropy_per_sample, 5, 2000, seed=12)
    assert_mc_mean(losses, task.baseline_loss(seq_len))


def test_sine_baseline_is_the_variance():
    task, seq_len = TASKS["sine"], 50
    # two components, amplitude U[0.5, 1] so E[A²] = var + mean², sin² averages 1/2, noise 0.1
    mean_amp_sq = 0.5**2 / 12 + 0.75**2
    expected = 2 * mean_amp_sq / 2 + 0.1**2
    assert task.baseline_loss(seq_len) == pytest.approx(expected, rel=1e-12)
    predictor = same_for_every_sequence(torch.zeros(seq_len, 1))
    losses = monte_carlo(task, seq_len, predictor, squared_error_per_sample, 10, 2000)
    assert_mc_mean(losses, expected)


def test_sine_mean_is_zero_at_every_position():
    _, y = TASKS["sine"].sample(20000, 60, gen(13))
    per_position = y[..., 0].double()
    se = per_position.std(dim=0) / math.sqrt(per_position.shape[0])
    assert (per_position.mean(dim=0).abs() < N_SE * se).all()


def test_parity_baseline():
    task, seq_len = TASKS["parity"], 50
    assert task.baseline_loss(seq_len) == pytest.approx(math.log(2), rel=1e-12)
    predictor = same_for_every_sequence(torch.zeros(seq_len, 2))
    losses = monte_carlo(task, seq_len, predictor, cross_entropy_per_sample, 4, 500)
    assert losses == pytest.approx(np.full_like(losses, math.log(2)), rel=1e-6)
    # uniform is the best constant only because every position is a fair coin
    _, y = task.sample(20000, seq_len, gen(14))
    ones = y.double().mean(dim=0)
    assert ((ones - 0.5).abs() < N_SE * math.sqrt(0.25 / 20000)).all()


# ---------------------------------------------------------------- char_lm


def corpus_splits():
    text = CORPUS.read_text(encoding="ascii")
    cut = int(0.9 * len(text))
    return text[:cut], text[cut:]


def corpus_train_symbols():
    """Train text as indices into the sorted characters of the whole corpus, and their count."""
    train, test = corpus_splits()
    index = {c: i for i, c in enumerate(sorted(set(train + test)))}
    return np.array([index[c] for c in train]), len(index)


def brute_force_position_distributions(symbols, seq_len, n_symbols):
    """Counts (T, V) of the target at each position over every train window start."""
    n_starts = len(symbols) - seq_len
    targets = [symbols[t + 1 : t + 1 + n_starts] for t in range(seq_len)]
    return np.stack([np.bincount(target, minlength=n_symbols) for target in targets])


def entropy_nats(counts):
    p = counts / counts.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(p * np.log(p), axis=-1)


def test_bundled_corpus_is_clean_ascii_with_its_licence():
    text = CORPUS.read_bytes().decode("ascii")
    assert set(text) <= {chr(c) for c in range(32, 127)} | {"\n"}
    assert 300_000 <= len(text) <= 500_000
    assert text.startswith("# ===== Lib/")
    assert text.count("# ===== Lib/") >= 5
    assert "PYTHON SOFTWARE FOUNDATION LICENSE" in (CORPUS.parent / "LICENSE-PSF.txt").read_text()


def test_char_lm_vocabulary_and_lazy_split():
    task = TASKS["char_lm"]
    train, test = corpus_splits()
    assert task.alphabet == sorted(set(train + test))
    assert task.max_seq_len == len(test) - 1
    assert task.higher_is_better is False and task.metric_name == "bits per character"


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=TASKS["char_lm"].alphabet, max_size=200))
def test_char_lm_encode_decode_round_trip(text):
    task = TASKS["char_lm"]
    encoded = task.encode(text)
    assert encoded.dtype == torch.long and encoded.shape == (len(text),)
    assert task.decode(encoded) == text
    assert task.decode(encoded.tolist()) == text


def test_char_lm_encode_rejects_unknown_characters():
    with pytest.raises(ValueError, match="é"):
        TASKS["char_lm"].encode("café")


def test_char_lm_windows_come_from_their_split():
    task = TASKS["char_lm"]
    train, test = corpus_splits()
    for split, source, other in (("train", train, test), ("test", test, train)):
        x, y = task.sample(64, 120, gen(15), split=split)
        n_only_here = 0
        for row_x, row_y in zip(x.argmax(dim=-1), y, strict=True):
            window = task.decode(row_x) + task.decode(row_y[-1:])
            assert window in source
            n_only_here += window not in other
        assert n_only_here > 32  # code repeats, but most 121-character windows are unique


@pytest.mark.parametrize("seq_len", [1, 7, 50])
def test_char_lm_baseline_matches_brute_force(seq_len):
    task = TASKS["char_lm"]
    symbols, n_symbols = corpus_train_symbols()
    counts = brute_force_position_distributions(symbols, seq_len, n_symbols)
    assert task.baseline_loss(seq_len) == pytest.approx(entropy_nats(counts).mean(), rel=1e-10)


def test_char_lm_baseline_monte_carlo():
    task, seq_len = TASKS["char_lm"], 50
    symbols, n_symbols = corpus_train_symbols()
    counts = brute_force_position_distributions(symbols, seq_len, n_symbols)
    predictor = same_for_every_sequence(log_probs(counts / counts.sum(axis=1, keepdims=True)))
    losses = monte_carlo(task, seq_len, predictor, cross_entropy_per_sample, 20, 200)
    assert_mc_mean(losses, task.baseline_loss(seq_len))


def test_char_lm_small_corpus_enumerates_every_window(tmp_path):
    text = "def f(x):\n    return x + 1\n\nprint(f('a'))  # done\n" * 3
    path = tmp_path / "tiny.txt"
    path.write_text(text, encoding="ascii")
    task = CharLMTask(path)
    seq_len = 6
    train = text[: int(0.9 * len(text))]
    starts = range(len(train) - seq_len)
    # literal definition: entropy of the target at each position over all starts
    per_position = []
    for t in range(seq_len):
        counts = Counter(train[s + t + 1] for s in starts)
        total = sum(counts.values())
        per_position.append(-sum(c / total * math.log(c / total) for c in counts.values()))
    assert task.baseline_loss(seq_len) == pytest.approx(sum(per_position) / seq_len, rel=1e-12)
    # every window is reachable, including the last one, and nothing else is
    x, y = task.sample(5000, seq_len, gen(16))
    rows = zip(x.argmax(dim=-1), y, strict=True)
    drawn = {task.decode(row_x) + task.decode(row_y[-1:]) for row_x, row_y in rows}
    assert drawn == {train[s : s + seq_len + 1] for s in starts}


# ---------------------------------------------------------------- co2


def co2_reference():
    frame = pd.read_csv(CO2_CSV)
    dates = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()  # so index = time
    ppm = frame["co2"].interpolate(method="linear").to_numpy()
    cut = int(0.8 * len(ppm))
    return ppm[:cut], ppm[cut:]


def co2_position_targets(train, seq_len, scale):
    """(n_starts, T) targets of every train window, built per position."""
    n_starts = len(train) - seq_len
    starts = train[:n_starts]
    return np.stack([(train[t + 1 : t + 1 + n_starts] - starts) / scale for t in range(seq_len)], 1)


def test_co2_series_is_the_bundled_record_with_gaps_filled():
    task = TASKS["co2"]
    train, test = co2_reference()
    assert np.isnan(pd.read_csv(CO2_CSV)["co2"]).sum() > 0  # the file keeps its gaps
    np.testing.assert_allclose(task.series("train"), train)
    np.testing.assert_allclose(task.series("test"), test)
    assert task.max_seq_len == len(test) - 1
    assert 2 <= task.scale <= 10  # ppm, documented in the task


@pytest.mark.parametrize("seq_len", [1, 50, 300])
def test_co2_baseline_matches_brute_force(seq_len):
    task = TASKS["co2"]
    train, _ = co2_reference()
    targets = co2_position_targets(train, seq_len, task.scale)
    expected = np.mean([np.mean((col - col.mean()) ** 2) for col in targets.T])
    assert task.baseline_loss(seq_len) == pytest.approx(expected, rel=1e-9)


def test_co2_baseline_monte_carlo():
    task, seq_len = TASKS["co2"], 50
    train, _ = co2_reference()
    best = co2_position_targets(train, seq_len, task.scale).mean(axis=0)  # (T,)
    predictor = same_for_every_sequence(torch.tensor(best, dtype=torch.float32)[:, None])
    losses = monte_carlo(task, seq_len, predictor, squared_error_per_sample, 10, 400)
    assert_mc_mean(losses, task.baseline_loss(seq_len))


def test_co2_small_file_interpolates_and_reaches_every_window(tmp_path):
    dates = pd.date_range("2000-01-01", periods=30, freq="7D").strftime("%Y%m%d")
    ppm = [f"{300 + i**3 / 100:.2f}" for i in range(30)]
    ppm[7] = ""
    path = tmp_path / "co2.csv"
    path.write_text("date,co2\n" + "".join(f"{d},{v}\n" for d, v in zip(dates, ppm, strict=True)))
    task = CO2Task(path)
    train = task.series("train")
    assert len(train) == 24 and task.max_seq_len == 5
    assert train[7] == pytest.approx((train[6] + train[8]) / 2)
    seq_len = 3
    expected = co2_position_targets(train, seq_len, task.scale)  # (21, T), one row per start
    _, y = task.sample(3000, seq_len, gen(17))
    distance = np.abs(y[:, None, :, 0].double().numpy() - expected[None]).max(axis=-1)  # (B, 21)
    assert np.sort(distance, axis=1)[:, 1].min() > 1e-2  # each window matches one start only
    nearest = distance.argmin(axis=1)
    assert distance.min(axis=1).max() < 1e-4
    assert set(nearest) == set(range(len(expected)))


# ---------------------------------------------------------------- handwritten digits


def digits_reference():
    """Every row of the bundled file, read with the csv module: (N, 64) pixels 0..16, (N,)."""
    with gzip.open(DIGITS_CSV, "rt", newline="") as f:
        rows = np.array([[int(v) for v in row] for row in csv.reader(f)])
    assert rows.shape == (1797, 65)
    return rows[:, :64], rows[:, 64]


def image_keys(images, labels):
    """One hashable key per (image, label), images as 64 counts 0..16 in raster order."""
    counts = np.rint(np.asarray(images).reshape(len(labels), 64) * 16).astype(np.int64)
    return [(tuple(c), int(lab)) for c, lab in zip(counts, labels, strict=True)]


def digits_seq_len(name):
    return {"digits_rows": 8, "digits_pixels": 64}[name]


def test_digits_file_is_the_uci_set():
    pixels, labels = digits_reference()
    assert pixels.min() == 0 and pixels.max() == 16
    assert np.array_equal(np.bincount(labels), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    assert len(set(image_keys(pixels / 16, labels))) == 1797  # no duplicates


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_digits_layout_and_value_range(name):
    task = TASKS[name]
    seq_len = digits_seq_len(name)
    assert (task.min_seq_len, task.max_seq_len, task.total_len(seq_len)) == (seq_len,) * 3
    assert task.input_size == 64 // seq_len and task.output_size == 10
    assert task.target_type == "classification" and task.higher_is_better and task.alphabet is None
    for bad in (seq_len - 1, seq_len + 1):
        with pytest.raises(ValueError, match=str(seq_len)):
            task.sample(2, bad, gen(0))
    x, y = task.sample(500, seq_len, gen(20), split="test")
    assert x.shape == (500, seq_len, task.input_size) and x.dtype == torch.float32
    assert y.shape == (500,) and y.dtype == torch.long
    assert x.min() == 0.0 and x.max() == 1.0
    assert torch.equal(x * 16, (x * 16).round())  # 17 grey levels, value / 16
    assert set(y.tolist()) == set(range(10))


def test_digits_rows_and_pixels_read_the_same_image():
    rows, pixels = TASKS["digits_rows"], TASKS["digits_pixels"]
    for split in ("train", "test"):
        x_rows, y_rows = rows.sample(64, 8, gen(21), split=split)
        x_pixels, y_pixels = pixels.sample(64, 64, gen(21), split=split)
        assert torch.equal(y_rows, y_pixels)
        assert torch.equal(x_rows.reshape(64, 64, 1), x_pixels)
        # step t of the row reading is row t of the image, pixel k is row k // 8, column k % 8
        image = x_rows[5]
        assert torch.equal(image[3], x_pixels[5, 24:32, 0])
        assert x_pixels[5, 8 * 6 + 2, 0] == image[6, 2]
    for split in ("train", "test"):
        images_rows, labels_rows = rows.images(split)
        images_pixels, labels_pixels = pixels.images(split)
        assert np.array_equal(images_rows, images_pixels)
        assert np.array_equal(labels_rows, labels_pixels)


def test_digits_samples_are_raster_images_of_the_file():
    pixels, labels = digits_reference()
    file_keys = set(image_keys(pixels / 16, labels))
    x, y = TASKS["digits_pixels"].sample(300, 64, gen(22))
    # the file's 64 columns, in order, are the 64 steps; the label comes with its image
    assert set(image_keys(x[..., 0].numpy(), y.numpy())) <= file_keys
    x_rows, y_rows = TASKS["digits_rows"].sample(300, 8, gen(22))
    assert set(image_keys(x_rows.numpy(), y_rows.numpy())) <= file_keys


def test_digits_split_partitions_the_file_and_is_fixed():
    pixels, labels = digits_reference()
    task = TASKS["digits_rows"]
    train_images, train_labels = task.images("train")
    test_images, test_labels = task.images("test")
    assert train_images.shape == (1437, 8, 8) and test_images.shape == (360, 8, 8)
    assert train_images.dtype == np.float32 and train_labels.dtype == np.int64
    assert train_images.min() >= 0.0 and train_images.max() <= 1.0
    train_keys = image_keys(train_images, train_labels)
    test_keys = image_keys(test_images, test_labels)
    assert not set(train_keys) & set(test_keys)  # disjoint (the file has no duplicates)
    assert sorted(train_keys + test_keys) == sorted(image_keys(pixels / 16, labels))
    # shuffled, not the file's last fifth, and every digit is in the held-out set
    assert test_keys != image_keys(pixels[-360:] / 16, labels[-360:])
    assert np.bincount(test_labels, minlength=10).min() >= 20
    # a fresh instance (a new process) draws the same split, and the same batches
    fresh = DigitsRowsTask()
    for split in ("train", "test"):
        (fresh_images, fresh_labels), (images, labels) = fresh.images(split), task.images(split)
        assert np.array_equal(fresh_images, images) and np.array_equal(fresh_labels, labels)
        x1, y1 = fresh.sample(16, 8, gen(23), split=split)
        x2, y2 = task.sample(16, 8, gen(23), split=split)
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    # images() hands out copies
    train_images[:] = -1.0
    assert task.images("train")[0].min() >= 0.0
    with pytest.raises(ValueError):
        task.images("valid")


@pytest.mark.parametrize("split", ["train", "test"])
def test_digits_draws_are_uniform_over_their_split_only(split):
    task = TASKS["digits_pixels"]
    images, labels = task.images(split)
    index = {key: i for i, key in enumerate(image_keys(images, labels))}
    n = 30 * len(labels)
    x, y = task.sample(n, 64, gen(24), split=split)
    drawn = [index[key] for key in image_keys(x[..., 0].numpy(), y.numpy())]  # KeyError: leak
    counts = np.bincount(drawn, minlength=len(labels))
    assert counts.min() > 0  # every image is reachable
    p = 1 / len(labels)
    assert np.abs(counts - n * p).max() < N_SE * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_digits_randomness_comes_only_from_the_generator(name):
    task_type = {"digits_rows": DigitsRowsTask, "digits_pixels": DigitsPixelsTask}[name]
    task, seq_len = task_type(), digits_seq_len(name)  # fresh: the first use loads the file
    numpy_state = np.random.get_state()
    with torch.random.fork_rng():
        torch.manual_seed(5)
        torch_state = torch.get_rng_state()
        x1, y1 = task.sample(32, seq_len, gen(25))
        task.baseline_loss(seq_len)
        assert torch.equal(torch.get_rng_state(), torch_state)
        torch.manual_seed(6)
        x2, y2 = task.sample(32, seq_len, gen(25))
    after = np.random.get_state()
    assert numpy_state[0] == after[0] and np.array_equal(numpy_state[1], after[1])
    assert numpy_state[2:] == after[2:]
    assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_digits_first_use_from_many_threads_loads_once(monkeypatch):
    task = DigitsPixelsTask()
    loads = []
    load = task._load

    def counting_load():
        loads.append(1)
        return load()

    monkeypatch.setattr(task, "_load", counting_load)
    results = [None] * 8
    start = threading.Barrier(len(results))

    def worker(i):
        start.wait()
        results[i] = task.sample(4, 64, gen(26))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(loads) == 1
    assert all(
        torch.equal(r[0], results[0][0]) and torch.equal(r[1], results[0][1]) for r in results
    )


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_digits_loss_and_accuracy_score_only_the_last_step(name):
    task, T = TASKS[name], digits_seq_len(name)
    y = torch.tensor([3, 7, 0])
    outputs = torch.zeros(3, T, 10)
    outputs[:, :-1, :] = torch.randn(3, T - 1, 10, generator=gen(27)) * 50  # never scored
    outputs[:, :-1, 7] = 100.0  # earlier steps would get the second digit right
    outputs[0, -1, 3] = math.log(9)  # P(3) = 9 / (9 + 9) = 1/2: right, loss ln 2
    # second: uniform, argmax picks class 0, wrong, loss ln 10
    outputs[2, -1, 5] = math.log(4)  # P(0) = 1 / (4 + 9) : wrong, loss ln 13
    expected = (math.log(2) + math.log(10) + math.log(13)) / 3
    assert task.loss(outputs, y).item() == pytest.approx(expected, rel=1e-6)
    assert task.metric(outputs, y) == pytest.approx(1 / 3)
    outputs[2, -1, 0] = 10.0
    assert task.metric(outputs, y) == pytest.approx(2 / 3)


@pytest.mark.parametrize("name", DIGITS_TASKS)
def test_digits_baseline_is_the_train_label_entropy(name):
    task, seq_len = TASKS[name], digits_seq_len(name)
    _, train_labels = task.images("train")
    _, counts = np.unique(train_labels, return_counts=True)
    assert counts.sum() == 1437 and len(counts) == 10
    p = counts / counts.sum()
    entropy = float(-(p * np.log(p)).sum())
    assert task.baseline_loss(seq_len) == pytest.approx(entropy, rel=1e-12)
    assert math.log(10) - 0.01 < entropy < math.log(10)  # nearly balanced classes
    with pytest.raises(ValueError):
        task.baseline_loss(seq_len + 1)
    # the label-frequency predictor scores exactly the entropy on the whole train split
    frequencies = log_probs(p).expand(len(train_labels), seq_len, 10)
    whole_split = task.loss(frequencies, torch.from_numpy(train_labels)).item()
    assert whole_split == pytest.approx(entropy, rel=1e-6)
    # and, in expectation, on the task's own batches (uniform draws with replacement)
    g, per_sample = gen(28), []
    for _ in range(20):
        _, y = task.sample(500, seq_len, g)
        outputs = log_probs(p).expand(500, seq_len, 10)
        per_sample.append(-F.log_softmax(outputs[:, -1].double(), dim=-1)[torch.arange(500), y])
        assert task.loss(outputs, y).item() == pytest.approx(per_sample[-1].mean().item(), 1e-5)
    assert_mc_mean(torch.cat(per_sample).numpy(), entropy)
    # guessing uniformly costs ln 10, a little more than the label frequencies
    uniform = torch.zeros(len(train_labels), seq_len, 10)
    uniform_loss = task.loss(uniform, torch.from_numpy(train_labels)).item()
    assert uniform_loss == pytest.approx(math.log(10), rel=1e-6)


def test_digits_small_file(tmp_path):
    # 10 images whose pixel k is (k + image) % 17, label = image
    rows = [[(k + i) % 17 for k in range(64)] + [i] for i in range(10)]
    path = tmp_path / "digits.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("".join(",".join(map(str, row)) + "\n" for row in rows))
    task = DigitsRowsTask(path)
    train_images, train_labels = task.images("train")
    test_images, test_labels = task.images("test")
    assert len(train_labels) == 8 and len(test_labels) == 2
    assert sorted(train_labels.tolist() + test_labels.tolist()) == list(range(10))
    for images, labels in ((train_images, train_labels), (test_images, test_labels)):
        for image, label in zip(images, labels, strict=True):
            expected = (np.arange(64).reshape(8, 8) + label) % 17 / 16
            np.testing.assert_allclose(image, expected, rtol=0, atol=1e-7)
    x, y = task.sample(200, 8, gen(29), split="test")
    assert set(y.tolist()) == set(test_labels.tolist())
    assert task.baseline_loss(8) == pytest.approx(math.log(8), rel=1e-12)  # 8 distinct labels
    bad = tmp_path / "bad.csv.gz"
    with gzip.open(bad, "wt") as f:
        f.write("1,2,3\n")
    with pytest.raises(ValueError, match="65 columns"):
        DigitsPixelsTask(bad).images()


# ---------------------------------------------------------------- provenance


def test_every_bundled_task_file_is_in_provenance():
    provenance = (ROOT / "assets" / "PROVENANCE.md").read_text()
    for folder in ("corpus", "data"):
        for path in (ROOT / "assets" / folder).iterdir():
            assert path.name in provenance, path.name


# ------------------------------------------------------- each split has its own baseline
def test_a_character_frequency_model_sits_on_the_held_out_baseline_not_below_it():
    """A model that learned only the training text's character frequencies predicts the
    same distribution everywhere. On held-out text it cannot beat that split's baseline
    (the best input-independent predictor there), while the training split's baseline
    lies 0.2 nats above it: drawn against that one, it would look like learning."""
    task = TASKS["char_lm"]
    T = 100
    train = task._corpus().splits["train"]
    freq = torch.bincount(train, minlength=task.input_size).double() + 1e-12
    log_freq = (freq / freq.sum()).log().float()
    x, y = task.held_out(64, T, torch.Generator().manual_seed(5))
    outputs = log_freq.expand(*y.shape, -1)  # (B, T, V) logits of the frequencies
    held_out_loss = float(task.loss(outputs, y))
    test_baseline = task.baseline_loss(T, "test")
    assert held_out_loss > test_baseline - 0.02  # a sample of 64 windows: small noise
    assert task.baseline_loss(T) - held_out_loss > 0.15


def _all_windows(task, T, split):
    series = torch.from_numpy(task.series(split))
    windows = series.unfold(0, T + 1, 1)  # (n_starts, T + 1)
    x, y = task._relative(windows)
    return x.float()[..., None], y.float()[..., None]


def test_held_out_baseline_is_the_held_out_variance():
    """Predicting each position's mean target over the held-out windows ignores the input;
    its loss is the held-out baseline, not the training split's."""
    task = TASKS["co2"]
    T = 104
    _, y = _all_windows(task, T, "test")
    outputs = y.mean(dim=0, keepdim=True).expand_as(y)
    assert task.baseline_loss(T, "test") == pytest.approx(float(F.mse_loss(outputs, y)), rel=1e-5)
    assert abs(task.baseline_loss(T, "train") / task.baseline_loss(T, "test") - 1) > 0.1


@pytest.mark.parametrize("name", ["digits_rows", "digits_pixels"])
def test_digits_are_scored_on_the_whole_held_out_split(name):
    task = TASKS[name]
    T = task.min_seq_len
    images, labels = task.images("test")
    x, y = task.held_out(64, T, torch.Generator().manual_seed(0))
    assert x.shape[0] == len(labels) == 360  # all of it, whatever the batch size asked
    np.testing.assert_array_equal(y.numpy(), labels)
    np.testing.assert_array_equal(x.reshape(-1, 8, 8).numpy(), images)
    counts = np.bincount(labels, minlength=10)
    p = counts[counts > 0] / counts.sum()
    assert task.baseline_loss(T, "test") == pytest.approx(float(-(p * np.log(p)).sum()))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_baseline_refuses_an_unknown_split(name):
    task = TASKS[name]
    with pytest.raises(ValueError, match="split"):
        task.baseline_loss(task.min_seq_len if task.max_seq_len else 20, "validation")


@pytest.mark.parametrize("split", ["train", "test"])
def test_repeating_this_weeks_co2_value_scores_r2_about_097_and_skill_0(split):
    """The CO2 description says so: persistence is a strong forecast by R² (against the
    input-independent baseline), which is why the metric is skill against persistence."""
    task = TASKS["co2"]
    x, y = _all_windows(task, 104, split)
    r2 = 1 - float(F.mse_loss(x, y)) / task.baseline_loss(104, split)
    assert r2 == pytest.approx(0.97, abs=0.01)
    assert task.metric(x, y, split=split) == pytest.approx(0.0, abs=1e-6)
    assert "R² about 0.97 on either split" in task.description


@pytest.mark.parametrize("model", ["rnn_tanh", "lstm", "gru", "tcn", "transformer"])
def test_scoring_the_last_real_step_never_sees_the_padding(model):
    """LastStepClassification masks: the loss of a padded batch does not move when the
    padding after each sequence's end changes (every model here is causal), and it
    equals the loss of each sequence run alone, unpadded."""
    from rnn_core import RunConfig
    from rnn_core.models import build_model
    from rnn_core.tasks.base import LastStepClassification, pad_sequences

    rng = np.random.default_rng(3)
    sequences = [rng.normal(size=(n, 2)).astype(np.float32) for n in (2, 7, 5)]
    x, lengths = pad_sequences(sequences, 9)
    assert x.shape == (3, 9, 2) and lengths.tolist() == [2, 7, 5]
    assert float(x[0, 2:].abs().sum()) == 0.0
    y = torch.stack([torch.tensor([0, 2, 1]), lengths], dim=1)
    cfg = RunConfig(model=model, hidden_size=8)  # the adding task's 2 input channels
    net = build_model(cfg, 2, 4, cfg.shape.kwargs)
    task = LastStepClassification()
    with torch.no_grad():
        loss = task.loss(net(x), y)
        noisy = x.clone()
        for row, n in zip(noisy, lengths, strict=True):
            row[n:] = torch.from_numpy(rng.normal(size=(9 - int(n), 2)).astype(np.float32))
        assert float(task.loss(net(noisy), y)) == pytest.approx(float(loss), abs=1e-6)
        alone = [
            F.cross_entropy(net(torch.from_numpy(s)[None])[:, -1], torch.tensor([c]))
            for s, c in zip(sequences, [0, 2, 1], strict=True)
        ]
    assert float(loss) == pytest.approx(float(torch.stack(alone).mean()), abs=1e-5)
    with pytest.raises(ValueError, match="1 to 9 steps"):
        pad_sequences([np.zeros((10, 2), np.float32)], 9)
