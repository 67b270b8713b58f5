"""The model registry: shapes, seeded initialisation, init recipes."""

import pytest
import torch

from rnn_core import MODELS, RunConfig
from rnn_core.models import RECURRENT, build_model, recurrent_blocks, spectral_radius


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("layers", [1, 2])
def test_models_map_batch_first_sequences_to_outputs(cell, layers):
    model = MODELS[cell](3, 7, 16, layers, generator=torch.Generator().manual_seed(0))
    out = model(torch.randn(4, 11, 3))
    assert out.shape == (4, 11, 7)
    assert model.rnn.batch_first and model.cell == cell


@pytest.mark.parametrize("cell", RECURRENT)
def test_initialisation_is_seeded_and_leaves_global_rng_alone(cell):
    state = torch.get_rng_state()
    a = build_model(RunConfig(model=cell, seed=3), 2, 1)
    assert torch.equal(torch.get_rng_state(), state)
    b = build_model(RunConfig(model=cell, seed=3), 2, 1)
    c = build_model(RunConfig(model=cell, seed=4), 2, 1)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(
        torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


def test_default_init_follows_torch_uniform_bound():
    model = build_model(RunConfig(model="lstm", hidden_size=25), 2, 1)
    for p in model.parameters():
        assert p.abs().max() <= 1 / 5 + 1e-7
        if p.numel() > 1:
            assert p.std() > 0.05  # actually filled, not left at zero


@pytest.mark.parametrize("cell", ["rnn_relu", "lstm", "gru"])
def test_identity_init_is_the_irnn_recipe(cell):
    model = build_model(RunConfig(model=cell, init="identity", hidden_size=8, num_layers=2), 2, 1)
    for layer in range(2):
        for block in recurrent_blocks(model.rnn, layer).values():
            assert torch.equal(block, torch.eye(8))
        assert getattr(model.rnn, f"bias_hh_l{layer}").abs().max() == 0
        assert getattr(model.rnn, f"bias_ih_l{layer}").abs().max() == 0
        w_ih = getattr(model.rnn, f"weight_ih_l{layer}")
        assert w_ih.abs().max() <= 1 / 8**0.5 and w_ih.std() > 0.05  # torch's uniform draw


def test_orthogonal_init_blocks_are_orthogonal():
    model = build_model(RunConfig(model="gru", init="orthogonal", hidden_size=12), 2, 1)
    for block in recurrent_blocks(model.rnn, 0).values():
        assert torch.allclose(block.T @ block, torch.eye(12), atol=1e-5)


@pytest.mark.parametrize("cell", RECURRENT)
@pytest.mark.parametrize("init", ["default", "orthogonal", "identity"])
def test_recurrent_scale_sets_every_block_spectral_radius(cell, init):
    model = build_model(
        RunConfig(model=cell, init=init, recurrent_scale=1.5, hidden_size=10, num_layers=2), 2, 1
    )
    for layer in range(2):
        for block in recurrent_blocks(model.rnn, layer).values():
            assert spectral_radius(block) == pytest.approx(1.5, rel=1e-4)
