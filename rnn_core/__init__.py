"""rnn_core: train small recurrent networks and see inside them.

A plain Python + PyTorch library (no streamlit). The public API:

- ``RunConfig``, ``ConfigError``, ``LIMITS``, ``CHOICES``: one validated description of
  a run, its ranges and choices, and its URL round trip (``to_query``/``from_query``).
- ``TASKS``: name -> task (``sample``, ``loss``, ``metric``, ``baseline_loss``).
- ``MODELS``: name -> builder: fused ``torch.nn.RNN/LSTM/GRU`` plus a linear head, a TCN,
  a small causal transformer, a 2-D CNN for image tasks (``budget.py`` sizes them to a
  ``RunConfig.param_budget``).
- ``Trainer``: a resumable run (``step(n)``, ``history``, ``status``, ``probe()``,
  ``snapshots``; ``checkpoint()`` and ``Trainer.resume`` continue it bit for bit).
- ``Probe``: hidden states, gates, total dL/dh_t through time and spectra, as numpy; or,
  for any model, input saliency ||dL/dx_t|| and attention maps (light probes).
- ``unroll`` (from ``rnn_core.unrolled``): manual cells over a fused module's own
  weights.
- ``grad_norms_through_time``: ||dL/dh_t|| for every step t (mean over the batch).
"""

from rnn_core.config import CHOICES, LIMITS, ConfigError, RunConfig
from rnn_core.models import MODELS
from rnn_core.probes import Probe
from rnn_core.tasks import TASKS
from rnn_core.train import Trainer
from rnn_core.unrolled import Unrolled, grad_norms_through_time, unroll

__all__ = [
    "CHOICES",
    "LIMITS",
    "MODELS",
    "TASKS",
    "ConfigError",
    "Probe",
    "RunConfig",
    "Trainer",
    "Unrolled",
    "grad_norms_through_time",
    "unroll",
]
