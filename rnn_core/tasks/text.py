"""Text: a character-level language model on bundled Python source (``char_lm``).

The corpus is read once, on first use; its alphabet is the characters it contains. The
last 10% of the text is the held-out split, and the baseline is the exact entropy of
the next character at each position over every window of a split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnn_core.tasks.base import (
    ASSETS_DIR,
    BundledDataTask,
    SymbolTask,
    entropy,
    one_hot,
    random_windows,
    sequence_cross_entropy,
)

CORPUS_PATH = ASSETS_DIR / "corpus" / "python_stdlib.txt"
NO_TARGET = -100  # torch.nn.functional.cross_entropy's default ignore_index


class _Corpus(NamedTuple):
    alphabet: list[str]
    index: dict[str, int]
    splits: dict[str, Tensor]  # split -> (N,) long symbol indices


class CharLMTask(SymbolTask, BundledDataTask):
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

    default_path = CORPUS_PATH

    def _corpus(self) -> _Corpus:
        return self._loaded()

    def _load(self) -> _Corpus:
        return self._corpus_of(self._path.read_bytes().decode("ascii"))

    def _corpus_of(self, text: str) -> _Corpus:
        """A text's corpus: its alphabet (the characters it holds, in code point order)
        and its splits (the last ``1 - train_fraction`` held out)."""
        alphabet = sorted(set(text))
        index = {c: i for i, c in enumerate(alphabet)}
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ordered = np.array([ord(c) for c in alphabet], dtype=np.uint32)
        symbols = torch.from_numpy(np.searchsorted(ordered, points).astype(np.int64))
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
        window = random_windows(self._corpus().splits[split], batch_size, seq_len + 1, generator)
        return one_hot(window[:, :-1], self.input_size), window[:, 1:]

    def metric(self, outputs, y, split="train"):
        with torch.no_grad():
            return sequence_cross_entropy(outputs, y).item() / math.log(2)

    def targets_for(self, x):
        # Each step's target is the next character read; the last step's is not in x:
        # -100, the index cross_entropy ignores, so loss and metric cover the rest.
        y = torch.full(x.shape[:2], NO_TARGET, dtype=torch.long)
        y[:, :-1] = x[:, 1:].argmax(dim=-1)
        return y

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
        return float(entropy(counts).mean())
