"""AppTest: the app's script runs headless and shows the welcome page with its demos."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from rnn_core.presets import PRESETS, RACE_PRESETS

APP = Path(__file__).resolve().parents[1] / "app.py"


def test_app_runs_and_shows_welcome_with_a_demo_for_every_preset():
    at = AppTest.from_file(str(APP), default_timeout=30).run()

    assert not at.exception
    assert [t.value for t in at.title] == ["RNN Explorer"]
    headings = [h.value for h in at.subheader]
    for topic in (
        "Recurrence and memory",
        "Why gradients vanish or explode",
        "How LSTM and GRU gates fix it",
        "Where RNNs are used",
        "CNN vs RNN",
    ):
        assert topic in headings
    demo_keys = {b.key for b in at.button if b.key and b.key.startswith("welcome.")}
    assert demo_keys == {f"welcome.{name}" for name in PRESETS} | {
        "welcome.race_copy",
        "welcome.race_digits",
    }
    assert [b.label for b in at.button if b.key == "welcome.vanishing"] == [
        PRESETS["vanishing"].title
    ]


def test_a_race_demo_on_welcome_opens_the_race_page():
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.button(key="welcome.race_copy").click().run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["CNN vs RNN (and attention)"]
    assert at.session_state["race.state.models"] == RACE_PRESETS["race_copy"].models
    assert at.query_params["models"] == "tcn,lstm,gru"
    from ui.session import job_manager

    job_manager().shutdown()  # stop the race and wait for its worker threads
