"""The app in a real browser: pages load, training runs and pauses, links restore runs."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.pagetools import chart_script, location, wait_for

pytestmark = pytest.mark.browser

PAGES = ["", "playground", "hidden_states", "gradients", "inside_cell"]
APPLICATIONS = ["translation", "speech", "sentiment", "series", "captions"]
SMALL = "hidden_size=16&seq_len=20&batch_size=16"

TRACE0 = chart_script("""
  if (!el || !el.data || !el.data.length) return null;
  return {x: decode(el.data[0].x), y: decode(el.data[0].y)};""")

FRAMES = """(key) => {
  const el = document.querySelector(`.st-key-${key} .js-plotly-plot`);
  if (!el || !el._transitionData) return null;
  const slider = (el.layout.sliders || [])[0];
  return {frames: el._transitionData._frames.length,
          slider: slider ? slider.steps.length : 0};
}"""


def _last_step(page, key="loss_chart") -> int:
    trace = page.evaluate(TRACE0, key)
    return int(trace["x"][-1]) if trace and trace["x"] else 0


def _no_exception(page):
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []


@pytest.mark.parametrize("path", PAGES + APPLICATIONS)
def test_every_page_loads_without_exception(open_app, path, artifacts_dir):
    page = open_app(f"{path}?{SMALL}")
    _no_exception(page)
    name = path or "welcome"
    for width, height in ((1280, 800), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(0.3)
        page.screenshot(path=str(artifacts_dir / f"{name}-{width}x{height}.png"), full_page=True)
    # The URL always holds the whole run.
    assert parse_qs(urlparse(page.url).query)["hidden_size"] == ["16"]


def test_start_advances_the_loss_chart_and_pause_stops_it(open_app):
    page = open_app(f"playground?{SMALL}")
    page.locator(".st-key-train_toggle button").first.click()
    wait_for(lambda: _last_step(page) >= 30)
    page.locator(".st-key-train_toggle button").first.click()  # Pause
    page.locator(".st-key-train_toggle button", has_text="Start").wait_for(timeout=15_000)
    time.sleep(1.5)  # let a last refresh arrive
    paused_at = _last_step(page)
    time.sleep(2.0)
    assert _last_step(page) == paused_at > 0
    _no_exception(page)


def test_hidden_state_heatmap_has_a_frame_per_snapshot(open_app, artifacts_dir):
    page = open_app(f"playground?{SMALL}")
    page.locator(".st-key-train_toggle button").first.click()
    wait_for(lambda: _last_step(page) >= 80)  # snapshots at steps 0, 25, 50, 75
    page.locator(".st-key-train_toggle button").first.click()
    page.get_by_role("link", name="Hidden states").click()  # same session
    page.locator(".st-key-hidden_heatmap .js-plotly-plot").wait_for(timeout=30_000)
    info = wait_for(lambda: page.evaluate(FRAMES, "hidden_heatmap"))
    assert info["frames"] >= 4
    assert info["slider"] == info["frames"]
    page.screenshot(path=str(artifacts_dir / "hidden_states-trained.png"), full_page=True)
    _no_exception(page)


def test_a_copied_url_restores_the_run_in_a_new_browser_context(browser, open_app, base_url):
    page = open_app("playground?model=gru&seq_len=24&hidden_size=12&batch_size=16&seed=7&clip=none")
    url = page.url
    query = parse_qs(urlparse(url).query)
    assert query["model"] == ["gru"] and query["clip"] == ["none"]
    assert set(query) >= {"lr", "init", "optimizer", "recurrent_scale", "task"}  # exact link
    page.locator(".st-key-train_step button").first.click()
    wait_for(lambda: _last_step(page) == 10)
    first = page.evaluate(TRACE0, "loss_chart")

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other = context.new_page()
        other.js_errors = []
        other.goto(url)
        other.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]")
        summary = other.locator("[data-testid=stMarkdown]", has_text="seed 7").first
        summary.wait_for(timeout=30_000)
        assert summary.inner_text().startswith("GRU on Adding problem, T = 24, hidden size 12")
        # Poll: the number inputs mount with their minimum before the state arrives.
        wait_for(
            lambda: other.locator(".st-key-cfg-seq_len input").input_value() == "24", timeout=10
        )
        wait_for(
            lambda: other.locator(".st-key-cfg-hidden_size input").input_value() == "12", timeout=10
        )
        assert parse_qs(urlparse(other.url).query) == query
        # The run was kept in the run store when it paused: the link opens it at step 10,
        # the same curve step for step, with nothing trained again.
        wait_for(lambda: _last_step(other) == 10)
        assert other.evaluate(TRACE0, "loss_chart") == first
        assert other.locator(".st-key-train_toggle button", has_text="Start").count() == 1
        _no_exception(other)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("vanishing", "/gradients"),
        ("race_adding", "/cnn_vs_rnn"),
        # Every application's preset opens on its own page, with the run to train.
        ("translation", "/translation"),
        ("speech", "/speech"),
        ("sentiment", "/sentiment"),
        ("anomaly", "/series"),
        ("captions", "/captions"),
    ],
)
def test_a_short_preset_link_opens_the_presets_own_page(open_app, name, path):
    # The link a speaker shares is the site's address with ?preset=NAME.
    page = open_app(f"?preset={name}")
    wait_for(lambda: location(page).path == path, timeout=30)
    page.locator(".st-key-train_toggle button").first.wait_for(timeout=30_000)
    _no_exception(page)


def test_the_sidebar_keeps_the_run_across_the_race_page(open_app):
    # The race page draws no run sidebar, so Streamlit drops those widgets' state there;
    # back on the Playground they must show the run again (and not replace it).
    page = open_app(f"playground?{SMALL}")
    size = page.locator(".st-key-cfg-hidden_size input")

    def shown():
        return size.input_value() if size.count() else None

    # A number input mounts with its minimum and gets its state a moment later: poll.
    wait_for(lambda: shown() == "16", timeout=30, seen=shown)
    page.get_by_role("link", name="CNN vs RNN").click()
    page.locator(".st-key-race-models").wait_for(timeout=30_000)
    # Until the race page's run ends, the Playground's sidebar may still be on screen
    # (Streamlit keeps a page's elements until the next run replaces them): go back once
    # it ended, so the value read below is the Playground's own.
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=30_000)
    page.get_by_role("link", name="Playground").click()
    page.get_by_role("heading", name="Playground").wait_for(timeout=30_000)
    wait_for(lambda: shown() == "16", timeout=30, seen=shown)
    # Not checked: the address bar. Back from the race page it kept the path /cnn_vs_rnn
    # in two of four tries here (with the race's or the Playground's query), an open bug.
    _no_exception(page)
