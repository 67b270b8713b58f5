"""Start the app with `streamlit run` and Debian's chromium: shared by the browser tests
(tests/browser/conftest.py) and the app benchmark (bench/bench_app.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SERVER_START_TIMEOUT_S = 60.0


class ServerError(RuntimeError):
    """The app server did not become healthy; the message carries its logs."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and anything it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def running_app(log_dir: Path, name: str = "streamlit-server",
                extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None
                ) -> Iterator[str]:
    """`streamlit run app.py` on a free port; yields its URL; always stops it."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        *extra_args,
    ]  # fmt: skip
    # Log to files, not pipes: a full pipe buffer would block the server mid-test.
    stdout_path = log_dir / f"{name}.stdout.log"
    stderr_path = log_dir / f"{name}.stderr.log"
    url = f"http://127.0.0.1:{port}"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True,
                                env={**os.environ, **(env or {})})
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _health_ok(f"{url}/_stcore/health"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = (f"exited with code {proc.returncode}" if proc.poll() is not None
                           else f"not healthy after {SERVER_START_TIMEOUT_S:.0f} s")
                    raise ServerError(
                        f"streamlit server {why}: {' '.join(cmd)}\n"
                        f"--- stderr ---\n{stderr_path.read_text(errors='replace')}\n"
                        f"--- stdout ---\n{stdout_path.read_text(errors='replace')}")
                time.sleep(0.25)
            yield url
        finally:
            _stop(proc)


def launch_chromium(playwright):
    """Headless Debian chromium (`playwright install` cannot download browsers here)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise FileNotFoundError(f"chromium not found at {CHROMIUM!r}: install Debian's "
                                "`chromium` (bash .ci/run does) or set $CHROMIUM")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
