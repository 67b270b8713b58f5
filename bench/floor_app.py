"""The floor under bench/bench_class.py's latency figures: the least a live-training page
can be in Streamlit. A Start button and one live plotly line chart in a fragment that,
once started, reruns once a second (the pace of a shared run), showing a counter of 100
points a second since Start, at most 1,000 points (as our charts). No model, no store, no
sidebar: what N browsers cost on this machine when the app costs nothing.

Not part of the app: bench/bench_class.py starts it with ``streamlit run`` beside the app
and times it exactly as it times the app's pages (the same button key, the same chart key).
"""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Floor: a button and one live chart")
if st.button("Start", key="train_toggle"):
    st.session_state.started = time.monotonic()


started = st.session_state.get("started")


# Refreshing only once started, as the app's pages do: a still page costs nothing.
@st.fragment(run_every=1.0 if started is not None else None)
def live() -> None:
    if started is None:
        st.write("Press Start.")
        return
    count = min(1000, 1 + int(100 * (time.monotonic() - started)))
    steps = np.arange(1, count + 1, dtype=np.int32)
    figure = go.Figure(go.Scatter(x=steps, y=np.log1p(steps).astype(np.float32)))
    st.plotly_chart(figure, key="loss_chart")


live()
