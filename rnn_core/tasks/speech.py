"""Speech: who is speaking, from the frames of one utterance (the Japanese Vowels set).

Nine male speakers each say the Japanese vowels /ae/; every utterance is 7 to 29 frames
of 12 LPC cepstral coefficients (Kudo, Toyama & Shimbo 1999; assets/PROVENANCE.md). The
task classifies the speaker from the whole utterance, on the set's own split: 270
training utterances (30 a speaker) and 370 test utterances recorded on other occasions.

Utterances have different lengths, so a batch is padded with zeros after each one's end
to the set's longest (29 frames) and scored at each utterance's last real frame only
(``LastStepClassification``): every model here is causal, so its output at that frame
depends on no padding; tests/test_speech.py changes the padding and checks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from rnn_core.tasks.base import (
    ASSETS_DIR,
    SPLITS,
    BundledDataTask,
    LastStepClassification,
    entropy,
    pad_sequences,
)

VOWELS_PATH = ASSETS_DIR / "data" / "japanese_vowels.csv.gz"

N_COEFFICIENTS = 12
N_SPEAKERS = 9
MIN_FRAMES, MAX_FRAMES = 7, 29  # the set's shortest and longest utterances


class _Split(NamedTuple):
    x: Tensor  # (N, MAX_FRAMES, 12) float32, standardised, zero after each utterance
    speakers: Tensor  # (N,) long, 0..8
    lengths: Tensor  # (N,) long, 7..29


class SpeakersTask(LastStepClassification, BundledDataTask):
    name = "speakers"
    title = "Speech: who is speaking (Japanese vowels)"
    description = (
        "Nine Japanese men each say the vowels /ae/, many times. Each recording is cut "
        "into frames 6.4 ms apart, and each frame is described by 12 numbers (LPC cepstral "
        "coefficients: the shape of the sound's spectrum, which depends on the speaker's "
        "vocal tract). One utterance is 7 to 29 frames. The network hears it one frame a "
        "step and, after the last frame, says which of the nine men spoke. Utterances are "
        "padded with zeros to 29 frames so they fit in one batch, but each one is scored at "
        "its own last real frame, and a recurrent net's answer there has not yet seen the "
        "padding. The net trains on 270 utterances (30 per speaker) and is scored on the "
        "other 370, recorded on other occasions (24 to 88 per speaker): the split of the "
        "data's authors. Guessing without listening scores the entropy of the speaker "
        "frequencies: ln 9 ≈ 2.20 on training, about 2.11 on the test split."
    )
    input_size = N_COEFFICIENTS
    output_size = N_SPEAKERS
    has_split = True
    min_seq_len = MAX_FRAMES
    max_seq_len = MAX_FRAMES
    default_path = VOWELS_PATH

    def _splits(self) -> dict[str, _Split]:
        return self._loaded()

    def _load(self) -> dict[str, _Split]:
        table = pd.read_csv(self._path)
        coefficients = [f"c{k}" for k in range(1, N_COEFFICIENTS + 1)]
        train = table[table["split"] == "train"][coefficients].to_numpy(np.float64)
        # Standardise each coefficient with the training frames' statistics only, so the
        # test split tells the model nothing through its own mean and spread.
        mean, std = train.mean(axis=0), train.std(axis=0)
        splits = {}
        for split in SPLITS:
            rows = table[table["split"] == split].sort_values(["utterance", "frame"])
            frames, speakers = [], []
            for _, utterance in rows.groupby("utterance", sort=True):
                values = (utterance[coefficients].to_numpy(np.float64) - mean) / std
                frames.append(values.astype(np.float32))
                speakers.append(int(utterance["speaker"].iloc[0]) - 1)  # file: 1..9
            x, lengths = pad_sequences(frames, MAX_FRAMES)
            if int(lengths.min()) < MIN_FRAMES:
                raise ValueError(f"{self._path}: an utterance is shorter than {MIN_FRAMES} frames")
            splits[split] = _Split(x, torch.tensor(speakers, dtype=torch.long), lengths)
        return splits

    # ------------------------------------------------------------------ what pages read
    def utterance_count(self, split: str = "test") -> int:
        return len(self._split(split).speakers)

    def utterance(self, index: int, split: str = "test") -> tuple[np.ndarray, int]:
        """One utterance's standardised frames, (T, 12) float32 (T = its length), and
        its speaker, 0..8."""
        data = self._split(split)
        if not 0 <= index < len(data.speakers):
            raise IndexError(f"{split} has utterances 0 to {len(data.speakers) - 1}")
        length = int(data.lengths[index])
        return data.x[index, :length].numpy().copy(), int(data.speakers[index])

    def padded(self, split: str = "test") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The whole split as the model reads it: x (N, 29, 12) float32, zero after each
        utterance's end; speakers (N,) and lengths (N,) int64. In the file's order."""
        data = self._split(split)
        return data.x.numpy().copy(), data.speakers.numpy().copy(), data.lengths.numpy().copy()

    def _split(self, split: str) -> _Split:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        return self._splits()[split]

    # ------------------------------------------------------------------ the Task contract
    def scored_steps(self, seq_len):
        # any frame from the shortest utterance's last to the longest's may be scored
        return slice(MIN_FRAMES - 1, seq_len)

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        data = self._splits()[split]
        chosen = torch.randint(0, len(data.speakers), (batch_size,), generator=generator)
        return data.x[chosen], torch.stack([data.speakers[chosen], data.lengths[chosen]], dim=1)

    def held_out(self, batch_size, seq_len, generator):
        # all 370 test utterances, in the file's order: no sampling error
        self._check_request(seq_len, "test")
        data = self._splits()["test"]
        return data.x, torch.stack([data.speakers, data.lengths], dim=1)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if split not in self._baselines:
            # training batches draw utterances uniformly and the held-out score takes the
            # whole test split: the best guess without listening is the split's speaker
            # frequencies, and its loss their entropy
            counts = np.bincount(self._splits()[split].speakers.numpy(), minlength=N_SPEAKERS)
            self._baselines[split] = float(entropy(counts))
        return self._baselines[split]
