"""Fixtures for real-browser tests: a live `streamlit run app.py` and Debian's chromium.

Reusable pieces for any test under tests/browser/:

- ``base_url``: URL of a Streamlit server started once per session from the repo root.
- ``browser``: one headless chromium per session (Playwright, ``executable_path``).
- ``page``: a fresh browser context and page per test, viewport 1280x800. Page errors
  (uncaught JS exceptions) are collected in ``page.js_errors``.
- ``open_app``: ``open_app(path="")`` loads ``base_url/path``, waits for the app to
  finish its script run and returns the page.
- ``artifacts_dir``: tests/browser/artifacts/ (git-ignored) for screenshots. A failing
  test that used ``page`` leaves ``<test name>-FAILED.png`` there.

`playwright install` is never needed: we drive the system chromium
(``/usr/bin/chromium`` or ``$CHROMIUM``), which .ci/run installs with apt-get.
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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
SERVER_START_TIMEOUT_S = 60.0
APP_READY_TIMEOUT_MS = 30_000


def _free_port() -> int:
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


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(scope="session")
def base_url(artifacts_dir: Path) -> Iterator[str]:
    """Start `streamlit run app.py` on a free port; yield its URL; always stop it."""
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    # Log to files, not pipes: a full pipe buffer would block the server mid-test.
    stdout_path = artifacts_dir / "streamlit-server.stdout.log"
    stderr_path = artifacts_dir / "streamlit-server.stderr.log"
    url = f"http://127.0.0.1:{port}"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
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
                    pytest.fail(
                        f"streamlit server {why}: {' '.join(cmd)}\n"
                        f"--- stderr ---\n{stderr_path.read_text(errors='replace')}\n"
                        f"--- stdout ---\n{stdout_path.read_text(errors='replace')}",
                        pytrace=False,
                    )
                time.sleep(0.25)
            yield url
        finally:
            _stop(proc)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
        pytest.fail(
            f"chromium not found at {executable!r}: install Debian's `chromium` "
            "(bash .ci/run does) or set $CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(browser, artifacts_dir: Path, request):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    try:
        yield page
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            # Best effort: a broken page must not mask the test's own failure.
            with contextlib.suppress(Exception):
                page.screenshot(path=str(artifacts_dir / f"{name}-FAILED.png"), full_page=True)
        context.close()


@pytest.fixture
def open_app(page, base_url: str) -> Callable[..., object]:
    """Return ``open_app(path="")``: load a page of the app and wait until its script ran."""

    def _open(path: str = "", timeout_ms: int = APP_READY_TIMEOUT_MS):
        page.goto(f"{base_url}/{path.lstrip('/')}", wait_until="domcontentloaded")
        page.wait_for_selector("[data-testid=stApp]", timeout=timeout_ms)
        # stApp carries the script state; "notRunning" means the run has finished.
        page.wait_for_selector(
            "[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms
        )
        return page

    return _open
