"""Edits of a probe sequence, per task: reading the original into what an editor shows,
and building the edited inputs (T, input_size) from what the visitor typed or chose.

Each editor kind (``editor_kind``) has a pair: a reader (inputs -> the editor's values)
and a builder (the original inputs and the editor's values -> edited inputs), so an
editor left as it was gives back the original inputs exactly. Builders raise
``EditError`` with one sentence for the page. The inputs are laid out as the task's
batches (``rnn_core.tasks``); the Trainer's "probe_inputs" question checks them again.
"""

from __future__ import annotations

import numpy as np

from rnn_core import sentiment
from rnn_core.tasks.base import Task
from rnn_core.tasks.memory import AddingTask, CopyMemoryTask
from rnn_core.tasks.sentiment import SentimentTask

IMAGE_LEVELS = 9  # a drawn pixel is a digit 0 (blank) to 9 (full ink)


class EditError(ValueError):
    """An edit that cannot be read; the message is meant for the page."""


def editor_kind(task: Task) -> str | None:
    """Which editor a task's probe sequence gets (None: no editor for it)."""
    # by family, so a task on a visitor's own data (rnn_core/tasks/uploaded.py) gets its
    # family's editor
    if isinstance(task, AddingTask):
        return "adding"
    if isinstance(task, CopyMemoryTask):
        return "copy"
    if isinstance(task, SentimentTask):
        return "sentence"
    if task.image_shape is not None:
        return "image"
    if task.architecture != "sequence":
        return None  # encoder-decoders: their probes are not of one recurrent stack
    if task.alphabet is not None and task.input_size == len(task.alphabet):
        if all(len(s) == 1 for s in task.alphabet):
            return "symbols"  # the character model, parity: a string of symbols
        return None
    if task.input_size == 1:
        return "values"
    return None


def changed_steps(original: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """The steps (of the shorter of the two) at which the inputs differ."""
    n = min(len(original), len(edited))
    return np.flatnonzero((np.asarray(original[:n]) != np.asarray(edited[:n])).any(axis=1))


# ---------------------------------------------------------------- adding problem
def adding_marks(x: np.ndarray) -> tuple[int, int, float, float]:
    """(first marked step, second marked step, first value, second value)."""
    first, second = np.flatnonzero(np.asarray(x)[:, 1] > 0.5)[:2]
    return int(first), int(second), float(x[first, 0]), float(x[second, 0])


def adding_inputs(
    x: np.ndarray, first: int, second: int, first_value: float, second_value: float
) -> np.ndarray:
    """The original (T, 2) with its markers at steps ``first`` and ``second`` and those
    steps' values set; every other value as it was."""
    x = np.array(x, dtype=np.float32)
    T = len(x)
    if not (0 <= first < T and 0 <= second < T):
        raise EditError(f"A marker must sit at a step from 0 to {T - 1}.")
    if first == second:
        raise EditError("The two markers must sit at different steps.")
    for value in (first_value, second_value):
        if not 0.0 <= value <= 1.0:
            raise EditError("A marked value must lie between 0 and 1.")
    x[:, 1] = 0.0
    x[[first, second], 1] = 1.0
    x[first, 0], x[second, 0] = first_value, second_value
    return x


# ---------------------------------------------------------------- copy memory
def copy_digits(x: np.ndarray, n_digits: int = 10) -> str:
    """The digits to remember, as a string ("3518...")."""
    return "".join(str(int(s)) for s in np.asarray(x)[:n_digits].argmax(axis=1))


def copy_inputs(x: np.ndarray, digits: str, n_digits: int = 10) -> np.ndarray:
    """The original copy-memory inputs with its first ``n_digits`` symbols replaced by
    ``digits`` (each 1 to 8)."""
    digits = digits.strip()
    wrong = sorted({d for d in digits if d not in "12345678"})
    if wrong:
        raise EditError(f"Only the digits 1 to 8 can be remembered, not {' '.join(wrong)}.")
    if len(digits) != n_digits:
        raise EditError(f"Type exactly {n_digits} digits to remember, not {len(digits)}.")
    x = np.array(x, dtype=np.float32)
    x[:n_digits] = 0.0
    x[np.arange(n_digits), [int(d) for d in digits]] = 1.0
    return x


# ---------------------------------------------------------------- symbols (char model, parity)
def symbols_text(x: np.ndarray, alphabet: list[str]) -> str:
    """One-hot rows as the string of their symbols."""
    return "".join(alphabet[i] for i in np.asarray(x).argmax(axis=1))


def symbols_inputs(text: str, alphabet: list[str], max_len: int) -> np.ndarray:
    """A string of the alphabet's symbols as one-hot rows (len(text), len(alphabet))."""
    index = {s: i for i, s in enumerate(alphabet)}
    unknown = sorted(set(text) - index.keys())
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10])
        raise EditError(f"Not in this model's alphabet: {shown}. Use only characters it read.")
    if not 1 <= len(text) <= max_len:
        raise EditError(
            f"Type 1 to {max_len} characters (the run's sequence length), not {len(text)}."
        )
    x = np.zeros((len(text), len(alphabet)), dtype=np.float32)
    x[np.arange(len(text)), [index[c] for c in text]] = 1.0
    return x


# ---------------------------------------------------------------- sentences (sentiment)
def sentence_text(x: np.ndarray, vocabulary: list[str]) -> str:
    """One-hot word rows (zero rows after the end) as the sentence they spell."""
    x = np.asarray(x)
    real = x.any(axis=1)
    return " ".join(vocabulary[i] for i in x[real].argmax(axis=1))


def sentence_inputs(text: str, task) -> tuple[np.ndarray, list[str]]:
    """A typed sentence read as the Sentiment page reads it (``rnn_core.sentiment``),
    padded to the task's length: (inputs (T, V), the words read as unknown)."""
    try:
        reading = sentiment.read_sentence(text, task.word_index())
    except sentiment.SentenceError as err:
        raise EditError(str(err)) from None
    length = task.max_seq_len
    if len(reading.codes) > length:
        raise EditError(
            f"That is {len(reading.codes)} words and marks: the model reads at most {length}."
        )
    codes = sentiment.pad_codes([reading.codes], length)
    return sentiment.one_hot_words(codes, task.input_size)[0], reading.unknown


# ---------------------------------------------------------------- digit images
def image_text(x: np.ndarray, shape: tuple[int, int]) -> str:
    """A digit image as lines of digits 0 (blank) to 9 (full ink), one line a row."""
    levels = np.rint(np.asarray(x, dtype=np.float64).reshape(shape) * IMAGE_LEVELS).astype(int)
    return "\n".join("".join(str(v) for v in row) for row in levels)


def image_inputs(x: np.ndarray, text: str, shape: tuple[int, int]) -> np.ndarray:
    """The inputs of a drawn image: ``text`` as ``image_text`` writes it. Only the pixels
    whose digit differs from the original's are redrawn (at digit / 9); the others keep
    the original's exact values, so one changed pixel changes one step."""
    x = np.asarray(x, dtype=np.float32)
    height, width = shape
    rows = [line.strip() for line in text.strip().splitlines()]
    if len(rows) != height or any(len(r) != width for r in rows):
        raise EditError(f"Draw {height} lines of {width} digits each (0 blank to 9 full ink).")
    wrong = sorted({c for r in rows for c in r if c not in "0123456789"})
    if wrong:
        raise EditError(f"Use the digits 0 (blank) to 9 (full ink) only, not {' '.join(wrong)}.")
    levels = np.array([[int(c) for c in r] for r in rows]).ravel()
    was = np.rint(x.astype(np.float64).ravel() * IMAGE_LEVELS).astype(int)
    image = np.where(levels == was, x.ravel(), levels / IMAGE_LEVELS).astype(np.float32)
    return image.reshape(x.shape)


def toggle_pixel(text: str, row: int, col: int) -> str:
    """The drawing ``text`` (``image_text``'s lines) with one pixel toggled: ink (5 and
    up) becomes blank, anything lighter full ink. A drawing that is not a grid of digits
    comes back as it was (the page already says what is wrong with it)."""
    rows = text.strip().splitlines()
    if not (0 <= row < len(rows) and 0 <= col < len(rows[row])) or not rows[row][col].isdigit():
        return text
    flipped = "0" if int(rows[row][col]) >= 5 else str(IMAGE_LEVELS)
    rows[row] = rows[row][:col] + flipped + rows[row][col + 1 :]
    return "\n".join(rows)


# ---------------------------------------------------------------- values (one channel)
MAX_VALUE = 1e3  # a typed value's bound: the series are normalised to a few units


def values_text(x: np.ndarray) -> str:
    return ", ".join(f"{v:.4g}" for v in np.asarray(x)[:, 0])


def values_inputs(x: np.ndarray, text: str, max_len: int) -> np.ndarray:
    """One value a step, separated by commas. A value typed as ``values_text`` wrote the
    original's at that step keeps the original's exact value (the text rounds it)."""
    x = np.asarray(x, dtype=np.float32)
    parts = [p.strip() for p in text.replace("\n", ",").split(",") if p.strip()]
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise EditError("Type numbers separated by commas.") from None
    if not 1 <= len(values) <= max_len:
        raise EditError(
            f"Type 1 to {max_len} values (the run's sequence length), not {len(values)}."
        )
    if not np.isfinite(values).all() or (np.abs(values) > MAX_VALUE).any():
        raise EditError(f"Each value must be a number between {-MAX_VALUE:g} and {MAX_VALUE:g}.")
    edited = values.astype(np.float32)[:, None]
    shown = values_text(x).split(", ")
    for t, part in enumerate(parts[: len(x)]):
        if part == shown[t]:
            edited[t] = x[t]
    return edited


# ---------------------------------------------------------------- what the model says
def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def prediction_text(task: Task, inputs: np.ndarray, outputs: np.ndarray) -> str:
    """One line saying what the model outputs on one sequence, (T, I) inputs and (T, O)
    outputs, beside what the task's rule asks for where it is known."""
    kind = editor_kind(task)
    if kind == "adding":
        first, second, a, b = adding_marks(inputs)
        return f"predicts {outputs[-1, 0]:.3f}; the marked values add up to {a + b:.3f}"
    if kind == "copy":
        recalled = "".join(str(int(s)) for s in outputs[-10:].argmax(axis=1))
        return f"recalls {recalled}; the digits to remember are {copy_digits(inputs)}"
    if kind == "sentence":
        length = max(1, int(np.asarray(inputs).any(axis=1).sum()))
        p = float(sentiment.running_positive(outputs, length)[-1])
        return f"says {'positive' if p > 0.5 else 'negative'} (P(positive) = {p:.2f})"
    if kind == "image":
        p = _softmax(outputs[-1])
        return f"reads the digit as a {int(p.argmax())} (probability {p.max():.2f})"
    if kind == "symbols":
        guesses = outputs.argmax(axis=1)
        if task.name == "parity":
            right = (np.asarray(inputs).argmax(axis=1).cumsum() % 2 == guesses).mean()
            said = "".join(task.alphabet[g] for g in guesses[-40:])
            return f"outputs the parities …{said}, {right:.0%} of them right"
        read = np.asarray(inputs).argmax(axis=1)
        right = (guesses[:-1] == read[1:]).mean() if len(read) > 1 else float("nan")
        return (
            f"predicts {task.alphabet[guesses[-1]]!r} after the last character, and "
            f"{right:.0%} of its next-character guesses within the text are right"
        )
    return f"its output at the last step is {np.array2string(outputs[-1], precision=3)}"
