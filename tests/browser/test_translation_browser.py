"""In a real browser: type a number on the Translation page and see the translation change,
and a bad one get a message."""

import pytest

pytestmark = pytest.mark.browser


def test_typing_a_number_changes_the_translation(open_app, artifacts_dir):
    page = open_app("translation?preset=translation")
    page.get_by_role("heading", name="Translation", exact=True).wait_for()
    page.get_by_role("button", name="Start").first.click()
    # the preset's run translates every held-out number by step 300 (tests/test_translation.py)
    page.get_by_text("100.0%").first.wait_for(timeout=90_000)
    page.get_by_role("button", name="Pause").first.click()
    box = page.get_by_role("textbox", name="A number from 1 to 999 in English words")
    for typed, german in (
        ("twenty one", "einundzwanzig"),
        ("seven hundred seventy-seven", "siebenhundertsiebenundsiebzig"),
    ):
        box.fill(typed)
        box.press("Enter")
        page.get_by_text(german, exact=True).wait_for(timeout=30_000)
    box.fill("zwanzig 🙂")
    box.press("Enter")
    page.get_by_text("Not known").wait_for(timeout=30_000)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
    page.screenshot(path=str(artifacts_dir / "translation-typed.png"), full_page=True)
