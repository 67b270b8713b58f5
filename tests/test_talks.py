"""Talks (rnn_core.talks): a talk link's list of presets, where it is, and its neighbours."""

from __future__ import annotations

from rnn_core.talks import MAX_DEMOS, marker, neighbour, parse_at, parse_talk

KNOWN = ("vanishing", "exploding", "gates", "race_copy", "irnn")


def test_a_talk_keeps_its_order_and_trims_spaces():
    names, problems = parse_talk(" gates, vanishing ,race_copy", KNOWN)
    assert names == ("gates", "vanishing", "race_copy")
    assert problems == []


def test_no_talk_in_the_link_is_no_talk_and_no_problem():
    assert parse_talk(None, KNOWN) == ((), [])


def test_the_app_s_presets_and_races_are_known():
    names, problems = parse_talk("vanishing,exploding,gates,race_copy")
    assert names == ("vanishing", "exploding", "gates", "race_copy") and problems == []


def test_unknown_names_are_dropped_and_named_once():
    names, problems = parse_talk("gates,<script>,vanishing,nope", KNOWN)
    assert names == ("gates", "vanishing")
    assert len(problems) == 1
    assert "'<script>'" in problems[0] and "'nope'" in problems[0]
    assert "2 unknown names" in problems[0]


def test_repeats_are_dropped_keeping_the_first_place():
    names, problems = parse_talk("gates,vanishing,gates,gates", KNOWN)
    assert names == ("gates", "vanishing")
    assert problems == ["talk: dropped 2 repeats: 'gates', 'gates'."]


def test_an_empty_talk_says_no_talk_is_loaded():
    for raw in ("", " , ,", "nope"):
        names, problems = parse_talk(raw, KNOWN)
        assert names == ()
        assert any("no demo left" in p for p in problems)


def test_a_thousand_names_give_a_short_warning_and_a_bounded_talk():
    unknown = ",".join(f"demo{i}" for i in range(1000))
    names, problems = parse_talk(unknown, KNOWN)
    assert names == ()
    assert "1,000 unknown names" in problems[0] and "and 995 more" in problems[0]
    assert sum(len(p) for p in problems) < 1000  # not the thousand names echoed back

    many = [f"p{i}" for i in range(MAX_DEMOS + 7)]
    names, problems = parse_talk(",".join(many), many)
    assert names == tuple(many[:MAX_DEMOS])
    assert "dropped the last 7" in problems[0]


def test_a_long_name_is_cut_in_the_warning():
    _, problems = parse_talk("x" * 5000, KNOWN)
    assert "x" * 21 not in problems[0]


def test_at_is_a_number_from_one_or_a_name():
    talk = ("vanishing", "gates", "race_copy")
    assert parse_at(None, talk) == (0, [])
    assert parse_at("3", talk) == (2, [])
    assert parse_at("gates", talk) == (1, [])
    for bad in ("0", "4", "-1", "two", "1.5", "9" * 50):
        at, problems = parse_at(bad, talk)
        assert at == 0 and len(problems) == 1 and "1 to 3" in problems[0]


def test_neighbours_stop_at_the_ends():
    assert neighbour(0, -1, 3) is None
    assert neighbour(0, +1, 3) == 1
    assert neighbour(2, +1, 3) is None
    assert neighbour(2, -1, 3) == 1


def test_the_marker_counts_from_one():
    assert marker(2, 4) == "3 of 4"
