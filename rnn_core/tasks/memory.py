"""Synthetic memory tasks: the adding problem, copy memory and running parity.

Each batch is generated afresh from the caller's generator (no data files). Each task
needs the network to carry something across many steps (two marked values, ten digits,
one parity bit), and each has an exact, closed-form baseline.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from rnn_core.tasks.base import SymbolTask, Task, accuracy, one_hot


class AddingTask(Task):
    name = "adding"
    title = "Adding problem"
    description = (
        "Each step shows two numbers: a random value between 0 and 1, and a marker that is 1 "
        "at exactly two steps (anywhere in the sequence) and 0 elsewhere. After the last step "
        "the network must output the sum of the two marked values. Everything else is noise, "
        "so the net has to notice a marker, hold its value for up to T steps and ignore the "
        "rest. A net that remembers nothing can only predict the average sum, 1, which gives "
        "MSE 1/6 ≈ 0.167; remembering just one of the two values gives 1/12. With this "
        "app's default settings a plain tanh RNN already stays near that baseline at T = 50 "
        "(the vanishing-gradients demo), because the gradient that links the output back to "
        "a marker shrinks with every step in between."
    )
    input_size = 2
    output_size = 1
    target_type = "regression"
    tolerance = 0.04  # a prediction counts as correct within this distance of the target
    metric_name = "accuracy (|error| < 0.04)"
    higher_is_better = True
    min_seq_len = 2

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        values = torch.rand(batch_size, seq_len, generator=generator)
        # A uniform ordered pair of distinct positions: the second is drawn from the
        # seq_len - 1 slots left after the first, skipping over the first.
        first = torch.randint(0, seq_len, (batch_size,), generator=generator)
        second = torch.randint(0, seq_len - 1, (batch_size,), generator=generator)
        second += (second >= first).long()
        markers = torch.zeros(batch_size, seq_len)
        rows = torch.arange(batch_size)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = (values * markers).sum(dim=1, keepdim=True)  # (B, 1)
        return x, y

    def scored_steps(self, seq_len):
        return slice(seq_len - 1, seq_len)

    def marked(self, inputs) -> np.ndarray:
        """(B, T) bool: the two steps of each sequence whose value is to be added."""
        return np.asarray(inputs)[..., 1] > 0.5

    def loss(self, outputs, y):
        return F.mse_loss(outputs[:, -1, 0], y[:, 0])

    def targets_for(self, x):
        # the rule of ``sample``: the sum of the values at the marked steps
        return (x[..., 0] * (x[..., 1] > 0.5)).sum(dim=1, keepdim=True)

    def metric(self, outputs, y, split="train"):
        with torch.no_grad():
            error = (outputs[:, -1, 0] - y[:, 0]).abs()
            return (error < self.tolerance).float().mean().item()

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # target = U1 + U2: the best constant is its mean 1 and its loss the variance 2 * 1/12
        return 1.0 / 6.0


class CopyMemoryTask(SymbolTask):
    name = "copy_memory"
    title = "Copy memory"
    description = (
        "The first 10 steps show random digits from 1 to 8. Then come T-1 blanks (0), then a 9 "
        "that means 'recall now', followed by ten more 9s. The network must output a blank at "
        "every step except the last 10, where it must repeat the 10 digits in their original "
        "order. Outputting blanks and then guessing costs a loss of 10·ln 8/(T+20) and gets "
        "12.5% of the recalled digits right, so only accuracy on those last 10 steps tells "
        "whether the net remembers. The digits must survive T steps of nothing, which is "
        "exactly where vanishing gradients hurt (Bai et al. 2018)."
    )
    n_digits = 10
    n_symbols = 10  # 0 blank, 1..8 digits, 9 delimiter and recall cue
    input_size = n_symbols
    output_size = n_symbols
    alphabet = [str(s) for s in range(n_symbols)]
    metric_name = "accuracy on last 10 steps"
    higher_is_better = True

    def total_len(self, seq_len):
        return seq_len + 2 * self.n_digits

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        n = self.n_digits
        digits = torch.randint(1, 9, (batch_size, n), generator=generator)
        symbols = torch.zeros(batch_size, self.total_len(seq_len), dtype=torch.long)
        symbols[:, :n] = digits
        symbols[:, seq_len + n - 1 :] = 9  # delimiter, then one cue per digit to recall
        y = torch.zeros_like(symbols)
        y[:, -n:] = digits
        return one_hot(symbols, self.n_symbols), y

    def metric(self, outputs, y, split="train"):
        return accuracy(outputs[:, -self.n_digits :], y[:, -self.n_digits :])

    def targets_for(self, x):
        # blanks, then the first n symbols recalled at the last n steps (as ``sample``)
        symbols = x.argmax(dim=-1)
        y = torch.zeros_like(symbols)
        y[:, -self.n_digits :] = symbols[:, : self.n_digits]
        return y

    def memory_span(self, seq_len):
        # recalled digit i (output step seq_len + n + i) was shown at step i
        return seq_len + self.n_digits + 1

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # blanks are certain (loss 0); each recalled digit is uniform over 8 (loss ln 8)
        return self.n_digits * math.log(8) / self.total_len(seq_len)


class ParityTask(SymbolTask):
    name = "parity"
    title = "Running parity"
    description = (
        "The input is a stream of random bits. At every step the network outputs the parity "
        "of all bits so far: 1 if it has seen an odd number of ones, 0 otherwise. The rule is "
        "a one-bit state machine (flip on a 1, keep on a 0), but that bit must be kept exactly: "
        "a single bit forgotten anywhere flips every later answer. Each answer is a fair coin "
        "to anyone who has not followed the whole stream, so without memory the loss stays at "
        "ln 2 and the accuracy at 50%."
    )
    input_size = 2
    output_size = 2
    alphabet = ["0", "1"]
    metric_name = "accuracy over all steps"
    higher_is_better = True

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        bits = torch.randint(0, 2, (batch_size, seq_len), generator=generator)
        return one_hot(bits, 2), bits.cumsum(dim=1) % 2

    def metric(self, outputs, y, split="train"):
        return accuracy(outputs, y)

    def targets_for(self, x):
        return x.argmax(dim=-1).cumsum(dim=1) % 2

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # the latest bit is fair and independent of the past, so every parity is a fair coin
        return math.log(2)
