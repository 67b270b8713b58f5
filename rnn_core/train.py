"""Trainer: a resumable training run that the UI advances and never owns.

``step(n)`` runs n optimizer steps and returns. Every random draw comes from the
trainer's own generators (weights, data, probe batch, held-out batch), so the same
RunConfig gives the same history in whichever thread runs it and whatever the probe
cadence. A NaN/inf loss or weight is an expected outcome of exploding gradients: the
trainer restores the last finite weights, marks itself "diverged" and stops.

``checkpoint()`` gives a plain dict of tensors and numbers that ``Trainer.resume`` turns
back into a trainer which continues the run bit for bit (with the history and snapshots
of the same step), so a run can be stored, and one shared run forked into private ones.

The module is longer than most here on purpose: ``step``, the probes, the questions and
the checkpoint all read and write one trainer's state under one lock, and a bit-for-bit
resume means ``checkpoint`` and ``resume`` name every piece of that state; keeping them
beside ``__init__`` and ``step`` is how one checks that none is missed. The checks a
checkpoint must pass before a trainer takes it over are in ``rnn_core.checkpoint``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import threading
import time

import numpy as np
import pandas as pd
import torch

from rnn_core import input_probe, text_units
from rnn_core.checkpoint import (
    CHECKPOINT_VERSION,
    OPTION_NAMES,
    CheckpointError,
    check_optimizer,
    check_tensor_list,
    check_tensors,
    checked_config,
    checked_fields,
    checked_snapshots,
    history_rows,
    plain_options,
    tensor_copies,
)
from rnn_core.config import RunConfig
from rnn_core.generate import sample_text
from rnn_core.models import RECURRENT, RecurrentModel, build_model, count_parameters
from rnn_core.probes import Probe, take_light_probe, take_probe
from rnn_core.tasks import TASKS, Task
from rnn_core.unrolled import unroll

# Independent streams derived from the run's seed (fixed offsets keep them apart and
# reproducible; Python's hash() of a string is salted per process, so not that).
_DATA_STREAM, _PROBE_STREAM, _EVAL_STREAM = 1_000_003, 2_000_029, 3_000_061
DATA_STREAM = _DATA_STREAM  # the training batches' offset, which exported scripts restate

HISTORY_COLUMNS = (
    "step",
    "loss",
    "metric",
    "grad_norm",
    "clipped",
    "seconds",
    "test_loss",
    "test_metric",
)

_OPTIMIZERS = {
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "rmsprop": lambda params, lr: torch.optim.RMSprop(params, lr=lr),
}


@contextlib.contextmanager
def denormals_flushed():
    """Treat subnormal floats as zero on the calling thread, for the duration.

    Vanishing gradients are the point of this app, and they pass through the subnormal
    range on their way to zero, where CPU arithmetic is many times slower: a fused LSTM
    step at T=500 with the loss on the last step measured 5x slower without this. The
    flag lives in the thread's floating-point control register: it is set around every
    step and probe (the same numerics whichever thread runs) and cleared afterwards, so
    the caller's thread is left as IEEE-754 expects (torch has no getter to restore a
    caller's own choice; the default is off). Code that runs a trained model outside a
    Trainer (the sweep's scoring) wraps it in this too, so it computes what training did.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class Trainer:
    """Train ``config``'s model on its task, one resumable step at a time.

    Readable from any thread while ``step()`` runs: ``history`` (a DataFrame copy),
    ``snapshots`` (a list copy), ``status``, ``steps_done``, and the fixed facts
    ``config``, ``shape``, ``num_parameters``, ``baseline_loss``.

    The model itself belongs to whoever steps it. The optimiser updates the weights in
    place, so a probe of a model that another thread is training reads half-updated
    weights or fails in backward ("modified by an inplace operation"). Everything that
    reads the model (``probe``, ``sample``, ``track_units``, ``evaluate``, ``checkpoint``;
    ``answer`` dispatches to them by name) holds the same lock as ``step``, and a
    JobManager asks its own worker thread to answer between two chunks of steps
    (``Job.ask``), so a page never touches a live model.

    probe_every: take a snapshot probe every k steps (k doubles when the snapshot
        memory budget fills, keeping every other snapshot, so early training stays).
    snapshot_bytes: the memory budget of all snapshots together.
    snapshot_sequences: how many probe sequences each snapshot keeps.
    eval_every: evaluate the held-out split every k steps (tasks with a split only).
    light_probes: snapshot only what every model kind has (outputs, input saliency,
        attention maps), not the recurrent unroll; always so for non-recurrent models.
    """

    def __init__(
        self,
        config: RunConfig,
        *,
        probe_every: int = 25,
        snapshot_bytes: int = 24 * 2**20,
        probe_batch: int = 8,
        snapshot_sequences: int = 2,
        eval_every: int = 25,
        eval_batch: int = 64,
        light_probes: bool = False,
        task: Task | None = None,
    ):
        self.config = config
        self.task = task_for(config, task)
        self.shape = config.shape  # widths (from the parameter budget, if any)
        self.model = build_model(
            config, self.task.input_size, self.task.output_size, self.shape.kwargs
        )
        self.num_parameters = count_parameters(self.model)
        # Decided from the config, as options_for does (a run store's key holds it).
        self.light_probes = light_probes or not full_probes(config)
        self.optimizer = _OPTIMIZERS[config.optimizer](
            self.model.parameters(), config.learning_rate
        )
        seed = config.seed
        self._data_gen = torch.Generator().manual_seed(seed + _DATA_STREAM)
        self._probe_x, self._probe_y = self.task.probe_batch(
            probe_batch, config.seq_len, torch.Generator().manual_seed(seed + _PROBE_STREAM)
        )
        self._eval_every = eval_every
        self._eval = None
        if self.task.has_split:
            self._eval = self.task.held_out(
                eval_batch, config.seq_len, torch.Generator().manual_seed(seed + _EVAL_STREAM)
            )
        # The output step whose loss term a probe's ``connectivity`` follows back.
        self.last_scored_step = self.task.scored_indices(config.seq_len)[-1]
        self.probe_every = probe_every
        # The options as given, for checkpoint(): each one changes the history or the
        # snapshots (light_probes as it takes effect: every non-recurrent model has it).
        self._options = {
            "probe_every": probe_every,
            "snapshot_bytes": snapshot_bytes,
            "probe_batch": probe_batch,
            "snapshot_sequences": snapshot_sequences,
            "eval_every": eval_every,
            "eval_batch": eval_batch,
            "light_probes": self.light_probes,
        }
        self.snapshot_bytes = snapshot_bytes
        self.snapshot_sequences = snapshot_sequences
        self.status = "ok"
        self.message = ""
        self.steps_done = 0
        self._seconds = 0.0
        self._rows: list[tuple] = []
        self._snapshots: list[Probe] = []
        self._lock = threading.Lock()
        self._step_lock = threading.Lock()  # one step() at a time per trainer
        # The weights of the last step whose loss was finite, restored on divergence.
        self._last_good = [p.detach().clone() for p in self.model.parameters()]
        self._untrained_best: dict[int, dict] = {}  # track_units of the initial weights

    # ------------------------------------------------------------------ read side
    @property
    def history(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        frame = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
        return frame.astype({"step": "int64", "clipped": "bool"})

    @property
    def snapshots(self) -> list[Probe]:
        with self._lock:
            return list(self._snapshots)

    @property
    def baseline_loss(self) -> float:
        """The trivial baseline of the training split (what ``loss`` is measured on)."""
        return self.task.baseline_loss(self.config.seq_len)

    @property
    def test_baseline_loss(self) -> float:
        """The trivial baseline of the held-out split (what ``test_loss`` is measured
        on), NaN for tasks without one."""
        if not self.task.has_split:
            return math.nan
        return self.task.baseline_loss(self.config.seq_len, "test")

    @property
    def held_out_size(self) -> int:
        """How many held-out sequences ``test_loss`` is measured on (0: none)."""
        return 0 if self._eval is None else int(self._eval[0].shape[0])

    # ------------------------------------------------------------------ write side
    def step(self, n: int = 1) -> int:
        """Run up to n optimizer steps; returns how many ran (0 once diverged)."""
        done = 0
        with self._step_lock, denormals_flushed():
            if not self._snapshots and self.status == "ok":
                self._snapshot()  # step 0: the untrained model
            for _ in range(max(0, int(n))):
                if self.status != "ok":
                    break
                self._one_step()
                done += 1
                if self.status == "ok" and self.steps_done % self.probe_every == 0:
                    self._snapshot()
        return done

    # ------------------------------------------------------------------ questions
    # What a page may ask of the model, by name (``answer``): a run in another thread or
    # process can only be asked, and every answer is plain data (numpy, str, numbers; a
    # checkpoint's tensors, which torch.load reads back with weights_only=True).
    QUESTIONS = ("probe", "sample", "track_units", "checkpoint", "outputs", "probe_inputs")

    def answer(self, question: str, **kwargs):
        """The answer to one of ``QUESTIONS`` (ValueError for any other name).
        "checkpoint" answers ``resume_point()``: (checkpoint, history, snapshots)."""
        if question not in self.QUESTIONS:
            raise ValueError(f"a Trainer answers {', '.join(self.QUESTIONS)}, not {question!r}")
        if question == "checkpoint":
            # Whoever forks a run needs the history and snapshots of the very step the
            # checkpoint is of, and a worker steps on between two questions.
            return self.resume_point(**kwargs)
        return getattr(self, question)(**kwargs)

    def probe(self, sequences: int | None = None, target_step: int | None = None) -> Probe:
        """A probe of the current weights on the fixed probe batch (its first
        ``sequences`` sequences when given: a page that shows one needs no eight), with
        ``connectivity`` from output step ``target_step`` (default: the last scored
        step). Waits for a ``step()`` in progress to return."""
        with self._step_lock, denormals_flushed():
            return self._take_probe(sequences, target_step)

    def probe_inputs(self, x: np.ndarray | None = None) -> Probe:
        """A probe without gradients of the current weights on inputs ``x`` (B, T,
        input_size) a page sends (an edited sequence; ``rnn_core.input_probe``), or, with
        None, on the run's probe sequence #1 and its own targets. ValueError, in one
        sentence for the page, for inputs that do not fit the task."""
        if x is not None:
            x = input_probe.checked_inputs(self.task, x, self.task.total_len(self.config.seq_len))
        with self._step_lock, denormals_flushed():
            own = self._probe_y[:1] if x is None else None
            x = self._probe_x[:1] if x is None else x
            return input_probe.probe_on_inputs(self.model, self.task, x, self.steps_done, own)

    MAX_OUTPUT_CELLS = 4_000_000  # inputs a page may send at once (B * T * I values)

    @torch.no_grad()
    def outputs(self, x: np.ndarray) -> tuple[int, np.ndarray]:
        """(step, outputs): the model's outputs, (B, T, O) float32, for inputs ``x`` of
        shape (B, T, input_size) laid out as the task's batches are, at the current step,
        in evaluation mode. How an application page reads the model on its own inputs (a
        typed sentence, a whole series); the arrays are plain numpy both ways. Waits for a
        ``step()`` in progress to return; ValueError for inputs of the wrong shape."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 3 or x.shape[2] != self.task.input_size or 0 in x.shape:
            raise ValueError(
                f"inputs must have shape (batch, steps, {self.task.input_size}), got {x.shape}"
            )
        if x.size > self.MAX_OUTPUT_CELLS:
            raise ValueError(f"at most {self.MAX_OUTPUT_CELLS:,} input values at once")
        if not np.isfinite(x).all():
            raise ValueError("inputs must be finite numbers")
        with self._step_lock, denormals_flushed():
            self.model.eval()
            out = self.model(torch.from_numpy(x))
            return self.steps_done, out.numpy().astype(np.float32)

    @torch.no_grad()
    def sample(
        self, prime: str = "def ", length: int = 300, temperature: float = 0.8
    ) -> tuple[int, str]:
        """(step, text): ``length`` characters continuing ``prime``, drawn at the current
        step from a generator seeded by the run's seed and that step, so the same run,
        step and temperature give the same text. Character tasks only."""
        if not hasattr(self.task, "encode") or not isinstance(self.model, RecurrentModel):
            raise ValueError(f"{self.task.title} is not a character task: nothing to sample")
        with self._step_lock, denormals_flushed():
            step = self.steps_done
            gen = torch.Generator().manual_seed(self.config.seed + step)
            return step, sample_text(
                self.model,
                self.task,
                prime=prime,
                length=length,
                temperature=temperature,
                generator=gen,
            )

    @torch.no_grad()
    def track_units(self, length: int = 20_000, excerpt: int = 600) -> text_units.UnitTracking:
        """Correlations of the last layer's units with the features of ``length``
        held-out characters read in one pass, beside the untrained network's (the run's
        initial weights, rebuilt from its seed). An LSTM's units are read in its cell
        state c: on the char preset, c's correlations stood clearly above the untrained
        network's, h's (c passed through the output gate) did not. Other cells: h.
        Character tasks only."""
        if not hasattr(self.task, "held_out_text") or not isinstance(self.model, RecurrentModel):
            raise ValueError(f"{self.task.title} is not a character task: no text to track")
        codes = self.task.held_out_text(length)
        text = self.task.decode(codes)
        features = text_units.text_features(text)
        x = torch.nn.functional.one_hot(codes, self.task.input_size).float()[None]
        if length not in self._untrained_best:
            initial = build_model(
                self.config, self.task.input_size, self.task.output_size, self.shape.kwargs
            )
            with denormals_flushed():
                states = _tracked_states(initial, x)
            self._untrained_best[length] = text_units.best_per_feature(
                text_units.rank_units(states, features)
            )
        with self._step_lock, denormals_flushed():
            states = _tracked_states(self.model, x)
            step = self.steps_done
        return text_units.UnitTracking(
            step=step,
            chars=len(text),
            state="cell state c" if self.config.model == "lstm" else "h",
            ranking=text_units.rank_units(states, features),
            untrained_best=self._untrained_best[length],
            excerpt=text[:excerpt],
            excerpt_hidden=states[:excerpt].astype(np.float32),
        )

    # ------------------------------------------------------------------ checkpoints
    @property
    def options(self) -> dict:
        """The options that change what this run records (``options_for`` its config and
        the options it was given): with the config, what makes two runs the same run."""
        return dict(self._options)

    @classmethod
    def options_for(cls, config: RunConfig, **given) -> dict:
        """``Trainer(config, **given).options`` without building the trainer (a store looks
        a run up by them before deciding how to build it)."""
        defaults = {
            name: p.default
            for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.kind is p.KEYWORD_ONLY and name != "task"  # the data, not an option
        }
        unknown = set(given) - set(defaults)
        if unknown:
            raise TypeError(f"unknown Trainer options: {', '.join(sorted(unknown))}")
        options = {**defaults, **given}
        options["light_probes"] = bool(options["light_probes"]) or not full_probes(config)
        return options

    def checkpoint(self) -> dict:
        """Everything ``resume()`` needs to continue this run exactly, as a plain dict
        of tensors, numbers, strings, None and lists/dicts of them: ``torch.save``
        writes it and ``torch.load(..., weights_only=True)`` reads it back. Taken
        between two steps (waits for a ``step(n)`` call in progress to return); its
        tensors are copies.
        The history and snapshots are not in it: ``resume_point()`` gives all three."""
        with self._step_lock:
            return self._checkpoint()

    def resume_point(self) -> tuple[dict, pd.DataFrame, list[Probe]]:
        """(checkpoint, history, snapshots) of one step, taken together between two
        steps: the arguments of ``Trainer.resume`` (the question "checkpoint")."""
        with self._step_lock:
            return self._checkpoint(), self.history, self.snapshots

    @classmethod
    def resume(
        cls,
        checkpoint: dict,
        history: pd.DataFrame,
        snapshots: list[Probe],
        **trainer_kwargs,
    ) -> Trainer:
        """A Trainer that continues the run where ``checkpoint`` was taken, with
        ``history`` and ``snapshots`` (of that same step) as its own record: stepping it
        gives, bit for bit, what the checkpointed trainer's next steps gave.

        Options left out (``probe_every``, ...) are the checkpoint's; options given must
        equal them, since another probe cadence or budget records another run. Raises
        CheckpointError (a ValueError) for a checkpoint of another format version, or
        one that does not fit: a missing key, an invalid config, tensors of other
        shapes, a history or snapshots of another step.
        """
        ck = checked_fields(checkpoint)
        config = checked_config(ck["config"])
        unknown = sorted(set(trainer_kwargs) - set(OPTION_NAMES))
        if unknown:
            raise CheckpointError(f"a Trainer has no option {', '.join(unknown)}")
        trainer = cls(config, **{**ck["options"], **trainer_kwargs})
        for name, taken in ck["options"].items():
            now = trainer._options[name]
            if now != taken:
                raise CheckpointError(
                    f"the checkpoint was taken with {name}={taken!r}, not {now!r}: "
                    f"the resumed run would record differently"
                )
        trainer._load(ck, history, snapshots)
        return trainer

    def _checkpoint(self) -> dict:
        # Callers hold the step lock, so no step moves the weights or counters meanwhile.
        with self._lock:
            last_row = list(self._rows[-1]) if self._rows else None
            snapshot_steps = [p.step for p in self._snapshots]
            snapshot_nbytes = sum(p.nbytes for p in self._snapshots)
        if last_row is not None:
            del last_row[HISTORY_COLUMNS.index("seconds")]  # wall-clock, not the run's
        return {
            "version": CHECKPOINT_VERSION,
            "config": self.config.to_query(),
            "options": plain_options(self._options),
            "steps_done": int(self.steps_done),
            "probe_every": int(self.probe_every),  # after any doubling
            "seconds": float(self._seconds),
            "status": self.status,
            "message": self.message,
            # A state_dict holds the live tensors: the next step would change them.
            "model": tensor_copies(self.model.state_dict()),
            "optimizer": tensor_copies(self.optimizer.state_dict()),
            "last_good": [t.clone() for t in self._last_good],
            # The one stream that advances. The probe and held-out streams are drawn once,
            # in __init__, into fixed batches that resume() draws again from the seed, and
            # sample() seeds a generator of its own from the seed and the step.
            "data_generator": self._data_gen.get_state(),
            # What the history and snapshots handed to resume() must match.
            "record": {
                "last_row": last_row,
                "snapshot_steps": snapshot_steps,
                "snapshot_nbytes": int(snapshot_nbytes),
            },
        }

    def _load(self, ck: dict, history: pd.DataFrame, snapshots: list[Probe]) -> None:
        """Take over a checked checkpoint's state; this trainer is fresh from __init__."""
        params = list(self.model.parameters())
        check_tensors("model", ck["model"], self.model.state_dict())
        check_optimizer(ck["optimizer"], self.optimizer, params, self.config.optimizer)
        check_tensor_list("last_good", ck["last_good"], params)
        record = ck["record"]
        rows = history_rows(history, HISTORY_COLUMNS, ck["steps_done"], record["last_row"])
        snapshots = checked_snapshots(snapshots, record)
        probe_every = ck["probe_every"]
        doubled, rest = divmod(probe_every, self.probe_every)
        if rest or doubled < 1 or doubled & (doubled - 1):
            raise CheckpointError(
                f"the checkpoint's probe_every {probe_every} is not its option probe_every "
                f"{self.probe_every} doubled (the snapshot budget only ever doubles it)"
            )
        try:
            self._data_gen.set_state(ck["data_generator"])
        except (RuntimeError, TypeError) as err:
            raise CheckpointError(
                f"the checkpoint's data_generator is not a generator's state: {err}"
            ) from None
        self.model.load_state_dict(ck["model"])
        # Copies: the loaded state would otherwise be the checkpoint's own tensors, which
        # every optimizer here updates in place (moments, momentum), so a second resume
        # from the same dict would start elsewhere.
        self.optimizer.load_state_dict(tensor_copies(ck["optimizer"]))
        with torch.no_grad():
            for saved, value in zip(self._last_good, ck["last_good"], strict=True):
                saved.copy_(value)
        self.steps_done = ck["steps_done"]
        self.probe_every = probe_every
        self._seconds = float(ck["seconds"])
        self.status = ck["status"]
        self.message = ck["message"]
        with self._lock:
            self._rows = rows
            self._snapshots = snapshots

    def _take_probe(self, sequences: int | None = None, target_step: int | None = None) -> Probe:
        # Callers hold denormals_flushed(); it is not re-entrant (its exit clears the flag).
        n = self._probe_x.shape[0] if sequences is None else max(1, int(sequences))
        x, y = self._probe_x[:n], self._probe_y[:n]
        if self.light_probes:
            return take_light_probe(self.model, self.task, x, y, self.steps_done)
        target = self.last_scored_step if target_step is None else target_step
        return take_probe(self.model, self.task, x, y, self.steps_done, target)

    def _one_step(self) -> None:
        start = time.perf_counter()
        cfg = self.config
        x, y = self.task.sample(cfg.batch_size, cfg.seq_len, self._data_gen)
        self.model.train()
        outputs = self.model(x)
        loss = self.task.loss(outputs, y)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            # The current weights already give a non-finite loss: fall back to the
            # copy saved before the previous update, whose loss was finite.
            self._diverge(f"the loss became {loss_value} at step {self.steps_done + 1}")
            self._record(loss_value, math.nan, math.nan, False, start)
            return
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = cfg.clip if cfg.clip is not None else math.inf
        grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm))
        clipped = cfg.clip is not None and grad_norm > cfg.clip
        with torch.no_grad():
            metric = float(self.task.metric(outputs, y))
            for saved, p in zip(self._last_good, self.model.parameters(), strict=True):
                saved.copy_(p)
        if not math.isfinite(grad_norm):
            self._diverge(f"the gradient norm became {grad_norm} at step {self.steps_done + 1}")
            self._record(loss_value, metric, grad_norm, clipped, start)
            return
        self.optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            self._diverge(f"a weight became non-finite at step {self.steps_done + 1}")
        self._record(loss_value, metric, grad_norm, clipped, start)

    def _record(self, loss, metric, grad_norm, clipped, start) -> None:
        self.steps_done += 1
        test_loss = test_metric = math.nan
        if (
            self._eval is not None
            and self.status == "ok"
            and self.steps_done % self._eval_every == 0
        ):
            test_loss, test_metric = self._evaluate()
        self._seconds += time.perf_counter() - start
        with self._lock:
            self._rows.append(
                (
                    self.steps_done,
                    loss,
                    metric,
                    grad_norm,
                    bool(clipped),
                    self._seconds,
                    test_loss,
                    test_metric,
                )
            )

    def evaluate(self) -> tuple[float, float]:
        """(loss, metric) of the current weights on the fixed held-out batch (tasks with
        a split). Waits for a ``step()`` in progress to return."""
        with self._step_lock, denormals_flushed():
            return self._evaluate()

    @torch.no_grad()
    def _evaluate(self) -> tuple[float, float]:
        if self._eval is None:
            return math.nan, math.nan
        x, y = self._eval
        self.model.eval()
        outputs = self.model(x)
        return (
            float(self.task.loss(outputs, y)),
            float(self.task.metric(outputs, y, split="test")),
        )

    def _diverge(self, reason: str) -> None:
        with torch.no_grad():
            for saved, p in zip(self._last_good, self.model.parameters(), strict=True):
                p.copy_(saved)
        self.message = (
            f"Training diverged: {reason}. The weights of the last step with "
            f"a finite loss were restored. Lower the learning rate, turn on "
            f"gradient clipping, or reduce the recurrent scale, then reset."
        )
        self.status = "diverged"

    def _snapshot(self) -> None:
        probe = self._take_probe().compact(self.snapshot_sequences)
        with self._lock:
            self._snapshots.append(probe)
            # Over budget: keep every other snapshot and double the cadence, so the
            # record thins evenly and early training stays visible.
            while (
                sum(p.nbytes for p in self._snapshots) > self.snapshot_bytes
                and len(self._snapshots) > 2
            ):
                self.probe_every *= 2
                self._snapshots = [p for p in self._snapshots if p.step % self.probe_every == 0]


def task_for(config: RunConfig, task: Task | None = None) -> Task:
    """The task a run trains on: the registered one, or on private data the one given
    (a visitor's upload, rnn_core.tasks.uploaded), which must be of the config's task."""
    if config.data == "default":
        if task is not None and task is not TASKS[config.task]:
            raise ValueError("a run on the default data takes the registered task")
        return TASKS[config.task]
    if task is None or task.name != config.task:
        raise ValueError(f"a run on private data needs its own {config.task} task")
    return task


def full_probes(config: RunConfig) -> bool:
    """Whether a run's probes can unroll its recurrent states over the whole sequence:
    every recurrent cell, alone or as a recurrent encoder-decoder; not the other models,
    nor a captioner, whose encoder is a CNN (its probes are light: outputs, saliency and
    the decoder's attention over the image)."""
    return config.model in RECURRENT and TASKS[config.task].architecture != "captioning"


def _tracked_states(model: RecurrentModel, x: torch.Tensor) -> np.ndarray:
    """(T, H) float64: the last layer's cell state (LSTM) or hidden state, one sequence."""
    unrolled = unroll(model.rnn, x, record=False)
    states = unrolled.cell[-1] if unrolled.cell is not None else unrolled.output
    return states[0].double().numpy()


def history_digest(frame: pd.DataFrame) -> np.ndarray:
    """The deterministic columns of a history (everything but ``seconds``)."""
    return frame.drop(columns=["seconds"]).to_numpy(dtype=float)
