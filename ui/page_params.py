"""What every page keeps in its URL beside its run's settings: presenter mode and the talk.

``?present=1`` and ``?talk=a,b,c&at=2`` belong to the session, not to one run set: they
are read from the link once per session (``init_from_url``), kept in
``st.session_state`` (Streamlit clears the query parameters when the page changes), and
written back by ``RunSet.sync_url`` and ``RunSet.go_to_preset`` on every page
(``url_params``), so a reload or a shared link lands on the same demo, in the same mode.
"""

from __future__ import annotations

import streamlit as st

from rnn_core.talks import marker, parse_at, parse_talk

PRESENT = "presenter.on"  # bool: the projector layout
TALK = "talk.names"  # tuple of preset names, in order (empty: no talk)
AT = "talk.at"  # index (from 0) of the demo on screen
WARNINGS = "talk.url_warnings"  # what the link had that could not be used, said once
ON = ("1", "true", "yes", "on")
OFF = ("", "0", "false", "no", "off")


def init_from_url() -> bool:
    """First run of a session: presenter mode and the talk from the link (True: this was
    the first run)."""
    s = st.session_state
    if PRESENT in s:
        return False
    query = st.query_params
    problems = []
    present = str(query.get("present", "")).strip().lower()
    if present not in ON + OFF:
        problems.append(f"present: {present[:20]!r} is not 1 or 0; presenter mode is off.")
    names, more = parse_talk(query.get("talk"))
    at, later = parse_at(query.get("at"), names)
    s[PRESENT], s[TALK], s[AT], s[WARNINGS] = present in ON, names, at, problems + more + later
    return True


def presenting() -> bool:
    return bool(st.session_state.get(PRESENT, False))


def talk() -> tuple[tuple[str, ...], int]:
    """(the talk's preset names, the index of the demo on screen)."""
    return st.session_state.get(TALK, ()), st.session_state.get(AT, 0)


def url_params() -> dict[str, str]:
    """The URL parameters of presenter mode and the talk (none when neither is on)."""
    names, at = talk()
    params = {"present": "1"} if presenting() else {}
    if names:
        params.update(talk=",".join(names), at=str(at + 1))
    return params


def position() -> str:
    names, at = talk()
    return marker(at, len(names))
