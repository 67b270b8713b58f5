"""RunConfig validation, limits, and the URL round trip (with hostile input)."""

import math
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn_core import CHOICES, LIMITS, MODELS, TASKS, ConfigError, RunConfig
from rnn_core.config import MAX_STEP_COST, RECURRENT, field_names

# What each field holds, read from its annotation on RunConfig (``seq_len: int``,
# ``lr: float | None``): the declaration a reader and a type checker see. config.py keeps
# its own lists of whole-number and optional fields for parsing and checking; the tests
# below derive their expectations from the annotations, so they fail if the two disagree.
HINTS = typing.get_type_hints(RunConfig)


def declared(name: str) -> tuple[type, bool]:
    """(the field's type apart from None, whether None is allowed), from its annotation."""
    args = typing.get_args(HINTS[name])
    if not args:
        return HINTS[name], False
    others = [a for a in args if a is not type(None)]
    assert len(others) == 1, HINTS[name]
    return others[0], len(others) < len(args)


NUMERIC = [n for n in field_names() if n in LIMITS]
INTS = [n for n in NUMERIC if declared(n)[0] is int]


def test_every_field_has_a_default_and_a_limit_or_choice():
    cfg = RunConfig()
    for name in field_names():
        assert name in LIMITS or name in CHOICES, name
        assert declared(name)[0] in ((int, float) if name in LIMITS else (str,)), name
        if name in LIMITS and getattr(cfg, name) is not None:
            lo, hi = LIMITS[name]
            assert lo <= getattr(cfg, name) <= hi
    assert CHOICES["model"] == tuple(MODELS)
    assert CHOICES["model"][:4] == RECURRENT == ("rnn_tanh", "rnn_relu", "lstm", "gru")
    assert CHOICES["task"] == tuple(TASKS)


@pytest.mark.parametrize("name", NUMERIC)
def test_out_of_range_values_name_the_field_and_range(name):
    lo, hi = LIMITS[name]
    for bad in (lo - 1, hi * 10 + 1):
        with pytest.raises(ConfigError) as info:
            RunConfig(**{name: int(bad) if name in INTS else float(bad)})
        err = info.value
        assert err.field == name
        assert isinstance(err, ValueError)
        assert name in str(err) and "out of range" in str(err) and "allowed" in str(err)


@pytest.mark.parametrize("name", NUMERIC)
def test_each_number_field_holds_the_type_it_declares(name):
    lo, hi = LIMITS[name]
    default = getattr(RunConfig(), name)
    if declared(name)[0] is int:
        whole = default if default is not None else int(lo)
        assert getattr(RunConfig(**{name: whole}), name) == whole
        for bad in (float(whole), whole + 0.5):  # a float, even a whole one, is refused
            with pytest.raises(ConfigError) as info:
                RunConfig(**{name: bad})
            assert info.value.field == name
        with pytest.raises(ConfigError) as info:
            RunConfig.from_query({name: f"{whole}.5"})
        assert info.value.field == name
    else:
        fraction = lo + (hi - lo) / 3  # not a whole number, within the range
        cfg = RunConfig(**{name: fraction})
        assert getattr(cfg, name) == fraction
        assert getattr(RunConfig.from_query(cfg.to_query()), name) == fraction


@pytest.mark.parametrize("name", field_names())
def test_none_is_allowed_exactly_where_the_field_declares_it(name):
    if declared(name)[1]:
        cfg = RunConfig(**{name: None})
        assert getattr(cfg, name) is None and cfg.to_query()[name] == "none"
        assert getattr(RunConfig.from_query(cfg.to_query()), name) is None
    else:
        with pytest.raises(ConfigError) as info:
            RunConfig(**{name: None})
        assert info.value.field == name
        with pytest.raises(ConfigError) as info:
            RunConfig.from_query({name: "none"})
        assert info.value.field == name


def test_bad_types_and_choices_raise_config_error():
    with pytest.raises(ConfigError, match="model"):
        RunConfig(model="transformer9000")
    with pytest.raises(ConfigError) as info:
        RunConfig(hidden_size=True)
    assert info.value.field == "hidden_size"
    with pytest.raises(ConfigError):
        RunConfig(seq_len=50.5)
    with pytest.raises(ConfigError):
        RunConfig(lr=math.nan)


def test_lr_none_means_the_optimizer_default():
    assert RunConfig(lr=None, optimizer="adam").learning_rate == pytest.approx(1e-2)
    assert RunConfig(lr=3e-4).learning_rate == 3e-4


def test_cost_cap_rejects_huge_runs_but_admits_long_memory_tasks():
    with pytest.raises(ConfigError) as info:
        RunConfig(hidden_size=256, seq_len=2000, batch_size=256, num_layers=4)
    assert info.value.field in ("hidden_size", "seq_len", "batch_size", "num_layers")
    assert "costly" in str(info.value)
    for task in ("copy_memory", "adding"):
        for model in RECURRENT:
            cfg = RunConfig(task=task, model=model, seq_len=1000, hidden_size=32, batch_size=64)
            assert cfg.cost <= MAX_STEP_COST
        for model in (*RECURRENT, "tcn"):
            RunConfig(task=task, model=model, seq_len=1000, param_budget=10_000, batch_size=32)
        # Attention costs T^2: a transformer is admitted at T=200, not at T=1000.
        RunConfig(task=task, model="transformer", seq_len=200, param_budget=10_000)
        with pytest.raises(ConfigError, match="costly"):
            RunConfig(task=task, model="transformer", seq_len=1000, param_budget=10_000)


def test_task_specific_sequence_range():
    co2 = TASKS["co2"]
    if co2.max_seq_len is not None:
        with pytest.raises(ConfigError) as info:
            RunConfig(task="co2", seq_len=co2.max_seq_len + 1)
        assert info.value.field == "seq_len"


def test_query_round_trip_holds_every_field():
    cfg = RunConfig(
        model="gru",
        lr=3e-3,
        clip=None,
        recurrent_scale=1.5,
        seed=7,
        init="orthogonal",
        optimizer="rmsprop",
        task="copy_memory",
        seq_len=30,
    )
    query = cfg.to_query()
    # ``data`` is written only when it is not the default (store keys stay as they were)
    assert set(query) == set(field_names()) - {"data"}
    assert set(cfg.replace(task="co2", data="private").to_query()) == set(field_names())
    assert all(isinstance(v, str) for v in query.values())
    assert query["clip"] == "none"
    assert RunConfig.from_query(query) == cfg


def test_from_query_fills_defaults_and_ignores_unknown_keys():
    cfg = RunConfig.from_query({"model": "gru", "utm_source": "talk", "seq_len": "20"})
    assert cfg == RunConfig(model="gru", seq_len=20)
    assert RunConfig.from_query({}) == RunConfig()
    # st.query_params.to_dict() gives strings, but a raw parse gives lists: last wins.
    assert RunConfig.from_query({"seed": ["1", "2"]}).seed == 2
    with pytest.raises(ConfigError):  # non-ASCII digits are not a number we wrote
        RunConfig.from_query({"seed": "１２"})


def test_from_query_strict_raises_on_first_bad_value():
    with pytest.raises(ConfigError) as info:
        RunConfig.from_query({"hidden_size": "99999", "seq_len": "abc"})
    assert info.value.field in ("hidden_size", "seq_len")


def test_from_query_lenient_resets_each_bad_field():
    cfg, errors = RunConfig.from_query(
        {"hidden_size": "-3", "lr": "nan", "model": "gru", "seq_len": "<script>"}, lenient=True
    )
    assert cfg == RunConfig(model="gru")
    assert sorted(e.field for e in errors) == ["hidden_size", "lr", "seq_len"]


def test_lenient_resolves_the_joint_cost_cap():
    cfg, errors = RunConfig.from_query(
        {"hidden_size": "256", "seq_len": "2000", "batch_size": "256", "num_layers": "4"},
        lenient=True,
    )
    assert errors and cfg.cost <= MAX_STEP_COST


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e999",
            "-1",
            "0",
            "1" * 400,
            "<b>x</b>",
            "<script>alert(1)</script>",
            "a" * 10_000,
            "\x00",
            "1\x00",
            "0x10",
            "1_000",
            "  ",
            "None",
            "+5",
            "1e-400",
            "9" * 30,
            "lstm\x00",
            "Infinity",
            "１２",
        ]
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(field_names()), value=HOSTILE)
def test_hostile_query_values_raise_config_error_and_nothing_else(name, value):
    try:
        cfg = RunConfig.from_query({name: value})
    except ConfigError as err:
        assert err.field in field_names()
        assert len(str(err)) < 400  # the message never echoes a 10 kB value
    else:
        # Accepted values must be valid and round-trip exactly.
        assert RunConfig.from_query(cfg.to_query()) == cfg


@settings(max_examples=150, deadline=None)
@given(query=st.dictionaries(st.sampled_from(list(field_names()) + ["x"]), HOSTILE, max_size=6))
def test_lenient_parsing_always_gives_a_valid_config(query):
    cfg, errors = RunConfig.from_query(query, lenient=True)
    assert isinstance(cfg, RunConfig)
    assert all(isinstance(e, ConfigError) for e in errors)
    assert RunConfig.from_query(cfg.to_query()) == cfg


@settings(max_examples=150, deadline=None)
@given(
    model=st.sampled_from(RECURRENT),
    task=st.sampled_from(CHOICES["task"]),
    seq_len=st.integers(1, 300),
    hidden=st.integers(1, 64),
    seed=st.integers(0, 2**31 - 1),
    lr=st.one_of(st.none(), st.floats(1e-5, 1.0)),
    clip=st.one_of(st.none(), st.floats(0.01, 100.0)),
)
def test_valid_configs_round_trip(model, task, seq_len, hidden, seed, lr, clip):
    t = TASKS[task]
    seq_len = max(seq_len, t.min_seq_len)
    if t.max_seq_len is not None:
        seq_len = min(seq_len, t.max_seq_len)
    cfg = RunConfig(
        model=model, task=task, seq_len=seq_len, hidden_size=hidden, seed=seed, lr=lr, clip=clip
    )
    assert RunConfig.from_query(cfg.to_query()) == cfg


@pytest.mark.parametrize("task", ["digits_pixels", "digits_rows", "sentiment", "translation"])
def test_a_link_that_names_a_task_but_no_length_opens_that_task(task):
    """The default length (50) is outside these tasks' ranges. Such a link once sent the
    lenient reader into an endless loop (it blamed a length the link never set); it must
    open the task at a length it allows, with nothing to warn about."""
    cfg, errors = RunConfig.from_query({"task": task, "model": "gru"}, lenient=True)
    assert errors == []
    assert (cfg.task, cfg.model) == (task, "gru")
    assert TASKS[task].min_seq_len <= cfg.seq_len <= (TASKS[task].max_seq_len or 2000)
