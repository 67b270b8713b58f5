"""Runs between a trainer and the store: open the run a visitor asks for, keep it after.

``open_run`` gives the trainer of a run: the stored one resumed where it was kept (its
curves and snapshots at once, training goes on past them), or a new one at step 0.
``keep_run`` stores a trainer's run as it is now (a JobManager's keeper calls it at
milestones and whenever a run stops training). The app and the store's warm start
(``rnn_core.warm_store``) both go through here, so they agree on what a run is.
"""

from __future__ import annotations

import logging

from rnn_core.config import RunConfig
from rnn_core.run_store import RunStore
from rnn_core.train import Trainer

_LOG = logging.getLogger(__name__)


def open_run(store: RunStore, config: RunConfig, **options) -> Trainer:
    """The run of ``config`` trained with ``options``: resumed from ``store`` if it holds
    it, else new."""
    stored = store.load(config, Trainer.options_for(config, **options))
    if stored is not None:
        try:
            return Trainer.resume(stored.checkpoint, stored.history, stored.snapshots, **options)
        except ValueError as err:  # a stored run this engine cannot take: train anew
            _LOG.warning("stored run %s not resumed: %s", stored.key[:16], err)
    return Trainer(config, **options)


def keep_run(store: RunStore, trainer) -> None:
    """Store ``trainer``'s run as it is now (a checkpoint, its history and snapshots of
    one step); anything that is not a run's Trainer (a sweep) is left alone."""
    if not hasattr(trainer, "resume_point") or trainer.config.data != "default":
        return  # not a run, or a run on a visitor's private data (never stored)
    checkpoint, history, snapshots = trainer.resume_point()
    store.save(
        trainer.config,
        trainer.options,
        history=history,
        snapshots=snapshots,
        checkpoint=checkpoint,
    )
