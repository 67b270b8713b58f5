"""Welcome page: what RNN Explorer is and what state it is in."""

import streamlit as st

st.title("RNN Explorer")

st.markdown(
    "RNN Explorer trains small recurrent networks (vanilla RNNs, LSTMs and GRUs) live "
    "while you watch, on sequence tasks such as the adding problem and copy memory. "
    "The aim is to let you see how these networks learn, remember and forget: their "
    "losses against a trivial baseline, their hidden states, their gates and the "
    "gradients that flow back through time."
)

st.markdown(
    "The engine, `rnn_core`, is in place: a plain Python and PyTorch library for the "
    "tasks, models, training loop and probes. The training pages that put it on screen "
    "are coming next; this page is all there is for now."
)
