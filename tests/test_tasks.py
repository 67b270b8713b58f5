"""Tests for the task registry: data layout, determinism, losses and exact baselines.

Baselines are checked against predictors written here independently of
rnn_core.tasks: explicit constants and logits for the synthetic tasks, and
brute-force enumeration of every training window for the bundled data.
Monte Carlo agreement is judged in standard errors of the per-sequence loss.
"""

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core.tasks import TASKS, CharLMTask, CO2Task, get_task

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "assets" / "corpus" / "python_stdlib.txt"
CO2_CSV = ROOT / "assets" / "data" / "co2_mauna_loa_weekly.csv"
SYMBOL_TASKS = ["copy_memory", "parity", "char_lm"]
FORECAST_TASKS = ["sine", "co2"]
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
    return [t for t in wanted if task.min_seq_len <= t <= high]


def perfect_outputs(task, y, seq_len):
    """Outputs of a predictor that knows y."""
    if task.name == "adding":
        outputs = torch.full((y.shape[0], seq_len, 1), -5.0)
        outputs[:, -1, 0] = y[:, 0]
        return outputs
    if task.kind == "classification":
        return 30.0 * F.one_hot(y, task.output_size).float()
    return y.clone()


# ---------------------------------------------------------------- registry


def test_registry_has_the_tasks_in_ui_order_and_consistent_attributes():
    assert list(TASKS) == ["adding", "copy_memory", "sine", "parity", "char_lm", "co2"]
    for name, task in TASKS.items():
        assert task.name == name and get_task(name) is task
        assert task.kind in ("regression", "classification")
        assert task.title and len(task.description) > 200 and task.metric_name
        assert isinstance(task.higher_is_better, bool) and isinstance(task.has_split, bool)
        assert task.has_split == (name in ("char_lm", "co2"))
        if task.alphabet is not None:
            assert len(task.alphabet) == task.input_size == task.output_size
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
            elif task.kind == "classification":
                assert y.dtype == torch.long and y.shape == (3, total)
                assert y.min() >= 0 and y.max() < task.output_size
                assert task.scored_steps(seq_len) == slice(0, total)
            else:
                assert y.dtype == torch.float32 and y.shape == (3, seq_len, 1)
            if task.alphabet is not None:  # one-hot symbols
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
    x, y = TASKS[name].sample(16, 30, gen(4))
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
    seq_len = 20
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
    task, seq_len = TASKS[name], 25
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
def test_r2_is_one_minus_loss_over_baseline(name):
    task = TASKS[name]
    x, y = task.sample(32, 20, gen(8))
    outputs = x  # "same as now", a reasonable but imperfect forecaster
    expected = 1 - task.loss(outputs, y).item() / task.baseline_loss(20)
    assert task.metric(outputs, y) == pytest.approx(expected, rel=1e-6)


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


# ---------------------------------------------------------------- provenance


def test_every_bundled_task_file_is_in_provenance():
    provenance = (ROOT / "assets" / "PROVENANCE.md").read_text()
    for folder in ("corpus", "data"):
        for path in (ROOT / "assets" / folder).iterdir():
            assert path.name in provenance, path.name
