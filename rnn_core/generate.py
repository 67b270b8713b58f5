"""Sampling text from a character-level model, one character at a time."""

from __future__ import annotations

import torch

from rnn_core.models import RecurrentModel

MIN_TEMPERATURE = 0.05  # below this, softmax(logits / T) is argmax for practical purposes


@torch.no_grad()
def sample_text(model: RecurrentModel, task, prime: str, length: int, temperature: float,
                generator: torch.Generator) -> str:
    """Continue ``prime`` by ``length`` characters drawn from the model.

    The recurrent state is carried from step to step (one fused call per character), so
    the cost is linear in ``length``. Characters outside the task's alphabet in
    ``prime`` are replaced by "?" rather than refused, so any prime a visitor types works.
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
        probs = torch.softmax(logits / temperature, dim=-1)
        idx = torch.multinomial(probs, 1, generator=generator)  # (1, 1)
        chars.append(int(idx))
        step = torch.nn.functional.one_hot(idx, n_symbols).float()  # (1, 1, V)
        out, state = model.rnn(step, state)
        logits = model.head(out[:, -1])
    return task.decode(chars)
