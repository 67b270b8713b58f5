"""RNN Explorer entry point: page config, navigation over views/, the shared sidebar.

Run with `streamlit run app.py`. Pages (views/) hold layout only; the engine lives in
rnn_core and the session/run plumbing in ui/. The page folder is not called pages/: its
mere presence makes Streamlit 1.67 serve a deep link (/playground) in its old multipage
mode, running the page file without this script (no sidebar, no URL state).
"""

import streamlit as st

from ui import page_params, presenter, race, run, session, sidebar, talk_bar

st.set_page_config(page_title="RNN Explorer", page_icon=":material/cycle:", layout="wide")

# Two groups in the sidebar: the lessons (one run, looked at from every side, and the
# race), then the applications the lessons name, each a task with a page of its own.
pages = {
    "Learn": [
        st.Page(run.PAGES["welcome"], title="Welcome", icon=":material/home:", default=True),
        st.Page(run.PAGES["playground"], title="Playground", icon=":material/play_circle:"),
        st.Page(run.PAGES["hidden_states"], title="Hidden states", icon=":material/grid_on:"),
        st.Page(run.PAGES["gradients"], title="Gradients", icon=":material/trending_down:"),
        st.Page(run.PAGES["inside_cell"], title="Inside a cell", icon=":material/calculate:"),
        st.Page(
            race.PAGE,
            title="CNN vs RNN",
            icon=":material/compare_arrows:",
            url_path=race.URL_PATH,
        ),
    ],
    "Applications": [
        st.Page(run.PAGES["translation"], title="Translation", icon=":material/translate:"),
        st.Page(run.PAGES["speech"], title="Speech", icon=":material/record_voice_over:"),
        st.Page(run.PAGES["series"], title="Time series", icon=":material/show_chart:"),
        st.Page(run.PAGES["sentiment"], title="Sentiment", icon=":material/sentiment_satisfied:"),
        st.Page(run.PAGES["captions"], title="Captions", icon=":material/image:"),
        st.Page(run.PAGES["your_data"], title="Your data", icon=":material/upload_file:"),
    ],
}
page = st.navigation(pages)

session.job_manager()  # process-wide: sets torch threads once, bounds concurrent jobs
first_run = page_params.init_from_url()  # ?present=1, ?talk=...&at=...
# A short link for a talk is the site's address with ?preset=NAME: it opens the preset on
# its own page, as the preset's button on the welcome page does.
linked = st.query_params.get("preset")
if page.url_path == "" and linked in race.RACE.presets:
    race.RACE.go_to_preset(linked)
elif page.url_path == "" and linked in run.RUN.presets:
    run.RUN.go_to_preset(linked)
talk_bar.open_linked_demo(first_run, page.url_path)
presenter.presenter_frame()  # its toggle above the run settings, the talk's bar on top
if page.url_path == race.URL_PATH:
    # The race has its own settings on its page and its own URL; the run sidebar would
    # describe the Playground's run, not what this page shows.
    race.RACE.init_from_url()
    race.RACE.show_url_warnings()
else:
    run.RUN.init_from_url()
    run.RUN.show_url_warnings()
    sidebar.config_sidebar()
    run.RUN.sync_url()
page.run()
