""" "Inside a cell" fits a 1024x768 window: no equation cut off on the right, no table that
scrolls sideways, no step button with a clipped label. In a 3:2 split beside the input,
GRU's n_t and the LSTM's gate equations lost their bias terms at this size, and the
table (one column per term) scrolled sideways."""

import re

import pytest

from tests.browser.pagetools import wait_for

pytestmark = pytest.mark.browser

SIZE = {"width": 1024, "height": 768}
READY = "[data-testid=stApp][data-test-script-state=notRunning]"

# Everything that does not fit, as text. A `.katex-display` is as wide as its formula up
# to the room its element has; KaTeX's last glyph may overhang the box by a pixel or two,
# so the formula's scroll width is compared with the room, not with the box.
OVERFLOWS = """() => {
  const problems = [];
  const main = document.querySelector('[data-testid=stMain]');
  if (main.scrollWidth > main.clientWidth) {
    problems.push(`the page scrolls sideways: ${main.scrollWidth} > ${main.clientWidth} px`);
  }
  document.querySelectorAll('.katex-display').forEach((el, i) => {
    const room = el.closest('[data-testid=stElementContainer]').clientWidth;
    if (el.scrollWidth > room) {
      problems.push(`equation ${i + 1} is ${el.scrollWidth} px wide in ${room} px`);
    }
  });
  // st.table's scroll box, or st.dataframe's (the data grid's scroller)
  document.querySelectorAll('[data-testid=stTable], [data-testid=stDataFrame]').forEach((t, i) => {
    const boxes = [...t.querySelectorAll('*')].filter(
      (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX));
    if (!boxes.length) problems.push(`table ${i + 1}: no scroll box found to measure`);
    for (const box of boxes) {
      if (box.scrollWidth > box.clientWidth + 1) {
        const size = `${box.scrollWidth} > ${box.clientWidth} px`;
        problems.push(`table ${i + 1} scrolls sideways: ${size}`);
      }
    }
  });
  document.querySelectorAll('.st-key-cell-prev button, .st-key-cell-next button').forEach((b) => {
    for (const el of b.querySelectorAll('*')) {
      if (getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth) {
        const size = `${el.scrollWidth} > ${el.clientWidth} px`;
        problems.push(`button "${b.innerText.trim()}" is cut: ${size}`);
      }
    }
  });
  return problems;
}"""


def _trained_step(page) -> None:
    """Step x10, then rerun the page (t+1) until it shows the probe of step 10: the page
    probes the model at each rerun, and nothing reruns it when the steps are done."""
    page.locator(".st-key-train_step button").first.click()
    caption = page.get_by_text(re.compile(r"The model as it was at training step 10\b"))

    def shows_step_10() -> bool:
        page.wait_for_selector(READY)
        if caption.count():
            return True
        page.locator(".st-key-cell-next button").first.click()
        return False

    wait_for(shows_step_10, timeout=60, interval=0.5)
    page.wait_for_selector(READY)


@pytest.mark.parametrize("model", ["rnn_tanh", "lstm", "gru"])
def test_inside_a_cell_fits_a_1024_px_window(page, open_app, artifacts_dir, model):
    page.set_viewport_size(SIZE)
    open_app(f"inside_cell?model={model}")
    _trained_step(page)
    equations = {"rnn_tanh": 1, "lstm": 6, "gru": 4}[model]
    wait_for(lambda: page.locator(".katex-display").count() == equations)
    page.locator("[data-testid=stTable], [data-testid=stDataFrame]").last.wait_for()
    page.screenshot(path=str(artifacts_dir / f"inside_cell-{model}-1024x768.png"))

    problems = page.evaluate(OVERFLOWS)
    assert not problems, "\n".join(problems)
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
