"""Edit the input, see the inside change: the per-task edits of a probe sequence, the
targets a task's rule gives an edit, the "probe_inputs" question, and its causality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnn_core import TASKS, RunConfig, Trainer, viz
from rnn_core import probe_edits as pe
from rnn_core.input_probe import checked_inputs
from rnn_core.jobs import JobManager
from rnn_core.probe_edits import EditError

ADDING, COPY, PARITY, CHAR = (TASKS[n] for n in ("adding", "copy_memory", "parity", "char_lm"))


def _adding_x(T=10):
    x = np.zeros((T, 2), dtype=np.float32)
    x[:, 0] = np.linspace(0.05, 0.95, T)
    x[[2, 6], 1] = 1.0
    return x


# ---------------------------------------------------------------- editors
def test_moving_a_marker_changes_only_the_two_steps_and_the_target_follows():
    x = _adding_x()
    first, second, a, b = pe.adding_marks(x)
    assert (first, second) == (2, 6)
    moved = pe.adding_inputs(x, 8, second, a, b)  # the first marker from step 2 to 8
    assert list(pe.changed_steps(x, moved)) == [2, 8]
    assert moved[2, 1] == 0 and moved[8, 1] == 1 and moved[6, 1] == 1
    assert moved[2, 0] == x[2, 0]  # the value at the old mark stays: only the mark moves
    target = ADDING.targets_for(torch.from_numpy(moved[None]))
    assert target.shape == (1, 1)
    assert float(target) == pytest.approx(a + float(x[6, 0]))  # the value moved with it
    # the values left, a marker moved: the target is that step's value plus the other
    moved = pe.adding_inputs(x, 0, second, float(x[0, 0]), b)
    assert float(ADDING.targets_for(torch.from_numpy(moved[None]))) == pytest.approx(0.05 + b)


def test_changing_a_marked_value_changes_that_step_only():
    x = _adding_x()
    first, second, a, b = pe.adding_marks(x)
    edited = pe.adding_inputs(x, first, second, 0.9, b)
    assert list(pe.changed_steps(x, edited)) == [2]
    assert pe.adding_inputs(x, first, second, a, b).tobytes() == x.tobytes()  # no edit
    with pytest.raises(EditError, match="different steps"):
        pe.adding_inputs(x, 4, 4, a, b)
    with pytest.raises(EditError, match="between 0 and 1"):
        pe.adding_inputs(x, first, second, 1.5, b)


def test_copy_digits_edit_one_digit_and_the_target_recalls_it():
    g = torch.Generator().manual_seed(0)
    x, y = COPY.sample(1, 5, g)
    x0 = x[0].numpy()
    digits = pe.copy_digits(x0)
    assert torch.equal(COPY.targets_for(x), y)  # the rule gives the sampled targets
    changed = digits[:3] + ("1" if digits[3] != "1" else "2") + digits[4:]
    edited = pe.copy_inputs(x0, changed)
    assert list(pe.changed_steps(x0, edited)) == [3]
    assert pe.copy_digits(edited) == changed
    recall = COPY.targets_for(torch.from_numpy(edited[None]))[0, -10:]
    assert "".join(str(int(d)) for d in recall) == changed
    with pytest.raises(EditError, match="not 0 9"):
        pe.copy_inputs(x0, "9" + changed[1:-1] + "0")
    with pytest.raises(EditError, match="exactly 10"):
        pe.copy_inputs(x0, changed[:9])


def test_a_string_outside_the_alphabet_gets_one_sentence_naming_the_characters():
    alphabet = CHAR.alphabet
    with pytest.raises(EditError) as err:
        pe.symbols_inputs("déjà vu", alphabet, 50)
    assert "'à'" in str(err.value) and "'é'" in str(err.value)
    assert str(err.value).endswith(".") and "\n" not in str(err.value)
    with pytest.raises(EditError, match="1 to 5 characters"):
        pe.symbols_inputs("abcdef", alphabet, 5)
    x = pe.symbols_inputs("def f(x):", alphabet, 20)
    assert pe.symbols_text(x, alphabet) == "def f(x):"
    y = CHAR.targets_for(torch.from_numpy(x[None]))
    assert CHAR.decode(y[0, :-1]) == "ef f(x):"  # the next characters
    assert int(y[0, -1]) == -100  # unknown after the last: ignored by the loss


def test_parity_targets_follow_the_bits():
    x = pe.symbols_inputs("1101", PARITY.alphabet, 4)
    assert PARITY.targets_for(torch.from_numpy(x[None])).tolist() == [[1, 0, 0, 1]]


def test_a_sentence_round_trips_and_a_long_one_is_refused():
    task = TASKS["sentiment"]
    x, unknown = pe.sentence_inputs("the plot was not great", task)
    assert x.shape == (task.max_seq_len, task.input_size) and not unknown
    assert pe.sentence_text(x, task.alphabet) == "the plot was not great"
    assert (x[5:] == 0).all()  # padding after the last word
    _, unknown = pe.sentence_inputs("the plot was zorgly", task)
    assert unknown == ["zorgly"]
    with pytest.raises(EditError, match=f"at most {task.max_seq_len}"):
        pe.sentence_inputs(" ".join(["good"] * (task.max_seq_len + 1)), task)
    with pytest.raises(EditError, match="type a sentence"):
        pe.sentence_inputs("   ", task)


def test_a_drawn_digit_round_trips_exactly_and_bad_drawings_are_refused():
    task = TASKS["digits_pixels"]
    images, _ = task.images("test")
    x0 = images[0].reshape(64, 1)
    text = pe.image_text(x0, task.image_shape)
    assert pe.image_inputs(x0, text, task.image_shape).tobytes() == x0.tobytes()
    rows = text.splitlines()
    rows[0] = "9" + rows[0][1:]
    edited = pe.image_inputs(x0, "\n".join(rows), task.image_shape)
    assert edited[0, 0] == 1.0 and list(pe.changed_steps(x0, edited)) == [0]  # that pixel only
    with pytest.raises(EditError, match="8 lines of 8"):
        pe.image_inputs(x0, "\n".join(rows[:7]), task.image_shape)
    with pytest.raises(EditError, match="not x"):
        pe.image_inputs(x0, "\n".join(["x" * 8] + rows[1:]), task.image_shape)


def test_typed_values_round_trip_and_bad_ones_are_refused():
    x0 = np.array([[0.123456], [-1.5], [2.0]], dtype=np.float32)
    assert pe.values_inputs(x0, pe.values_text(x0), 3).tobytes() == x0.tobytes()
    assert pe.values_inputs(x0, "1, 2", 3)[:, 0].tolist() == [1.0, 2.0]
    one = pe.values_inputs(x0, pe.values_text(x0).replace("-1.5", "7"), 3)
    assert list(pe.changed_steps(x0, one)) == [1] and one[0, 0] == x0[0, 0]
    for bad, words in (("1, x", "numbers"), ("1, nan", "between"), ("1,2,3,4", "1 to 3")):
        with pytest.raises(EditError, match=words):
            pe.values_inputs(x0, bad, 3)


def test_every_task_has_an_editor_or_says_none():
    kinds = {name: pe.editor_kind(task) for name, task in TASKS.items()}
    assert kinds["adding"] == "adding" and kinds["copy_memory"] == "copy"
    assert kinds["char_lm"] == kinds["parity"] == "symbols"
    assert kinds["sentiment"] == "sentence" and kinds["digits_pixels"] == "image"
    assert kinds["sine"] == "values" and kinds["translation"] is None


# ---------------------------------------------------------------- the engine's checks
@pytest.mark.parametrize(
    ("task", "x", "words"),
    [
        (ADDING, np.zeros((1, 4, 3)), "shape"),
        (ADDING, np.full((1, 4, 2), np.nan), "finite"),
        (ADDING, np.zeros((1, 4, 2)), "exactly two marked"),
        (ADDING, np.tile([[[2.0, 1.0]]], (1, 4, 1)), "between 0 and 1"),
        (PARITY, np.full((1, 4, 2), 0.5), "one symbol"),
        (PARITY, np.ones((1, 4, 2)), "one symbol"),
        (PARITY, np.zeros((1, 4, 2)), "one symbol"),
        (PARITY, np.tile([[[1.0, 0.0]]], (1, 40, 1)), "1 to 12 steps"),
        (TASKS["digits_pixels"], np.full((1, 64, 1), 1.5), "between 0"),
    ],
)
def test_inputs_that_do_not_fit_the_task_get_a_sentence(task, x, words):
    with pytest.raises(ValueError, match=words):
        checked_inputs(task, x, 12 if task is PARITY else 64)


def test_sentence_padding_is_accepted_only_at_the_end():
    task = TASKS["sentiment"]
    x, _ = pe.sentence_inputs("good film", task)
    checked_inputs(task, x[None], task.max_seq_len)
    holed = x.copy()
    holed[[0, 1]] = holed[[1, 0]]
    holed[0] = 0
    with pytest.raises(ValueError, match="one symbol"):
        checked_inputs(task, holed[None], task.max_seq_len)


# ---------------------------------------------------------------- the question
@pytest.fixture(scope="module")
def trained():
    cfg = RunConfig(task="adding", model="lstm", hidden_size=8, seq_len=12, batch_size=16)
    trainer = Trainer(cfg, probe_every=10)
    trainer.step(30)
    return trainer


def test_the_unedited_sequence_gives_the_probes_own_states(trained):
    own = trained.probe(sequences=1)
    asked = trained.answer("probe_inputs")
    assert asked.step == own.step == 30
    np.testing.assert_allclose(asked.hidden_layers, own.hidden_layers, atol=1e-6)
    np.testing.assert_allclose(asked.cell, own.cell, atol=1e-6)
    for name, gate in own.gates.items():
        np.testing.assert_allclose(asked.gates[name], gate, atol=1e-6)
    assert asked.loss == pytest.approx(own.loss, rel=1e-5)
    assert asked.grad_h is None  # read forward only
    # the same sequence sent as inputs: the task's rule gives the probe's own target
    sent = trained.answer("probe_inputs", x=own.inputs)
    np.testing.assert_allclose(sent.hidden_layers, own.hidden_layers, atol=1e-6)
    np.testing.assert_allclose(sent.targets, own.targets, atol=1e-6)


def test_an_edit_at_step_k_changes_the_states_from_k_on_only(trained):
    x0 = trained.answer("probe_inputs").inputs[0]
    first, second, a, b = pe.adding_marks(x0)
    k = next(t for t in range(1, 11) if t not in (first, second) and t + 1 not in (first, second))
    edited = pe.adding_inputs(x0, k if first < k else first, second, a, b)
    if first >= k:  # move the second marker instead
        edited = pe.adding_inputs(x0, first, k, a, b)
    k = int(pe.changed_steps(x0, edited)[0])
    pair = trained.answer("probe_inputs", x=np.stack([x0, edited]))
    h = pair.hidden_layers[-1]  # (2, T, H)
    np.testing.assert_array_equal(h[0, :k], h[1, :k])  # the past cannot see the edit
    assert (np.abs(h[0, k:] - h[1, k:]).max(axis=1) > 1e-6).all()  # every later step moves
    assert np.isfinite(pair.loss)
    # the breakdown of the edited step reads the new probe as a full one
    from rnn_core.cell_step import step_breakdown

    assert step_breakdown("lstm", pair, seq=1, t=k).max_error < 1e-5


def test_a_job_answers_between_steps_and_refuses_bad_inputs(trained):
    manager = JobManager(max_running=1, step_cap=10**9)
    try:
        job = manager.submit(Trainer(trained.config), owner="test")
        job.start()
        probe = job.ask("probe_inputs", timeout=30)
        assert probe.hidden_layers.shape[2] == 12
        with pytest.raises(ValueError, match="exactly two marked"):
            job.ask("probe_inputs", x=np.zeros((1, 12, 2)), timeout=30)
    finally:
        manager.shutdown()


def test_a_non_recurrent_model_says_so():
    trainer = Trainer(RunConfig(task="adding", model="tcn", seq_len=12, batch_size=4))
    with pytest.raises(ValueError, match="recurrent model"):
        trainer.answer("probe_inputs")


# ---------------------------------------------------------------- figures
def test_the_difference_figure_is_edited_minus_original_centred_on_zero():
    original = np.zeros((5, 3))
    edited = original.copy()
    edited[3:, 1] = [0.5, -0.25]
    fig = viz.difference_figure(edited, original, title="d", colorbar_title="h", changed_steps=[3])
    z = np.asarray(fig.data[0].z)
    assert z.shape == (3, 5)  # units as rows
    assert z[1, 3] == 0.5 and z[1, 4] == -0.25 and (z[[0, 2]] == 0).all()
    assert fig.data[0].zmin == -0.5 and fig.data[0].zmax == 0.5
    assert [s.x0 for s in fig.layout.shapes] == [3]
    typed = viz.difference_figure(
        edited, original, title="d", colorbar_title="h", changed_steps=np.arange(2, 5)
    )
    assert [s.x0 for s in typed.layout.shapes] == [2, 3, 4]
    many = viz.difference_figure(
        edited, original, title="d", colorbar_title="h", changed_steps=np.arange(1, 40)
    )
    assert [s.x0 for s in many.layout.shapes] == [1]  # a typed string: its first edit only
    assert "0.5" in fig.layout.title.text
    flat = viz.difference_figure(original, original, title="d", colorbar_title="h")
    assert flat.data[0].zmax > 0  # nothing changed: a valid scale, all white


def test_the_edited_states_figure_scales_gates_and_states():
    states = np.array([[0.2, -3.0], [0.1, 1.0]])
    gate = viz.edited_states_figure(states.clip(0, 1), title="g", colorbar_title="f", gate=True)
    assert (gate.data[0].zmin, gate.data[0].zmax) == (0.0, 1.0)
    free = viz.edited_states_figure(states, title="c", colorbar_title="c")
    assert (free.data[0].zmin, free.data[0].zmax) == (-3.0, 3.0)
    np.testing.assert_array_equal(np.asarray(free.data[0].z), states.T.astype(np.float32))


def test_clicking_a_pixel_toggles_it_in_the_drawing():
    text = "\n".join(["00000000"] * 3 + ["00070000"] + ["00000000"] * 4)
    inked = pe.toggle_pixel(text, 2, 5)
    assert inked.splitlines()[2] == "00000900" and inked.count("9") == 1
    assert pe.toggle_pixel(inked, 2, 5) == text  # twice: as it was
    assert pe.toggle_pixel(text, 3, 3).splitlines()[3] == "00000000"  # 7 is ink: blanked
    assert pe.toggle_pixel("bad", 5, 5) == "bad"  # not a drawing: left for the warning
    fig = viz.image_figure(np.eye(8), title="d")
    clickable = fig.data[1]  # a marker per pixel, at (column, row)
    assert len(clickable.x) == 64 and (clickable.x[9], clickable.y[9]) == (1, 1)
    assert clickable.customdata[9] == 1.0 and clickable.customdata[1] == 0.0
