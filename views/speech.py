"""Speech: who is speaking, guessed as the frames of a held-out utterance arrive."""

import numpy as np
import streamlit as st

from rnn_core import TASKS, speech, viz
from rnn_core.models import MODEL_TITLES
from rnn_core.tasks.speech import SpeakersTask
from ui import controls, replay_step
from ui.application import open_or_explain
from ui.run import RUN

st.title("Speech: who is speaking")
open_or_explain(
    SpeakersTask.name,
    "Speech recognisers read sound as a sequence of short frames, and a recurrent net can "
    "answer while the sound is still arriving. Here nine Japanese men say the vowels /ae/; "
    "each frame (6.4 ms apart) is 12 numbers describing the shape of the sound's spectrum, "
    "and the net must say **who is speaking**. This page shows one held-out utterance as a "
    "heatmap of its frames, the net's guess after every frame, and from which frame on it "
    "is sure.",
    presets="speech",
    key="speech.open_preset",
)

cfg = RUN.config()
task: SpeakersTask = TASKS[cfg.task]
NAMES = [f"speaker {k}" for k in range(1, task.output_size + 1)]
x_test, speakers, lengths = task.padded("test")
n_test = len(speakers)

st.markdown(
    f"**{MODEL_TITLES[cfg.model]}**, hidden size {cfg.hidden_size}, seed {cfg.seed}, trained "
    f"on the 270 training utterances and scored on all {n_test} test utterances (the data's "
    f"own split: the same nine men, recorded on other occasions). Utterances are padded to "
    f"{cfg.seq_len} frames and each is scored at its own last frame, before any padding."
)
with st.expander("About this task", expanded=False):
    st.markdown(task.description)
controls.run_controls(RUN)
replay = replay_step.slider(RUN, "speech.step")

c1, c2 = st.columns([1.2, 2])
random_pick = c1.radio(
    "Test utterance",
    [False, True],
    format_func=lambda r: "a random one, from a seed" if r else "by number",
    key="speech.random",
    horizontal=True,
)
if random_pick:
    seed, problem = speech.parse_whole_number(
        c2.text_input("Seed", "0", key="speech.seed", max_chars=20), 0, 2**31 - 1, "the seed"
    )
    index = None if seed is None else speech.random_utterance(seed, n_test)
else:
    number, problem = speech.parse_whole_number(
        c2.text_input(f"Utterance number (1–{n_test})", "1", key="speech.number", max_chars=20),
        1,
        n_test,
        "the utterance number",
    )
    index = None if number is None else number - 1
if problem:
    st.warning(problem, icon=":material/edit:")

was = controls.phase(RUN.jobs().values())


def read_test_split(job):
    """(answer, note): the model's outputs on the whole padded test split, read."""
    answer, note = controls.answer_or_note(job, "outputs", x=x_test)
    if answer is None:
        return None, note
    step, outputs = answer
    return (step, outputs, speech.read_held_out(outputs, speakers, lengths)), None


@st.fragment(run_every=controls.refresh_every(RUN))
def live() -> None:
    job_map = controls.live_jobs(RUN)
    main = next(iter(job_map.values()))
    view = replay.view(job_map.values())
    # every 2 s at most while it trains; at once when it stands still (after Step, the
    # page's last run must show the model as it stopped)
    reading, note = controls.throttled(
        "speech.reading",
        (main.id, main.steps_done),
        2.0 if main.state.active else 0.0,
        lambda: read_test_split(main),
    )
    controls.show_note(note)
    replay.live_note("The held-out reading (accuracy and the utterance below)")
    m1, m2, m3 = st.columns(3)
    m1.metric("Step", f"{replay.steps_done(main):,}")
    if reading is not None:
        step, outputs, held = reading
        right = held.sure_from >= 0
        m2.metric(
            "Held-out accuracy",
            f"{held.accuracy:.1%}",
            help=f"Speaker named at the last frame, on all {n_test} test utterances (step {step}).",
        )
        early = float(np.mean(held.sure_from[right] < lengths[right] - 1)) if right.any() else 0
        m3.metric(
            "Sure before the end",
            f"{early:.0%}",
            help="Of the test utterances named right: the share whose guess was already "
            "right, for good, before their last frame.",
        )
    fig = controls.loss_figure_with_alongside(
        view, job_map, smooth=0.6, with_test=True, title="Training loss", labels=RUN.labels()
    )
    controls.chart(
        fig,
        "speech.loss",
        "the loss per training step; the dashed lines are what guessing without listening "
        f"reaches (the speaker frequencies), the held-out one on all {n_test} test utterances.",
    )
    controls.rerun_on_change(was, controls.phase(job_map.values()))
    if reading is None:
        return
    if index is not None:
        frames, speaker = task.utterance(index)
        probabilities = speech.running_probabilities(outputs[index], len(frames))
        sure = speech.sure_from(probabilities, speaker)
        named = int(probabilities[-1].argmax())
        if sure is not None:
            verdict = (
                f"names **{NAMES[speaker]}** for good from frame {sure + 1} of {len(frames)} on"
            )
        else:
            verdict = f"is wrong at the end: it names **{NAMES[named]}**, not {NAMES[speaker]}"
        st.markdown(f"At step {step}, the model {verdict}.")
        controls.chart(
            viz.utterance_figure(
                frames,
                probabilities,
                speaker,
                sure,
                names=NAMES,
                title=f"Test utterance {index + 1}: {NAMES[speaker]}, {len(frames)} frames",
            ),
            "speech.utterance",
            "top, the utterance's 12 coefficients (rows) frame by frame (columns), in "
            "standard deviations of the training frames; below, on the same frames, the "
            "probability the model gives each speaker after hearing the frames so far. "
            "The coloured line is who really spoke; the dashed line marks the frame from "
            "which the model names him and never changes its mind.",
        )
    chance = float(np.bincount(speakers).max() / n_test)
    controls.chart(
        viz.accuracy_by_frames_figure(
            held.accuracy_by_frames,
            chance=chance,
            title=f"How early it knows (step {step})",
        ),
        "speech.by_frames",
        "the held-out accuracy if every test utterance were cut after k frames (those "
        "shorter than k are heard whole). The dashed line always names the most "
        f"frequent test speaker ({chance:.0%}).",
    )
    controls.chart(
        viz.confusion_figure(
            held.confusion, names=[str(k) for k in range(1, 10)], title="Who is taken for whom"
        ),
        "speech.confusion",
        "rows: who spoke; columns: whom the model named at the last frame; each cell "
        "counts test utterances. A perfect model fills the diagonal only.",
    )


live()
controls.downloads(RUN.main_job(), "speech.download")
