"""sample_text: the seed decides the text, and the temperature how spread out it is."""

import collections
import math

import pytest
import torch

from rnn_core import RunConfig, Trainer
from rnn_core.generate import sample_text

PRIME = "def "


@pytest.fixture(scope="module")
def char_model():
    """A char_lm model after a few steps: it has learned the characters' frequencies
    (spaces, letters) but little more, so its predictions are neither uniform nor sure."""
    trainer = Trainer(RunConfig(task="char_lm", hidden_size=16, seq_len=30, batch_size=8))
    trainer.step(20)
    return trainer.model, trainer.task


def _sample(char_model, seed: int, length: int = 200, temperature: float = 1.0) -> str:
    model, task = char_model
    generator = torch.Generator().manual_seed(seed)
    return sample_text(model, task, PRIME, length, temperature, generator)


def _entropy(text: str) -> float:
    """Empirical entropy of the characters of ``text``, in nats."""
    counts = collections.Counter(text)
    return -sum(n / len(text) * math.log(n / len(text)) for n in counts.values())


def test_the_same_seed_gives_the_same_text(char_model):
    _, task = char_model
    with torch.random.fork_rng():
        torch.manual_seed(1)
        first = _sample(char_model, seed=7)
        torch.manual_seed(2)  # the global RNG plays no part
        again = _sample(char_model, seed=7)
    assert first == again
    assert len(first) == 200 and set(first) <= set(task.alphabet)


def test_different_seeds_give_different_texts(char_model):
    texts = {_sample(char_model, seed) for seed in range(5)}
    assert len(texts) == 5


def test_a_higher_temperature_gives_a_higher_entropy(char_model):
    # Measured on this model: about 0.1 nats at 0.3, 2.7 at 1.0, 3.6 at 1.5 (the
    # alphabet's 96 characters would give at most ln 96 = 4.6).
    entropy = {
        temperature: _entropy(_sample(char_model, seed=3, length=2000, temperature=temperature))
        for temperature in (0.3, 1.0, 1.5)
    }
    assert entropy[0.3] + 1.0 < entropy[1.0] < entropy[1.5] - 0.3, entropy
