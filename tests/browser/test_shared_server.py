"""A shared server stays fair: a bounded number of runs train, the rest queue, and a
closed tab's run stops and gives its slot to the next visitor."""

import time

import pytest

pytestmark = pytest.mark.browser

SMALL = "hidden_size=8&seq_len=20&batch_size=8"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"


def _open(browser, url, seed: int):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/playground?{SMALL}&seed={seed}")
    page.wait_for_selector(READY)
    return context, page


def test_a_closed_tabs_run_frees_its_slot_for_a_queued_visitor(browser, start_app, artifacts_dir):
    with start_app(
        artifacts_dir,
        "shared-server",
        ("--server.disconnectedSessionTTL", "2"),
        {
            "RNN_EXPLORER_MAX_JOBS": "1",
            "RNN_EXPLORER_STEP_CAP": "10000000",
            "RNN_EXPLORER_IDLE_SECONDS": "600",
        },
    ) as url:
        # Two different runs (another seed): the same run would be one shared job.
        first_context, first = _open(browser, url, seed=1)
        first.locator(".st-key-train_toggle button").first.click()
        first.get_by_text("LSTM: Training.").wait_for(timeout=20_000)

        second_context, second = _open(browser, url, seed=2)
        second.locator(".st-key-train_toggle button").first.click()
        second.get_by_text("waiting for a free training slot (position 1)").wait_for(timeout=20_000)
        time.sleep(1.0)
        assert second.get_by_text("waiting for a free training slot").count() == 1

        first_context.close()  # the tab closes: its session ends after the TTL
        second.get_by_text("LSTM: Training.").wait_for(timeout=30_000)
        assert second.locator("[data-testid=stException]").count() == 0
        second_context.close()
