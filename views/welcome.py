"""Welcome: what an RNN is, in short paragraphs that each end in a one-click demo."""

import streamlit as st

from rnn_core.presets import PRESETS, RACE_PRESETS
from ui.race import RACE
from ui.run import RUN
from ui.welcome_pictures import demo_columns, demo_thumbnail, section_picture, thumbnails

st.title("RNN Explorer")
st.markdown(
    "Train small recurrent neural networks live, on this server, and watch what happens "
    "inside them: the loss against a trivial baseline, the hidden state, the gates, and "
    "the gradient flowing back through time. Every demo below is one click; every run can "
    "be shared as a link that restores it exactly."
)

SECTIONS = [
    (
        "Recurrence and memory",
        "A recurrent network reads a sequence one step at a time and carries a **hidden "
        "state** h_t = f(W x_t + U h_(t-1) + b) from step to step. That state is its only "
        "memory: whatever it needs later, it must keep there.",
        ["memory"],
    ),
    (
        "Why gradients vanish or explode",
        "Training sends the error back through every step. Each step multiplies it by the "
        "recurrent matrix and the activation's slope, so over many steps it shrinks "
        "geometrically (vanishes) when that product is below 1 and grows (explodes) when it is "
        "above. In the first demo, a plain tanh RNN on the adding problem with 50 steps stays "
        "near the baseline for all 5,000 steps this server allows, while an LSTM given the "
        "same data and optimizer solves it in about 500. Pascanu, Mikolov & Bengio (2013) "
        "analysed why, and with gradient clipping and a regulariser trained plain RNNs on "
        "such tasks up to about 200 steps.",
        ["vanishing", "exploding", "irnn"],
    ),
    (
        "How LSTM and GRU gates fix it",
        "LSTM and GRU cells add a path that is updated by addition and guarded by gates: a "
        "unit whose forget (or update) gate stays near 1 passes its state, and the gradient, "
        "through many steps almost unchanged. In the demo, one such unit carries the sum "
        "while most others forget within a few steps.",
        ["gates"],
    ),
    (
        "Where RNNs are used",
        "Language (one character or word at a time), speech, time series, and image "
        "captioning, where a recurrent decoder writes a sentence about an image. Here: a "
        "character model of Python source, telling speakers apart from a few frames of "
        "their voice, and the sentiment of review sentences (generated from a sentiment "
        "lexicon) read word by word.",
        ["char", "speech", "sentiment"],
    ),
    (
        "Encoder and decoder: translation and captions",
        "One network reads the whole input and another writes the output one word at a "
        "time. With attention, the writer looks back at the part of the input it needs for "
        "each word: English number words into German, whose word order differs, and a "
        "caption for two handwritten digits.",
        ["translation", "captions"],
    ),
    (
        "Time series: against the naive forecast",
        "A forecast is only as good as what it beats. Repeating the last value (persistence) "
        "is already close on a smooth series, so the Time series page scores every forecast "
        "by its skill against it, and uses a net's forecast errors to find an abnormal "
        "heartbeat in an ECG.",
        ["co2", "anomaly", "stocks", "elnino"],
    ),
    (
        "CNN vs RNN",
        "A convolution sees a fixed window (its receptive field) and processes all steps in "
        "parallel; a recurrent net carries a state of any length but one step at a time. "
        "Bai, Kolter & Koltun (2018) found convolutions winning on long memory; this task is "
        "where recurrent nets struggle. The CNN vs RNN page races them at equal size.",
        ["copy", "race_copy", "race_digits"],
    ),
]

pictures = thumbnails()
for heading, text, preset_names in SECTIONS:
    st.subheader(heading)
    st.markdown(text)
    section_picture(heading)
    cols = st.columns(demo_columns(len(preset_names)))
    for i, name in enumerate(preset_names):
        col = cols[i % len(cols)]
        runs = RUN if name in PRESETS else RACE
        preset = runs.presets[name]
        if col.button(
            preset.title,
            key=f"welcome.{name}",
            icon=":material/play_arrow:",
            wrap=True,
            help=preset.blurb,
            width="stretch",
        ):
            runs.go_to_preset(name)
        demo_thumbnail(col, name, pictures)

st.divider()
st.caption(
    "Short links for talks: add `?preset=NAME` to this page's address, with NAME one "
    f"of {', '.join(f'`{n}`' for n in PRESETS)}; or to the CNN vs RNN page's address, "
    f"with NAME one of {', '.join(f'`{n}`' for n in RACE_PRESETS)}. A whole talk is a list "
    "of them, `?talk=vanishing,exploding,gates,race_copy` (← and → move through it), and "
    "`?present=1` (or *Presenter mode* in the sidebar) is the projector layout: larger type, "
    "no sidebar; Space starts and pauses, S steps, 0 resets."
)
