"""The warm start: every preset run trained into the store once, opened at once after."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from rnn_core.alongside import member_config
from rnn_core.presets import PRESETS, RACE_OPTIONS, RACE_PRESETS, RUN_OPTIONS
from rnn_core.run_store import RunStore
from rnn_core.train import Trainer
from rnn_core.warm_store import preset_runs, warm
from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_every_preset_run_is_listed_once():
    runs = preset_runs()
    keys = [(cfg, tuple(sorted(options.items()))) for _, cfg, options in runs]
    assert len(keys) == len(set(keys))
    for preset in PRESETS.values():  # (two presets may open one run: it is listed once)
        for member in (preset.config.model, *preset.alongside):
            cfg = member_config(preset.config, member)
            assert (cfg, tuple(sorted(RUN_OPTIONS.items()))) in keys
    race_keys = {(cfg.task, cfg.seq_len, cfg.model) for _, cfg, o in runs if o == RACE_OPTIONS}
    for preset in RACE_PRESETS.values():
        for model in preset.models:
            assert (preset.config.task, preset.config.seq_len, model) in race_keys
    vanishing = [cfg.model for name, cfg, _ in runs if name == "vanishing"]
    assert vanishing == ["rnn_tanh", "lstm"]  # the cell and the one trained alongside


def test_warming_stores_every_run_and_a_second_pass_trains_nothing(tmp_path):
    store = RunStore(tmp_path / "runs")
    first = warm(store, steps=3, jobs=2, say=lambda line: None)
    assert first["trained"] > 0 and first["already stored"] == 0
    for _, cfg, options in preset_runs():
        stored = store.load(cfg, Trainer.options_for(cfg, **options))
        assert stored is not None, cfg
        assert 1 <= stored.steps <= 3  # the exploding preset diverges at step 2
    again = warm(store, steps=3, jobs=2, say=lambda line: None)
    assert again["trained"] == 0


def test_a_warm_store_opens_a_preset_link_with_its_curve(tmp_path, monkeypatch):
    store_dir = tmp_path / "warm"
    monkeypatch.setenv("RNN_EXPLORER_RUN_STORE", str(store_dir))
    warm(RunStore(store_dir), steps=4, jobs=2, say=lambda line: None)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "vanishing"
    at.run()
    at.switch_page(PAGES["playground"]).run()
    assert not at.exception
    assert next(m.value for m in at.metric if m.label == "Step") == "4"
    assert at.button(key="train_toggle").label == "Start"  # nothing trains to show it
    assert any("kept from an earlier run at step 4" in c.value for c in at.caption)
    cfg = PRESETS["vanishing"].config
    assert RunStore(store_dir).steps(cfg, Trainer.options_for(cfg, **RUN_OPTIONS)) == 4
