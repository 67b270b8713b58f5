"""A short monkey walk in CI: about 200 seeded random actions over the whole app in a real
browser, with no exception on any page, no uncaught JS error and nothing wrong in the
server's log (tests/browser/monkey.py; the long walks are bench/bench_monkey.py)."""

from __future__ import annotations

import pytest

from tests.browser.appserver import running_app
from tests.browser.monkey import SERVER_ARGS, SERVER_ENV, walk

pytestmark = pytest.mark.browser

SEED = 20_260_101  # fixed: what .ci/run runs must not change from run to run
ACTIONS = 200


def test_a_seeded_random_walk_finds_no_problem(browser, start_app, artifacts_dir, tmp_path):
    env = {**SERVER_ENV, "RNN_EXPLORER_SWEEP_DIR": str(tmp_path / "sweeps")}
    print(f"monkey walk: seed {SEED}, {ACTIONS} actions")
    with start_app(artifacts_dir, "monkey-server", SERVER_ARGS, env) as server:
        result = walk(browser, server, SEED, ACTIONS)
        print(result.summary())
        if result.problems:
            pytest.fail(result.failure_message(), pytrace=False)
        assert len(result.actions) == ACTIONS
        # The walk did reach the app: most actions found something to act on.
        assert result.skipped < ACTIONS // 2, result.summary()
    # The server has stopped: what it logged while stopping (a thread that died at
    # shutdown, say) counts too.
    tail = server.new_problems()
    assert not tail, f"seed {SEED}: the server logged at shutdown:\n\n" + "\n\n".join(tail)


# A throwaway app (never the real one) with one button that breaks the page three ways.
CRASHING_APP = """\
import streamlit as st

st.title("A throwaway app for the monkey walk's own test")
if st.button("Crash", key="crash"):
    st.html("<script>setTimeout(() => { throw new Error('monkey js error'); }, 0)</script>",
            unsafe_allow_javascript=True)
    raise ValueError("the monkey found me")
"""


def test_the_walk_reports_a_crash_with_its_seed_and_last_actions(browser, tmp_path):
    app = tmp_path / "crashing_app.py"
    app.write_text(CRASHING_APP)
    seed = 1  # its ninth action (#8) is the first "button" (the kinds follow from the seed)
    # running_app, not start_app: this server is meant to log a traceback.
    with running_app(tmp_path, "crashing-server", script=app) as server:
        result = walk(browser, server, seed, 40)
    assert result.problems, result.summary()
    first = result.problems[0].index
    assert result.actions[first].kind == "button" and "Crash" in result.actions[first].detail
    assert len(result.actions) == first + 1  # it stopped at the first problem
    found = {p.what for p in result.problems}
    assert found == {"page exception", "js error", "server log"}, result.failure_message()
    message = result.failure_message()
    assert "ValueError: the monkey found me" in message
    assert "monkey js error" in message
    assert f"seed {seed}" in message and f"after action #{first}" in message
    assert f"--seed {seed} --actions {first + 1}" in message
    assert str(result.actions[first]) in message  # the last actions are quoted
