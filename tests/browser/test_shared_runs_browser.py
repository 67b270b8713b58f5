"""Two browsers on one link watch one training; one pausing gets a copy, the other goes on."""

from __future__ import annotations

import time

import pytest

from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

# A run no other browser test opens (the app server is shared by the whole session).
LINK = "playground?hidden_size=12&seq_len=20&batch_size=16&seed=31337"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
TRACE0 = chart_script("""
  if (!el || !el.data || !el.data.length) return null;
  return {x: decode(el.data[0].x), y: decode(el.data[0].y)};""")


def _curve(page) -> tuple[list, list]:
    trace = page.evaluate(TRACE0, "loss_chart")
    return (list(trace["x"]), list(trace["y"])) if trace else ([], [])


def _last_step(page) -> int:
    steps, _ = _curve(page)
    return int(steps[-1]) if steps else 0


def _toggle(page):
    return page.locator(".st-key-train_toggle button").first


def test_a_shared_run_trains_once_for_both_and_a_pause_forks(browser, open_app, base_url):
    alice = open_app(LINK)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        bob = context.new_page()
        bob.js_errors = []
        bob.goto(f"{base_url}/{LINK}")
        bob.wait_for_selector(READY)
        watching = "2 people are watching this run"
        bob.get_by_text(watching).first.wait_for(timeout=15_000)

        _toggle(alice).click()  # Start: the shared run trains, for bob too
        bob.locator(".st-key-train_toggle button", has_text="Pause").wait_for(timeout=15_000)
        wait_for(lambda: _last_step(bob) >= 30)

        _toggle(alice).click()  # Pause: alice gets her own copy, bob's run goes on
        alice.locator(".st-key-train_toggle button", has_text="Start").wait_for(timeout=15_000)
        time.sleep(1.5)  # a last refresh of alice's chart
        paused_at = _last_step(alice)
        assert paused_at >= 30
        assert alice.get_by_text(watching).count() == 0
        wait_for(lambda: _last_step(bob) > paused_at + 30)
        assert _last_step(alice) == paused_at
        assert bob.locator(".st-key-train_toggle button", has_text="Pause").count() == 1

        # Alice's copy is the shared run up to where she paused, point for point (a long
        # curve is thinned for the browser: compare the steps both charts drew).
        alice_points = dict(zip(*_curve(alice), strict=True))
        bob_points = dict(zip(*_curve(bob), strict=True))
        common = [s for s in alice_points if s in bob_points]
        assert len(common) >= 10 and max(common) >= paused_at - 5
        assert [alice_points[s] for s in common] == [bob_points[s] for s in common]

        # Alice steps her copy on: ten more steps for her, bob's run is not touched.
        alice.locator(".st-key-train_step button").first.click()
        wait_for(lambda: _last_step(alice) == paused_at + 10)
        assert alice.locator("[data-testid=stException]").count() == 0
        assert bob.locator("[data-testid=stException]").count() == 0
        assert alice.js_errors == [] and bob.js_errors == []
        _toggle(bob).click()  # bob alone now: his pause just pauses the run
        bob.locator(".st-key-train_toggle button", has_text="Start").wait_for(timeout=15_000)
    finally:
        context.close()
