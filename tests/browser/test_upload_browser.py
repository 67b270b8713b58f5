"""Your data in a real browser: a CSV uploaded through the page trains on the Playground."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_core.tasks.forecast import ELNINO_PATH
from tests.browser.pagetools import chart_script, wait_for

pytestmark = pytest.mark.browser

LAST_STEP = chart_script("""
  if (!el || !el.data || !el.data.length) return 0;
  const x = decode(el.data[0].x);
  return x.length ? x[x.length - 1] : 0;""")


def test_an_uploaded_csv_trains_on_the_playground(open_app, tmp_path, artifacts_dir):
    table = np.genfromtxt(ELNINO_PATH, delimiter=",", skip_header=1)
    lines = ["month,sst"] + [
        f"{int(row[0])}-{m:02d}-01,{v:.2f}" for row in table for m, v in enumerate(row[1:13], 1)
    ]
    upload = tmp_path / "sst.csv"
    upload.write_text("\n".join(lines) + "\n")

    page = open_app("your_data?hidden_size=8&batch_size=16")
    page.locator(".st-key-data-file input[type=file]").set_input_files(str(upload))
    page.locator(".st-key-data-series .js-plotly-plot").wait_for(timeout=30_000)  # the preview
    page.screenshot(path=str(artifacts_dir / "your_data-uploaded.png"), full_page=True)
    page.locator(".st-key-data-train button").click()
    page.get_by_role("heading", name="Playground").wait_for(timeout=30_000)
    assert "data=private" in page.url
    page.get_by_text("Your series (sst)").first.wait_for(timeout=15_000)
    page.locator(".st-key-train_toggle button").first.click()  # Start
    wait_for(lambda: page.evaluate(LAST_STEP, "loss_chart") >= 1)
    page.locator(".st-key-train_toggle button").first.click()  # Pause
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.js_errors == []
