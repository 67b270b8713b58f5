"""Model shapes: the widths a RunConfig gives each model, and what one step of it costs.

Without a ``param_budget`` a model takes its width from ``hidden_size``. With one, the
widths are chosen so that the trainable parameter count lies within ±10% of the budget,
as Bai et al. (2018) matched their models: a comparison at equal size is a comparison of
architectures, not of capacity. Counts are exact: each candidate is built on torch's
meta device (no memory, no weights) and its parameters are counted, so no formula can
drift from the model code.

Coarse widths move the count in big steps (a TCN's count grows with the square of its
channels times its levels), so every model also has a fine knob: a TCN widens some of
its levels by one channel, a transformer picks its feed-forward width, the image CNN
its second layer's channels. Recurrent models move in steps of about 2/H of their size,
fine enough on their own for the small alphabets the race offers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from rnn_core.models import RECURRENT, builder_for, count_parameters
from rnn_core.tasks import TASKS
from rnn_core.tcn import levels_to_cover, receptive_field

BUDGET_TOLERANCE = 0.10
MAX_WIDTH = 4096  # search bound only; the cost cap decides what may train
MAX_TCN_LEVELS = 10

# Step cost constants, in the "multiply-add equivalents" of config.MAX_STEP_COST (whose
# calibration is in config.py). Recurrent: measured. Convolutions and attention run as
# large batched matrix products with no per-step kernel launches, so charging them the
# recurrent rate per multiply-add over-estimates them (bench/cost_cap.py shows how much).
_ELEMENTWISE_COST = 200  # per recurrent gate unit and step
_PER_STEP_COST = 1_650_000  # per recurrent time step and layer
_FEEDFORWARD_ELEMENTWISE = 20  # per channel and step (activations, residuals, norms)
# A dilated Conv1d on CPU pays about this much per channel, level and step beyond its
# multiply-adds (padding copies, im2col, ReLUs), plus a fixed cost per level and step:
# fitted to measured steps (bench/bench_models.py; a 7-level TCN of 32 channels at
# T = 1000 took 0.62 s where its multiply-adds alone predict 0.42 s, and the 10K-budget
# TCNs of about 10 channels took twice what channels alone predict).
_TCN_CHANNEL_COST = 300
_TCN_LEVEL_COST = 3_000
# Per transformer layer and position: layer norms, GELU, softmax and the dispatch of
# many small kernels (a 10K-budget transformer at T = 100 took twice its multiply-adds).
_ATTENTION_LAYER_COST = 20_000
_ATTENTION_CELL_COST = 100  # per (query, key) pair and head: scores, mask, softmax, backward


@dataclass(frozen=True)
class ModelShape:
    """How one model of a run is built: ``kwargs`` for its MODELS builder, its exact
    ``num_parameters``, a ``summary`` for people, the TCN's ``receptive_field`` (None
    for other models) and the estimated ``cost`` of one training step."""

    model: str
    kwargs: dict
    num_parameters: int
    summary: str
    receptive_field: int | None
    cost: int

    def __hash__(self) -> int:  # kwargs hold lists: hash what identifies the shape
        return hash((self.model, self.summary, self.num_parameters))


def _count(model: str, task, kwargs: dict, attention: str = "off") -> int:
    builder = builder_for(model, task, attention)
    return count_parameters(builder(task.input_size, task.output_size, device="meta", **kwargs))


def _closest(count: Callable[[int], int], lo: int, hi: int, target: int) -> int:
    """The n in [lo, hi] whose count(n) is closest to target; count must increase with n."""
    if count(lo) >= target:
        return lo
    a, b = lo, hi  # invariant: count(a) < target
    while b - a > 1:
        mid = (a + b) // 2
        if count(mid) < target:
            a = mid
        else:
            b = mid
    return min((a, b), key=lambda n: abs(count(n) - target))


def tcn_levels(cfg, task) -> int:
    """The config's TCN levels, or (None = auto) the fewest that cover the sequence."""
    if cfg.tcn_levels is not None:
        return cfg.tcn_levels
    return levels_to_cover(cfg.tcn_kernel, task.total_len(cfg.seq_len), MAX_TCN_LEVELS)


def _tcn_kwargs(cfg, task, budget: int | None) -> dict:
    levels, k = tcn_levels(cfg, task), cfg.tcn_kernel
    if budget is None:
        return {"channels": [cfg.hidden_size] * levels, "kernel_size": k}

    def uniform(c: int) -> int:
        return _count("tcn", task, {"channels": [c] * levels, "kernel_size": k})

    c = _closest(uniform, 1, MAX_WIDTH, budget)
    if uniform(c) > budget and c > 1:
        c -= 1  # start below the budget; widening levels below climbs towards it
    # Fine knob: the last j levels one channel wider (j = 0..levels), closest wins.
    options = [[c] * (levels - j) + [c + 1] * j for j in range(levels + 1)]
    best = min(
        options,
        key=lambda ch: abs(_count("tcn", task, {"channels": ch, "kernel_size": k}) - budget),
    )
    return {"channels": best, "kernel_size": k}


def _transformer_kwargs(cfg, task, budget: int | None) -> dict:
    heads, layers = cfg.attn_heads, cfg.attn_layers
    if budget is None:
        d = -(-cfg.hidden_size // heads) * heads  # round up to a multiple of heads
        return {"d_model": d, "ff_size": 2 * d, "heads": heads, "layers": layers}

    def with_d(m: int) -> int:
        d = m * heads
        return _count(
            "transformer", task, {"d_model": d, "ff_size": 2 * d, "heads": heads, "layers": layers}
        )

    m = _closest(with_d, 1, MAX_WIDTH // heads, budget)
    if with_d(m) > budget and m > 1:
        m -= 1
    d = m * heads

    def with_ff(f: int) -> int:
        return _count(
            "transformer", task, {"d_model": d, "ff_size": f, "heads": heads, "layers": layers}
        )

    return {
        "d_model": d,
        "ff_size": _closest(with_ff, 1, 16 * d, budget),
        "heads": heads,
        "layers": layers,
    }


def _cnn_kwargs(cfg, task, budget: int | None) -> dict:
    image = task.image_shape
    if budget is None:
        return {
            "channels1": max(1, cfg.hidden_size // 2),
            "channels2": cfg.hidden_size,
            "image_shape": image,
        }

    def with_c1(c: int) -> int:
        return _count("cnn2d", task, {"channels1": c, "channels2": 2 * c, "image_shape": image})

    c1 = _closest(with_c1, 1, MAX_WIDTH, budget)
    if with_c1(c1) > budget and c1 > 1:
        c1 -= 1

    def with_c2(c: int) -> int:
        return _count("cnn2d", task, {"channels1": c1, "channels2": c, "image_shape": image})

    return {
        "channels1": c1,
        "channels2": _closest(with_c2, 1, 16 * MAX_WIDTH, budget),
        "image_shape": image,
    }


def _recurrent_kwargs(cfg, task, budget: int | None) -> dict:
    layers = cfg.num_layers
    if budget is None:
        return {"hidden_size": cfg.hidden_size, "num_layers": layers}

    def with_h(h: int) -> int:
        return _count(cfg.model, task, {"hidden_size": h, "num_layers": layers}, cfg.attention)

    return {"hidden_size": _closest(with_h, 1, MAX_WIDTH, budget), "num_layers": layers}


def step_cost(model: str, task, seq_len: int, batch: int, kw: dict, attention: str = "off") -> int:
    """The estimated cost of one training step (multiply-add equivalents) of ``model``
    built with ``kw`` on ``task`` at ``seq_len`` and ``batch``: what the cost cap bounds."""
    steps = task.total_len(seq_len)
    inp, out = task.input_size, task.output_size
    if model in RECURRENT:
        h, layers = kw["hidden_size"], kw["num_layers"]
        units = (4 if model == "lstm" else 3 if model == "gru" else 1) * h
        matmul = units * (h + inp) + (layers - 1) * units * (2 * h) + h * out
        per_item = matmul + _ELEMENTWISE_COST * layers * units
        # An encoder-decoder's two recurrent passes cover the sequence's steps between
        # them, as one pass would; attention adds per decoder step W_a and W_c (3 h^2)
        # and a score and a context term per source step.
        attended = 0
        if attention != "off":
            source = task.source_len
            attended = (steps - source) * (3 * h * h + 2 * source * h)
        return batch * (steps * per_item + attended) + _PER_STEP_COST * steps * layers
    if model == "tcn":
        k, widths = kw["kernel_size"], kw["channels"]
        macs, width = 0, inp
        for c in widths:
            macs += k * width * c + k * c * c + (width * c if width != c else 0)
            macs += _TCN_CHANNEL_COST * c + _TCN_LEVEL_COST
            width = c
        return batch * steps * (macs + width * out)
    if model == "transformer":
        d, f, heads, layers = kw["d_model"], kw["ff_size"], kw["heads"], kw["layers"]
        per_step = (
            inp * d
            + d * out
            + layers
            * (4 * d * d + 2 * d * f + _ATTENTION_LAYER_COST + _FEEDFORWARD_ELEMENTWISE * (d + f))
        )
        pairs = steps * (steps + 1) // 2  # causal: each query sees the keys up to itself
        attention = layers * pairs * (2 * d + heads * _ATTENTION_CELL_COST)
        return batch * (steps * per_step + attention)
    c1, c2 = kw["channels1"], kw["channels2"]  # cnn2d: one image per sequence
    height, width = kw["image_shape"]
    pixels = height * width
    return batch * (
        pixels * 9 * c1
        + pixels // 4 * 9 * c1 * c2
        + c2 * out
        + _FEEDFORWARD_ELEMENTWISE * pixels * c1
    )


def _summary(model: str, kw: dict, rf: int | None, architecture: str = "") -> str:
    if model in RECURRENT:
        layers = kw["num_layers"]
        text = f"hidden {kw['hidden_size']}" + (f" × {layers} layers" if layers > 1 else "")
        if architecture == "captioning":
            return f"CNN encoder, decoder of {text}"
        return f"encoder and decoder of {text}" if architecture == "seq2seq" else text
    if model == "tcn":
        ch = kw["channels"]
        width = f"{min(ch)}" if min(ch) == max(ch) else f"{min(ch)}–{max(ch)}"
        return (
            f"{len(ch)} levels × {width} channels, kernel {kw['kernel_size']}, receptive field {rf}"
        )
    if model == "transformer":
        return (
            f"width {kw['d_model']}, feed-forward {kw['ff_size']}, {kw['heads']} heads, "
            f"{kw['layers']} layer{'s' if kw['layers'] > 1 else ''}"
        )
    return f"convolutions 1 → {kw['channels1']} → {kw['channels2']} channels"


def model_shape(cfg) -> ModelShape:
    """The shape of ``cfg.model`` for ``cfg`` (cached: RunConfig is frozen and hashable)."""
    return shape_of_settings(
        cfg.model,
        cfg.task,
        cfg.seq_len,
        cfg.batch_size,
        cfg.hidden_size,
        cfg.num_layers,
        cfg.param_budget,
        cfg.tcn_kernel,
        cfg.tcn_levels,
        cfg.attn_heads,
        cfg.attn_layers,
        cfg.attention,
    )


@dataclass(frozen=True)
class _Settings:  # the fields a shape depends on, under RunConfig's names
    model: str
    task: str
    seq_len: int
    hidden_size: int
    num_layers: int
    tcn_kernel: int
    tcn_levels: int | None
    attn_heads: int
    attn_layers: int
    attention: str


@functools.lru_cache(maxsize=4096)
def shape_of_settings(
    model,
    task_name,
    seq_len,
    batch,
    hidden,
    layers,
    budget,
    kernel,
    levels,
    heads,
    attn_layers,
    attention="off",
) -> ModelShape:
    """``model_shape`` from the settings themselves, with no RunConfig (and so no cost
    cap): the benchmarks measure shapes beyond what a run may use."""
    task = TASKS[task_name]
    cfg = _Settings(
        model, task_name, seq_len, hidden, layers, kernel, levels, heads, attn_layers, attention
    )
    if model in RECURRENT:
        kw = _recurrent_kwargs(cfg, task, budget)
    elif model == "tcn":
        kw = _tcn_kwargs(cfg, task, budget)
    elif model == "transformer":
        kw = _transformer_kwargs(cfg, task, budget)
    else:
        kw = _cnn_kwargs(cfg, task, budget)
    rf = receptive_field(kw["kernel_size"], len(kw["channels"])) if model == "tcn" else None
    return ModelShape(
        model=model,
        kwargs=kw,
        num_parameters=_count(model, task, kw, attention),
        summary=_summary(model, kw, rf, task.architecture),
        receptive_field=rf,
        cost=step_cost(model, task, seq_len, batch, kw, attention),
    )


def within_budget(num_parameters: int, budget: int) -> bool:
    return abs(num_parameters - budget) <= BUDGET_TOLERANCE * budget
