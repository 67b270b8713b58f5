"""Time series: the run's forecast over its held-out series against persistence, its skill
score, and (on the ECG) anomaly flags against labels beside a value threshold."""

import streamlit as st

from rnn_core import TASKS, viz
from rnn_core.anomaly import PERCENTILE_RANGE, parse_percentile
from rnn_core.held_out_series import record_detections, record_inputs, stitch, tile
from rnn_core.models import MODEL_TITLES
from rnn_core.skill import forecast_skills
from rnn_core.tasks import SeriesTask
from ui import application, controls, private_data, replay_step
from ui.run import RUN
from ui.text import escape_markdown

PRESET_NAMES = ("anomaly", "stocks", "elnino")
DEFAULT_PERCENTILE = "99"
DEFAULT_WINDOW = 30  # ECG samples (1/3 s at 90 a second): about one QRS complex and after

cfg = RUN.config()
task = private_data.task_of(cfg)

st.title("Time series")

application.open_or_explain(
    [name for name, t in TASKS.items() if isinstance(t, SeriesTask)],
    "Recurrent nets forecast series one step at a time. The honest question is not "
    "whether the forecast looks close (repeating the last value already looks close) "
    "but whether it beats the naive forecasts: **persistence** (the next value equals "
    "the last one) and, for seasonal series, the same month last year. This page scores "
    "a run by its **skill** against them, 1 - its squared error / theirs on the same "
    "held-out points (0: no better), and uses forecast errors to **detect anomalies**: "
    "a net trained on normal heartbeats forecasts an abnormal one badly.",
    PRESET_NAMES,
    "series.open",
)
st.markdown(
    f"**{MODEL_TITLES[cfg.model]}** on **{task.title}**, T = {cfg.seq_len}, hidden "
    f"size {cfg.hidden_size}, seed {cfg.seed}."
)
with st.expander("About this series", expanded=False):
    st.markdown(task.description)
controls.run_controls(RUN)
if getattr(task, "horizon", 1) > 1:  # an upload forecast further ahead (ui.private_data)
    st.info(
        f"This run forecasts {task.horizon} steps ahead; the charts here draw one-step "
        "forecasts, so they are left out. The Playground shows its held-out skill "
        "against persistence at that horizon.",
        icon=":material/info:",
    )
    st.stop()
replay = replay_step.slider(RUN, "series.step")

names = task.labels()
shown_series = 0
if len(names) > 1:
    shown_series = names.index(st.selectbox("Series shown", names, key="series.which"))
quantile, window = None, DEFAULT_WINDOW
labelled = hasattr(task, "record")  # a record with labelled anomalies (the ECG)
if labelled:
    c1, c2 = st.columns(2)
    low, high = PERCENTILE_RANGE
    typed = c1.text_input(
        "Threshold: percentile of the scores on normal held-out data",
        DEFAULT_PERCENTILE,
        key="series.percentile",
        help=f"From {low:g} to {high:g}. At 99, about 1% of normal points are flagged, "
        "by construction, for either detector.",
    )
    window = c2.slider(
        "Smoothing window (samples, 90 a second)"
        if cfg.data == "default"
        else "Smoothing window (steps)",  # an upload (ui.private_data) has its own rate
        1,
        90,
        DEFAULT_WINDOW,
        key="series.window",
        help="Each point's score is the mean over this many points up to it.",
    )
    try:
        quantile = parse_percentile(typed)
    except ValueError as err:
        st.error(escape_markdown(str(err)), icon=":material/error:")

tiles = tile(task, "test", cfg.seq_len)
was = controls.phase(RUN.jobs().values())


def ask_run(job):
    """The run's answers for this page: its outputs on the held-out tiles and, on a
    labelled record, on the whole record; or a note saying why there are none."""
    answer, note = controls.answer_or_note(job, "outputs", x=tiles.x)
    record = None
    if answer is not None and labelled:
        record, note = controls.answer_or_note(job, "outputs", x=record_inputs(task))
    return answer, record, note


@st.fragment(run_every=controls.refresh_every(RUN))
def live() -> None:
    job_map = controls.live_jobs(RUN)
    main = next(iter(job_map.values()))
    view = replay.view(job_map.values())
    frame = view.history(main)
    # while the run trains, ask at most every 2 s; once it stands still, at once
    answer, record, note = controls.throttled(
        "series.answer_cache",
        (main.id, main.steps_done),
        2.0 if main.state.active else 0.0,
        lambda: ask_run(main),
    )
    controls.show_note(note)
    replay.live_note("The held-out forecast (its skills and charts)")
    skills = None
    if answer is not None:
        step, outputs = answer
        pairs = stitch(task, "test", tiles, outputs)
        skills = forecast_skills(pairs, task.season)

    def shown(key: str) -> str:
        return "–" if skills is None else controls.fmt(skills[key], 3)

    m0, m1, m2, m3 = st.columns([0.6, 1.2, 1.2, 1.2])  # labels fit at 1024 px
    m0.metric("Step", f"{replay.steps_done(main):,}")
    m1.metric(
        "Skill vs persistence",
        shown("persistence"),
        help="1 - the net's squared error / persistence's, on every held-out point "
        "(0: no better than repeating the last value).",
    )
    if task.season is not None:
        m2.metric(
            "Skill vs last year",
            shown("seasonal"),
            help="The same against seasonal persistence (the same month last year), "
            "on the same points.",
        )
    else:
        m2.metric(
            "R² (for comparison)",
            shown("r2"),
            help="Against the held-out points' own mean: persistence already scores "
            "high here, which is why skill is the score.",
        )
    name, value = controls.headline(task, frame)
    m3.metric(
        "Skill, 64 windows",
        controls.fmt(value, 3),
        help=f"The run's own {name} on 64 held-out windows, measured as it trains "
        "(the Playground's headline).",
    )

    if answer is not None:
        values, forecasts = pairs[shown_series]
        fig = viz.forecast_figure(
            task.times("test")[shown_series],
            values,
            forecasts,
            season=task.season,
            unit=task.unit,
            time_name=task.time_name,
            title=f"Held-out {names[shown_series] if len(names) > 1 else 'series'}: "
            f"next-{task.step_name.split()[0]} forecast at step {step}",
        )
        controls.chart(
            fig,
            "series.forecast",
            "black is what happened; orange dashes repeat the last value (persistence), "
            "blue is the net's forecast from the values before. Skill counts how much "
            "closer blue is than orange, on these held-out points.",
        )

    if record is not None and quantile is not None:
        _, record_outputs = record
        detections = record_detections(task, record_outputs, window=window, quantile=quantile)
        rec = task.record()
        d1, d2, d3, d4 = st.columns(4)
        net, value_rule = detections["model"], detections["value"]
        said = {
            "precision": "Of the points flagged in the watched part, the share labelled "
            "abnormal (a dash: nothing flagged).",
            "recall": "Of the points labelled abnormal, the share flagged.",
        }
        by = {"Net": "by the net's forecast error", "Value": "by the value threshold"}
        for col, (who, what, number) in zip(
            (d1, d2, d3, d4),
            (
                ("Net", "precision", net.precision),
                ("Net", "recall", net.recall),
                ("Value", "precision", value_rule.precision),
                ("Value", "recall", value_rule.recall),
            ),
            strict=True,
        ):
            col.metric(
                f"{who} {what}", controls.fmt(number, 2), help=f"Flags {by[who]}. {said[what]}"
            )
        fig = viz.anomaly_figure(
            rec.times,
            rec.values,
            rec.abnormal,
            detections,
            shown_from=rec.train_end,
            watched_from=float(rec.times[rec.normal_end]),
            unit=task.unit,
            time_name=task.time_name,
            title=f"Flags at the {quantile * 100:g}th percentile of normal scores",
        )
        controls.chart(
            fig,
            "series.anomaly",
            "the shaded stretch is labelled abnormal. Right of the dotted line is the "
            "watched part, where precision (flags that are right) and recall (abnormal "
            "points flagged) are counted; left of it, normal "
            + (
                "beats the net never trained on, which set the thresholds (the net "
                "trained on the 12.5 s before them). "
                if cfg.data == "default"
                else "values the net never trained on, which set the thresholds (the net "
                "trained on the part before them). "
            )
            + "Below, each detector's smoothed score divided by its threshold: above 1 "
            "is a flag.",
        )
    elif labelled and quantile is None:
        st.info("Type a valid percentile above to see the flags.")

    st.caption(
        f"The held-out {task.step_name.split()[0]}s are cut into windows of the run's "
        f"length (T = {cfg.seq_len}), {tiles.x.shape[0]} in all; each forecast uses "
        "only the values of its window up to it."
    )
    controls.rerun_on_change(was, controls.phase(job_map.values()))


live()
