"""Sentiment: a typed sentence read word by word, the running verdict beside a bag of
words, and the classic negation test."""

import numpy as np
import streamlit as st

from rnn_core import sentiment, viz
from rnn_core.models import MODEL_TITLES
from rnn_core.tasks.sentiment import NEGATION_PAIRS
from ui import application, controls, private_data, replay_step
from ui.run import RUN
from ui.text import escape_markdown

st.title("Sentiment")
application.open_or_explain(
    "sentiment",
    "Sentiment analysis reads a sentence and says whether it is positive or negative. "
    "A recurrent net reads it one word at a time, so it can learn what word counts "
    "cannot: that **not** turns *good* into its opposite, and that in *good but "
    "boring* the part after **but** decides. This page trains one on short review "
    "sentences (generated from a published sentiment lexicon, no real reviews) and "
    "shows its verdict after every word of a sentence you type, beside a bag-of-words "
    "model that sees the same sentences without their order.",
    "sentiment",
    "sentiment.open",
)
cfg = RUN.config()

task = private_data.task_of(cfg)
index = task.word_index()
bow = sentiment.bag_of_words_for(task)
test_codes, test_labels = task.split_words("test")
bow_accuracy = sentiment.accuracy(bow.positive(test_codes), test_labels)
majority = float(max(test_labels.mean(), 1 - test_labels.mean()))

st.markdown(
    f"**{MODEL_TITLES[cfg.model]}** (hidden size {cfg.hidden_size}, seed {cfg.seed}) reads "
    + (
        f"**your uploaded sentences** one word at a time and says, after the last word, "
        f"which label a sentence has: here 'positive' is "
        f"'{escape_markdown(task.class_names[1])}' and 'negative' "
        f"'{escape_markdown(task.class_names[0])}'."
        if cfg.data == "private"  # ui.private_data: the session's own labelled rows
        else "review sentences one word at a time and says, after the last word, whether "
        "the sentence is positive or negative. The sentences are **generated** from the "
        "adjectives of the VADER sentiment lexicon with a small grammar (negation, "
        "intensifiers, contrast), not taken from real reviews: no labelled corpus that "
        "may be redistributed ships with the packages this app can install."
    )
)
with st.expander("About this task", expanded=False):
    st.markdown(task.description)
controls.run_controls(RUN)
replay = replay_step.slider(RUN, "sentiment.step")

text = st.text_input(
    "Type a sentence",
    value="the plot was not great but the acting was very good",
    max_chars=sentiment.MAX_CHARS,
    key="sentiment.sentence",
    help=f"Lowercase or not; words and punctuation. {len(index) - 1} words are known; "
    "any other word is read as one 'unknown word' symbol.",
)
reading, problem = None, None
try:
    reading = sentiment.read_sentence(text, index)
except sentiment.SentenceError as err:
    problem = str(err)
if problem:
    st.warning(problem, icon=":material/edit_note:")
elif reading.unknown:
    st.info(
        "Not in the vocabulary, so read as the unknown word: "
        + ", ".join(f"**{escape_markdown(sentiment.shorten(w))}**" for w in reading.unknown)
        + ". Known words include good, bad, boring, great, not, very, but, the film, "
        "the plot, the acting.",
        icon=":material/help:",
    )

pair_sentences = [s for pair in NEGATION_PAIRS for s, _ in pair]
pair_expected = np.array([label for pair in NEGATION_PAIRS for _, label in pair])
pair_codes = sentiment.pad_codes([sentiment.read_sentence(s, index).codes for s in pair_sentences])
pair_lengths = (pair_codes >= 0).sum(axis=1)
bow_pairs = bow.positive(pair_codes)

was = controls.phase(RUN.jobs().values())


@st.fragment(run_every=controls.refresh_every(RUN))
def live() -> None:
    job_map = controls.live_jobs(RUN)
    main = next(iter(job_map.values()))
    view = replay.view(job_map.values())
    frame = view.history(main)
    name, value = controls.headline(task, frame)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Step", f"{replay.steps_done(main):,}")
    m2.metric(
        "Held out",
        "–" if np.isnan(value) else f"{value:.1%}",
        help=f"The recurrent net's {name}, on 800 unseen sentences (every 25 steps).",
    )
    m3.metric(
        "Bag of words",
        f"{bow_accuracy:.1%}",
        help="Held-out accuracy of a logistic regression on word counts, trained on the "
        "same sentences.",
    )
    m4.metric(
        "Majority guess",
        f"{majority:.1%}",
        help="Accuracy of always answering the test split's commoner label.",
    )

    # One question for the typed sentence and the negation test together: asked again at
    # once for a new sentence, and at most once a second as the run trains.
    sequences = [*([reading.codes] if reading else []), *list(pair_codes)]
    codes = sentiment.pad_codes([c[c >= 0] for c in sequences])
    answer, note = controls.throttled(
        "sentiment.outputs_cache",
        (main.id, main.steps_done),
        1.0 if main.state.active else 0.0,  # a run that stands still: its last step now
        lambda: controls.answer_or_note(
            main, "outputs", x=sentiment.one_hot_words(codes, task.input_size)
        ),
        exact=text,
    )
    controls.show_note(note)
    replay.live_note("Reading your sentence and the negation test")
    outputs = None if answer is None else answer[1]
    step = main.steps_done if answer is None else answer[0]
    rnn_label = f"{MODEL_TITLES[cfg.model]}, step {step:,}"

    if reading is not None and outputs is not None:
        fig = viz.running_sentiment_figure(
            reading.words,
            sentiment.running_positive(outputs[0], len(reading.words)),
            bow.running(reading.codes),
            unknown=np.array([w not in index for w in reading.words]),
            rnn_label=rnn_label,
            title="P(positive) after each word",
        )
        controls.chart(
            fig,
            "sentiment.running",
            "after each word, how sure each model is that the sentence so far is positive "
            "(above the dotted line: positive). The recurrent net reads in order; the bag "
            "of words only adds up a score per word, so a 'not' or a 'but' moves it only "
            "by that word's own weight. Words in brackets are unknown to both.",
        )
        c1, c2 = st.columns(2)
        p_rnn = float(sentiment.running_positive(outputs[0], len(reading.words))[-1])
        p_bow = float(bow.running(reading.codes)[-1])
        for column, who, p in ((c1, MODEL_TITLES[cfg.model], p_rnn), (c2, "Bag of words", p_bow)):
            column.metric(
                f"{who} says",
                f"{'positive' if p > 0.5 else 'negative'} ({p:.2f})",
                help="P(positive) after the last word in brackets.",
            )

    st.subheader("The negation test")
    st.markdown(
        "Each pair differs by one negation (or by word order) and means the opposite. "
        "None of these sentences is among the training sentences. A bag of words gives "
        "both sentences of a pair almost the same score: 'not' occurs in positive "
        "sentences ('not bad') as often as in negative ones, so its weight is near zero, "
        "and word order does not exist for it."
    )
    rnn_pairs = None
    if outputs is not None:
        rnn_pairs = sentiment.last_positive(outputs[-len(pair_sentences) :], pair_lengths)
    table = sentiment.verdict_table(pair_sentences, pair_expected, rnn_pairs, bow_pairs)
    st.dataframe(
        table,
        hide_index=True,
        key="sentiment.negation_table",
        width="stretch",
        height=36 * (len(table) + 1) + 24,  # every row, no inner scroll bar
    )
    gap = np.abs(bow_pairs[0::2] - bow_pairs[1::2]).max()
    weight = {w: bow.weights[index[w]] for w in ("not", "but", "good") if w in index}
    st.caption(
        f"Bag of words: within a pair the two scores differ by at most {gap:.2f}."
        + (  # an uploaded vocabulary may lack these words
            f" 'not' weighs {weight['not']:+.2f} and 'but' {weight['but']:+.2f} in its "
            f"score, against {weight['good']:+.2f} for 'good'."
            if len(weight) == 3
            else ""
        )
    )

    fig = controls.loss_figure_with_alongside(
        view, job_map, smooth=0.6, with_test=True, title="Training loss", labels=RUN.labels()
    )
    controls.chart(
        fig,
        "sentiment.loss",
        "the loss per training step; the dashed line is guessing from how common each "
        "label is (ln 2), and the held-out loss on 800 unseen sentences has its own line.",
    )
    controls.rerun_on_change(was, controls.phase(job_map.values()))


live()
