"""The server-log watcher: what counts as a problem in a server's stderr, and proof that a
test whose server logged a traceback fails (tests/browser/conftest.py)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from tests.browser.appserver import REPO_ROOT, ServerLog, log_problems

# Lines as Streamlit 1.67 writes them with appserver.LOG_ARGS (copied from a server's
# stderr; paths shortened).
STARTED = (
    "2026-12-01 15:49:58.112 INFO streamlit.web.server.starlette.starlette_server: "
    "Uvicorn server started on 127.0.0.1:51137"
)
UNCAUGHT = """\
2026-12-01 15:50:01.407 ERROR streamlit.error_util: Uncaught app execution
Traceback (most recent call last):
  File "streamlit/runtime/fragment.py", line 803, in wrapped_fragment
    result = non_optional_func(*args, **kwargs)
  File "/tmp/scratch/app.py", line 12, in f
    raise RuntimeError("fragment boom")
RuntimeError: fragment boom"""
THREAD = """\
Exception in thread job-1:
Traceback (most recent call last):
  File "threading.py", line 1045, in _bootstrap_inner
    self.run()
KeyError: 'thread boom'"""
PY_WARNING = """\
/tmp/scratch/app.py:20: UserWarning: a python warning
  warnings.warn("a python warning")"""
ST_WARNING = "2026-12-01 15:49:58.151 WARNING streamlit.net_util: Did not auto detect external IP."


def test_info_lines_are_not_problems():
    assert log_problems(f"{STARTED}\n{STARTED}\n") == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (UNCAUGHT, "RuntimeError: fragment boom"),
        (THREAD, "KeyError: 'thread boom'"),
        (PY_WARNING, "UserWarning: a python warning"),
        (ST_WARNING, "Did not auto detect external IP."),
        ("terminate called after throwing an instance of 'c10::Error'", "c10::Error"),
        ("Fatal Python error: Segmentation fault", "Segmentation fault"),
        ("Exception ignored in: <function Job.__del__ at 0x7f>", "Job.__del__"),
    ],
)
def test_each_kind_of_problem_is_one_excerpt_with_its_lines(text, shown):
    problems = log_problems(f"{STARTED}\n{text}\n{STARTED}\n")
    assert len(problems) == 1
    assert shown in problems[0]
    assert "Uvicorn server started" not in problems[0].splitlines()[-1]


def test_two_tracebacks_are_two_problems():
    assert len(log_problems(f"{UNCAUGHT}\n{UNCAUGHT}\n")) == 2
    assert len(log_problems(f"{UNCAUGHT}\n{THREAD}\n")) == 2


def test_a_harmless_pattern_hides_its_own_line_not_a_traceback_after_it():
    import re

    harmless = ((re.compile(r"Did not auto detect external IP"), "test"),)
    assert log_problems(ST_WARNING, harmless) == []
    # A traceback logged with the harmless line (exc_info) is still reported.
    traceback = UNCAUGHT.split("\n", 1)[1]
    assert len(log_problems(f"{ST_WARNING}\n{traceback}", harmless)) == 1
    assert len(log_problems(f"{ST_WARNING}\n{THREAD}", harmless)) == 1


def test_the_log_is_read_incrementally_by_complete_lines(tmp_path):
    path = tmp_path / "server.stderr.log"
    path.write_text(f"{STARTED}\n")
    log = ServerLog(path)
    assert log.new_problems() == []
    with open(path, "a") as f:
        f.write(UNCAUGHT.split("\n", 1)[0] + "\nTraceback (most rec")  # a line half written
    assert len(log.new_problems()) == 1  # the ERROR line; the half line waits
    with open(path, "a") as f:
        f.write("ent call last):\n")
    assert len(log.new_problems()) == 1  # the traceback line, once complete
    assert log.new_problems() == []  # nothing new: nothing reported twice


# ------------------------------------------------------------------ the watcher can fail
# A throwaway app (never the real one) that crashes on demand, and browser tests that make
# it crash in the ways the watcher must notice. They run in an inner pytest with this
# directory's conftest as a plugin; the outer test reads the inner results.
BROKEN_APP = """\
import threading

import streamlit as st

crash = st.query_params.get("crash", "none")
st.write(f"crash: {crash}")
if crash == "page":
    raise ValueError("page crash for the log watcher")
if crash == "fragment":
    @st.fragment(run_every=0.5)
    def tick():
        raise RuntimeError("fragment crash for the log watcher")

    tick()
if crash == "thread":
    def work():
        raise KeyError("thread crash for the log watcher")

    threading.Thread(target=work, name="watcher-proof").start()
"""

INNER_TESTS = """\
from pathlib import Path

import pytest

from tests.browser.conftest import app_server
from tests.browser.pagetools import wait_for

APP = Path(__file__).with_name("broken_app.py")
READY = "[data-testid=stApp][data-test-script-state=notRunning]"


@pytest.fixture(scope="session")
def broken_url(tmp_path_factory):
    # A session-scoped server, started like base_url.
    with app_server(tmp_path_factory.mktemp("logs"), "broken-session", script=APP) as url:
        yield url


def visit(browser, url, crash):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{url}/?crash={crash}")
    page.wait_for_selector(READY)
    page.get_by_text(f"crash: {crash}").wait_for()
    return context, page


def test_page_crash_in_the_session_server(browser, broken_url):
    context, page = visit(browser, broken_url, "page")
    page.locator("[data-testid=stException]").wait_for()  # logged before it is shown
    context.close()


def test_clean_test_on_the_same_server(browser, broken_url):
    context, page = visit(browser, broken_url, "none")
    assert page.locator("[data-testid=stException]").count() == 0
    context.close()


def test_fragment_and_thread_crash_in_a_server_of_its_own(browser, start_app, tmp_path):
    with start_app(tmp_path, "broken-own", script=APP) as url:
        context, page = visit(browser, url, "fragment")
        page.locator("[data-testid=stException]").first.wait_for()
        context.close()
        context, page = visit(browser, url, "thread")
        # A thread's exception never reaches the page: wait for it in the log.
        wait_for(lambda: "thread crash" in url.log.text(), timeout=20)
        context.close()
"""


@pytest.mark.browser
def test_the_watcher_fails_tests_whose_server_logged_a_crash(tmp_path):
    (tmp_path / "broken_app.py").write_text(BROKEN_APP)
    inner = tmp_path / "inner_watch_cases.py"
    inner.write_text(INNER_TESTS)
    junit = tmp_path / "inner.xml"
    cmd = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "tests.browser.conftest", "-c", str(REPO_ROOT / "pyproject.toml"),
        "--rootdir", str(REPO_ROOT), f"--junitxml={junit}", str(inner),
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    output = run.stdout + run.stderr
    assert junit.exists(), output
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {
        "test_page_crash_in_the_session_server",
        "test_clean_test_on_the_same_server",
        "test_fragment_and_thread_crash_in_a_server_of_its_own",
    }, output

    def outcome(name):
        errors = [e for e in cases[name] if e.tag in ("error", "failure")]
        return [(e.tag, e.get("message", ""), e.text or "") for e in errors]

    # The crashes fail their own test, at teardown (the test bodies passed), quoting the
    # server's lines; the clean test on the same session server passes: lines are read
    # once, after the test that caused them.
    page = outcome("test_page_crash_in_the_session_server")
    assert len(page) == 1 and page[0][0] == "error", output
    assert "failed on teardown" in page[0][1], output
    assert "Uncaught app execution" in page[0][2], output
    assert "ValueError: page crash for the log watcher" in page[0][2], output
    assert outcome("test_clean_test_on_the_same_server") == [], output
    own = outcome("test_fragment_and_thread_crash_in_a_server_of_its_own")
    assert len(own) == 1 and "failed on teardown" in own[0][1], output
    assert "RuntimeError: fragment crash for the log watcher" in own[0][2], output
    assert "Exception in thread watcher-proof" in own[0][2], output
    assert "KeyError: 'thread crash for the log watcher'" in own[0][2], output
    assert run.returncode == 1, output
