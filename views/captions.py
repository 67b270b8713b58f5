"""Captions: a CNN reads two handwritten digits, a recurrent decoder describes them."""

import numpy as np
import streamlit as st

from rnn_core.models import MODEL_TITLES
from rnn_core.seq2seq import ATTENTION_TITLES
from rnn_core.tasks.captions import (
    DIGIT_WORDS,
    caption,
    composition,
    greedy_caption,
    picture_of,
)
from rnn_core.viz.captions import caption_attention_figure
from rnn_core.viz.translation import attention_over_training
from ui import application, controls, replay_step
from ui.live_view import of_snapshots
from ui.run import RUN

PRESET = "captions"

cfg = RUN.config()
st.title("Captions")
application.open_or_explain(
    PRESET,
    "Image captioning: a **convolutional network** reads an image and a **recurrent "
    "decoder** writes a sentence about it, one word a step. Here the image is two "
    "bundled handwritten digits side by side and the sentence says which is where "
    "(*seven left of two*); with **attention** the decoder weighs the image's regions "
    "at every word, and the page shows where it looked for each.",
    PRESET,
    "captions.open",
)

cfg, task, job = RUN.page_run()
st.markdown(
    f"A CNN encoder and a **{MODEL_TITLES[cfg.model]}** decoder with "
    f"**{ATTENTION_TITLES[cfg.attention]}** ({cfg.shape.summary}, "
    f"{cfg.shape.num_parameters:,} parameters), seed {cfg.seed}. Change the decoder's cell "
    "or the attention in the sidebar."
)
with st.expander("About this task", expanded=False):
    st.markdown(task.description)
controls.run_controls(RUN)
replay = replay_step.slider(RUN, "captions.step")
application.live_exact_match(
    task,
    "Of the {n} images of handwriting never trained on, the share captioned with every "
    "word right (greedy decoding).",
    "captions.loss",
    "the loss per training step (cross-entropy of each word). The dashed line is what "
    "guessing each word from its position alone reaches.",
    replay,
)

# ------------------------------------------------------------------ where it looks
st.subheader("Where the decoder looks for each word")
controls.latest_snapshots_button("captions.refresh")
snaps = replay.snapshots(job.snapshots)
if cfg.attention == "off":
    st.info(
        "This run has no attention: the decoder is told the whole image once, at its "
        "start. Choose Luong attention in the sidebar to see where a decoder looks."
    )
elif not snaps:
    st.info("No snapshots yet: press **Start** or **Step** to train.")
else:
    last = snaps[-1]
    words = [*caption(*(int(d) for d in last.targets[0][[0, 3]])), "<end>"]
    regions = last.cross_attention.shape[-1]
    stride = last.inputs.shape[1] - len(words)  # image steps
    stride //= regions
    fig = of_snapshots(
        "captions.attention",
        job,
        snaps,
        lambda: attention_over_training(
            [s.cross_attention[0].astype(np.float32) for s in snaps],
            [s.step for s in snaps],
            source_words=[f"{r * stride}–{r * stride + stride - 1}" for r in range(regions)],
            target_pieces=words,
            title=f"Attention over the image's columns while writing '{' '.join(words[:4])}'",
            x_title="image columns (attended to)",
            y_title="word written",
        ),
    )
    controls.chart(
        fig,
        "captions.attention_anim",
        "each row is one word the decoder writes (teacher forced), each column a stretch "
        "of two image columns; a row sums to 1. Press Play to watch it learn to look at "
        "the left digit for the first word and the right one for the last.",
    )
    controls.chart(
        caption_attention_figure(
            picture_of(last.inputs[0]),
            last.cross_attention[0].astype(np.float32),
            words,
            title=f"The image and the attention under it, at step {last.step}",
        ),
        "captions.attention_image",
        "the image on top; under each stretch of columns, how much of each word's "
        "attention went there.",
    )

# ------------------------------------------------------------------ caption a new image
st.subheader("Caption two held-out digits")
replay.live_note("This caption")
c1, c2, c3 = st.columns(3)
left = c1.selectbox("Left digit", range(10), index=7, key="captions.left")
right = c2.selectbox("Right digit", range(10), index=2, key="captions.right")
sample = c3.slider("Handwriting sample", 1, 30, 1, key="captions.sample")
image = composition(task, int(left), int(right), int(sample) - 1)
try:
    words, probabilities = greedy_caption(controls.outputs_of(job), image)
except controls.NoAnswerError:
    words = None
if words is not None:
    truth = caption(int(left), int(right))
    verdict = "right" if words == truth else f"wrong; it is **{' '.join(truth)}**"
    st.markdown(f"**{' '.join(words) or '(nothing)'}** ({verdict})")
    read = [*words, "<end>"][: len(probabilities)]
    st.caption(
        f"Greedy decoding at step {job.steps_done:,}: each word the decoder's most likely "
        "(with its probability): "
        + ", ".join(f"{w} {100 * p.max():.0f}%" for w, p in zip(read, probabilities, strict=True))
        + f". Both digits are from the held-out handwriting ({DIGIT_WORDS[int(left)]} and "
        f"{DIGIT_WORDS[int(right)]}, sample {sample})."
    )
    controls.chart(
        caption_attention_figure(picture_of(image), None, [], title="The image"),
        "captions.image",
        "the two held-out digits the decoder described, side by side.",
    )
controls.downloads(job, "captions.download")
