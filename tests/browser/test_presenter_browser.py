"""Presenter mode in a real browser: no sidebar, Space starts and pauses the run, a key
typed into a text box stays there, and the right arrow opens the talk's next demo."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest

from tests.browser.pagetools import location, wait_for

pytestmark = pytest.mark.browser

TALK = "irnn,race_adding"  # a Playground demo (its Step metric), then a race
TOGGLE = ".st-key-train_toggle button"


def _steps(page) -> int:
    return int(page.locator("[data-testid=stMetricValue]").first.inner_text().replace(",", ""))


def _marker(page) -> str:
    return page.locator(".st-key-talk-bar p", has_text="Talk:").first.inner_text()


_url = location  # read from the page (tests.browser.pagetools.location says why)


def _settled(page) -> None:
    """Wait for the script run a click started to end: a key pressed during a run may be
    lost with it (Streamlit stops a run for the next), as a click may."""
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")


def _label(page) -> str:
    return page.locator(TOGGLE).inner_text()


def test_presenter_mode_keys_move_the_run_and_the_talk(open_app):
    page = open_app(f"?talk={TALK}&present=1")
    wait_for(lambda: _url(page).path.endswith("/playground"), timeout=30)
    wait_for(lambda: page.locator(TOGGLE).count() == 1, timeout=30)
    assert "1 of 2" in _marker(page)
    assert not page.locator("[data-testid=stSidebar]").is_visible()
    assert not page.locator("[data-testid=stExpandSidebarButton]").is_visible()
    assert parse_qs(_url(page).query)["present"] == ["1"]

    # Space starts the run (the button's label turns to Pause, the step count moves) ...
    assert "Start" in _label(page)
    page.keyboard.press("Space")
    wait_for(lambda: "Pause" in _label(page), timeout=30, seen=lambda: _label(page))
    first = wait_for(lambda: _steps(page) > 0 and _steps(page), timeout=60)
    wait_for(lambda: _steps(page) > first, timeout=60, seen=lambda: _steps(page))
    # ... and pauses it: the label turns back.
    page.keyboard.press("Space")
    wait_for(lambda: "Start" in _label(page), timeout=30, seen=lambda: _label(page))

    # Out of presenter mode the sidebar is back; keys typed into its text boxes type
    # there and press no button. (A paused page does not refresh by itself: the counts
    # are read after a rerun, the first as the sidebar comes back, the second as
    # presenter mode does.)
    page.locator(".st-key-presenter-leave button").first.click()
    wait_for(lambda: page.locator("[data-testid=stSidebar]").is_visible(), timeout=30)
    paused = _steps(page)
    page.locator(".st-key-cfg-batch_size input").click()
    page.keyboard.type(" s ")
    time.sleep(1.5)
    assert "Start" in _label(page)

    # Back in presenter mode: the run stood still, and the right arrow opens the talk's
    # next demo, a race.
    page.locator(".st-key-presenter-toggle label").click()
    wait_for(lambda: not page.locator("[data-testid=stSidebar]").is_visible(), timeout=30)
    _settled(page)
    assert _steps(page) == paused and "Start" in _label(page)
    page.keyboard.press("ArrowRight")
    wait_for(lambda: _url(page).path.endswith("/cnn_vs_rnn"), timeout=30, seen=lambda: _url(page))
    wait_for(lambda: "2 of 2" in _marker(page), timeout=30, seen=lambda: _marker(page))
    query = parse_qs(_url(page).query)
    assert query["talk"] == [TALK] and query["at"] == ["2"] and query["present"] == ["1"]
    assert page.locator("[data-testid=stMain] h1").first.inner_text().startswith("CNN vs RNN")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
