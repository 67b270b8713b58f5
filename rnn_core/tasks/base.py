"""The Task interface, and what the task families share.

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
is read lazily on first use (``BundledDataTask``) and never downloaded.

Here: ``Task``; ``SymbolTask`` (a symbol classified at every step); ``BundledDataTask``
(a task on a bundled file, read once); the loss, metric and sampling helpers that more
than one family uses.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"  # rnn_core/tasks/ -> the top

SPLITS = ("train", "test")
ENCODER_DECODERS = ("seq2seq", "captioning")  # Task.architecture values


def one_hot(symbols: Tensor, n_symbols: int) -> Tensor:
    return F.one_hot(symbols, n_symbols).to(torch.float32)


def sequence_cross_entropy(outputs: Tensor, y: Tensor) -> Tensor:
    """Mean cross-entropy over batch and steps; outputs (B, T, C) logits, y (B, T)."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))


def accuracy(outputs: Tensor, y: Tensor) -> float:
    with torch.no_grad():
        return (outputs.argmax(dim=-1) == y).float().mean().item()


def entropy(counts: np.ndarray) -> np.ndarray:
    """Entropy in nats of the distributions given by counts along the last axis."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    # 0 * log 0 = 0: take log(1) where a symbol never occurs
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)


def random_windows(
    data: Tensor, batch_size: int, length: int, generator: torch.Generator
) -> Tensor:
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
    target_type: str  # "regression" or "classification"
    metric_name: str
    higher_is_better: bool
    has_split: bool = False
    min_seq_len: int = 1
    max_seq_len: int | None = None  # None: only the config's global limit applies
    # Display name of each one-hot input symbol; the output classes of a classification
    # task are its first ``output_size`` symbols.
    alphabet: list[str] | None = None
    # "sequence": any model reads it. An encoder-decoder task (ENCODER_DECODERS) asks
    # build_model for an encoder and a decoder of the run's recurrent cell: "seq2seq" (a
    # recurrent encoder, rnn_core/seq2seq.py) or "captioning" (a CNN encoder,
    # rnn_core/captioner.py); ``source_len`` then says where its decoder's steps start.
    architecture: str = "sequence"
    # Display name of each output class when the classes are not input symbols (a
    # sentence's sentiment: negative, positive); None: the alphabet's first symbols.
    class_names: list[str] | None = None
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

    def shown_target(self, target: np.ndarray, seq_len: int) -> tuple[np.ndarray, Any]:
        """(targets, steps): one sequence's target as a figure marks it, at the output
        steps it is scored at (``viz.sequence_figure``'s ``targets`` and ``scored_steps``)."""
        return target, self.scored_steps(seq_len)

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

    def probe_batch(
        self, batch_size: int, seq_len: int, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """The fixed batch a run's probes and snapshots read (a training batch; a task may
        put an example that shows it well first, since pages draw sequence 0)."""
        return self.sample(batch_size, seq_len, generator)

    def held_out(
        self, batch_size: int, seq_len: int, generator: torch.Generator
    ) -> tuple[Tensor, Tensor]:
        """The batch a run is scored on after training steps: ``batch_size`` sequences
        of the test split (a task whose test split is small enough returns all of it,
        in a fixed order, and ignores ``batch_size``)."""
        return self.sample(batch_size, seq_len, generator, split="test")

    def baseline_loss(self, seq_len: int, split: str = "train") -> float:
        raise NotImplementedError

    def targets_for(self, x: Tensor) -> Tensor | None:
        """The targets ``sample`` would pair with inputs ``x`` (B, T, input_size), laid
        out as its y, when the task's rule computes them from the inputs alone (an
        edited probe sequence, ``rnn_core.input_probe``); None when it cannot (a digit's
        label, a sentence's sentiment, a series' future)."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class SymbolTask(Task):
    """Classification at every step: y (B, T_total) long, cross-entropy over all steps."""

    target_type = "classification"

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return sequence_cross_entropy(outputs, y)


def last_real_outputs(outputs: Tensor, lengths: Tensor) -> Tensor:
    """(B, O): each sequence's output at its last real step, ``lengths - 1``."""
    return outputs[torch.arange(outputs.shape[0]), lengths - 1]


def pad_sequences(sequences: list[np.ndarray], length: int) -> tuple[Tensor, Tensor]:
    """Variable-length (T_i, I) arrays as one zero-padded (N, length, I) float32 batch
    and their lengths (N,) long."""
    lengths = [len(s) for s in sequences]
    if not sequences or min(lengths) < 1 or max(lengths) > length:
        raise ValueError(f"every sequence needs 1 to {length} steps")
    x = np.zeros((len(sequences), length, sequences[0].shape[1]), dtype=np.float32)
    for row, seq in zip(x, sequences, strict=True):
        row[: len(seq)] = seq
    return torch.from_numpy(x), torch.tensor(lengths, dtype=torch.long)


class LastStepClassification(Task):
    """Classification of variable-length sequences from each one's last real step.

    x is zero-padded after each sequence's end (``pad_sequences``); y is (B, 2) long:
    the class, then the sequence's length. Only the output at step ``length - 1`` enters
    the loss and the metric. Every model here is causal (an output depends on the inputs
    up to its step only), so that output never sees the padding: this is masking, not
    padding scored as data (tests/test_tasks.py changes the padding and checks).
    """

    target_type = "classification"
    metric_name = "accuracy"
    higher_is_better = True

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return F.cross_entropy(last_real_outputs(outputs, y[:, 1]), y[:, 0])

    def shown_target(self, target, seq_len):
        # (class, length): the class, marked at the sequence's own last real step
        return np.asarray(target)[:1], [int(target[1]) - 1]

    def metric(self, outputs: Tensor, y: Tensor, split: str = "train") -> float:
        return accuracy(last_real_outputs(outputs, y[:, 1]), y[:, 0])


class BundledDataTask(Task):
    """A task on a bundled data file, read once, on first use.

    A subclass sets ``default_path`` (a file under ``ASSETS_DIR``) and implements
    ``_load``, which reads the file at ``self._path`` and returns the task's data;
    ``_loaded()`` returns that data, reading it on the first call only. Lazy, so that
    importing the registry reads nothing; under a lock, because jobs run in threads and
    several may ask first at once. ``path`` replaces the bundled file (tests pass small
    ones). ``_baselines`` keeps the exact baselines a task computes from its data.
    """

    default_path: Path

    def __init__(self, path: Path | None = None):
        self._path = self.default_path if path is None else path
        self._lock = threading.Lock()
        self._data: Any = None
        self._baselines: dict[Any, float] = {}

    def _loaded(self) -> Any:
        with self._lock:
            if self._data is None:
                self._data = self._load()
            return self._data

    def _load(self) -> Any:
        raise NotImplementedError
