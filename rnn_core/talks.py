"""Talks: an ordered list of presets read from a link (``?talk=vanishing,gates&at=2``).

Plain data and parsing (no streamlit): the app (ui.talk_bar) opens the demos. A talk
link is typed or pasted by a person, so every name that cannot be used is dropped and
said in one list of problems, and what is left is always a valid talk (possibly empty).
"""

from __future__ import annotations

from collections.abc import Iterable

from rnn_core.presets import PRESETS, RACE_PRESETS

MAX_DEMOS = 20  # a talk longer than this is a mistake, not a talk
NAMED = 5  # dropped names said by name; the rest are counted


def known_presets() -> tuple[str, ...]:
    """Every name a talk may hold: the run pages' presets, then the races'."""
    return (*PRESETS, *RACE_PRESETS)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _said(names: list[str]) -> str:
    """At most NAMED names, quoted and cut to 20 characters, then how many more."""
    shown = ", ".join(repr(n[:20]) for n in names[:NAMED])
    more = len(names) - NAMED
    return shown + (f" and {more:,} more" if more > 0 else "")


def parse_talk(
    raw: object, known: Iterable[str] | None = None
) -> tuple[tuple[str, ...], list[str]]:
    """The demos of a comma list, in order, and what was dropped. Unknown names and
    repeats are dropped (a repeat's first place is kept), and at most MAX_DEMOS are
    kept. ``raw`` None (no talk in the link) gives no talk and no problem."""
    if raw is None:
        return (), []
    allowed = set(known_presets() if known is None else known)
    names: list[str] = []
    unknown: list[str] = []
    repeated: list[str] = []
    for token in str(raw).split(","):
        name = token.strip()
        if not name:
            continue
        if name not in allowed:
            unknown.append(name)
        elif name in names:
            repeated.append(name)
        else:
            names.append(name)
    problems = []
    if unknown:
        problems.append(
            f"talk: dropped {_count(len(unknown), 'unknown name')}: {_said(unknown)}. A talk "
            f"lists presets: {', '.join(sorted(allowed))}."
        )
    if repeated:
        problems.append(f"talk: dropped {_count(len(repeated), 'repeat')}: {_said(repeated)}.")
    if len(names) > MAX_DEMOS:
        problems.append(
            f"talk: at most {MAX_DEMOS} demos; dropped the last {len(names) - MAX_DEMOS:,}: "
            f"{_said(names[MAX_DEMOS:])}."
        )
        names = names[:MAX_DEMOS]
    if not names:
        problems.append("talk: no demo left to show, so no talk is loaded.")
    return tuple(names), problems


def parse_at(raw: object, names: tuple[str, ...]) -> tuple[int, list[str]]:
    """The index (from 0) of the demo a link is at: ``at`` is its number from 1, as the
    "3 of 4" marker says, or its name. A missing value is the first demo; a bad one too,
    said in the problems."""
    if raw is None or not names:
        return 0, []
    text = str(raw).strip()
    if text in names:
        return names.index(text), []
    if text.isdecimal() and 1 <= int(text) <= len(names):
        return int(text) - 1, []
    return 0, [f"at: {text[:20]!r} is not a demo of this talk (1 to {len(names)}); starting at 1."]


def neighbour(at: int, delta: int, length: int) -> int | None:
    """The demo ``delta`` places from ``at`` (-1 previous, +1 next), or None past an end."""
    target = at + delta
    return target if 0 <= target < length else None


def marker(at: int, length: int) -> str:
    """The "3 of 4" a speaker and the room see."""
    return f"{at + 1} of {length}"
