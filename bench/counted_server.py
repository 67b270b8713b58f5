"""`streamlit run`, measured from inside: every half second the server process writes the
trainer steps it has executed (and the CPU seconds they took), its resident memory, its
CPU seconds and its threads to the JSON file named by RNN_EXPLORER_BENCH_STATS (read by
bench/bench_class.py).

Run from the repository root as ``python -m bench.counted_server run app.py ...`` (the
arguments of ``streamlit run``). Counting wraps ``Trainer.step`` before the app imports
it; nothing else of the app changes.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from rnn_core.train import Trainer

STATS_FILE = os.environ["RNN_EXPLORER_BENCH_STATS"]
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
_lock = threading.Lock()
_steps = [0]
_training_cpu = [0.0]  # CPU seconds spent inside Trainer.step, on the trainers' threads
_step = Trainer.step


def _counted_step(self, n: int = 1) -> int:
    started = time.thread_time()
    done = _step(self, n)
    spent = time.thread_time() - started
    with _lock:
        _steps[0] += done
        _training_cpu[0] += spent
    return done


def _threads() -> int:
    """Every thread of the process, native ones (torch's, the browser socket's) included."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Threads:"))


def _write_forever() -> None:
    while True:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * PAGE_BYTES
        times = os.times()
        with _lock:
            steps, training_cpu = _steps[0], _training_cpu[0]
        stats = {
            "time": time.time(),
            "steps": steps,
            "training_cpu_s": training_cpu,
            "rss_mb": rss / 2**20,
            "cpu_s": times.user + times.system,
            "threads": _threads(),
            "python_threads": sorted(t.name for t in threading.enumerate()),
        }
        tmp = f"{STATS_FILE}.tmp"
        with open(tmp, "w") as f:
            json.dump(stats, f)
        os.replace(tmp, STATS_FILE)
        time.sleep(0.5)


def main() -> None:
    Trainer.step = _counted_step
    threading.Thread(target=_write_forever, name="bench-stats", daemon=True).start()
    from streamlit.web.cli import main as streamlit_main

    sys.exit(streamlit_main())


if __name__ == "__main__":
    main()
