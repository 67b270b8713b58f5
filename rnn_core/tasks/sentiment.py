"""Sentiment of review sentences, word by word (``sentiment``).

The sentences are generated (``review_grammar``) from the adjectives of a published
lexicon, ``assets/data/sentiment_lexicon.tsv`` (VADER's scores; assets/PROVENANCE.md
says why no real labelled corpus ships): a fixed set of distinct sentences, made once
from a fixed seed and split once into training and test sentences. A sentence is read
one word a step, each word one-hot (``<unk>`` for a word outside the vocabulary), and is
classified at its last word (``LastStepClassification``): shorter sentences are padded
with zero vectors after their end, which no causal model's output there can see.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from rnn_core.tasks.base import (
    ASSETS_DIR,
    BundledDataTask,
    LastStepClassification,
    entropy,
)
from rnn_core.tasks.review_grammar import MAX_WORDS, UNKNOWN, ReviewGrammar

LEXICON_PATH = ASSETS_DIR / "data" / "sentiment_lexicon.tsv"

# The classic negation test the Sentiment page shows: each pair differs by a negation
# (or by word order) and has the opposite sentiment. None of these sentences is in the
# training split, so what the model says about them is generalisation.
NEGATION_PAIRS: tuple[tuple[tuple[str, int], tuple[str, int]], ...] = (
    (("good", 1), ("not good", 0)),
    (("bad", 0), ("not bad", 1)),
    (("a good film", 1), ("not a good film", 0)),
    (("the plot was great", 1), ("the plot was not great", 0)),
    (("it was boring", 0), ("it was not boring at all", 1)),
    (("good but boring", 0), ("boring but good", 1)),
)
HELD_OUT_SENTENCES = tuple(s for pair in NEGATION_PAIRS for s, _ in pair)


class _Reviews(NamedTuple):
    vocabulary: list[str]
    index: dict[str, int]
    words: dict[str, np.ndarray]  # split -> (N, MAX_WORDS) int64 word indices, -1 after the end
    lengths: dict[str, np.ndarray]  # split -> (N,) int64, 1..MAX_WORDS
    labels: dict[str, np.ndarray]  # split -> (N,) int64: 1 positive, 0 negative
    sentences: dict[str, list[str]]  # split -> the sentences, words joined by spaces


def read_lexicon(path) -> tuple[list[str], list[str]]:
    """(positive, negative) adjectives of a lexicon file: a header, then one
    ``word<TAB>mean<TAB>sd`` line per word; the sign of the mean is the word's polarity."""
    positive, negative = [], []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: expected word, mean and sd, got {line!r}")
        word, mean = fields[0], float(fields[1])
        if mean == 0:
            raise ValueError(f"{path}:{number}: {word!r} has no polarity")
        (positive if mean > 0 else negative).append(word)
    return positive, negative


class SentimentTask(LastStepClassification, BundledDataTask):
    name = "sentiment"
    title = "Sentiment of review sentences (generated)"
    description = (
        "Short review sentences, one word a step: after the last word the network says "
        "whether the sentence is positive or negative. The sentences are generated, not "
        "real reviews (no labelled corpus that may be redistributed ships with the "
        "packages we can install): a small grammar combines 81 adjectives of the VADER "
        "sentiment lexicon, scored by people as positive or negative, with nouns "
        "('the plot', 'a film'), intensifiers ('very good'), negation ('not bad at "
        "all', 'not a good film') and contrast ('good but boring' is negative: the "
        "clause after 'but' decides). Word counts alone cannot read negation or "
        "contrast; word order can. The net trains on 6,000 distinct sentences and is "
        "scored on 800 others it never sees. About half are positive: guessing gives "
        "loss ln 2 ≈ 0.69, the baseline."
    )
    output_size = 2
    class_names = ["negative", "positive"]
    has_split = True
    min_seq_len = max_seq_len = MAX_WORDS
    n_train, n_test = 6000, 800
    split_seed = 2014  # numpy seed of the generated sentences and their split (not a run's)

    default_path = LEXICON_PATH

    def _reviews(self) -> _Reviews:
        return self._loaded()

    def _load(self) -> _Reviews:
        grammar = ReviewGrammar(*read_lexicon(self._path))
        vocabulary = grammar.vocabulary
        # a private generator: the sentences are fixed and numpy's global RNG is left alone
        rng = np.random.default_rng(self.split_seed)
        made: dict[str, int] = {}
        while len(made) < self.n_train + self.n_test + len(HELD_OUT_SENTENCES):
            label = int(rng.integers(2))
            made.setdefault(" ".join(grammar.sentence(rng, label)), label)
        texts = list(made)
        order = rng.permutation(len(texts))
        # the negation test's sentences never train: held out, or left out
        train = [i for i in order if texts[i] not in HELD_OUT_SENTENCES][: self.n_train]
        taken = set(train)
        test = [i for i in order if i not in taken][: self.n_test]
        splits = {"train": train, "test": test}
        return self._reviews_of(
            vocabulary,
            {split: [texts[i].split(" ") for i in chosen] for split, chosen in splits.items()},
            {split: np.array([made[texts[i]] for i in chosen]) for split, chosen in splits.items()},
        )

    def _reviews_of(
        self,
        vocabulary: list[str],
        tokens: dict[str, list[list[str]]],
        labels: dict[str, np.ndarray],
    ) -> _Reviews:
        """The data of each split from its sentences' tokens (at most MAX_WORDS each; a
        token outside ``vocabulary`` reads as ``UNKNOWN``) and labels (1 positive)."""
        index = {w: i for i, w in enumerate(vocabulary)}
        words, lengths, sentences = {}, {}, {}
        for split, split_tokens in tokens.items():
            sentences[split] = [" ".join(t) for t in split_tokens]
            codes = np.full((len(split_tokens), MAX_WORDS), -1, dtype=np.int64)
            for row, sentence in zip(codes, split_tokens, strict=True):
                row[: len(sentence)] = [index.get(t, index[UNKNOWN]) for t in sentence]
            words[split] = codes
            lengths[split] = (codes >= 0).sum(axis=1)
        labels = {split: np.asarray(v, dtype=np.int64) for split, v in labels.items()}
        return _Reviews(vocabulary, index, words, lengths, labels, sentences)

    @property
    def alphabet(self) -> list[str]:
        return self._reviews().vocabulary

    @property
    def input_size(self) -> int:
        return len(self.alphabet)

    @property
    def unknown_index(self) -> int:
        return self._reviews().index[UNKNOWN]

    def word_index(self) -> dict[str, int]:
        """Each vocabulary word's one-hot position (a copy)."""
        return dict(self._reviews().index)

    def sentences(self, split: str = "test") -> tuple[list[str], np.ndarray]:
        """The sentences of a split (words joined by spaces) and their labels (1 positive)."""
        self._check_request(MAX_WORDS, split)
        data = self._reviews()
        return list(data.sentences[split]), data.labels[split].copy()

    def split_words(self, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """A split's sentences as (N, MAX_WORDS) word indices, -1 after each one's end,
        and their labels (N,), 1 positive (copies)."""
        self._check_request(MAX_WORDS, split)
        data = self._reviews()
        return data.words[split].copy(), data.labels[split].copy()

    def encode_words(self, codes: np.ndarray) -> Tensor:
        """(N, T) word indices, -1 after each sentence's end -> (N, T, V) float32 one-hot,
        zero vectors after the end."""
        codes = torch.as_tensor(codes, dtype=torch.long)
        x = torch.nn.functional.one_hot(codes.clamp_min(0), self.input_size).to(torch.float32)
        return x * (codes >= 0).unsqueeze(-1)

    def _batch(self, split: str, chosen: Tensor) -> tuple[Tensor, Tensor]:
        data = self._reviews()
        codes = torch.from_numpy(data.words[split])[chosen]
        y = torch.stack(
            [
                torch.from_numpy(data.labels[split])[chosen],
                torch.from_numpy(data.lengths[split])[chosen],
            ],
            dim=1,
        )
        return self.encode_words(codes), y

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        n = len(self._reviews().labels[split])
        return self._batch(split, torch.randint(0, n, (batch_size,), generator=generator))

    def held_out(self, batch_size, seq_len, generator):
        # all of the test split (800 sentences), in its fixed order: no sampling error
        self._check_request(seq_len, "test")
        return self._batch("test", torch.arange(len(self._reviews().labels["test"])))

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if split not in self._baselines:
            # sentences are drawn uniformly from the split (the held-out score takes all
            # of the test split): the best guess without reading is the split's label
            # frequencies, and its loss their entropy
            counts = np.bincount(self._reviews().labels[split], minlength=self.output_size)
            self._baselines[split] = float(entropy(counts))
        return self._baselines[split]
