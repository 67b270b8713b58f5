"""Interpretable character units: what a char model's hidden units might be tracking.

Karpathy, Johnson & Fei-Fei (2015) found single LSTM cells that follow quotes,
line length or bracket depth in source code. Here: per-character features of a
Python text, a ranking of hidden units by correlation with them, and the record of
which units track which feature (``UnitTracking``). Numpy only (no plotly, no torch);
the text coloured by one unit's activation is drawn by ``viz.activation_text``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FEATURES = ("inside quotes", "position in line", "indentation", "inside brackets")
_OPEN, _CLOSE = "([{", ")]}"


def text_features(text: str) -> dict[str, np.ndarray]:
    """Per-character features of Python-like source, each an (N,) int array.

    - "inside quotes": 1 for every character of a string literal, its quote
      characters included ('...' or "..." end at the line's end; triple quotes
      span lines); quotes inside comments and escaped quotes do not count.
    - "position in line": column index (a newline gets its line's length).
    - "indentation": leading spaces of the character's line.
    - "inside brackets": nesting depth of ()[]{} outside strings and comments; a
      bracket character counts as inside its own pair.
    """
    n = len(text)
    quotes = np.zeros(n, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    column = np.zeros(n, dtype=np.int64)
    indent = np.zeros(n, dtype=np.int64)

    # Column and indentation are per line; a newline belongs to the line it ends.
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        span = min(end + 1, n) - start  # the line plus its newline, if any
        column[start : start + span] = np.arange(span)
        indent[start : start + span] = len(line) - len(line.lstrip(" "))
        start = end + 1

    # One left-to-right scan: a tokenizer would reject the half-lines a char model
    # sees, so this tolerates anything (unterminated strings, unbalanced brackets).
    delim = None  # the open string's delimiter: ', ", ''' or """
    level = 0
    in_comment = False
    i = 0
    while i < n:
        c = text[i]
        if delim is not None:
            quotes[i] = 1
            depth[i] = level
            if c == "\\" and i + 1 < n:
                # an escaped character (a quote, or a newline continuing the line)
                # never closes the string
                quotes[i + 1] = 1
                depth[i + 1] = level
                i += 2
                continue
            if text.startswith(delim, i):
                quotes[i : i + len(delim)] = 1
                depth[i : i + len(delim)] = level
                i += len(delim)
                delim = None
                continue
            if c == "\n" and len(delim) == 1:
                quotes[i] = 0  # a one-line string ends (unterminated) at the line's end
                delim = None
            i += 1
            continue
        if in_comment:
            in_comment = c != "\n"
            depth[i] = level
            i += 1
            continue
        if c == "#":
            in_comment = True
        elif c in "'\"":
            delim = c * 3 if text.startswith(c * 3, i) else c
            quotes[i : i + len(delim)] = 1
            depth[i : i + len(delim)] = level
            i += len(delim)
            continue
        elif c in _OPEN:
            level += 1
        depth[i] = level
        if c in _CLOSE:
            level = max(level - 1, 0)
        i += 1

    return {
        "inside quotes": quotes,
        "position in line": column,
        "indentation": indent,
        "inside brackets": depth,
    }


def _pearson(hidden: np.ndarray, feature: np.ndarray) -> np.ndarray:
    """Correlation of every column of hidden (T, H) with feature (T,); 0 where constant."""
    h = hidden - hidden.mean(axis=0)
    f = feature - feature.mean()
    denom = np.sqrt((h * h).sum(axis=0) * (f * f).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (h * f[:, None]).sum(axis=0) / denom
    return np.where(denom > 0, corr, 0.0)


def rank_units(
    hidden: np.ndarray, features: dict[str, np.ndarray], top: int | None = None
) -> list[tuple[int, str, float]]:
    """(unit, feature, Pearson r) for every pair, by |r| descending (ties: unit order).

    hidden is (T, H) for one text of T characters; each feature is (T,).
    """
    hidden = np.asarray(hidden, dtype=np.float64)
    if hidden.ndim != 2:
        raise ValueError(f"hidden must be (T, H), got shape {hidden.shape}")
    rows = []
    for name, values in features.items():
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (hidden.shape[0],):
            raise ValueError(
                f"feature {name!r} has shape {values.shape}, expected ({hidden.shape[0]},)"
            )
        corr = _pearson(hidden, values)
        rows.extend((unit, name, float(r)) for unit, r in enumerate(corr))
    rows.sort(key=lambda row: -abs(row[2]))  # stable: equal |r| keep unit order
    return rows if top is None else rows[:top]


def best_per_feature(ranking: list[tuple[int, str, float]]) -> dict[str, tuple[int, float]]:
    """feature -> (unit, r) of its strongest unit, from a ``rank_units`` ranking."""
    best: dict[str, tuple[int, float]] = {}
    for unit, feature, r in ranking:  # by |r| descending: the first of each wins
        best.setdefault(feature, (unit, r))
    return best


@dataclass
class UnitTracking:
    """Which units of a character model follow which feature of held-out text, beside
    the same measure for the untrained network (its initial weights): random smooth
    functions of the input already correlate with slowly varying features, so a unit
    tracks a feature only as far as it beats that."""

    step: int  # the training step of the weights measured
    chars: int  # characters of held-out text the correlations are measured on
    state: str  # which state of the units: "cell state c" (LSTM) or "h"
    ranking: list[tuple[int, str, float]]  # trained: (unit, feature, r), |r| descending
    untrained_best: dict[str, tuple[int, float]]  # feature -> (unit, r), initial weights
    excerpt: str  # the first characters of that text, for display
    excerpt_hidden: np.ndarray  # (len(excerpt), H): the trained units' state on the excerpt

    @property
    def trained_best(self) -> dict[str, tuple[int, float]]:
        return best_per_feature(self.ranking)
