"""Start the app with `streamlit run` and Debian's chromium: shared by the browser tests
(tests/browser/conftest.py) and the benchmarks that drive a browser (bench/bench_app.py,
bench/bench_monkey.py).

The server's stderr is the ground truth: an exception in a fragment or a worker thread
never reaches the page. ``running_app`` yields an ``AppServer``, the URL with the server's
log attached, and ``log_problems`` finds tracebacks and warnings in it.
"""

from __future__ import annotations

import contextlib
import os
import re
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

# Streamlit's default log format ("%(asctime)s %(message)s") drops the level, so its
# warnings could not be told from its info lines; every server started here logs the level
# and the logger's name. Tracebacks are logged plain (not through the optional `rich`
# package, whose boxed layout would depend on what happens to be installed).
LOG_ARGS = (
    "--logger.messageFormat", "%(asctime)s %(levelname)s %(name)s: %(message)s",
    "--logger.enableRich", "false",
)  # fmt: skip
_TIMESTAMP = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[.,]\d{3} "
# What Python itself prints without a timestamp, each the first line of its own record.
_UNSTAMPED = (
    r"^Exception in thread"  # threading's excepthook
    r"|^Exception ignored in"  # an exception in __del__, a weakref callback, ...
    r"|^(Task|Future) exception was never retrieved"  # asyncio
    r"|^terminate called"  # a C++ exception nobody caught (libtorch)
    r"|^Fatal Python error"  # faulthandler: segfault, abort
    r"|^\S.*:\d+: \w*Warning: "  # the warnings module: "file:line: XWarning: message"
)
_RECORD_START = re.compile(f"{_TIMESTAMP}|{_UNSTAMPED}")
_PROBLEM_LINE = re.compile(
    f"{_TIMESTAMP}(WARNING|ERROR|CRITICAL) "  # a log record at warning level or above
    r"|Traceback \(most recent call last\)"  # any Python traceback
    f"|{_UNSTAMPED}"
)
# Lines that look like problems but are not, as (pattern, why); each needs evidence. None
# so far: in the browser tests and in 1,000-action monkey walks (README, "Monkey walks")
# these servers logged nothing but their INFO start line besides real tracebacks. The one
# Streamlit warning seen here, "Did not auto detect external IP", comes only from a server
# listening on every interface; these listen on 127.0.0.1 (--server.address below).
HARMLESS: tuple[tuple[re.Pattern[str], str], ...] = ()
EXCERPT_LINES = 40


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


def log_problems(text: str, harmless=HARMLESS) -> list[str]:
    """Every log record of ``text`` that holds a traceback, a crash or a warning, as an
    excerpt. A record is a timestamped line (or the first line of something Python prints
    by itself, such as "Exception in thread") with the lines that follow it up to the next
    record (its traceback); a record counts as a problem when one of its lines is a problem
    line that no ``harmless`` pattern matches."""
    records: list[list[str]] = [[]]
    for line in text.splitlines():
        if _RECORD_START.match(line) and records[-1]:
            records.append([])
        records[-1].append(line)
    problems = []
    for record in records:
        if any(
            _PROBLEM_LINE.search(line) and not any(pattern.search(line) for pattern, _ in harmless)
            for line in record
        ):
            shown = record[:EXCERPT_LINES]
            if len(record) > EXCERPT_LINES:
                shown.append(f"... ({len(record) - EXCERPT_LINES} more lines)")
            problems.append("\n".join(shown))
    return problems


class ServerLog:
    """A server's stderr file, read incrementally: ``new_problems()`` looks at the complete
    lines written since its last call (a line still being written waits for the next)."""

    def __init__(self, path: Path):
        self.path = path
        self.checked = 0  # bytes already looked at

    def text(self, start: int = 0) -> str:
        with open(self.path, "rb") as f:
            f.seek(start)
            return f.read().decode(errors="replace")

    def new_problems(self) -> list[str]:
        with open(self.path, "rb") as f:
            f.seek(self.checked)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.checked += end
        return log_problems(data[:end].decode(errors="replace"))


class AppServer(str):
    """The URL of a running app (a str: ``f"{server}/playground"``) with its stderr log and
    process, so a test or a script can look at what the server printed."""

    name: str
    log: ServerLog
    proc: subprocess.Popen
    stopping: bool  # set once whoever started it is stopping it: an exit is then expected

    def __new__(cls, url: str, name: str, log: ServerLog, proc: subprocess.Popen):
        server = super().__new__(cls, url)
        server.name, server.log, server.proc = name, log, proc
        server.stopping, server._exit_said = False, False
        return server

    @property
    def stopped(self) -> bool:
        return self.proc.poll() is not None

    def new_problems(self) -> list[str]:
        """Problems in the log since the last call; a server that died by itself is one."""
        problems = self.log.new_problems()
        code = self.proc.poll()
        if code is not None and not self.stopping and not self._exit_said:
            problems.append(f"the server exited by itself with code {code}")
            self._exit_said = True
        return problems


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
def running_app(
    log_dir: Path,
    name: str = "streamlit-server",
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    script: Path | None = None,
    launcher: str = "streamlit",
) -> Iterator[AppServer]:
    """`streamlit run app.py` (or another ``script``, run from its own folder) on a free
    port; yields the server (its URL, a str, with its log); always stops it. ``launcher``
    is the module run with ``python -m`` (a benchmark's wrapper of streamlit's command
    line that measures the server from inside)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    cwd, target = (REPO_ROOT, "app.py") if script is None else (script.parent, script.name)
    port = free_port()
    cmd = [
        sys.executable, "-m", launcher, "run", target,
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        *LOG_ARGS,
        *extra_args,
    ]  # fmt: skip
    # Log to files, not pipes: a full pipe buffer would block the server mid-test.
    stdout_path = log_dir / f"{name}.stdout.log"
    stderr_path = log_dir / f"{name}.stderr.log"
    url = f"http://127.0.0.1:{port}"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while not _health_ok(f"{url}/_stcore/health"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = (
                        f"exited with code {proc.returncode}"
                        if proc.poll() is not None
                        else f"not healthy after {SERVER_START_TIMEOUT_S:.0f} s"
                    )
                    raise ServerError(
                        f"streamlit server {why}: {' '.join(cmd)}\n"
                        f"--- stderr ---\n{stderr_path.read_text(errors='replace')}\n"
                        f"--- stdout ---\n{stdout_path.read_text(errors='replace')}"
                    )
                time.sleep(0.25)
            server = AppServer(url, name, ServerLog(stderr_path), proc)
            try:
                yield server
            finally:
                server.stopping = True
        finally:
            _stop(proc)


def launch_chromium(playwright):
    """Headless Debian chromium (`playwright install` cannot download browsers here)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        raise FileNotFoundError(
            f"chromium not found at {CHROMIUM!r}: install Debian's "
            "`chromium` (bash .ci/run does) or set $CHROMIUM"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
