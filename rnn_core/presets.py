"""Talk presets: named configurations that reproduce the same curves every time.

A preset is data (no streamlit): the page it opens, its RunConfig, and the runs
trained alongside it on the same task and length (rnn_core.alongside: another cell, or
the same run with a few settings changed). The app turns each into a
one-click button and a short link (``?preset=name``).

Runs are deterministic, so a blurb is a promise about one run: every number and
behaviour a blurb names is measured on that very run by tests/test_preset_claims.py
(with the server's default cap of 5,000 steps per run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnn_core.config import RunConfig

# The Trainer options of the app's two kinds of runs. With its config they make a run the
# run it is (the run store's key), so the app and the store's warm start use these.
# Run pages: about 50 snapshots at T=200, hidden 64 (LSTM), small enough for many
# visitors. Races: light snapshots (outputs, saliency, attention), 4 MB keeps about 30 of
# them per model even for the transformer's 2x2 attention maps at 128 x 128.
RUN_OPTIONS = {"snapshot_bytes": 16 * 2**20, "light_probes": False}
RACE_OPTIONS = {"snapshot_bytes": 4 * 2**20, "light_probes": True}


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    blurb: str  # one or two sentences: what to watch for
    page: str  # page key of ui/run.py PAGES: "playground", "gradients", "speech", ...
    config: RunConfig
    # Runs trained alongside, as rnn_core.alongside writes them ("lstm", "clip:1").
    alongside: tuple[str, ...] = field(default=())


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="vanishing",
            title="Vanishing gradients: tanh RNN vs LSTM on adding, T=50",
            blurb="Both cells get the same data, seed and optimizer. The LSTM's loss falls "
            "below a tenth of the baseline within about 500 steps; the tanh RNN's "
            "stays above 90% of the baseline for all 5,000 steps. On the Gradients "
            "page, the error from the last step reaches the tanh RNN's first steps "
            "more than ten orders of magnitude weaker, the trained LSTM's less than "
            "two.",
            page="gradients",
            config=RunConfig(model="rnn_tanh", task="adding", seq_len=50),
            alongside=("lstm",),
        ),
        Preset(
            name="exploding",
            title="Exploding gradients: a ReLU RNN with recurrent scale 1.5, no clipping",
            blurb="Every active unit is multiplied by 1.5 at each step, so the gradient "
            "grows with distance from the loss: the first update's gradient norm is "
            "over a million, plain SGD throws the weights off, and the run diverges "
            "at step 2. The same run clipped at norm 1 trains alongside: clipping stops "
            "the divergence, but at this learning rate that run learns little: after "
            "5,000 steps its loss is still about 85% of the baseline.",
            page="gradients",
            # identity x 1.5: with default or orthogonal init a ReLU zeroes about half
            # the units and the effective gain (~1.06) explodes or vanishes by seed.
            config=RunConfig(
                model="rnn_relu",
                task="adding",
                seq_len=20,
                init="identity",
                recurrent_scale=1.5,
                clip=None,
                optimizer="sgd",
                lr=0.01,
            ),
            alongside=("clip:1",),
        ),
        Preset(
            name="irnn",
            title="Identity init (IRNN) rescues a ReLU RNN",
            blurb="Le, Jaitly & Hinton (2015): a ReLU RNN whose recurrent matrix starts at "
            "the identity can carry values across 100 steps. Here, with Adam and "
            "torch's uniform input weights, its loss falls below a tenth of the "
            "baseline by about step 1,300. Alongside it, the same network with the "
            "default initialisation stays on the baseline for its first 1,500 steps "
            "with this seed and finds its way only later (a tenth of the baseline by "
            "about step 2,900). Both curves share one chart; the Gradients page "
            "overlays both runs' gradients.",
            page="playground",
            config=RunConfig(
                model="rnn_relu", task="adding", seq_len=100, init="identity", lr=1e-3
            ),
            alongside=("init:default",),
        ),
        Preset(
            name="memory",
            title="Memory: a GRU keeps a running parity",
            blurb="The answer at every step depends on every bit so far, in order, and "
            "the hidden state is the only place the network can keep it. This GRU "
            "gets every step right by step 1,000.",
            page="hidden_states",
            config=RunConfig(model="gru", task="parity", seq_len=50),
        ),
        Preset(
            name="gates",
            title="Inside the gates: an LSTM on the adding problem",
            blurb="Most of the LSTM's forget gates hover around 0.4: those units forget "
            "within a few steps. Within 1,000 steps it has learned, and the Hidden "
            "states page marks the one unit that carries the sum: its forget gate "
            "stays near 1 from the first marker to the end, and its input gate opens "
            "only at the two markers.",
            page="hidden_states",
            config=RunConfig(model="lstm", task="adding", seq_len=50),
        ),
        Preset(
            name="co2",
            title="A real time series: Mauna Loa CO2",
            blurb="A GRU forecasts next week's CO2 level, scored on the years it never saw. "
            "By step 100 its R² there is 0.99, yet its skill against persistence (next "
            "week equals this week) is only about 0.19: most of that R² is what repeating "
            "the last value already gets.",
            page="playground",
            config=RunConfig(model="gru", task="co2", seq_len=104),
        ),
        Preset(
            name="copy",
            title="A memory limit: copy memory over 100 steps",
            blurb="Bai et al. (2018) used this task to show that recurrent nets struggle to "
            "carry information far; this LSTM stays near chance (12.5%) on the "
            "recalled digits for all 5,000 steps.",
            page="playground",
            config=RunConfig(model="lstm", task="copy_memory", seq_len=100),
        ),
        Preset(
            name="char",
            title="What a character model learns",
            blurb="An LSTM reads Python source one character at a time. By step 2,000 its "
            "samples have indented lines, keywords and quotes (Playground), and units "
            "of its cell state follow bracket depth and the position in the line "
            "more closely than the same network did untrained (Hidden states).",
            page="hidden_states",
            config=RunConfig(
                model="lstm", task="char_lm", seq_len=100, hidden_size=64, batch_size=32
            ),
        ),
        Preset(
            name="speech",
            title="Speech: who is speaking",
            blurb="A GRU hears nine men say the Japanese vowels /ae/, 12 cepstral "
            "coefficients a frame, and names the speaker. Within 100 steps it names the "
            "right one for more than 95% of the 370 held-out utterances. On the Speech "
            "page at step 500, the median utterance is 15 frames long, but the model is "
            "right for good from about frame 6.",
            page="speech",
            config=RunConfig(
                model="gru", task="speakers", seq_len=29, hidden_size=32, batch_size=32
            ),
        ),
        Preset(
            name="anomaly",
            title="Anomaly detection: a premature heartbeat in an ECG",
            blurb="An LSTM learns to forecast the next sample of normal heartbeats. By step "
            "100, with each threshold at the 99th percentile of normal held-out scores, "
            "every point its forecast error flags lies in the labelled abnormal beat "
            "(precision 1.0, recall 0.34); a threshold on the value itself, set the same "
            "way, scores precision 0.32 and recall 0.14.",
            page="series",
            config=RunConfig(model="lstm", task="ecg", seq_len=150, batch_size=32),
        ),
        Preset(
            name="stocks",
            title="Stock prices: can it beat 'next week equals this week'?",
            blurb="A GRU forecasts six tech stocks' weekly prices. By step 200 its R² on the "
            "25 held-out weeks is 0.97, which sounds good, but its skill against "
            "persistence is within 0.02 of zero: it forecasts no better than repeating "
            "this week's price.",
            page="series",
            config=RunConfig(model="gru", task="stocks", seq_len=20),
        ),
        Preset(
            name="elnino",
            title="El Niño: seasonal sea temperatures",
            blurb="A GRU forecasts next month's Pacific sea temperature. By step 100 its "
            "skill on 1998-2010 is about 0.79 against persistence (next month equals "
            "this month) and 0.84 against the same month last year: it has learned the "
            "yearly cycle, which both naive forecasts miss in their own way.",
            page="series",
            config=RunConfig(model="gru", task="elnino", seq_len=48),
        ),
        Preset(
            name="translation",
            title="Translation with attention: English number words to German",
            blurb="A GRU encoder and decoder with Luong attention, 10,000 parameters in "
            "all, translate at least 95% of the 200 held-out numbers exactly by step 300; "
            "at the same budget without attention fewer than half are right then (it "
            "catches up by step 1,000). The attention matrix crosses as German swaps "
            "units and tens: writing 'vier' the decoder looks at 'four', writing "
            "'siebzig' at 'seventy'.",
            page="translation",
            config=RunConfig(
                model="gru",
                task="translation",
                seq_len=10,
                attention="luong",
                param_budget=10_000,
            ),
        ),
        Preset(
            name="captions",
            title="Image captioning: a CNN reads two digits, a GRU describes them",
            blurb="A small CNN reads two handwritten digits side by side and a GRU decoder "
            "with attention writes 'seven left of two'. By step 1,500 at least 90% of the "
            "500 captions of held-out handwriting are exactly right. Writing the first "
            "digit's word the decoder puts over 90% of its attention on the left half of "
            "the image, writing the second's on the right half (on average over those "
            "500).",
            page="captions",
            config=RunConfig(
                model="gru", task="captions", seq_len=21, hidden_size=48, attention="luong"
            ),
        ),
        Preset(
            name="sentiment",
            title="Sentiment: negation flips a sentence",
            blurb="An LSTM reads generated review sentences word by word. Within 300 steps "
            "it is right on more than 98% of 800 unseen sentences, where a bag of words "
            "gets 68%, and it flips every pair of the negation test ('good' / "
            "'not good', 'good but boring' / 'boring but good'), which the bag of words "
            "scores almost alike.",
            page="sentiment",
            config=RunConfig(model="lstm", task="sentiment", seq_len=18),
        ),
    )
}


@dataclass(frozen=True)
class RacePreset:
    """A CNN vs RNN race: the shared settings (``config``; its ``model`` is unused) and
    the two to five models that train side by side on them."""

    name: str
    title: str
    blurb: str
    config: RunConfig
    models: tuple[str, ...]


RACE_PRESETS: dict[str, RacePreset] = {
    p.name: p
    for p in (
        RacePreset(
            name="race_copy",
            title="Copy memory, T=100: TCN vs LSTM vs GRU",
            blurb="Bai, Kolter & Koltun (2018): at matched size the TCN learns to copy "
            "within a few hundred steps; the LSTM stays at chance (12.5%).",
            config=RunConfig(task="copy_memory", seq_len=100, param_budget=10_000),
            models=("tcn", "lstm", "gru"),
        ),
        RacePreset(
            name="race_adding",
            title="Adding, T=50: four models, one budget",
            blurb="Two marked values among 50 to add up, every model at 10K parameters: "
            "the TCN, LSTM and GRU get there; the plain tanh RNN stays on the "
            "baseline.",
            config=RunConfig(task="adding", seq_len=50, param_budget=10_000),
            models=("tcn", "lstm", "gru", "rnn_tanh"),
        ),
        RacePreset(
            name="race_digits",
            title="Digits: CNN on the image, RNNs on rows",
            blurb="The same 8x8 handwritten digits: the CNN sees the whole image at once, "
            "the LSTM and GRU one row per step. Compare accuracy and time per step.",
            config=RunConfig(task="digits_rows", seq_len=8, param_budget=5_000),
            models=("cnn2d", "lstm", "gru"),
        ),
        RacePreset(
            name="race_attention",
            title="Attention on copy memory, T=50",
            blurb="A small causal transformer against a TCN and an LSTM. Watch its attention "
            "map: to recall a digit, a query step must attend to the step that "
            "showed it.",
            config=RunConfig(task="copy_memory", seq_len=50, param_budget=10_000),
            models=("transformer", "tcn", "lstm"),
        ),
    )
}
