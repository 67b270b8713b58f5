"""Captions: a CNN reads two handwritten digits side by side; a recurrent decoder writes
"seven left of two".

One example is ONE sequence, as everywhere here:

    [ column 0 .. column 15 of the 8 x 16 image | <start> seven left of ]
      one image column of 8 pixels a step          the caption shifted right

The outputs at the decoder's steps are scored (teacher forcing): "seven left of two
<end>". Every caption has the same five steps, so nothing is padded. Symbols and pixels
share one input vector: its first channels are the caption's symbols (one-hot at the
decoder's steps), its last eight the pixel rows of an image column (at the image's
steps); the output symbols come first, so an output's index names its symbol.

The images are the bundled 8x8 digits (``images.py``, its fixed split): a training
composition pairs two training digits, and the held-out compositions (a fixed 500) pair
two held-out digits, so the model is scored on handwriting it never saw. The task asks for
a CNN encoder and a recurrent decoder (``architecture = "captioning"``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnn_core.tasks.base import Task, entropy

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
END, START = "<end>", "<start>"
CAPTION_SYMBOLS = (*DIGIT_WORDS, "left", "of", END)
HEIGHT, DIGIT_WIDTH, DIGITS = 8, 8, 2
IMAGE_STEPS = DIGIT_WIDTH * DIGITS  # one step per image column
DECODER_LEN = 5  # "seven left of two <end>"
ALPHABET = (*CAPTION_SYMBOLS, START, *(f"pixel row {r}" for r in range(HEIGHT)))
INDEX = {symbol: i for i, symbol in enumerate(ALPHABET)}
PIXELS = slice(len(CAPTION_SYMBOLS) + 1, len(ALPHABET))  # the pixel channels
HELD_OUT = 500  # held-out compositions, drawn once from the held-out digits


def caption(left: int, right: int) -> list[str]:
    """The caption of two digits side by side: 7, 2 -> seven left of two."""
    return [DIGIT_WORDS[left], "left", "of", DIGIT_WORDS[right]]


def compose(images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """x (N, T, I) and y (N, DECODER_LEN) of N compositions, from images (N, 2, 8, 8) in
    [0, 1] (left digit first) and their labels (N, 2)."""
    n = images.shape[0]
    picture = torch.cat([images[:, 0], images[:, 1]], dim=2)  # (N, 8, 16)
    x = torch.zeros(n, IMAGE_STEPS + DECODER_LEN, len(ALPHABET))
    x[:, :IMAGE_STEPS, PIXELS] = picture.transpose(1, 2)  # a column a step
    words = torch.tensor(
        [[INDEX[w] for w in caption(int(a), int(b))] for a, b in labels.tolist()],
        dtype=torch.long,
    ).reshape(n, DECODER_LEN - 1)
    inputs = torch.cat([torch.full((n, 1), INDEX[START]), words], dim=1)  # (N, 5)
    x[:, IMAGE_STEPS:] = F.one_hot(inputs, len(ALPHABET)).float()
    y = torch.cat([words, torch.full((n, 1), INDEX[END])], dim=1)
    return x, y


def picture_of(x: np.ndarray) -> np.ndarray:
    """(8, 16) the image of one composition's inputs (T, I)."""
    return np.asarray(x)[:IMAGE_STEPS, PIXELS].T


class CaptionsTask(Task):
    name = "captions"
    title = "Captions: two handwritten digits, described"
    description = (
        "An image of two handwritten digits side by side, 8 by 16 pixels. A small "
        "convolutional network reads the whole image and describes each stretch of two "
        "columns; a recurrent decoder then writes the caption one word a step, 'seven "
        "left of two', and says <end>. With attention, at every word the decoder weighs "
        "the stretches of the image, so you can see where it looks for each digit. The "
        "decoder is shown the correct previous word while it trains (teacher forcing); the "
        "score is exact captions: all four words and <end> right, which is exactly when "
        "greedy decoding writes the caption right. Training pairs two of the 80% of the "
        "bundled digits the digits tasks train on; the 500 held-out images pair two of "
        "the other 20%, handwriting the model never sees in training. Guessing each word "
        "from its position alone has the baseline loss."
    )
    architecture = "captioning"
    source_len = IMAGE_STEPS
    decoder_len = DECODER_LEN
    image_height = HEIGHT
    pixels = PIXELS
    input_size = len(ALPHABET)
    output_size = len(CAPTION_SYMBOLS)
    alphabet = list(ALPHABET)
    target_type = "classification"
    metric_name = "exact captions"
    higher_is_better = True
    has_split = True
    min_seq_len = max_seq_len = IMAGE_STEPS + DECODER_LEN
    held_out_seed = 2024  # the fixed draw of the held-out compositions

    def __init__(self, digits):
        self._digits = digits  # the digits task whose bundled images and split it shares
        self._held_out: tuple[Tensor, Tensor] | None = None
        self._baselines: dict[str, float] = {}

    def digits(self, split: str) -> tuple[Tensor, Tensor]:
        images, labels = self._digits.images(split)
        return torch.from_numpy(images), torch.from_numpy(labels)

    def _draw(self, batch_size: int, split: str, generator: torch.Generator):
        images, labels = self.digits(split)
        chosen = torch.randint(0, len(labels), (batch_size, DIGITS), generator=generator)
        return compose(images[chosen], labels[chosen])

    def scored_steps(self, seq_len: int) -> slice:
        return slice(IMAGE_STEPS, IMAGE_STEPS + DECODER_LEN)

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        return self._draw(batch_size, split, generator)

    def held_out(self, batch_size, seq_len, generator):
        # always the same 500 compositions of held-out digits, whatever the run's seed
        self._check_request(seq_len, "test")
        if self._held_out is None:
            gen = torch.Generator().manual_seed(self.held_out_seed)
            self._held_out = self._draw(HELD_OUT, "test", gen)
        return self._held_out

    def loss(self, outputs, y):
        logits = outputs[:, IMAGE_STEPS : IMAGE_STEPS + DECODER_LEN]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    def metric(self, outputs, y, split="train"):
        return float(exact_captions(outputs, y).float().mean())

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if split not in self._baselines:
            # Training draws each digit uniformly from its split: "left", "of" and <end>
            # are certain, each digit word has the split's digit frequencies (its entropy,
            # at two of five steps). The held-out score is on its fixed 500: their own
            # frequencies at each step.
            if split == "train":
                counts = np.bincount(self.digits(split)[1].numpy(), minlength=10)
                self._baselines[split] = 2 * float(entropy(counts)) / DECODER_LEN
            else:
                y = self.held_out(0, self.min_seq_len, None)[1].numpy()
                per_step = [
                    entropy(np.bincount(y[:, d], minlength=self.output_size))
                    for d in range(DECODER_LEN)
                ]
                self._baselines[split] = float(np.mean(per_step))
        return self._baselines[split]


def exact_captions(outputs: Tensor, y: Tensor) -> Tensor:
    """(B,) bool: every word and the <end> right (teacher forced; the same as greedy
    decoding writing the caption, as for translation)."""
    with torch.no_grad():
        logits = outputs[:, IMAGE_STEPS : IMAGE_STEPS + DECODER_LEN]
        return (logits.argmax(dim=-1) == y).all(dim=1)


def composition(task: CaptionsTask, left: int, right: int, sample: int = 0) -> np.ndarray:
    """(IMAGE_STEPS, I) the image steps of two held-out digits side by side: the
    ``sample``-th held-out image of digit ``left`` beside that of ``right`` (modulo how
    many there are)."""
    images, labels = task.digits("test")
    picked = []
    for digit in (left, right):
        if digit not in range(10):
            raise ValueError(f"a digit is 0 to 9, not {digit!r}")
        where = torch.nonzero(labels == digit).flatten()
        picked.append(images[where[sample % len(where)]])
    x, _ = compose(torch.stack(picked)[None], torch.tensor([[left, right]]))
    return x[0, :IMAGE_STEPS].numpy()


def greedy_caption(forward, image: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(words, probabilities (steps, O)): the decoder's most likely word at each step, fed
    back as its next input, until <end> or DECODER_LEN steps; ``forward`` maps inputs
    (B, T, I) to outputs (B, T, O) as numpy arrays (a job's "outputs" answer)."""
    written: list[str] = []
    probabilities = []
    eye = np.eye(len(ALPHABET), dtype=np.float32)
    for _ in range(DECODER_LEN):
        inputs = [INDEX[START], *(INDEX[w] for w in written)]
        x = np.concatenate([np.asarray(image, dtype=np.float32), eye[inputs]])[None]
        logits = np.asarray(forward(x), dtype=np.float64)[0, -1]
        p = np.exp(logits - logits.max())
        probabilities.append(p / p.sum())
        word = CAPTION_SYMBOLS[int(np.argmax(logits))]
        if word == END:
            break
        written.append(word)
    return written, np.array(probabilities, dtype=np.float32)
