"""Smoke test in a real browser: the app loads, shows the welcome page and no exception."""

import pytest

pytestmark = pytest.mark.browser

WELCOME_TEXT = "Train small recurrent neural networks live"


def test_welcome_page_renders(open_app, artifacts_dir):
    page = open_app()

    page.get_by_role("heading", name="RNN Explorer").wait_for()
    page.get_by_text(WELCOME_TEXT).wait_for()
    assert page.title() == "RNN Explorer"
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []

    page.screenshot(path=str(artifacts_dir / "welcome.png"), full_page=True)
