"""Images read as sequences: 8x8 handwritten digits, row by row or pixel by pixel.

Both tasks read the same bundled digits with one fixed train/test split and classify
the digit from the last step's output; a model that reads images (the 2-D CNN) takes
the input back as the image (``Task.image_shape``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnn_core.tasks.base import ASSETS_DIR, SPLITS, BundledDataTask, accuracy, entropy

DIGITS_PATH = ASSETS_DIR / "data" / "digits.csv.gz"


class _DigitsData(NamedTuple):
    images: dict[str, np.ndarray]  # split -> (N, 8, 8) float32 in [0, 1]
    labels: dict[str, np.ndarray]  # split -> (N,) int64 digit 0..9


class _DigitsTask(BundledDataTask):
    """Classify an 8x8 handwritten digit read as a sequence of `pixels_per_step` pixels.

    The image is read in raster order (row-major), `pixels_per_step` pixels a step, so
    seq_len is fixed at 64 / pixels_per_step. y is (B,) long, the digit; only the last
    step's output is scored. Both readings share one fixed train/test split of the 1,797
    images (a permutation with a fixed seed, 80% train), so they see the same digits.
    """

    target_type = "classification"
    output_size = 10
    metric_name = "accuracy"
    higher_is_better = True
    has_split = True
    image_shape = (8, 8)
    pixels_per_step: int  # set by subclasses
    train_fraction = 0.8
    split_seed = 1998  # numpy permutation seed of the fixed split (not the run's seed)
    max_value = 16  # pixels in the file count the on-pixels of a 4x4 block: 0..16

    default_path = DIGITS_PATH

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
        return self._loaded()

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
        return accuracy(outputs[:, -1], y)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if split not in self._baselines:
            # images are drawn uniformly from the split (and the held-out score takes all
            # of the test split): the best guess without looking is the split's label
            # frequencies, and its loss their entropy
            counts = np.bincount(self._digits().labels[split], minlength=self.output_size)
            self._baselines[split] = float(entropy(counts))
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
