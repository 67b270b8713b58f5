"""What the Sentiment page computes, on arrays: reading a typed sentence into word
indices, the model's running prediction after each word, and a bag-of-words baseline.

The bag-of-words model is a logistic regression on word counts, fitted by Newton's
method on the task's own training split, so it sees exactly what the recurrent net
trains on, minus the order of the words. Deterministic: no random draw anywhere.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rnn_core.tasks.review_grammar import UNKNOWN

MAX_CHARS = 300  # a typed sentence; the training sentences have at most 16 words
MAX_TYPED_WORDS = 40
# Words, with an apostrophe inside ("isn't"), or any single other visible character
# (punctuation, an emoji): each is one token, so nothing typed is silently dropped.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|\S", re.UNICODE)
# "n't" is read as "not" (the grammar's negation): "wasn't" -> "was not".
_CONTRACTED = {"can't": "can", "won't": "will", "shan't": "shall"}


class SentenceError(ValueError):
    """A typed sentence that cannot be read; the message is meant for the page."""


@dataclass(frozen=True)
class Reading:
    """A typed sentence as the model reads it: its tokens, each one's word index (the
    unknown-word symbol for a word outside the vocabulary) and the unknown tokens."""

    words: list[str]
    codes: np.ndarray  # (T,) int64 word indices
    unknown: list[str]  # the tokens read as the unknown word, in order, without repeats


def tokenize(text: str) -> list[str]:
    """Lowercase tokens of ``text``: words and single punctuation marks (or other
    symbols), with "n't" split off as "not". SentenceError for an empty or too long text."""
    if not isinstance(text, str):
        raise SentenceError("There is nothing to read: type a sentence.")
    if len(text) > MAX_CHARS:
        raise SentenceError(
            f"That is {len(text):,} characters: type at most {MAX_CHARS} (the training "
            f"sentences have at most 16 words)."
        )
    tokens = tokenize_loosely(text)
    if not tokens:
        raise SentenceError("There is no word to read: type a sentence.")
    if len(tokens) > MAX_TYPED_WORDS:
        raise SentenceError(
            f"That is {len(tokens)} words and marks: type at most {MAX_TYPED_WORDS} (the "
            f"training sentences have at most 16)."
        )
    return tokens


def tokenize_loosely(text: str) -> list[str]:
    """``tokenize``'s tokens with no limit (an uploaded sentence: rnn_core.uploads)."""
    tokens = []
    for token in _TOKEN.findall(text.lower()):
        if token.endswith("n't") and len(token) > 3:
            tokens += [_CONTRACTED.get(token, token[:-3]), "not"]
        else:
            tokens.append(token)
    return tokens


def read_sentence(text: str, index: dict[str, int]) -> Reading:
    """``text`` tokenised and looked up in ``index`` (word -> one-hot position, with the
    unknown-word symbol)."""
    words = tokenize(text)
    unknown_index = index[UNKNOWN]
    codes = np.array([index.get(w, unknown_index) for w in words], dtype=np.int64)
    unknown = list(dict.fromkeys(w for w in words if w not in index))
    return Reading(words, codes, unknown)


def pad_codes(sequences: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Variable-length word-index arrays as one (N, length) int64 array, -1 after each
    one's end (``length``: the longest, when not given)."""
    length = max(len(s) for s in sequences) if length is None else length
    codes = np.full((len(sequences), length), -1, dtype=np.int64)
    for row, seq in zip(codes, sequences, strict=True):
        row[: len(seq)] = seq
    return codes


def one_hot_words(codes: np.ndarray, n_words: int) -> np.ndarray:
    """(N, T) word indices, -1 after the end -> (N, T, n_words) float32 one-hot, zero
    vectors after the end: a batch laid out as the task's (for ``job.ask("outputs")``)."""
    codes = np.asarray(codes, dtype=np.int64)
    x = np.zeros((*codes.shape, n_words), dtype=np.float32)
    rows, steps = np.nonzero(codes >= 0)
    x[rows, steps, codes[rows, steps]] = 1.0
    return x


def positive_probability(outputs: np.ndarray) -> np.ndarray:
    """P(positive) from two-class logits (..., 2): the softmax of class 1."""
    logits = np.asarray(outputs, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(logits[..., 0] - logits[..., 1]))


def running_positive(outputs: np.ndarray, length: int) -> np.ndarray:
    """(length,) P(positive) after each word of one sentence, from the model's outputs
    on it, (T, 2) with T >= length (the steps after its end are padding)."""
    return positive_probability(np.asarray(outputs)[:length])


def last_positive(outputs: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N,) P(positive) at each sentence's last word, from outputs (N, T, 2)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return positive_probability(np.asarray(outputs)[np.arange(len(lengths)), lengths - 1])


def word_counts(codes: np.ndarray, n_words: int) -> np.ndarray:
    """(N, n_words) float64: how often each word occurs in each sentence (-1: none)."""
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.zeros((codes.shape[0], n_words))
    rows, steps = np.nonzero(codes >= 0)
    np.add.at(counts, (rows, codes[rows, steps]), 1.0)
    return counts


@dataclass(frozen=True)
class BagOfWords:
    """Logistic regression on word counts: P(positive) = sigmoid(counts @ weights + bias)."""

    weights: np.ndarray  # (n_words,) float64
    bias: float

    def positive(self, codes: np.ndarray) -> np.ndarray:
        """(N,) P(positive) of sentences given as (N, T) word indices, -1 after the end."""
        counts = word_counts(codes, len(self.weights))
        return 1.0 / (1.0 + np.exp(-(counts @ self.weights + self.bias)))

    def running(self, codes: np.ndarray) -> np.ndarray:
        """(T,) P(positive) of each prefix of one sentence's word indices (T,): the
        bag-of-words verdict after each word, beside the recurrent net's."""
        codes = np.asarray(codes, dtype=np.int64)
        scores = np.cumsum(self.weights[codes]) + self.bias
        return 1.0 / (1.0 + np.exp(-scores))


def fit_bag_of_words(
    codes: np.ndarray, labels: np.ndarray, n_words: int, l2: float = 1e-3, iterations: int = 30
) -> BagOfWords:
    """The logistic regression on word counts that minimises the mean cross-entropy
    plus ``l2``/2 times the squared weights (not the bias), by Newton's method: the
    problem is convex and small (one weight per word), so this is its exact optimum to
    machine precision, the same every time."""
    counts = word_counts(codes, n_words)
    features = np.hstack([counts, np.ones((len(counts), 1))])  # (N, V + 1): bias last
    y = np.asarray(labels, dtype=np.float64)
    penalty = np.full(n_words + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(n_words + 1)
    n = len(y)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(features @ theta)))
        gradient = features.T @ (p - y) / n + penalty * theta
        hessian = (features.T * (p * (1 - p))) @ features / n + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return BagOfWords(theta[:-1].copy(), float(theta[-1]))


# By task object, weakly: a visitor's uploaded task (rnn_core.tasks.uploaded) is dropped
# with its session, and a new one must never find an old one's model under a reused id.
_FITTED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_FIT_LOCK = threading.Lock()


def bag_of_words_for(task) -> BagOfWords:
    """The bag-of-words model of the sentiment task's training split, fitted once per
    task object (pages of every session share it)."""
    with _FIT_LOCK:
        if task not in _FITTED:
            codes, labels = task.split_words("train")
            _FITTED[task] = fit_bag_of_words(codes, labels, task.input_size)
        return _FITTED[task]


def accuracy(positive: np.ndarray, labels: np.ndarray) -> float:
    """The share of verdicts (P(positive) above one half) that match the labels."""
    return float(((np.asarray(positive) > 0.5) == (np.asarray(labels) == 1)).mean())


def verdict(p: float, expected: int) -> str:
    """ "positive" or "negative" with P(positive), marked right or wrong against the
    expected label: "negative ✓ (0.04)"."""
    said = int(p > 0.5)
    return f"{'positive' if said else 'negative'} {'✓' if said == expected else '✗'} ({p:.2f})"


def verdict_table(
    sentences: list[str], expected: np.ndarray, rnn_positive: np.ndarray, bow_positive
) -> pd.DataFrame:
    """One row per sentence: what it should be, and each model's verdict with its
    P(positive). ``rnn_positive`` may be None (the run did not answer): its column is
    then left out."""
    rows = []
    for i, sentence in enumerate(sentences):
        row = {"sentence": sentence, "should be": "positive" if expected[i] else "negative"}
        if rnn_positive is not None:
            row["recurrent net"] = verdict(float(rnn_positive[i]), int(expected[i]))
        row["bag of words"] = verdict(float(bow_positive[i]), int(expected[i]))
        rows.append(row)
    return pd.DataFrame(rows)


def shorten(word: str, at_most: int = 24) -> str:
    """A word short enough to quote on a page (an ellipsis for the rest)."""
    return word if len(word) <= at_most else word[: at_most - 1] + "…"
