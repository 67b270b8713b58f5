"""Shared test set-up."""

import torch

# The models under test are tiny: one intra-op thread is faster for them, and it keeps
# the suite steady on a shared 2-core machine (the app sets the same at start-up).
torch.set_num_threads(1)
