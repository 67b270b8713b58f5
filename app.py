"""RNN Explorer entry point: page config and navigation over pages/.

Run with `streamlit run app.py`. Pages hold layout only; the engine lives in rnn_core.
"""

import streamlit as st

st.set_page_config(page_title="RNN Explorer", layout="wide")

pages = [
    st.Page("pages/welcome.py", title="Welcome", default=True),
]

st.navigation(pages).run()
