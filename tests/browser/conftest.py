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
- ``start_app``: ``with start_app(artifacts_dir, name, extra_args, env) as url``: a server
  of the test's own.

Every server started through these fixtures is watched: after each test its stderr's new
lines are read, and a traceback, a crash or a warning there fails the test at teardown
with the lines quoted (``appserver.log_problems`` says what counts). An exception in a
fragment or a worker thread never reaches the page, so the log is the only place it
shows. The session server's last lines are checked when it stops.

`playwright install` is never needed: we drive the system chromium
(``/usr/bin/chromium`` or ``$CHROMIUM``), which .ci/run installs with apt-get.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.appserver import AppServer, ServerError, launch_chromium, running_app

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 800}
APP_READY_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR


# Servers whose log still has lines to check: running ones, and stopped ones until their
# last lines have been read.
_WATCHED: list[AppServer] = []


def check_server_logs(when: str) -> None:
    """Fail (as ``pytest.fail``) when a watched server logged a problem since the last
    check; forget stopped servers once their log is read to the end."""
    found = []
    for server in list(_WATCHED):
        stopped = server.stopped  # before reading, so no line written after is skipped
        found += [(server, problem) for problem in server.new_problems()]
        if stopped:
            _WATCHED.remove(server)
    if found:
        quoted = "\n\n".join(
            f"[{server.name}: {server.log.path}]\n{problem}" for server, problem in found
        )
        pytest.fail(
            f"the app server logged {len(found)} problem(s) {when}:\n\n{quoted}", pytrace=False
        )


@contextlib.contextmanager
def app_server(
    artifacts_dir: Path,
    name: str = "streamlit-server",
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    script: Path | None = None,
):
    """A live app for tests (``script``: another app file than app.py): a server that never
    gets healthy fails the test with its logs; its log is watched (``check_server_logs``)."""
    try:
        with running_app(artifacts_dir, name, extra_args, env, script) as server:
            _WATCHED.append(server)
            yield server
    except ServerError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(autouse=True)
def server_log_watch():
    """Fail a test during which (or since the previous check) a server logged a problem.
    Autouse fixtures are set up first, so this teardown runs after the page's: lines the
    server writes while the test's tabs close are counted too."""
    yield
    check_server_logs("during this test (or since the previous check)")


@pytest.fixture(scope="session")
def start_app() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """``with start_app(artifacts_dir, name, extra_args, env) as url``: a server of one's own
    (for tests that need other server settings than ``base_url``'s)."""
    return app_server


@pytest.fixture(scope="session")
def base_url(artifacts_dir: Path) -> Iterator[str]:
    """Start `streamlit run app.py` on a free port; yield its URL; always stop it (and
    then check the lines it logged after the last test)."""
    with app_server(artifacts_dir) as url:
        yield url
    check_server_logs("after the last test that used it")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = launch_chromium(playwright)
        except FileNotFoundError as err:
            pytest.fail(str(err), pytrace=False)
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
