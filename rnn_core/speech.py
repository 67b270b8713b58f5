"""Reading a speaker classifier as the frames of an utterance arrive.

The model's output after each frame (``Trainer.outputs`` on the padded test split) is a
guess at the speaker from the frames so far: a causal model's output at frame t depends
on frames 0..t only, so the rows before an utterance's end are what the model would say
had the utterance stopped there. Everything here takes those outputs as arrays:

- ``running_probabilities``: the speaker probabilities after each real frame.
- ``sure_from``: the first frame from which the guess is right and stays right.
- ``HeldOut`` (``read_held_out``): the split's last-frame predictions, accuracy, confusion
  matrix, accuracy when every utterance is cut after k frames, and each one's sure frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities along the last axis, float64 (shifted by the max: no overflow)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def running_probabilities(outputs: np.ndarray, length: int) -> np.ndarray:
    """(length, C): the class probabilities after each of an utterance's real frames,
    from the model's outputs for it, (T, C) logits with T >= length (padded or not)."""
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or not 1 <= length <= outputs.shape[0]:
        raise ValueError(f"outputs must be (T, C) with T >= length >= 1, got {outputs.shape}")
    return softmax(outputs[:length])


def sure_from(probabilities: np.ndarray, label: int) -> int | None:
    """The first frame (0-based) from which the most probable class is ``label`` at every
    frame to the end; None when the last frame's guess is wrong. ``probabilities`` (T, C)."""
    right = np.asarray(probabilities).argmax(axis=-1) == label  # (T,)
    if not right[-1]:
        return None
    wrong = np.flatnonzero(~right)
    return 0 if wrong.size == 0 else int(wrong[-1]) + 1


def random_utterance(seed: int, count: int) -> int:
    """The utterance a seed picks among ``count`` (the same one for the same seed)."""
    return int(np.random.default_rng(seed).integers(count))


@dataclass(frozen=True)
class HeldOut:
    """How a model reads a whole split, from its outputs on it."""

    predicted: np.ndarray  # (N,) int64: the class at each utterance's last frame
    accuracy: float  # of ``predicted``
    confusion: np.ndarray  # (C, C) int64: row = true class, column = predicted
    accuracy_by_frames: np.ndarray  # (T,): accuracy when cut after k = 1..T frames
    sure_from: np.ndarray  # (N,) int64: ``sure_from`` per utterance, -1 where None


def read_held_out(outputs: np.ndarray, labels: np.ndarray, lengths: np.ndarray) -> HeldOut:
    """``outputs`` (N, T, C) logits of a padded split, ``labels`` (N,) and ``lengths``
    (N,) of its utterances. An utterance cut after k frames is guessed from its output at
    frame min(k, length) - 1: one shorter than k is heard whole."""
    outputs = np.asarray(outputs)
    labels = np.asarray(labels, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    n, T, C = outputs.shape
    if labels.shape != (n,) or lengths.shape != (n,) or lengths.min() < 1 or lengths.max() > T:
        raise ValueError("labels and lengths must be (N,), with lengths from 1 to T")
    guesses = outputs.argmax(axis=-1)  # (N, T): the guess after each frame
    rows = np.arange(n)
    predicted = guesses[rows, lengths - 1]
    confusion = np.zeros((C, C), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    cut = np.minimum(np.arange(1, T + 1)[None, :], lengths[:, None]) - 1  # (N, T)
    by_frames = (guesses[rows[:, None], cut] == labels[:, None]).mean(axis=0)
    probabilities = softmax(outputs)
    sure = np.array(
        [
            -1 if (k := sure_from(probabilities[i, : lengths[i]], labels[i])) is None else k
            for i in range(n)
        ],
        dtype=np.int64,
    )
    return HeldOut(
        predicted=predicted,
        accuracy=float((predicted == labels).mean()),
        confusion=confusion,
        accuracy_by_frames=by_frames,
        sure_from=sure,
    )


def parse_whole_number(text: str, low: int, high: int, what: str) -> tuple[int | None, str]:
    """(value, "") for a whole number from ``low`` to ``high`` typed in a box, else
    (None, a sentence saying what is wrong, naming ``what``). Never echoes the input."""
    text = str(text).strip()
    if not text:
        return None, f"Type {what}, a whole number from {low} to {high}."
    if len(text) > 12 or not re.fullmatch(r"[+-]?[0-9]+", text):
        return None, f"{what.capitalize()} must be a whole number from {low} to {high}."
    value = int(text)
    if not low <= value <= high:
        return None, f"{what.capitalize()} must be from {low} to {high}; {value} is not."
    return value, ""
