"""Task registry: data generators, losses, metrics and analytic baselines.

Every task turns ``(batch_size, seq_len, generator)`` into a batch ``(x, y)``
with ``x`` float32 of shape (B, T_total, input_size), batch first, symbols
one-hot, image pixels in [0, 1]. All randomness comes from the caller's
``torch.Generator`` so a run is reproducible from its seed and never disturbs
torch's global RNG, which other runs in the same process share.

``baseline_loss`` is the exact loss of the best predictor that ignores the
input (it may depend on the position), in the units of ``loss``, on the
sequences of one split (tasks with real data hold out a test split whose
statistics differ from training's). The UI draws it on every loss chart, each
curve against its own split's: a curve that stays on it has learned nothing
about the input. ``metric(..., split)`` is scored against the same split.

Bundled data (``assets/`` at the repository top, see ``assets/PROVENANCE.md``)
is read lazily on first use and never downloaded.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"  # rnn_core/tasks/ -> the top
CORPUS_PATH = ASSETS_DIR / "corpus" / "python_stdlib.txt"
CO2_PATH = ASSETS_DIR / "data" / "co2_mauna_loa_weekly.csv"
DIGITS_PATH = ASSETS_DIR / "data" / "digits.csv.gz"

SPLITS = ("train", "test")


def _one_hot(symbols: Tensor, n_symbols: int) -> Tensor:
    return F.one_hot(symbols, n_symbols).to(torch.float32)


def _cross_entropy(outputs: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy over batch and steps; outputs (B, T, C) logits, y (B, T)."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))


def _accuracy(outputs: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return (outputs.argmax(dim=-1) == y).float().mean().item()


def _entropy(counts: np.ndarray) -> np.ndarray:
    """Entropy in nats of the distributions given by counts along the last axis."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    # 0 * log 0 = 0: take log(1) where a symbol never occurs
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)


def _windows(data: Tensor, batch_size: int, length: int, generator: torch.Generator) -> Tensor:
    """B windows of `length` consecutive items of `data`, start positions uniform."""
    n_starts = data.shape[0] - length + 1
    starts = torch.randint(0, n_starts, (batch_size,), generator=generator)
    return data[starts[:, None] + torch.arange(length)]  # (B, length)


class Task:
    """One learning problem. Subclasses set the attributes and implement the methods."""

    name: str
    title: str
    description: str
    input_size: int
    output_size: int
    kind: str  # "regression" or "classification"
    metric_name: str
    higher_is_better: bool
    has_split: bool = False
    min_seq_len: int = 1
    max_seq_len: int | None = None  # None: only the config's global limit applies
    alphabet: list[str] | None = None  # display name of each one-hot symbol
    # The task's inputs are an image of this shape (height, width) read in raster order
    # (row-major): models that read images (a 2-D CNN) reshape the (B, T, I) input back
    # to (B, 1, H, W). None: the inputs are a sequence and nothing else.
    image_shape: tuple[int, int] | None = None

    def total_len(self, seq_len: int) -> int:
        """Number of time steps of x (and of the model's output) for this seq_len."""
        return seq_len

    def scored_steps(self, seq_len: int) -> slice:
        """The output steps that enter the loss."""
        return slice(0, self.total_len(seq_len))

    def scored_indices(self, seq_len: int) -> range:
        """The output steps that enter the loss, as step numbers (last: the last scored)."""
        return range(self.total_len(seq_len))[self.scored_steps(seq_len)]

    def memory_span(self, seq_len: int) -> int:
        """How many input steps (ending at it) a scored output may need: a model that
        sees fewer, such as a TCN with a short receptive field, cannot solve the task."""
        return self.total_len(seq_len)

    def check_seq_len(self, seq_len: int) -> None:
        low, high = self.min_seq_len, self.max_seq_len
        if seq_len < low or (high is not None and seq_len > high):
            bound = f"[{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"{self.name}: seq_len must be {bound}, got {seq_len}")

    def _check_request(self, seq_len: int, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        self.check_seq_len(seq_len)

    def sample(
        self, batch_size: int, seq_len: int, generator: torch.Generator, split: str = "train"
    ) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def metric(self, outputs: Tensor, y: Tensor, split: str = "train") -> float:
        raise NotImplementedError

    def held_out(
        self, batch_size: int, seq_len: int, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """The batch a run is scored on after training steps: ``batch_size`` sequences
        of the test split (a task whose test split is small enough returns all of it,
        in a fixed order, and ignores ``batch_size``)."""
        return self.sample(batch_size, seq_len, generator, split="test")

    def baseline_loss(self, seq_len: int, split: str = "train") -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class _SymbolTask(Task):
    """Classification at every step: y (B, T_total) long, cross-entropy over all steps."""

    kind = "classification"

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return _cross_entropy(outputs, y)


class _ForecastTask(Task):
    """Next-step regression of a scalar series: y (B, T, 1), MSE over all steps."""

    kind = "regression"
    input_size = 1
    output_size = 1
    metric_name = "R² (explained variance)"
    higher_is_better = True

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(outputs, y)

    def metric(self, outputs: Tensor, y: Tensor, split: str = "train") -> float:
        # R² against the trivial predictor of the same split: 1 = perfect, 0 = no better
        # than ignoring the input, below 0 worse than that
        with torch.no_grad():
            mse = F.mse_loss(outputs, y).item()
        return 1.0 - mse / self.baseline_loss(y.shape[1], split)


class AddingTask(Task):
    name = "adding"
    title = "Adding problem"
    description = (
        "Each step shows two numbers: a random value between 0 and 1, and a marker that is 1 "
        "at exactly two steps (anywhere in the sequence) and 0 elsewhere. After the last step "
        "the network must output the sum of the two marked values. Everything else is noise, "
        "so the net has to notice a marker, hold its value for up to T steps and ignore the "
        "rest. A net that remembers nothing can only predict the average sum, 1, which gives "
        "MSE 1/6 ≈ 0.167; remembering just one of the two values gives 1/12. With this "
        "app's default settings a plain tanh RNN already stays near that baseline at T = 50 "
        "(the vanishing-gradients demo), because the gradient that links the output back to "
        "a marker shrinks with every step in between."
    )
    input_size = 2
    output_size = 1
    kind = "regression"
    tolerance = 0.04  # a prediction counts as correct within this distance of the target
    metric_name = "accuracy (|error| < 0.04)"
    higher_is_better = True
    min_seq_len = 2

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        values = torch.rand(batch_size, seq_len, generator=generator)
        # A uniform ordered pair of distinct positions: the second is drawn from the
        # seq_len - 1 slots left after the first, skipping over the first.
        first = torch.randint(0, seq_len, (batch_size,), generator=generator)
        second = torch.randint(0, seq_len - 1, (batch_size,), generator=generator)
        second += (second >= first).long()
        markers = torch.zeros(batch_size, seq_len)
        rows = torch.arange(batch_size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = (values * markers).sum(dim=1, keepdim=True)  # (B, 1)
        return x, y

    def scored_steps(self, seq_len):
        return slice(seq_len - 1, seq_len)

    def marked(self, inputs) -> np.ndarray:
        """(B, T) bool: the two steps of each sequence whose value is to be added."""
        return np.asarray(inputs)[..., 1] > 0.5

    def loss(self, outputs, y):
        return F.mse_loss(outputs[:, -1, 0], y[:, 0])

    def metric(self, outputs, y, split="train"):
        with torch.no_grad():
            error = (outputs[:, -1, 0] - y[:, 0]).abs()
            return (error < self.tolerance).float().mean().item()

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # target = U1 + U2: the best constant is its mean 1 and its loss the variance 2 * 1/12
        return 1.0 / 6.0


class CopyMemoryTask(_SymbolTask):
    name = "copy_memory"
    title = "Copy memory"
    description = (
        "The first 10 steps show random digits from 1 to 8. Then come T-1 blanks (0), then a 9 "
        "that means 'recall now', followed by ten more 9s. The network must output a blank at "
        "every step except the last 10, where it must repeat the 10 digits in their original "
        "order. Outputting blanks and then guessing costs a loss of 10·ln 8/(T+20) and gets "
        "12.5% of the recalled digits right, so only accuracy on those last 10 steps tells "
        "whether the net remembers. The digits must survive T steps of nothing, which is "
        "exactly where vanishing gradients hurt (Bai et al. 2018)."
    )
    n_digits = 10
    n_symbols = 10  # 0 blank, 1..8 digits, 9 delimiter and recall cue
    input_size = n_symbols
    output_size = n_symbols
    alphabet = [str(s) for s in range(n_symbols)]
    metric_name = "accuracy on last 10 steps"
    higher_is_better = True

    def total_len(self, seq_len):
        return seq_len + 2 * self.n_digits

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        n = self.n_digits
        digits = torch.randint(1, 9, (batch_size, n), generator=generator)
        symbols = torch.zeros(batch_size, self.total_len(seq_len), dtype=torch.long)
        symbols[:, :n] = digits
        symbols[:, seq_len + n - 1 :] = 9  # delimiter, then one cue per digit to recall
        y = torch.zeros_like(symbols)
        y[:, -n:] = digits
        return _one_hot(symbols, self.n_symbols), y

    def metric(self, outputs, y, split="train"):
        return _accuracy(outputs[:, -self.n_digits :], y[:, -self.n_digits :])

    def memory_span(self, seq_len):
        # recalled digit i (output step seq_len + n + i) was shown at step i
        return seq_len + self.n_digits + 1

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # blanks are certain (loss 0); each recalled digit is uniform over 8 (loss ln 8)
        return self.n_digits * math.log(8) / self.total_len(seq_len)


class SineTask(_ForecastTask):
    name = "sine"
    title = "Waveform forecasting"
    description = (
        "Each sequence is the sum of two sine waves with their own random frequency (one "
        "cycle every 10 to 100 steps), amplitude and phase, plus measurement noise. At every "
        "step the network sees the current value and predicts the next one. The waves change "
        "from one sequence to the next, so the net has to work out the frequencies and phases "
        "from what it has seen so far and keep them in its state. Predicting 0 (the average) "
        "gives R² = 0; the noise, which cannot be predicted, caps R² at about 0.98."
    )
    n_components = 2
    freq_range = (0.01, 0.1)  # cycles per step
    amp_range = (0.5, 1.0)
    noise_std = 0.1

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        shape = (batch_size, 1, self.n_components)
        # float64 keeps the phase exact over 2000 steps; the batch is cast to float32 at the end
        freq = self._uniform(shape, self.freq_range, generator)
        amp = self._uniform(shape, self.amp_range, generator)
        phase = self._uniform(shape, (0.0, 2 * math.pi), generator)
        t = torch.arange(seq_len + 1, dtype=torch.float64)[None, :, None]
        clean = (amp * torch.sin(2 * math.pi * freq * t + phase)).sum(dim=-1)  # (B, T+1)
        noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        series = (clean + self.noise_std * noise).to(torch.float32)[..., None]
        return series[:, :-1], series[:, 1:]

    @staticmethod
    def _uniform(shape, bounds, generator):
        low, high = bounds
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # A uniform phase makes every value mean 0 at every step, so the best constant is 0
        # and its loss the variance: sum over components of E[A²]/2, plus the noise.
        low, high = self.amp_range
        mean_amp_sq = (low * low + low * high + high * high) / 3
        return self.n_components * mean_amp_sq / 2 + self.noise_std**2


class ParityTask(_SymbolTask):
    name = "parity"
    title = "Running parity"
    description = (
        "The input is a stream of random bits. At every step the network outputs the parity "
        "of all bits so far: 1 if it has seen an odd number of ones, 0 otherwise. The rule is "
        "a one-bit state machine (flip on a 1, keep on a 0), but that bit must be kept exactly: "
        "a single bit forgotten anywhere flips every later answer. Each answer is a fair coin "
        "to anyone who has not followed the whole stream, so without memory the loss stays at "
        "ln 2 and the accuracy at 50%."
    )
    input_size = 2
    output_size = 2
    alphabet = ["0", "1"]
    metric_name = "accuracy over all steps"
    higher_is_better = True

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        bits = torch.randint(0, 2, (batch_size, seq_len), generator=generator)
        return _one_hot(bits, 2), bits.cumsum(dim=1) % 2

    def metric(self, outputs, y, split="train"):
        return _accuracy(outputs, y)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # the latest bit is fair and independent of the past, so every parity is a fair coin
        return math.log(2)


class _Corpus(NamedTuple):
    alphabet: list[str]
    index: dict[str, int]
    splits: dict[str, Tensor]  # split -> (N,) long symbol indices


class CharLMTask(_SymbolTask):
    name = "char_lm"
    title = "Character-level language model (Python code)"
    description = (
        "About 430 KB of Python standard-library source code, one character at a time: at each "
        "step the network sees a character and predicts the next. Code makes memory visible: "
        "to predict well the net has to know whether it is inside a string, how deep the "
        "indentation is and how far along the line it is, and single units that track such "
        "things can often be spotted in the hidden-state plots (Karpathy's char-RNN). The "
        "held-out score is bits per character on 64 fixed windows of the last 10% of the "
        "text, which the net never trains on. Predicting only how common each character is "
        "gives the baseline; the held-out text has its own (its characters are a little more "
        "predictable), drawn beside the held-out curve."
    )
    metric_name = "bits per character"
    higher_is_better = False
    has_split = True
    train_fraction = 0.9

    def __init__(self, path: Path = CORPUS_PATH):
        self._path = path
        self._lock = threading.Lock()
        self._data: _Corpus | None = None
        self._baselines: dict[int, float] = {}

    def _corpus(self) -> _Corpus:
        # Lazy, so importing the registry costs nothing; the lock because jobs run in threads.
        with self._lock:
            if self._data is None:
                self._data = self._load()
            return self._data

    def _load(self) -> _Corpus:
        text = self._path.read_bytes().decode("ascii")
        alphabet = sorted(set(text))
        index = {c: i for i, c in enumerate(alphabet)}
        lookup = np.zeros(128, dtype=np.int64)
        lookup[[ord(c) for c in alphabet]] = np.arange(len(alphabet))
        symbols = torch.from_numpy(lookup[np.frombuffer(text.encode("ascii"), dtype=np.uint8)])
        cut = int(self.train_fraction * len(text))
        return _Corpus(alphabet, index, {"train": symbols[:cut], "test": symbols[cut:]})

    @property
    def alphabet(self) -> list[str]:
        return self._corpus().alphabet

    @property
    def input_size(self) -> int:
        return len(self.alphabet)

    @property
    def output_size(self) -> int:
        return len(self.alphabet)

    @property
    def max_seq_len(self) -> int:
        # a held-out window needs seq_len + 1 characters
        return len(self._corpus().splits["test"]) - 1

    def encode(self, text: str) -> Tensor:
        """Symbol indices (long) of `text`; every character must be in the alphabet."""
        index = self._corpus().index
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise ValueError(f"characters not in the {self.name} alphabet: {unknown!r}")
        return torch.tensor([index[c] for c in text], dtype=torch.long)

    def decode(self, indices: Tensor | Sequence[int]) -> str:
        """Text of a 1-D sequence of symbol indices."""
        indices = torch.as_tensor(indices)
        if indices.ndim != 1:
            raise ValueError(f"decode takes a 1-D sequence, got shape {tuple(indices.shape)}")
        alphabet = self.alphabet
        return "".join(alphabet[i] for i in indices.tolist())

    def held_out_text(self, length: int) -> Tensor:
        """Symbol indices of ``length`` consecutive held-out characters (fewer if the
        split is shorter), starting at the split's first line start, so columns,
        indentation and strings are read from a clean start."""
        text = self._corpus().splits["test"]
        newline = self._corpus().index["\n"]
        starts = (text == newline).nonzero()
        first = int(starts[0, 0]) + 1 if len(starts) else 0
        return text[first : first + max(0, int(length))].clone()

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        window = _windows(self._corpus().splits[split], batch_size, seq_len + 1, generator)
        return _one_hot(window[:, :-1], self.input_size), window[:, 1:]

    def metric(self, outputs, y, split="train"):
        with torch.no_grad():
            return _cross_entropy(outputs, y).item() / math.log(2)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if (seq_len, split) not in self._baselines:
            self._baselines[seq_len, split] = self._exact_baseline(seq_len, split)
        return self._baselines[seq_len, split]

    def _exact_baseline(self, seq_len: int, split: str) -> float:
        """Mean over positions t of the entropy of the target at t, windows of ``split``.

        With M valid starts s, the target at position t is text[s + t + 1], so it ranges over
        text[t + 1 : t + 1 + M]. Moving from t - 1 to t drops text[t] and adds text[t + M]:
        the symbol counts of all positions are the first count plus a running sum of these
        one-in, one-out changes, O(N + T * V) instead of O(T * N).
        """
        text = self._corpus().splits[split].numpy()
        n_symbols = self.input_size
        n_starts = len(text) - seq_len
        first = np.bincount(text[1 : 1 + n_starts], minlength=n_symbols)
        change = np.zeros((seq_len, n_symbols), dtype=np.int64)
        t = np.arange(1, seq_len)
        np.add.at(change, (t, text[t + n_starts]), 1)
        np.add.at(change, (t, text[t]), -1)
        counts = first + np.cumsum(change, axis=0)  # (T, V)
        return float(_entropy(counts).mean())


class CO2Task(_ForecastTask):
    name = "co2"
    title = "Mauna Loa CO₂ forecasting"
    description = (
        "The weekly CO₂ concentration measured at Mauna Loa, Hawaii, from 1958 to 2001: a "
        "rising trend with a yearly rhythm on top (plants in the northern hemisphere take CO₂ "
        "up in summer and release it in winter). At every step the network sees this week's "
        "value and predicts next week's. Each window is measured from its own first week, in "
        "units of 3 ppm, so the net has to learn the seasonal cycle and the slope of the trend "
        "rather than the absolute level. The net trains on 1958 to early 1993 and is scored by "
        "R² on 64 fixed windows of the held-out weeks, April 1993 to 2001. R² compares the "
        "net with predicting, for each step, the average change over the same split's "
        "windows (which ignores the input): 0 means no better than that. Simply repeating "
        "this week's value already scores about 0.97 on either split, so the skill is in the "
        "last few hundredths: the seasonal turns and the recent slope."
    )
    has_split = True
    train_fraction = 0.8
    # Fixed, not per-window, so the transform never looks ahead and the loss has one unit.
    # 3 ppm is about the seasonal amplitude, so a yearly cycle spans about ±1.
    scale = 3.0  # ppm

    def __init__(self, path: Path = CO2_PATH):
        self._path = path
        self._lock = threading.Lock()
        self._data: dict[str, np.ndarray] | None = None
        self._baselines: dict[int, float] = {}

    def _splits(self) -> dict[str, np.ndarray]:
        # Lazy, so importing the registry costs nothing; the lock because jobs run in threads.
        with self._lock:
            if self._data is None:
                self._data = self._load()
            return self._data

    def _load(self) -> dict[str, np.ndarray]:
        table = np.genfromtxt(self._path, delimiter=",", skip_header=1, dtype=str)
        dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in table[:, 0]], dtype="datetime64[D]")
        days = dates.astype(np.int64)
        ppm = np.array([float(v) if v else np.nan for v in table[:, 1]])
        known = ~np.isnan(ppm)
        # weeks with no valid measurement: linear in time between their neighbours
        ppm = np.interp(days, days[known], ppm[known])
        cut = int(self.train_fraction * len(ppm))
        return {"train": ppm[:cut], "test": ppm[cut:]}

    def series(self, split: str = "train") -> np.ndarray:
        """The weekly record of a split in ppm, gaps filled (a copy)."""
        return self._splits()[split].copy()

    @property
    def max_seq_len(self) -> int:
        # a held-out window needs seq_len + 1 weeks
        return len(self._splits()["test"]) - 1

    def _relative(self, window: np.ndarray | Tensor):
        """Window (..., T+1) in ppm -> (inputs, targets), each (..., T), from the first week."""
        relative = (window - window[..., :1]) / self.scale
        return relative[..., :-1], relative[..., 1:]

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        data = torch.from_numpy(self._splits()[split])
        window = _windows(data, batch_size, seq_len + 1, generator)  # (B, T+1) float64
        x, y = self._relative(window)
        return x.to(torch.float32)[..., None], y.to(torch.float32)[..., None]

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if (seq_len, split) not in self._baselines:
            # every window of the split at once: the best constant at each position is
            # the mean target there, and its loss the (population) variance
            windows = np.lib.stride_tricks.sliding_window_view(self._splits()[split], seq_len + 1)
            _, targets = self._relative(windows)  # (n_starts, T)
            self._baselines[seq_len, split] = float(targets.var(axis=0).mean())
        return self._baselines[seq_len, split]


class _DigitsData(NamedTuple):
    images: dict[str, np.ndarray]  # split -> (N, 8, 8) float32 in [0, 1]
    labels: dict[str, np.ndarray]  # split -> (N,) int64 digit 0..9


class _DigitsTask(Task):
    """Classify an 8x8 handwritten digit read as a sequence of `pixels_per_step` pixels.

    The image is read in raster order (row-major), `pixels_per_step` pixels a step, so
    seq_len is fixed at 64 / pixels_per_step. y is (B,) long, the digit; only the last
    step's output is scored. Both readings share one fixed train/test split of the 1,797
    images (a permutation with a fixed seed, 80% train), so they see the same digits.
    """

    kind = "classification"
    output_size = 10
    metric_name = "accuracy"
    higher_is_better = True
    has_split = True
    image_shape = (8, 8)
    pixels_per_step: int  # set by subclasses
    train_fraction = 0.8
    split_seed = 1998  # numpy permutation seed of the fixed split (not the run's seed)
    max_value = 16  # pixels in the file count the on-pixels of a 4x4 block: 0..16

    def __init__(self, path: Path = DIGITS_PATH):
        self._path = path
        self._lock = threading.Lock()
        self._data: _DigitsData | None = None
        self._baselines: dict[str, float] = {}

    @property
    def input_size(self) -> int:
        return self.pixels_per_step

    @property
    def min_seq_len(self) -> int:
        height, width = self.image_shape
        return height * width // self.pixels_per_step

    @property
    def max_seq_len(self) -> int:
        return self.min_seq_len

    def _digits(self) -> _DigitsData:
        # Lazy, so importing the registry costs nothing; the lock because jobs run in threads.
        with self._lock:
            if self._data is None:
                self._data = self._load()
            return self._data

    def _load(self) -> _DigitsData:
        # 64 pixel columns (row-major) then the label, no header
        table = np.loadtxt(self._path, delimiter=",", dtype=np.int64, ndmin=2)
        height, width = self.image_shape
        if table.shape[1] != height * width + 1:
            raise ValueError(
                f"{self._path}: expected {height * width + 1} columns, got {table.shape[1]}"
            )
        images = (table[:, :-1] / self.max_value).astype(np.float32).reshape(-1, height, width)
        labels = table[:, -1]
        # a private generator: the split is fixed and numpy's global RNG is left alone
        order = np.random.default_rng(self.split_seed).permutation(len(labels))
        cut = int(self.train_fraction * len(labels))
        parts = {"train": order[:cut], "test": order[cut:]}
        return _DigitsData(
            {s: images[i] for s, i in parts.items()}, {s: labels[i] for s, i in parts.items()}
        )

    def images(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """The images of a split, (N, 8, 8) float32 in [0, 1], and their labels, (N,) int64."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        data = self._digits()
        return data.images[split].copy(), data.labels[split].copy()

    def scored_steps(self, seq_len):
        return slice(seq_len - 1, seq_len)

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        data = self._digits()
        labels = data.labels[split]
        chosen = torch.randint(0, len(labels), (batch_size,), generator=generator)
        images = torch.from_numpy(data.images[split])[chosen]  # (B, 8, 8)
        return self._as_sequences(images, seq_len), torch.from_numpy(labels)[chosen]

    def held_out(self, batch_size, seq_len, generator):
        # all of the test split (360 images), in its fixed order: no sampling error
        self._check_request(seq_len, "test")
        data = self._digits()
        images = torch.from_numpy(data.images["test"])
        return self._as_sequences(images, seq_len), torch.from_numpy(data.labels["test"])

    def _as_sequences(self, images: Tensor, seq_len: int) -> Tensor:
        """(N, 8, 8) images -> (N, seq_len, pixels_per_step), read in raster order."""
        return images.reshape(len(images), seq_len, self.pixels_per_step)

    def loss(self, outputs, y):
        return F.cross_entropy(outputs[:, -1], y)

    def metric(self, outputs, y, split="train"):
        return _accuracy(outputs[:, -1], y)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if split not in self._baselines:
            # images are drawn uniformly from the split (and the held-out score takes all
            # of the test split): the best guess without looking is the split's label
            # frequencies, and its loss their entropy
            counts = np.bincount(self._digits().labels[split], minlength=self.output_size)
            self._baselines[split] = float(_entropy(counts))
        return self._baselines[split]


class DigitsRowsTask(_DigitsTask):
    name = "digits_rows"
    title = "Handwritten digits, row by row"
    description = (
        "Small scans of handwritten digits, 8 by 8 pixels, each pixel a shade of grey. The "
        "network reads an image one row at a time, top to bottom: at each of the 8 steps it "
        "sees the 8 pixels of one row, and after the last row it must say which digit, 0 to 9, "
        "it saw. Only that final answer is scored. Guessing without looking is right 10% of "
        "the time, with loss ln 10 ≈ 2.30: the baseline. Eight steps is a short memory, so "
        "this is a gentle start for a recurrent net. Still, an image is not a story told in "
        "order: a convolutional net looks at small patches of the whole picture at once, "
        "while recurrence is built for things that unfold step by step, like text or sound; "
        "which does better on these digits at a given size is an empirical question. The net "
        "trains on 80% of the 1,797 digits and is scored on all of the other "
        "20% (360 digits), which it never sees in training."
    )
    pixels_per_step = 8


class DigitsPixelsTask(_DigitsTask):
    name = "digits_pixels"
    title = "Handwritten digits, pixel by pixel"
    description = (
        "The same 8 by 8 handwritten digits as the row-by-row task, read one pixel at a time in "
        "reading order (left to right, then the next row down): 64 steps of a single "
        "brightness value, then the network must name the digit, 0 to 9. Guessing is right "
        "10% of the time, with loss ln 10 ≈ 2.30. Read this way a picture becomes a 64-step "
        "memory problem: the top row arrives more than 55 steps before the answer, and two "
        "pixels that touch vertically arrive 8 steps apart, so the net has to build the shape "
        "up in its state and keep it. This is a small cousin of the 'sequential MNIST' "
        "benchmark for long memory. A 2-D convolutional net puts the pixels back into a "
        "square and sees neighbours together, so for it both readings are the same task."
    )
    pixels_per_step = 1


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        AddingTask(),
        CopyMemoryTask(),
        SineTask(),
        ParityTask(),
        CharLMTask(),
        CO2Task(),
        DigitsRowsTask(),
        DigitsPixelsTask(),
    )
}


def get_task(name: str) -> Task:
    """The registered task `name`, with the list of valid names when it is unknown."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; choose from {list(TASKS)}") from None
