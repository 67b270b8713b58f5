"""Sampling text from a character-level model, one character at a time."""

from __future__ import annotations

import torch

from rnn_core.models import RecurrentModel

MIN_TEMPERATURE = 0.05  # below this, softmax(logits / T) is argmax for practical purposes


class NonFiniteOutputError(ArithmeticError):
    """The model's prediction stopped being a finite number (its state overflowed)."""


@torch.no_grad()
def sample_text(
    model: RecurrentModel,
    task,
    prime: str,
    length: int,
    temperature: float,
    generator: torch.Generator,
) -> str:
    """Continue ``prime`` by ``length`` characters drawn from the model.

    The recurrent state is carried from step to step (one fused call per character), so
    the cost is linear in ``length``. Characters outside the task's alphabet in
    ``prime`` are replaced by "?" rather than refused, so any prime a visitor types works.
    Raises NonFiniteOutputError when a prediction is not finite.
    """
    alphabet = task.alphabet
    fallback = "?" if "?" in alphabet else alphabet[0]
    prime = "".join(ch if ch in alphabet else fallback for ch in (prime or "\n"))
    temperature = max(float(temperature), MIN_TEMPERATURE)
    n_symbols = len(alphabet)
    x = torch.nn.functional.one_hot(task.encode(prime), n_symbols).float()[None]  # (1, T, V)
    out, state = model.rnn(x)
    logits = model.head(out[:, -1])  # (1, V)
    chars = []
    for _ in range(max(0, int(length))):
        if not bool(torch.isfinite(logits).all()):
            # A recurrent state that grows at every step (a ReLU RNN whose recurrent
            # matrix has a spectral radius above 1) overflows over a long enough text.
            raise NonFiniteOutputError(
                f"the model's prediction for character {len(chars) + 1} is not a finite "
                f"number (its state overflowed after {len(prime) + len(chars)} characters), "
                f"so no text can be sampled from it"
            )
        probs = torch.softmax(logits / temperature, dim=-1)
        idx = torch.multinomial(probs, 1, generator=generator)  # (1, 1)
        chars.append(int(idx))
        step = torch.nn.functional.one_hot(idx, n_symbols).float()  # (1, 1, V)
        out, state = model.rnn(step, state)
        logits = model.head(out[:, -1])
    return task.decode(chars)
