"""Shared test set-up."""

import os
import tempfile

import torch

# The models under test are tiny: one intra-op thread is faster for them, and it keeps
# the suite steady on a shared 2-core machine (the app sets the same at start-up).
torch.set_num_threads(1)

# Finished memory-horizon sweeps are cached on disk; tests (and the app servers they
# start, which inherit the environment) keep theirs out of the checkout's cache/.
os.environ.setdefault("RNN_EXPLORER_SWEEP_DIR", tempfile.mkdtemp(prefix="rnn-explorer-sweeps-"))
