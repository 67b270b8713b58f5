"""The site past one machine against one process, measured side by side in one run.

Two figures (issue: past one machine), printed as ratios and differences:

1. Runs trained per second, the Ray backend against the thread backend on the same cores:
   ``--runs`` runs of ``--steps`` steps each, all started at once, on the in-process pool
   (two slots) and on a local Ray cluster of two nodes of one CPU each (the same two
   cores). Goal: Ray / threads >= 0.9.
2. Start to the first loss point in a real browser, through nginx against straight to a
   replica, on the local topology (``deploy/local_topology.py``: nginx, two replicas, two
   Ray nodes), alternating, a fresh run each time. Goal: within 0.5 s.

Not a test: ``python3 bench/bench_ray.py`` (about five minutes; nothing else running).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from anywhere
sys.path.insert(0, str(REPO / "deploy"))

import torch  # noqa: E402

from rnn_core import RunConfig, Trainer  # noqa: E402
from rnn_core.jobs import JobManager, JobState  # noqa: E402
from rnn_core.run_store import RunStore  # noqa: E402

NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}


def runs_per_second(manager, runs: int, seed0: int) -> float:
    """Start ``runs`` runs at once and wait for every one to reach the step cap."""
    jobs = [
        manager.submit(Trainer(RunConfig(seed=seed0 + i)), owner="bench", label=f"run {i}")
        for i in range(runs)
    ]
    start = time.perf_counter()
    for job in jobs:
        job.start()
    while not all(job.state == JobState.FINISHED for job in jobs):
        bad = [
            job.reason
            for job in jobs
            if job.state not in (JobState.RUNNING, JobState.QUEUED, JobState.FINISHED)
        ]
        if bad:
            raise SystemExit(f"a run did not train: {bad}")
        time.sleep(0.05)
    return runs / (time.perf_counter() - start)


def throughput(args) -> None:
    import ray
    from ray.cluster_utils import Cluster

    from rnn_core import ray_jobs

    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, (str(REPO), os.environ.get("PYTHONPATH")))
    )
    torch.set_num_threads(1)  # as the app does: one intra-op thread per run
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    store = RunStore(tempfile.mkdtemp(prefix="bench-ray-store-"))
    threads = JobManager(max_running=2, step_cap=args.steps)
    on_ray = ray_jobs.RayJobManager(store, namespace="bench", step_cap=args.steps)
    print(f"{args.runs} runs of {args.steps} steps (default run: LSTM, adding, T=50, hidden 32)")
    ratios = []
    try:
        for r in range(args.rounds):
            seed0 = 1000 * (r + 1)  # fresh runs: nothing in the store to replay
            t = runs_per_second(threads, args.runs, seed0)
            ray_rate = runs_per_second(on_ray, args.runs, seed0 + 500)
            ratios.append(ray_rate / t)
            rates = f"threads {t:.3f} runs/s, Ray {ray_rate:.3f} runs/s"
            print(f"  round {r + 1}: {rates}, ratio {ratios[-1]:.2f}")
        print(
            f"Ray / threads, median of {args.rounds}: {statistics.median(ratios):.2f} (goal >= 0.9)"
        )
    finally:
        threads.shutdown()
        ray.shutdown()
        cluster.shutdown()


def first_point(args) -> None:
    from local_topology import LocalTopology
    from playwright.sync_api import sync_playwright

    from tests.browser.appserver import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.pagetools import chart_script

    points = chart_script(
        "return el && el.data && el.data.length ? decode(el.data[0].x).length : 0;"
    )
    times = {"nginx": [], "direct": []}
    with LocalTopology(replicas=2, ray_nodes=2) as topo, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for r in range(args.starts):
            for route, base in (("nginx", topo.url), ("direct", topo.replica_urls[0])):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.goto(f"{base}/playground?seed={7000 + 2 * r + (route == 'direct')}")
                page.wait_for_selector(
                    "[data-testid=stApp][data-test-script-state=notRunning]", timeout=120_000
                )
                page.wait_for_timeout(500)
                start = time.perf_counter()
                page.locator(".st-key-train_toggle button").first.click()
                while not page.evaluate(points, "loss_chart"):
                    if time.perf_counter() - start > 120:
                        raise SystemExit(f"no loss point after 120 s ({route})")
                    time.sleep(0.02)
                times[route].append(time.perf_counter() - start)
                page.locator(".st-key-train_toggle button").first.click()  # pause: free the CPU
                context.close()
                print(f"  start {r + 1} {route}: {times[route][-1]:.2f} s", flush=True)
        browser.close()
    nginx, direct = statistics.median(times["nginx"]), statistics.median(times["direct"])
    print(
        f"Start to first loss point, median of {args.starts}: through nginx {nginx:.2f} s, "
        f"direct {direct:.2f} s, difference {nginx - direct:+.2f} s (goal within 0.5 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=5000, help="the app's step cap")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--only", choices=("throughput", "first-point"))
    args = parser.parse_args()
    if args.only != "first-point":
        throughput(args)
    if args.only != "throughput":
        first_point(args)


if __name__ == "__main__":
    main()
