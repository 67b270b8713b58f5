"""Train every preset and race preset into the run store, so a server starts warm.

    python3 -m rnn_core.warm_store [--steps 5000] [--jobs 2] [--store DIR]

Each run of every talk preset (its own and the runs trained alongside) and of every race
preset (each model) is trained to ``--steps`` (the app's default cap per run) through a
JobManager whose keeper stores it every 500 steps and when it stops, exactly as the app
keeps runs, with the app's own Trainer options. Interrupted, it resumes from what it
stored; run again, it skips what is done. A server started on the same store then opens
every preset link with its finished curves.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from rnn_core.alongside import member_config
from rnn_core.config import ConfigError, RunConfig
from rnn_core.jobs import JobManager, JobState
from rnn_core.presets import PRESETS, RACE_OPTIONS, RACE_PRESETS, RUN_OPTIONS
from rnn_core.replay import keep_run, open_run
from rnn_core.run_store import RunStore
from rnn_core.train import Trainer


def preset_runs() -> list[tuple[str, RunConfig, dict]]:
    """(preset name, config, Trainer options) of every run the presets open, without
    repeats; a model a race refuses (its config raises) is left out, as the app does."""
    runs, seen = [], set()

    def add(name, cfg, options):
        key = (cfg, tuple(sorted(options.items())))
        if key not in seen:
            seen.add(key)
            runs.append((name, cfg, options))

    for name, preset in PRESETS.items():
        for member in (preset.config.model, *preset.alongside):
            add(name, member_config(preset.config, member), RUN_OPTIONS)
    for name, preset in RACE_PRESETS.items():
        for model in preset.models:
            try:
                add(name, preset.config.replace(model=model), RACE_OPTIONS)
            except ConfigError:
                continue
    return runs


def warm(store: RunStore, steps: int, jobs: int, say=print) -> dict[str, int]:
    """Train every preset run to ``steps`` in ``store``; returns steps done per outcome."""
    manager = JobManager(
        max_running=jobs,
        step_cap=steps,
        idle_timeout=float("inf"),  # nobody watches these pages: never pause for that
        keeper=lambda trainer: keep_run(store, trainer),
    )
    outcome = {"trained": 0, "already stored": 0}
    started = []
    try:
        for name, cfg, options in preset_runs():
            have = store.steps(cfg, Trainer.options_for(cfg, **options))
            if have >= steps:
                outcome["already stored"] += 1
                continue
            trainer = open_run(store, cfg, **options)
            job = manager.submit(trainer, owner="warm", label=f"{name}: {cfg.model}")
            job.start()
            started.append((job, trainer.steps_done))
        for job, before in started:
            while job.state.active:
                time.sleep(0.5)
            outcome["trained"] += job.steps_done - before
            say(f"{job.label}: step {job.steps_done} ({job.state}: {job.reason})")
    finally:
        manager.shutdown()
    failed = [job.label for job, _ in started if job.state == JobState.FAILED]
    if failed:
        raise RuntimeError(f"failed: {', '.join(failed)}")
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps per run (the app's cap)")
    parser.add_argument("--jobs", type=int, default=2, help="runs trained at once (one per core)")
    parser.add_argument("--store", type=Path, default=None, help="RNN_EXPLORER_RUN_STORE")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # as the app: one intra-op thread per run
    store = RunStore(args.store)
    start = time.monotonic()
    outcome = warm(store, args.steps, max(1, args.jobs))
    print(
        f"{len(preset_runs())} preset runs in {store.directory}: {outcome['trained']:,} steps "
        f"trained, {outcome['already stored']} already stored, "
        f"{time.monotonic() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
