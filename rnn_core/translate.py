"""Reading a typed English number, decoding it greedily, scoring by source length.

Arrays in and out: ``greedy_decode`` takes ``forward``, any function from inputs
(B, T, I) to outputs (B, T, O) as numpy arrays (a page passes the job's "outputs"
answer), so the model is only ever asked, never touched.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rnn_core.number_words import ENGLISH_WORDS, MAX_NUMBER, english
from rnn_core.tasks.translation import (
    ALPHABET,
    DECODER_LEN,
    END,
    SOURCE_LEN,
    START,
    TARGET_SYMBOLS,
    exact_matches,
    layout,
    source_lengths,
)

MAX_TYPED = 200  # characters: four number words need about 30
_NUMBERS = {tuple(english(n)): n for n in range(1, MAX_NUMBER + 1)}
EXAMPLE = "three hundred seventy four"


class TypedInputError(ValueError):
    """A typed source the model cannot read, with a message for the visitor."""


def _shown(word: str) -> str:
    return repr(word if len(word) <= 20 else word[:17] + "...")


def parse_english(text: str) -> list[str]:
    """The words of a typed English number ("Seventy-four" -> ["seventy", "four"]).

    Case is ignored, hyphens separate words, and a British "and" ("one hundred and
    five") is dropped. TypedInputError, with a message saying what to type, for an empty
    text, a text over MAX_TYPED characters, a word outside the model's 28, or more than
    SOURCE_LEN words."""
    text = "" if text is None else str(text)
    if not text.strip():
        raise TypedInputError(f"Type a number in English words, for example '{EXAMPLE}'.")
    if len(text) > MAX_TYPED:
        raise TypedInputError(
            f"That is {len(text):,} characters; a number up to {MAX_NUMBER} needs at most "
            f"{SOURCE_LEN} words (about 30 characters). Type one number, for example "
            f"'{EXAMPLE}'."
        )
    words = [w for w in text.lower().replace("-", " ").split() if w != "and"]
    unknown = [w for w in dict.fromkeys(words) if w not in ENGLISH_WORDS]
    if unknown:
        shown = ", ".join(_shown(w) for w in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise TypedInputError(
            f"The model reads only the {len(ENGLISH_WORDS)} English number words from "
            f"'one' to 'nineteen', the tens from 'twenty' to 'ninety', and 'hundred' "
            f"(digits, other words, symbols and emoji are not among them). Not known: "
            f"{shown}."
        )
    if not words:  # only "and"s
        raise TypedInputError(f"Type a number in English words, for example '{EXAMPLE}'.")
    if len(words) > SOURCE_LEN:
        raise TypedInputError(
            f"{len(words)} words: the encoder reads at most {SOURCE_LEN} (every number up "
            f"to {MAX_NUMBER} has at most {SOURCE_LEN}, as in '{EXAMPLE}')."
        )
    return words


def number_of(words: list[str]) -> int | None:
    """The number ``words`` write by the task's rules, or None when they write none
    ("twenty twenty")."""
    return _NUMBERS.get(tuple(words))


def greedy_decode(
    forward: Callable[[np.ndarray], np.ndarray], words: list[str]
) -> tuple[list[str], np.ndarray]:
    """(pieces, probabilities (steps, O)): the decoder's most likely piece at each step,
    fed back as its next input, until it says <end> or has taken DECODER_LEN steps.
    Each step is one full forward of the source and the decoder's inputs so far (the
    decoder is causal, so its earlier outputs do not change)."""
    written: list[str] = []
    probabilities = []
    for _ in range(DECODER_LEN):
        x = layout(words, [START, *written])[None]  # (1, S + steps, I)
        logits = np.asarray(forward(x), dtype=np.float64)[0, -1]  # (O,)
        p = np.exp(logits - logits.max())
        probabilities.append(p / p.sum())
        symbol = TARGET_SYMBOLS[int(np.argmax(logits))]
        if symbol == END:
            break
        written.append(symbol)
    return written, np.array(probabilities, dtype=np.float32)


def accuracy_by_length(
    matches: np.ndarray, lengths: np.ndarray, max_length: int = SOURCE_LEN
) -> tuple[np.ndarray, np.ndarray]:
    """(accuracy, count) per source length 1..max_length, from each example's exact match
    (B,) bool and its source's length (B,) int. Accuracy is NaN where there is none."""
    matches, lengths = np.asarray(matches, dtype=bool), np.asarray(lengths)
    counts = np.array([(lengths == n).sum() for n in range(1, max_length + 1)])
    right = np.array([matches[lengths == n].sum() for n in range(1, max_length + 1)])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, right / np.maximum(counts, 1), np.nan), counts


def scores_by_length(task, outputs: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(exact match, accuracy per source length, held-out count per length) of a model's
    ``outputs`` (N, T, O) on ``task``'s whole held-out split (``held_out`` order)."""
    x, y = task.held_out(0, task.min_seq_len, None)
    outputs = torch.from_numpy(np.asarray(outputs, dtype=np.float32))
    if outputs.shape[:2] != x.shape[:2]:
        raise ValueError(f"outputs of shape {tuple(outputs.shape)} are not of the held-out split")
    matches = exact_matches(outputs, y).numpy()
    accuracy, counts = accuracy_by_length(matches, source_lengths(x).numpy())
    return float(matches.mean()), accuracy, counts


def probe_example(inputs: np.ndarray, targets: np.ndarray) -> tuple[list[str], list[str]]:
    """(source steps' words, <pad> included; the target's pieces and <end>) of one probe
    sequence: inputs (T, I) one-hot, targets (DECODER_LEN + 1,) as the task's y."""
    source = [ALPHABET[i] for i in np.asarray(inputs)[:SOURCE_LEN].argmax(axis=1)]
    targets = np.asarray(targets).astype(np.int64)
    length = int(targets[DECODER_LEN])
    return source, [TARGET_SYMBOLS[i] for i in targets[:length]]
