"""How long one training step takes at the edge of the joint cost cap.

RunConfig refuses runs whose estimated step cost exceeds MAX_STEP_COST, meant to be
about a quarter of a second on one CPU core. This prints, for configurations just
inside the cap (every cell, short-wide and long-narrow shapes), the measured Trainer
step time and its ratio to 0.25 s. Not a test: `python3 bench/cost_cap.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from rnn_core import ConfigError, RunConfig, Trainer  # noqa: E402
from rnn_core.config import MAX_STEP_COST  # noqa: E402

SHAPES = [  # (task, seq_len, batch, layers); the width is grown until the cap
    ("copy_memory", 1000, 64, 1),
    ("adding", 2000, 16, 1),
    ("adding", 100, 64, 1),
    ("char_lm", 200, 64, 2),
    ("adding", 50, 256, 4),
]


def widest(model, task, seq_len, batch, layers):
    best = None
    for hidden in range(1, 257):
        try:
            best = RunConfig(
                model=model,
                task=task,
                seq_len=seq_len,
                batch_size=batch,
                num_layers=layers,
                hidden_size=hidden,
            )
        except ConfigError:
            break
    return best


def main() -> None:
    torch.set_num_threads(1)
    print(f"MAX_STEP_COST {MAX_STEP_COST:,}; one thread; median of 3 steps after warm-up")
    print(
        f"{'model':>9} {'task':>12} {'T':>5} {'B':>4} {'L':>2} {'H':>4} "
        f"{'cost/cap':>8} {'step s':>7} {'/0.25s':>7}"
    )
    worst = 0.0
    for model in ("rnn_tanh", "rnn_relu", "lstm", "gru"):
        for task, seq_len, batch, layers in SHAPES:
            cfg = widest(model, task, seq_len, batch, layers)
            if cfg is None:
                continue
            trainer = Trainer(cfg, probe_every=10**9)
            trainer.step(1)
            times = []
            for _ in range(3):
                start = time.perf_counter()
                trainer.step(1)
                times.append(time.perf_counter() - start)
            t = statistics.median(times)
            worst = max(worst, t / 0.25)
            print(
                f"{model:>9} {task:>12} {seq_len:>5} {batch:>4} {layers:>2} "
                f"{cfg.hidden_size:>4} {cfg.cost / MAX_STEP_COST:>8.2f} {t:>7.3f} "
                f"{t / 0.25:>7.2f}",
                flush=True,
            )
    print(f"worst step time / 0.25 s: {worst:.2f}")


if __name__ == "__main__":
    main()
