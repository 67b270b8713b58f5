"""The comparison models: parameter budgets, receptive fields, causality, attention, saliency."""

import math

import numpy as np
import pytest
import torch

from rnn_core import MODELS, TASKS, ConfigError, RunConfig, Trainer
from rnn_core.attention import Transformer
from rnn_core.budget import BUDGET_TOLERANCE
from rnn_core.models import RECURRENT, build_model, count_parameters
from rnn_core.probes import input_saliency, pool_attention
from rnn_core.tcn import TCN, receptive_field

SEQUENCE_MODELS = (*RECURRENT, "tcn", "transformer")
BUDGETS = (1_000, 1_370, 2_500, 5_000, 10_000, 23_456, 50_000)


def _model(cfg: RunConfig) -> torch.nn.Module:
    task = TASKS[cfg.task]
    return build_model(cfg, task.input_size, task.output_size, cfg.shape.kwargs)


@pytest.mark.parametrize("task", ["copy_memory", "adding", "parity", "sine"])
@pytest.mark.parametrize("model", SEQUENCE_MODELS)
def test_every_budget_is_met_within_ten_percent(model, task):
    for budget in BUDGETS:
        cfg = RunConfig(model=model, task=task, seq_len=20, param_budget=budget)
        built = count_parameters(_model(cfg))  # the real model, not the meta estimate
        assert built == cfg.shape.num_parameters
        assert abs(built - budget) <= BUDGET_TOLERANCE * budget, (model, budget, built)


@pytest.mark.parametrize("task", ["digits_rows", "digits_pixels"])
@pytest.mark.parametrize("model", [*SEQUENCE_MODELS, "cnn2d"])
def test_image_task_budgets_including_the_cnn(model, task):
    seq_len = TASKS[task].min_seq_len
    for budget in (1_000, 4_321, 10_000, 50_000):
        cfg = RunConfig(model=model, task=task, seq_len=seq_len, param_budget=budget)
        assert abs(count_parameters(_model(cfg)) - budget) <= BUDGET_TOLERANCE * budget


def test_dense_budget_sweep_never_misses():
    # Budgets from 1K to 50K (every 730, so widths land on and between round numbers).
    for model in SEQUENCE_MODELS:
        for budget in range(1_000, 50_001, 730):
            cfg = RunConfig(model=model, task="copy_memory", seq_len=30, param_budget=budget)
            assert abs(cfg.shape.num_parameters - budget) <= 0.1 * budget, (model, budget)


def test_budget_widths_may_pass_the_hidden_size_limit_but_not_the_cost_cap():
    cfg = RunConfig(model="rnn_tanh", task="adding", seq_len=10, param_budget=50_000)
    assert cfg.shape.kwargs["hidden_size"] > 200  # one tanh layer: H^2 ~ 50K
    with pytest.raises(ConfigError) as info:
        RunConfig(
            model="lstm", task="copy_memory", seq_len=2000, batch_size=256, param_budget=50_000
        )
    assert "costly" in str(info.value)


def test_image_cnn_refuses_sequence_tasks():
    with pytest.raises(ConfigError) as info:
        RunConfig(model="cnn2d", task="copy_memory")
    assert info.value.field == "model" and "image" in str(info.value)


@pytest.mark.parametrize(("kernel", "levels"), [(2, 1), (2, 3), (3, 2), (8, 2), (5, 3)])
def test_tcn_receptive_field_matches_the_gradient(kernel, levels):
    # Output t depends on exactly the last RF inputs: measure which inputs carry gradient.
    model = MODELS["tcn"](
        2, 1, channels=[3] * levels, kernel_size=kernel, generator=torch.Generator().manual_seed(1)
    )
    assert (
        model.receptive_field
        == receptive_field(kernel, levels)
        == 1 + 2 * (kernel - 1) * (2**levels - 1)
    )
    T = model.receptive_field + 10
    t = T - 1
    # ReLUs may zero a path on one input: sum gradient magnitudes over random inputs.
    reach = torch.zeros(T)
    for seed in range(8):
        x = torch.randn(4, T, 2, generator=torch.Generator().manual_seed(seed), requires_grad=True)
        model(x)[:, t].sum().backward()
        reach += x.grad.abs().sum(dim=(0, 2))
    touched = torch.nonzero(reach > 0).flatten()
    assert int(touched.min()) == t - model.receptive_field + 1
    assert int(touched.max()) == t


def test_tcn_levels_auto_cover_the_sequence():
    for seq_len in (10, 100, 500, 1000):
        cfg = RunConfig(
            model="tcn", task="copy_memory", seq_len=seq_len, param_budget=10_000, batch_size=16
        )
        assert cfg.shape.receptive_field >= TASKS["copy_memory"].total_len(seq_len)
        fewer = receptive_field(cfg.tcn_kernel, len(cfg.shape.kwargs["channels"]) - 1)
        assert fewer < TASKS["copy_memory"].total_len(seq_len)  # the fewest that cover
    short = RunConfig(model="tcn", task="copy_memory", seq_len=100, tcn_levels=2)
    assert short.shape.receptive_field == receptive_field(8, 2) < 120


@pytest.mark.parametrize("model", SEQUENCE_MODELS)
def test_no_output_depends_on_a_later_input(model):
    cfg = RunConfig(model=model, task="adding", seq_len=30, param_budget=2_000)
    net = _model(cfg).eval()
    x = torch.randn(3, 30, 2, generator=torch.Generator().manual_seed(0), requires_grad=True)
    out = net(x)
    for t in (0, 7, 18, 28):
        (grad,) = torch.autograd.grad(out[:, t].sum(), x, retain_graph=True)
        per_step = grad.abs().sum(dim=(0, 2))
        assert per_step[t + 1 :].max() == 0, f"{model}: output {t} sees the future"
        assert per_step[: t + 1].max() > 0  # and it does see the past


def test_image_cnn_sees_the_whole_image_at_once():
    cfg = RunConfig(model="cnn2d", task="digits_rows", seq_len=8, param_budget=2_000)
    net = _model(cfg)
    x = torch.randn(2, 8, 8, requires_grad=True)
    net(x)[:, 0].sum().backward()
    assert (x.grad.abs().sum(dim=(0, 2)) > 0).all()  # step 0's answer uses every row
    assert not net.causal


@pytest.mark.parametrize("model", ["tcn", "transformer", "cnn2d"])
def test_new_models_are_seeded_and_leave_the_global_rng_alone(model):
    task = "digits_rows" if model == "cnn2d" else "adding"
    seq_len = TASKS[task].min_seq_len if model == "cnn2d" else 20
    state = torch.get_rng_state()
    a = _model(RunConfig(model=model, task=task, seq_len=seq_len, seed=3, param_budget=3_000))
    assert torch.equal(torch.get_rng_state(), state)
    b = _model(RunConfig(model=model, task=task, seq_len=seq_len, seed=3, param_budget=3_000))
    c = _model(RunConfig(model=model, task=task, seq_len=seq_len, seed=4, param_budget=3_000))
    pa, pb, pc = (torch.cat([p.flatten() for p in m.parameters()]) for m in (a, b, c))
    assert torch.equal(pa, pb) and not torch.equal(pa, pc)


def test_attention_weights_match_the_fused_path_and_are_causal_distributions():
    net = MODELS["transformer"](
        3, 2, d_model=8, ff_size=12, heads=2, layers=2, generator=torch.Generator().manual_seed(0)
    )
    x = torch.randn(2, 17, 3)
    fused = net(x)
    manual, maps = net(x, return_attention=True)
    torch.testing.assert_close(manual, fused, rtol=1e-5, atol=1e-5)
    assert maps.shape == (2, 2, 2, 17, 17)  # (B, layers, heads, T, T)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 2, 2, 17))
    assert maps.triu(1).abs().max() == 0  # no query attends to a later key


def test_transformer_size_does_not_depend_on_length():
    a = RunConfig(model="transformer", task="adding", seq_len=20, param_budget=5_000)
    b = a.replace(seq_len=200)
    assert a.shape.num_parameters == b.shape.num_parameters
    assert isinstance(_model(b), Transformer) and isinstance(
        _model(RunConfig(model="tcn", task="adding", seq_len=20)), TCN
    )


def test_pooled_attention_rows_stay_distributions():
    rng = np.random.default_rng(0)
    for T in (5, 128, 129, 300, 1020):
        w = rng.random((2, 3, T, T)) * np.tri(T)
        w /= w.sum(-1, keepdims=True)
        pooled, stride = pool_attention(w, side=128)
        assert pooled.shape[-1] <= 128 and stride == math.ceil(T / 128)
        np.testing.assert_allclose(pooled.sum(-1), 1.0, rtol=1e-9)
    w = np.eye(6)
    pooled, stride = pool_attention(w, side=3)
    np.testing.assert_allclose(pooled, np.eye(3))  # each 2x2 diagonal block: its row mean


def test_saliency_is_each_steps_input_gradient_norm():
    # For a model whose loss reads only x_3 and x_7, saliency is zero everywhere else.
    class Pick(torch.nn.Module):
        def forward(self, x):
            out = torch.zeros(x.shape[0], x.shape[1], 1)
            out[:, -1, 0] = 2 * x[:, 3, 0] + 0.5 * x[:, 7, 1]
            return out

    task = TASKS["adding"]
    x, y = task.sample(4, 10, torch.Generator().manual_seed(0))
    _, loss, _, saliency = input_saliency(Pick(), task, x, y)
    residual = (2 * x[:, 3, 0] + 0.5 * x[:, 7, 1]) - y[:, 0]
    assert saliency.shape == (4, 10)  # one row per sequence
    assert np.count_nonzero(saliency[:, [0, 1, 2, 4, 5, 6, 8, 9]]) == 0
    # d(B * mean squared error)/dx for sequence b = 2 r_b * coefficient
    np.testing.assert_allclose(saliency[:, 3], (4 * residual).abs().numpy(), rtol=1e-5)
    np.testing.assert_allclose(saliency[:, 7], (1 * residual).abs().numpy(), rtol=1e-5)
    assert math.isclose(loss, float((residual**2).mean()), rel_tol=1e-5)


@pytest.mark.parametrize("model", ["tcn", "transformer", "lstm"])
def test_light_probe_snapshots(model):
    cfg = RunConfig(model=model, task="copy_memory", seq_len=12, param_budget=2_000, batch_size=8)
    tr = Trainer(cfg, probe_every=2, light_probes=True)
    tr.step(4)
    snaps = tr.snapshots
    assert [s.step for s in snaps] == [0, 2, 4]
    for snap in snaps:
        # two sequences kept per snapshot (the Trainer's snapshot_sequences)
        assert snap.saliency.shape == (2, 32) and np.isfinite(snap.saliency).all()
        assert snap.hidden_layers is None
        if model == "transformer":
            assert snap.attention.shape == (2, 2, 32, 32)
        else:
            assert snap.attention is None
    assert tr.num_parameters == cfg.shape.num_parameters
