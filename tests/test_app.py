"""AppTest: the app's script runs headless and shows the welcome page."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_app_runs_and_shows_welcome():
    at = AppTest.from_file(str(APP), default_timeout=30).run()

    assert not at.exception
    assert [t.value for t in at.title] == ["RNN Explorer"]
    text = " ".join(md.value for md in at.markdown)
    assert "trains small recurrent networks" in text
    assert "`rnn_core`, is in place" in text
