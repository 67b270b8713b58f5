"""Trainer vs a bare fused PyTorch loop, and probe cost vs a training step.

Prints ratios measured side by side in one run (rounds interleaved, medians), so a
busy machine slows both sides alike. Not a test: run `python3 bench/bench_trainer.py`.

Targets: Trainer >= 0.8x the bare loop's steps/s at T=100 and T=500 (hidden
64, batch 64, default probe cadence); one probe() <= 3x one fused training step; probe
time at T=500 / T=100 <= 6.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from rnn_core import TASKS, RunConfig, Trainer  # noqa: E402
from rnn_core.models import build_model  # noqa: E402


def bare_loop(cfg: RunConfig):
    """The same model, optimizer, clipping and task data, with nothing else."""
    task = TASKS[cfg.task]
    model = build_model(cfg, task.input_size, task.output_size)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    gen = torch.Generator().manual_seed(cfg.seed)

    def run(steps: int) -> None:
        # Same numerics as the Trainer: subnormals flushed (see rnn_core/train.py). Left
        # on, they alone make this loop ~5x slower at T=500 and the ratio meaningless.
        torch.set_flush_denormal(True)
        for _ in range(steps):
            x, y = task.sample(cfg.batch_size, cfg.seq_len, gen)
            loss = task.loss(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
            opt.step()
            float(loss.detach())  # the trainer reads the loss every step; so does any real loop

    return run


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="steps per round per side")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), model {args.model}, "
        f"hidden 64, batch 64, {args.rounds} rounds x {args.steps} steps"
    )
    print(
        f"{'T':>5} {'bare steps/s':>13} {'Trainer steps/s':>16} {'ratio':>6} "
        f"{'step ms':>8} {'probe ms':>9} {'probe/step':>10}"
    )
    probe_ms = {}
    for seq_len in (100, 500):
        cfg = RunConfig(
            model=args.model, task="adding", seq_len=seq_len, hidden_size=64, batch_size=64
        )
        bare = bare_loop(cfg)
        trainer = Trainer(cfg)  # default probe cadence and snapshot budget
        bare(2)
        trainer.step(2)  # warm up both (allocator, oneDNN primitives)
        bare_t, trainer_t, probe_t = [], [], []
        for _ in range(args.rounds):
            bare_t.append(timed(bare, args.steps) / args.steps)
            trainer_t.append(timed(trainer.step, args.steps) / args.steps)
            probe_t.append(timed(trainer.probe))
        b, t, p = (statistics.median(v) for v in (bare_t, trainer_t, probe_t))
        probe_ms[seq_len] = p
        print(
            f"{seq_len:>5} {1 / b:>13.1f} {1 / t:>16.1f} {b / t:>6.2f} {b * 1e3:>8.1f} "
            f"{p * 1e3:>9.1f} {p / b:>10.2f}"
        )
    print(f"probe time T=500 / T=100: {probe_ms[500] / probe_ms[100]:.2f}")


if __name__ == "__main__":
    main()
