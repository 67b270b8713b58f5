"""A Job's steps/s vs calling Trainer.step directly, on the same config.

Prints the ratio measured side by side in one run (rounds interleaved, medians). Not a
test: run `python3 bench/bench_jobs.py`. Target (jobs issue): ratio >= 0.8.

Each Job round is what the Step button does: request_steps(N) from paused, then wait
until the worker has run them and given its slot back, so the time includes the thread
start, the adaptive chunking and the hand-off, not only the trainer's own steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from rnn_core import RunConfig, Trainer  # noqa: E402
from rnn_core.jobs import JobManager  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="steps per round per side")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = RunConfig(model="lstm", hidden_size=64, batch_size=64, seq_len=100)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), lstm hidden 64, batch 64, "
        f"T=100, {args.rounds} rounds x {args.steps} steps"
    )

    direct = Trainer(cfg)
    manager = JobManager(step_cap=10**9)
    job = manager.submit(Trainer(cfg), owner="bench")
    direct.step(2)  # warm up both (allocator, oneDNN primitives)
    job.request_steps(2)
    job.wait_paused(60)

    direct_t, job_t, job_sps = [], [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        direct.step(args.steps)
        direct_t.append((time.perf_counter() - start) / args.steps)

        before = job.steps_done
        start = time.perf_counter()
        job.request_steps(args.steps)
        if not job.wait_paused(600):
            raise SystemExit("the job did not finish its steps")
        job_t.append((time.perf_counter() - start) / args.steps)
        assert job.steps_done - before == args.steps, job.reason
        job_sps.append(job.steps_per_second)
    manager.shutdown()

    d, j = statistics.median(direct_t), statistics.median(job_t)
    print(f"{'direct steps/s':>15} {'Job steps/s':>12} {'ratio':>6} {'Job own steps/s':>16}")
    print(f"{1 / d:>15.1f} {1 / j:>12.1f} {d / j:>6.2f} {statistics.median(job_sps):>16.1f}")


if __name__ == "__main__":
    main()
