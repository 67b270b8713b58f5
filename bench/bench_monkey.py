"""A long monkey walk over the app in Debian's chromium: random clicks, typing, page
switches, tabs and hostile URLs against a live `streamlit run app.py`
(tests/browser/monkey.py says what it does and checks).

Not a test (a walk on a fresh seed finds new things; CI runs a fixed one):
`python3 bench/bench_monkey.py --actions 1000 --seed N` prints the seed, every problem
with the actions that led to it, and a summary: actions by kind, pages visited, elapsed
time, problems found. Without --seed it draws one (and prints it, so a failure replays).
The walk goes on after a problem (--stop stops at the first); the exit code is 1 when
there was any problem, in the pages, in the JS console or in the server's log.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.appserver import launch_chromium, running_app  # noqa: E402
from tests.browser.monkey import SERVER_ARGS, SERVER_ENV, walk  # noqa: E402


def _gist(problem) -> str:
    """One line to group problems by: a traceback's last line, else the first line
    without the tab's name."""
    lines = problem.detail.strip().split("\n")
    line = lines[-1] if problem.what == "server log" else re.sub(r"^t\d+:? ", "", lines[0])
    return line[:100]  # torch's messages go on with tensor shapes that vary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--actions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--stop", action="store_true", help="stop at the first problem")
    parser.add_argument("--quiet", action="store_true", help="print problems only")
    parser.add_argument(
        "--logs",
        type=Path,
        default=None,
        help="keep the server's logs here (default: a temporary folder)",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"monkey walk: seed {seed}, {args.actions} actions", flush=True)

    def progress(action, problems) -> None:
        if not args.quiet:
            print(f"  {action}", flush=True)
        for problem in problems:
            print(f"PROBLEM {problem}", flush=True)

    with tempfile.TemporaryDirectory(prefix="monkey-") as tmp:
        logs = args.logs or Path(tmp)
        # The CI walk's server settings (so its failures replay here); sweeps are kept
        # out of the checkout's cache.
        env = {**SERVER_ENV, "RNN_EXPLORER_SWEEP_DIR": os.path.join(tmp, "sweeps")}
        start = time.monotonic()
        with (
            running_app(logs, "monkey-server", SERVER_ARGS, env) as server,
            sync_playwright() as playwright,
        ):
            browser = launch_chromium(playwright)
            try:
                result = walk(
                    browser, server, seed, args.actions, stop_on_problem=args.stop,
                    progress=progress,
                )  # fmt: skip
            finally:
                browser.close()
        tail = server.new_problems()  # what the server logged while it stopped
        for problem in tail:
            print(f"PROBLEM at shutdown (server log):\n{problem}", flush=True)
        print(f"\n{result.summary()}")
        total = len(result.problems) + len(tail)
        distinct = sorted({(p.what, _gist(p)) for p in result.problems})
        at_shutdown = f", {len(tail)} at shutdown" if tail else ""
        print(f"  problems: {total} ({len(distinct)} distinct{at_shutdown})")
        for what, gist in distinct:
            print(f"    {what}: {gist}")
        print(f"  wall time with server start and stop: {time.monotonic() - start:.0f} s")
        if result.problems:
            print("\n" + result.failure_message())
        print(f"seed {seed}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
