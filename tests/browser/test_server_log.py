"""The server-log watcher: what counts as a problem in a server's stderr."""

from __future__ import annotations

import pytest

from tests.browser.appserver import ServerLog, log_problems

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
