"""Shared test set-up."""

import os
import tempfile

import pytest
import torch

# The models under test are tiny: one intra-op thread is faster for them, and it keeps
# the suite steady on a shared 2-core machine (the app sets the same at start-up).
torch.set_num_threads(1)

# Finished memory-horizon sweeps are cached on disk; tests (and the app servers they
# start, which inherit the environment) keep theirs out of the checkout's cache/.
os.environ.setdefault("RNN_EXPLORER_SWEEP_DIR", tempfile.mkdtemp(prefix="rnn-explorer-sweeps-"))
# Runs are kept in a store on disk and replayed by the next visitor of the same run: tests
# start each session with an empty one, so a run always starts where the test expects.
os.environ.setdefault("RNN_EXPLORER_RUN_STORE", tempfile.mkdtemp(prefix="rnn-explorer-runs-"))


@pytest.fixture(autouse=True)
def empty_run_store(tmp_path, monkeypatch):
    """Each test in this process starts with an empty run store and no shared runs (a run
    another test kept or still watches would open at its step: AppTest never closes a
    session). Browser tests' servers share the session's store."""
    monkeypatch.setenv("RNN_EXPLORER_RUN_STORE", str(tmp_path / "runs"))
    from ui import session  # imported here: the engine's own tests need no streamlit

    session.run_store.clear()
    session.shared_jobs.clear()
