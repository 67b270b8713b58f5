"""AppTest of "Edit the input" on Hidden states and Inside a cell: an edit recomputes the
model's inside and the difference view appears; a bad edit gets one sentence, no
exception."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.run import PAGES

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _trained(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGES["playground"]).run()
    at.button(key="train_step").click().run()
    deadline = time.monotonic() + 30
    while next(m.value for m in at.metric if m.label == "Step") == "0":
        assert time.monotonic() < deadline, "the run did not step"
        time.sleep(0.2)
        at.run()
    return at


def _edited(at: AppTest, prefix: str) -> bool:
    return any("On the edit it" in m.value for m in at.markdown) and (
        f"{prefix}.edit.probe" in at.session_state
    )


# (query, how to edit (prefix -> widget changes), a bad edit and the words it must give)
CASES = {
    "adding": (
        {"task": "adding", "model": "lstm", "seq_len": "12", "hidden_size": "6"},
        lambda at, p: at.number_input(key=f"{p}.edit.first_value").set_value(0.999),
        lambda at, p: at.number_input(key=f"{p}.edit.first").set_value(
            at.number_input(key=f"{p}.edit.second").value
        ),
        "different steps",
    ),
    "char_lm": (
        {"task": "char_lm", "model": "gru", "seq_len": "16", "hidden_size": "6"},
        lambda at, p: at.text_area(key=f"{p}.edit.text").set_value("import os\nx = 1"),
        lambda at, p: at.text_area(key=f"{p}.edit.text").set_value("naïve café"),
        "'ï'",
    ),
    "copy_memory": (
        {"task": "copy_memory", "model": "lstm", "seq_len": "5", "hidden_size": "6"},
        lambda at, p: at.text_input(key=f"{p}.edit.digits").set_value("1234567812"),
        lambda at, p: at.text_input(key=f"{p}.edit.digits").set_value("1234567890"),
        "not 0 9",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_an_edit_recomputes_and_a_bad_one_gets_a_sentence(name):
    query, edit, bad, words = CASES[name]
    at = _trained(query)
    for page, prefix in (("hidden_states", "hidden"), ("inside_cell", "cell")):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, at.exception)
        assert not _edited(at, prefix)  # nothing edited yet: no difference view
        if page == "inside_cell":  # the last step: every edit reaches it
            last = at.slider(key="cell.t").max
            at.slider(key="cell.t").set_value(last).run()
        charts, tables = len(at.get("plotly_chart")), len(at.table)
        edit(at, prefix).run()
        assert not at.exception, (page, at.exception)
        assert _edited(at, prefix), page
        if page == "hidden_states":
            assert len(at.get("plotly_chart")) == charts + 2  # the edit's states, the difference
            assert any(s.key == "hidden.edit.what" for s in at.selectbox)
        else:
            assert len(at.table) == tables + 2  # the step on the edit, and minus the original
            difference = at.table[-1].value.to_numpy(dtype=float)
            assert abs(difference).max() > 0  # the edit reached step t
        bad(at, prefix).run()
        assert not at.exception, (page, at.exception)
        assert [w.value for w in at.warning if words in w.value], [w.value for w in at.warning]
        assert not any("On the edit it" in m.value for m in at.markdown)  # no stale answer
        at.button(key=f"{prefix}.edit.reset").click().run()
        assert not at.exception and not at.warning, page


def test_an_edit_is_still_there_after_a_visit_to_another_page():
    """Streamlit drops the values of widgets a page run did not draw: coming back from
    another page, the editor must show the visitor's edit, not its widgets' minimums
    (both adding markers at step 0, which the editor refuses)."""
    at = _trained(CASES["adding"][0])
    at.switch_page(PAGES["inside_cell"]).run()
    at.number_input(key="cell.edit.first").set_value(3).run()
    at.number_input(key="cell.edit.second").set_value(7).run()
    at.switch_page(PAGES["playground"]).run()
    at.switch_page(PAGES["inside_cell"]).run()
    assert not at.exception
    assert at.number_input(key="cell.edit.first").value == 3
    assert at.number_input(key="cell.edit.second").value == 7
    assert not any("different steps" in w.value for w in at.warning)
