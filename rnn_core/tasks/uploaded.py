"""Tasks over a visitor's uploaded data: the registered tasks' classes on other arrays.

An upload replaces the data of a registered task of the same kind, so a run keeps that
task's name in its RunConfig (with ``data="private"``) and every page that knows the
task knows these: ``UploadedSeriesTask`` is a forecasting ``SeriesTask`` (registered as
``co2``), ``UploadedRecordTask`` an anomaly-detection record like ``ECGTask`` (``ecg``),
``UploadedTextTask`` a ``CharLMTask`` (``char_lm``) and ``UploadedLabelledTask`` a
``SentimentTask`` (``sentiment``). Each holds its arrays in memory (never a path: it
reads no file) and computes its baselines exactly as its parent does, from its own
splits: the last part of a series, the last 10% of a text, a seeded random fraction of
labelled rows. Built eagerly, so a problem with the data is an ``UploadError`` at once,
not a failure inside a training job.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from rnn_core.skill import skill
from rnn_core.tasks.forecast import ECGTask, LabelledRecord, SeriesTask
from rnn_core.tasks.review_grammar import MAX_WORDS, UNKNOWN
from rnn_core.tasks.sentiment import SentimentTask
from rnn_core.tasks.text import CharLMTask
from rnn_core.uploads import (
    MAX_HORIZON,
    MAX_VOCABULARY,
    Labelled,
    Series,
    UploadError,
    shown_name,
)

# What each kind of upload replaces: the registered task whose pages it runs on.
KIND_TASKS = {"forecast": "co2", "anomaly": "ecg", "text": "char_lm", "labelled": "sentiment"}


class _Uploaded:
    """An in-memory task: no file, built (and checked) at once."""

    private = True
    default_path = None

    def _build(self) -> None:
        self._path = None  # BundledDataTask's reader never runs: _load uses the arrays
        self._loaded()


def _spread(values: np.ndarray, name: str) -> float:
    spread = float(values.std())
    if not spread > 0:
        raise UploadError(f"Column {name!r} is constant in the training part: nothing to learn.")
    return spread


class UploadedSeriesTask(_Uploaded, SeriesTask):
    """Forecasting ``horizon`` steps ahead on the uploaded columns, each its own series:
    the first ``train_fraction`` trains, the rest is held out. With ``normalise`` each
    column is a z-score of its training part (its mean 0, its standard deviation 1)."""

    name = "co2"
    train_fraction = 0.8

    def __init__(self, series: Series, horizon: int = 1, normalise: bool = True):
        super().__init__()
        if not 1 <= horizon <= MAX_HORIZON:
            raise UploadError(f"The horizon must be 1 to {MAX_HORIZON} steps.")
        self.upload, self.horizon, self.normalise = series, int(horizon), normalise
        names = ", ".join(shown_name(n) for n in series.names)
        self.title = f"Your series ({names})"
        self.step_name, self.time_name = series.step_name, series.time_name
        self.unit = "z-score" if normalise else "your units"
        ahead = "the next value" if horizon == 1 else f"the value {horizon} steps ahead"
        self.description = (
            f"Your uploaded series ({names}, {len(series.values):,} values each). At every "
            f"step the network sees the current value and predicts {ahead}. It trains on "
            f"the first {self.train_fraction:.0%} and is scored on the rest, by its skill "
            f"against persistence (repeating the current value): 0 means no better."
            + (" Each column is a z-score of its training part." if normalise else "")
            + " This data lives only in your browser session: it is never stored or shared."
        )
        self._build()

    def _load(self):
        values, cut = self.upload.values, int(self.train_fraction * len(self.upload.values))
        if len(values) - cut < self.horizon + 2:
            raise UploadError("The held-out part is too short for this horizon.")
        columns = []
        for k, name in enumerate(self.upload.names):
            column = values[:, k]
            if self.normalise:
                column = (column - column[:cut].mean()) / _spread(column[:cut], name)
            columns.append(column)
        times = self.upload.times
        self._times = {"train": [times[:cut]] * len(columns), "test": [times[cut:]] * len(columns)}
        return {"train": [c[:cut] for c in columns], "test": [c[cut:] for c in columns]}

    def labels(self):
        # shown in charts' legends, where plotly reads some HTML (<a href>): cleaned
        return [shown_name(n) for n in self.upload.names]

    def series(self, split: str = "train") -> np.ndarray:
        return self._splits()[split][0].copy()

    @property
    def max_seq_len(self) -> int:
        return min(len(s) for s in self._splits()["test"]) - self.horizon

    def encode(self, windows):
        return windows  # kept in model units already (see _load)

    def decode(self, values, windows):
        return values

    def _all_windows(self, split, seq_len):
        # windows of seq_len + horizon: inputs are the first seq_len, targets the last
        key = ("windows", seq_len, split)
        if key not in self._baselines:
            views = [
                np.lib.stride_tricks.sliding_window_view(s, seq_len + self.horizon)
                for s in self._splits()[split]
            ]
            self._baselines[key] = np.concatenate(views)
        return self._baselines[key]

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        windows = self._all_windows(split, seq_len)
        rows = torch.randint(0, windows.shape[0], (batch_size,), generator=generator)
        chosen = torch.from_numpy(windows[rows.numpy()]).to(torch.float32)
        return chosen[:, :seq_len, None], chosen[:, self.horizon :, None]

    def metric(self, outputs, y, split="train"):
        # persistence forecasts the value ``horizon`` ahead by the current one, which is
        # the target ``horizon`` steps earlier: y[:, t - h] = x[:, t]
        h = self.horizon
        if y.shape[1] <= h:
            return math.nan
        actual = y[:, h:].detach().double().numpy()
        predicted = outputs[:, h:].detach().double().numpy()
        return skill(predicted, actual, y[:, :-h].detach().double().numpy())

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if (seq_len, split) not in self._baselines:
            # as SeriesTask: the best constant at each position is the mean target there
            targets = self._all_windows(split, seq_len)[:, self.horizon :]
            self._baselines[seq_len, split] = float(targets.var(axis=0).mean())
        return self._baselines[seq_len, split]


class UploadedRecordTask(_Uploaded, ECGTask):
    """Anomaly detection on one uploaded column, as on the ECG: the first 60% trains,
    the next 20% is held out (normal, it sets the thresholds), the last 20% is watched.
    An optional label column marks the anomalies; they must lie in the watched part."""

    name = "ecg"

    def __init__(self, series: Series):
        super().__init__()
        if series.values.shape[1] != 1:
            raise UploadError("Anomaly detection reads one column: choose only one.")
        self.upload = series
        name = shown_name(series.names[0])
        self.title = f"Your series ({name}): anomaly detection"
        self.step_name, self.time_name = series.step_name, series.time_name
        self.unit = "your units"
        self.description = (
            f"Your uploaded series ({name}, {len(series.values):,} values). The "
            f"network forecasts the next value; it trains on the first 60%, the next 20% "
            f"is held out (its errors set the thresholds), and the last 20% is watched: a "
            f"forecast that goes badly wrong there is flagged. This data lives only in your "
            f"browser session: it is never stored or shared."
        )
        self._build()

    def _load(self):
        values = self.upload.values[:, 0]
        abnormal = (
            np.zeros(len(values), dtype=bool) if self.upload.labels is None else self.upload.labels
        )
        train_end = int(self.train_fraction * len(values))
        normal_end = int(self.normal_fraction * len(values))
        if abnormal[:normal_end].any():
            raise UploadError(
                "Labelled anomalies must all lie in the last 20% of the series (the net "
                "trains and sets its thresholds on normal data before it)."
            )
        times = self.upload.times
        self._record = LabelledRecord(times, values, abnormal, train_end, normal_end)
        self.centre = float(np.median(values[:train_end]))
        self.scale = _spread(values[:train_end], self.upload.names[0])
        self._times = {"train": [times[:train_end]], "test": [times[train_end:normal_end]]}
        return {"train": [values[:train_end]], "test": [values[train_end:normal_end]]}


class UploadedTextTask(_Uploaded, CharLMTask):
    """The character model on an uploaded text: its own alphabet, the last 10% held out."""

    name = "char_lm"

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self.title = "Character-level language model (your text)"
        self.description = (
            f"Your uploaded text, {len(text):,} characters, one character at a time: at each "
            f"step the network sees a character and predicts the next. It trains on the "
            f"first 90% and is scored in bits per character on the last 10%; predicting "
            f"only how common each character is gives the baseline. This text lives only "
            f"in your browser session: it is never stored or shared."
        )
        self._build()

    def _load(self):
        return self._corpus_of(self.text)

    def held_out_text(self, length):
        if "\n" in self._corpus().index:
            return super().held_out_text(length)
        return self._corpus().splits["test"][: max(0, int(length))].clone()


class UploadedLabelledTask(_Uploaded, SentimentTask):
    """Sentence classification of uploaded ``text,label`` rows: a seeded random
    ``test_fraction`` (at most ``max_test`` rows) is held out; the vocabulary is the
    ``MAX_VOCABULARY`` most frequent words of the training rows (the rest unknown)."""

    name = "sentiment"
    test_fraction = 0.2
    max_test = 1000  # the whole test split is scored every few steps: keep it quick

    def __init__(self, labelled: Labelled, seed: int = 0):
        super().__init__()
        self.upload, self.split_seed = labelled, seed
        self.class_names = list(labelled.class_names)
        self.title = "Sentence classification (your labelled text)"
        a, b = (shown_name(c) for c in labelled.class_names)
        self.description = (
            f"Your {len(labelled.labels):,} uploaded sentences, labelled {a!r} or {b!r}, "
            f"read one word a step (the first {MAX_WORDS} words) and classified after the "
            f"last. A seeded random {self.test_fraction:.0%} of the rows is held out. "
            f"Guessing from the label frequencies gives the baseline. This data lives only "
            f"in your browser session: it is never stored or shared."
        )
        self._build()

    def _load(self):
        n = len(self.upload.labels)
        order = np.random.default_rng(self.split_seed).permutation(n)
        n_test = min(self.max_test, max(1, int(round(self.test_fraction * n))))
        chosen = {"test": order[:n_test], "train": order[n_test:]}
        counts = Counter(w for i in chosen["train"] for w in self.upload.words[i])
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_VOCABULARY]
        vocabulary = [UNKNOWN] + sorted(w for w, _ in common if w != UNKNOWN)
        labels = {split: self.upload.labels[rows] for split, rows in chosen.items()}
        for split, split_labels in labels.items():
            if len(np.unique(split_labels)) < 2:
                raise UploadError(
                    f"The {'held-out' if split == 'test' else 'training'} rows have only "
                    f"one label: upload more rows of the rarer label."
                )
        tokens = {s: [self.upload.words[i] for i in rows] for s, rows in chosen.items()}
        return self._reviews_of(vocabulary, tokens, labels)
