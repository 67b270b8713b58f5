"""Task registry: generators, losses, metrics and analytic baselines (in base.py for now)."""

from rnn_core.tasks.base import *  # noqa: F403
