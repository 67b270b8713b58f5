"""The task pieces of exported scripts for tasks on bundled data files.

Each piece restates, as plain numpy/torch/pandas code, how its task reads its file and
draws a training batch (``rnn_core/tasks/text.py``, ``forecast.py``, ``images.py``,
``speech.py``): the same parsing, normalisation and split, and the same ``torch.randint``
calls on the run's data generator in the same order, so the batches are the app's.
A piece defines ``DATA_PATH`` (the file's place in a checkout of RNN Explorer),
``load_data(path)`` (the training split, read once) and ``sample_batch(data, generator)``;
tests/test_export_script.py runs the scripts on the repository's files and compares
their losses with the Trainer's.
"""

from __future__ import annotations

from string import Template

# Windows of T + 1 consecutive values of the training series, every start equally likely
# (SeriesTask.sample); ``$encode`` turns the chosen windows into model units.
_SERIES_SAMPLE = '''

def sample_batch(series, generator):
    """One training batch: x (B, T, 1) the window's values, y (B, T, 1) the next ones."""
    windows = np.lib.stride_tricks.sliding_window_view(series, SEQ_LEN + 1)  # (n, T + 1)
    rows = torch.randint(0, windows.shape[0], (BATCH_SIZE,), generator=generator)
    chosen = windows[rows.numpy()]  # (B, T + 1)
    encoded = torch.from_numpy($encode)  # float64
    x, y = encoded[:, :-1], encoded[:, 1:]
    return x.to(torch.float32)[..., None], y.to(torch.float32)[..., None]


def loss_fn(outputs, y):
    """Mean squared error of the forecast at every step."""
    return F.mse_loss(outputs, y)
'''

_DATA_PATH_LINE = 'DATA_PATH = "$data_path"  # in an RNN Explorer checkout (or --data)'

CHAR_LM = Template(
    """
# ---------------------------------------------------------------------- the task
# A character-level language model on the app's bundled Python source code: at each step
# the network sees one character (one-hot) and predicts the next (cross-entropy at every
# step). The alphabet is the characters the text holds, in code point order; the model
# trains on the first TRAIN_FRACTION of the text (the rest is the app's held-out part).
"""
    + _DATA_PATH_LINE
    + '''
TRAIN_FRACTION = $train_fraction
INPUT_SIZE = $n_symbols  # the alphabet's size
OUTPUT_SIZE = INPUT_SIZE


def load_data(path):
    """The training text as symbol indices, (N,) long."""
    with open(path, encoding="ascii", newline="") as f:  # newline="": the bytes as they are
        text = f.read()
    alphabet = sorted(set(text))
    if len(alphabet) != INPUT_SIZE:
        raise SystemExit(f"{path} has {len(alphabet)} characters, the app's {INPUT_SIZE}")
    index = {c: i for i, c in enumerate(alphabet)}
    symbols = torch.tensor([index[c] for c in text], dtype=torch.long)
    return symbols[: int(TRAIN_FRACTION * len(text))]


def sample_batch(text, generator):
    """One training batch: x (B, T, V) one-hot characters, y (B, T) the next ones, from
    windows of T + 1 consecutive characters, every start equally likely."""
    n_starts = len(text) - SEQ_LEN
    starts = torch.randint(0, n_starts, (BATCH_SIZE,), generator=generator)
    window = text[starts[:, None] + torch.arange(SEQ_LEN + 1)]  # (B, T + 1)
    return F.one_hot(window[:, :-1], INPUT_SIZE).to(torch.float32), window[:, 1:]


def loss_fn(outputs, y):
    """Mean cross-entropy over every step of every sequence."""
    return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), y.reshape(-1))
'''
)

CO2 = Template(
    """
# ---------------------------------------------------------------------- the task
# Weekly CO2 at Mauna Loa: at every step the network sees this week's value and predicts
# next week's (MSE). Each window is measured from its own first week, in units of SCALE
# ppm, so the net learns the seasonal cycle and the trend's slope, not the level. The
# model trains on the first TRAIN_FRACTION of the weeks.
"""
    + _DATA_PATH_LINE
    + '''
TRAIN_FRACTION = $train_fraction
SCALE = $scale  # ppm
INPUT_SIZE = 1
OUTPUT_SIZE = 1


def load_data(path):
    """The training weeks' CO2 in ppm, (N,) float64; a week with no valid measurement is
    linear in time between its neighbours."""
    table = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in table[:, 0]], dtype="datetime64[D]")
    days = dates.astype(np.int64)
    ppm = np.array([float(v) if v else np.nan for v in table[:, 1]])
    known = ~np.isnan(ppm)
    ppm = np.interp(days, days[known], ppm[known])
    return ppm[: int(TRAIN_FRACTION * len(ppm))]
'''
    + _SERIES_SAMPLE.replace("$encode", "(chosen - chosen[:, :1]) / SCALE")
)

ELNINO = Template(
    """
# ---------------------------------------------------------------------- the task
# Monthly sea surface temperature of the Nino 1+2 region: at every step the network sees
# this month's value and predicts next month's (MSE), in units of the training years'
# standard deviation around their mean. The model trains on the first TRAIN_YEARS years.
"""
    + _DATA_PATH_LINE
    + '''
TRAIN_YEARS = $train_years
INPUT_SIZE = 1
OUTPUT_SIZE = 1


def load_data(path):
    """The training months, standardised, (N,) float64."""
    table = np.genfromtxt(path, delimiter=",", skip_header=1)  # year, then 12 months
    monthly = table[:, 1:13].reshape(-1)  # January of the first year, February, ...
    train = monthly[: 12 * TRAIN_YEARS]
    return (train - float(train.mean())) / float(train.std())
'''
    + _SERIES_SAMPLE.replace("$encode", "chosen")
)

ECG = Template(
    """
# ---------------------------------------------------------------------- the task
# An ECG lead read at one sample in STRIDE: at every step the network sees this sample
# and predicts the next (MSE), in units of SCALE mV around the training part's median.
# The model trains on the first TRAIN_FRACTION (normal beats only).
"""
    + _DATA_PATH_LINE
    + '''
STRIDE = $stride
TRAIN_FRACTION = $train_fraction
SCALE = $scale  # mV
INPUT_SIZE = 1
OUTPUT_SIZE = 1


def load_data(path):
    """The training samples, centred and scaled, (N,) float64."""
    table = np.genfromtxt(path, delimiter=",", skip_header=1)[::STRIDE]  # value, abnormal
    values = table[:, 0]
    train = values[: int(TRAIN_FRACTION * len(values))]
    return (train - float(np.median(train))) / SCALE
'''
    + _SERIES_SAMPLE.replace("$encode", "chosen")
)

STOCKS = Template(
    '''
# ---------------------------------------------------------------------- the task
# Weekly closing prices of six tech stocks (plotly's sample data): at every step the
# network sees this week's price and predicts next week's (MSE). Each window is the log
# price measured from the window's first week, in units of SCALE (5%), so the stocks
# share one scale. The model trains on the first TRAIN_WEEKS weeks of every stock.
# plotly ships the file; its place is found without importing plotly.
_PLOTLY = importlib.util.find_spec("plotly")
DATA_PATH = os.path.join(
    os.path.dirname(_PLOTLY.origin) if _PLOTLY else "plotly",
    "package_data",
    "datasets",
    "stocks.csv.gz",
)
TRAIN_WEEKS = $train_weeks
SCALE = $scale  # in log price
INPUT_SIZE = 1
OUTPUT_SIZE = 1


def load_data(path):
    """Every window of T + 1 weeks of every stock's training weeks, (n, T + 1) prices,
    stock by stock, then start by start."""
    with gzip.open(path, "rt") as f:
        f.readline()  # date, then one column per stock
        table = np.loadtxt(f, delimiter=",", dtype=str, ndmin=2)
    prices = table[:, 1:].astype(np.float64).T  # (stocks, weeks)
    views = [
        np.lib.stride_tricks.sliding_window_view(s, SEQ_LEN + 1) for s in prices[:, :TRAIN_WEEKS]
    ]
    return np.concatenate(views)


def sample_batch(windows, generator):
    """One training batch: x (B, T, 1) the window's values, y (B, T, 1) the next ones."""
    rows = torch.randint(0, windows.shape[0], (BATCH_SIZE,), generator=generator)
    chosen = np.log(windows[rows.numpy()])  # (B, T + 1)
    encoded = torch.from_numpy((chosen - chosen[:, :1]) / SCALE)  # float64
    x, y = encoded[:, :-1], encoded[:, 1:]
    return x.to(torch.float32)[..., None], y.to(torch.float32)[..., None]


def loss_fn(outputs, y):
    """Mean squared error of the forecast at every step."""
    return F.mse_loss(outputs, y)
'''
)

DIGITS = Template(
    """
# ---------------------------------------------------------------------- the task
# 8 x 8 handwritten digits read $reading: $pixels_per_step pixel(s) a step in raster
# order; after the last step the network names the digit (cross-entropy of the last
# step's output). The training images are the app's: a fixed permutation of the file's
# rows (numpy seed SPLIT_SEED), the first TRAIN_FRACTION of it.
"""
    + _DATA_PATH_LINE
    + '''
PIXELS_PER_STEP = $pixels_per_step
SPLIT_SEED = $split_seed
TRAIN_FRACTION = $train_fraction
MAX_VALUE = $max_value  # a pixel in the file counts the on-pixels of a 4 x 4 block
INPUT_SIZE = PIXELS_PER_STEP
OUTPUT_SIZE = 10


def load_data(path):
    """The training images, (N, 64) float32 in [0, 1], and their digits, (N,) long."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)  # 64 pixels, label
    images = (table[:, :-1] / MAX_VALUE).astype(np.float32)
    labels = table[:, -1]
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    train = order[: int(TRAIN_FRACTION * len(labels))]
    return torch.from_numpy(images[train]), torch.from_numpy(labels[train])


def sample_batch(data, generator):
    """One training batch: x (B, T, PIXELS_PER_STEP) the images, y (B,) the digits."""
    images, labels = data
    chosen = torch.randint(0, len(labels), (BATCH_SIZE,), generator=generator)
    return images[chosen].reshape(BATCH_SIZE, SEQ_LEN, PIXELS_PER_STEP), labels[chosen]


def loss_fn(outputs, y):
    """Cross-entropy of the output at the last step."""
    return F.cross_entropy(outputs[:, -1], y)
'''
)

SPEAKERS = Template(
    """
# ---------------------------------------------------------------------- the task
# Who is speaking (Japanese vowels): an utterance is 7 to 29 frames of 12 LPC cepstral
# coefficients, standardised with the training frames' mean and spread, zero-padded to
# SEQ_LEN frames; the network names the speaker at the utterance's last real frame
# (cross-entropy there: a recurrent net's output at that frame has not seen the padding).
"""
    + _DATA_PATH_LINE
    + '''
N_COEFFICIENTS = $n_coefficients
INPUT_SIZE = N_COEFFICIENTS
OUTPUT_SIZE = $n_speakers


def load_data(path):
    """The training utterances: x (N, T, 12) float32, speakers (N,) and lengths (N,)."""
    table = pd.read_csv(path)
    coefficients = [f"c{k}" for k in range(1, N_COEFFICIENTS + 1)]
    rows = table[table["split"] == "train"]
    frames = rows[coefficients].to_numpy(np.float64)
    mean, std = frames.mean(axis=0), frames.std(axis=0)
    utterances = list(rows.sort_values(["utterance", "frame"]).groupby("utterance", sort=True))
    x = np.zeros((len(utterances), SEQ_LEN, N_COEFFICIENTS), dtype=np.float32)
    speakers, lengths = [], []
    for row, (_, utterance) in zip(x, utterances, strict=True):
        values = (utterance[coefficients].to_numpy(np.float64) - mean) / std
        row[: len(values)] = values.astype(np.float32)
        speakers.append(int(utterance["speaker"].iloc[0]) - 1)  # the file counts from 1
        lengths.append(len(values))
    return torch.from_numpy(x), torch.tensor(speakers), torch.tensor(lengths)


def sample_batch(data, generator):
    """One training batch: x (B, T, 12), y (B, 2) each utterance's speaker and length."""
    x, speakers, lengths = data
    chosen = torch.randint(0, len(speakers), (BATCH_SIZE,), generator=generator)
    return x[chosen], torch.stack([speakers[chosen], lengths[chosen]], dim=1)


def loss_fn(outputs, y):
    """Cross-entropy of each utterance's output at its last real frame."""
    last = outputs[torch.arange(outputs.shape[0]), y[:, 1] - 1]  # (B, OUTPUT_SIZE)
    return F.cross_entropy(last, y[:, 0])
'''
)

# What each piece imports besides the imports every script has.
IMPORTS = {"numpy": "import numpy as np", "pandas": "import pandas as pd"}

SENTIMENT = Template(
    """
# ---------------------------------------------------------------------- the task
# Sentiment of review sentences, word by word: each word one-hot (UNKNOWN for a word
# outside the vocabulary), zero vectors after the sentence's end; the network says
# positive or negative at the sentence's last word (cross-entropy there). The sentences
# are the app's: made from the adjectives of a published lexicon (the sign of their VADER
# score) by the small grammar below, from a numpy generator seeded with SPLIT_SEED, the
# label decided first and the sentence built to carry it (negation, intensifiers,
# "X but Y" takes Y's sign); distinct sentences, shuffled, the first N_TRAIN of them
# (but the negation test's HELD_OUT_SENTENCES) train.
"""
    + _DATA_PATH_LINE
    + '''
N_TRAIN = $n_train
N_TEST = $n_test
SPLIT_SEED = $split_seed
INPUT_SIZE = $vocabulary_size  # the vocabulary's size
OUTPUT_SIZE = 2  # 0 negative, 1 positive

# The grammar's words, and how often it uses each construction.
$constants


def read_lexicon(path):
    """(positive, negative) adjectives: after a header, ``word<TAB>mean<TAB>sd`` lines;
    the sign of the mean is the word's polarity."""
    positive, negative = [], []
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines()[1:]:
            word, mean, _ = line.split("\\t")
            (positive if float(mean) > 0 else negative).append(word)
    return positive, negative


def pick(rng, words):
    return words[int(rng.integers(len(words)))]


def article(word):
    return "an" if word[0] in "aeiou" else "a"


class Grammar:
    """Sentences of a given sentiment (1 positive, 0 negative) from two adjective lists."""

    def __init__(self, positive, negative):
        self.adjectives = {1: tuple(positive), 0: tuple(negative)}

    def vocabulary(self):
        """Every token a sentence can hold, UNKNOWN first, then sorted."""
        words = {*self.adjectives[0], *self.adjectives[1], *NOUNS, *INTENSIFIERS, *VERBS}
        words |= {*NEGATORS, "a", "an", "the", "it", "this", "at", "all", "and", "but"}
        words |= set(P_END)
        return [UNKNOWN, *sorted(words)]

    def noun(self, rng):
        return UNKNOWN if rng.random() < P_UNKNOWN_NOUN else pick(rng, NOUNS)

    def adjective_phrase(self, rng, label, negator="not"):
        """[intensifier] adjective, or a negated adjective of the other sign ("not bad",
        "not very good at all"; only positive adjectives take an intensifier there)."""
        if rng.random() < P_NEGATED:
            adjective = pick(rng, self.adjectives[1 - label])
            words = [negator]
            if label == 0 and rng.random() < P_INTENSIFIED:
                words.append(pick(rng, INTENSIFIERS))
            words.append(adjective)
            if rng.random() < P_AT_ALL:
                words += ["at", "all"]
            return words
        words = [pick(rng, INTENSIFIERS)] if rng.random() < P_INTENSIFIED else []
        return words + [pick(rng, self.adjectives[label])]

    def clause(self, rng, label):
        """One clause of sentiment ``label`` (at most eight words)."""
        form = int(rng.integers(5))
        if form == 0:  # "not bad at all"
            return self.adjective_phrase(rng, label)
        if form == 1:  # "a good film", "not a good film"
            if rng.random() < P_NEGATED:
                adjective = pick(rng, self.adjectives[1 - label])
                return ["not", article(adjective), adjective, self.noun(rng)]
            adjective = pick(rng, self.adjectives[label])
            return [article(adjective), adjective, self.noun(rng)]
        negator = "never" if rng.random() < P_NEVER else "not"
        subject = {2: ["the", self.noun(rng)], 3: ["it"], 4: ["this", self.noun(rng)]}[form]
        return [*subject, pick(rng, VERBS), *self.adjective_phrase(rng, label, negator)]

    def sentence(self, rng, label):
        """One clause, two of the same sign joined by "and", or one of the other sign,
        "but" and one of this sign; sometimes an end mark."""
        shape = rng.random()
        if shape < P_AND:
            words = [*self.clause(rng, label), "and", *self.clause(rng, label)]
        elif shape < P_AND + P_BUT:
            words = [*self.clause(rng, 1 - label), "but", *self.clause(rng, label)]
        else:
            words = self.clause(rng, label)
        end = rng.random()
        if end < P_END["."]:
            words.append(".")
        elif end < P_END["."] + P_END["!"]:
            words.append("!")
        return words


def load_data(path):
    """The training sentences: word indices (N, T) long, -1 after each one's end; labels
    (N,) and lengths (N,) long."""
    grammar = Grammar(*read_lexicon(path))
    vocabulary = grammar.vocabulary()
    if len(vocabulary) != INPUT_SIZE:
        raise SystemExit(f"{path} gives {len(vocabulary)} words, the app's {INPUT_SIZE}")
    rng = np.random.default_rng(SPLIT_SEED)
    made = {}  # sentence -> label, in the order first made
    while len(made) < N_TRAIN + N_TEST + len(HELD_OUT_SENTENCES):
        label = int(rng.integers(2))
        made.setdefault(" ".join(grammar.sentence(rng, label)), label)
    texts = list(made)
    order = rng.permutation(len(texts))
    train = [i for i in order if texts[i] not in HELD_OUT_SENTENCES][:N_TRAIN]
    index = {w: i for i, w in enumerate(vocabulary)}
    codes = np.full((len(train), SEQ_LEN), -1, dtype=np.int64)
    for row, i in zip(codes, train, strict=True):
        tokens = texts[i].split(" ")
        row[: len(tokens)] = [index.get(t, index[UNKNOWN]) for t in tokens]
    labels = np.array([made[texts[i]] for i in train], dtype=np.int64)
    lengths = (codes >= 0).sum(axis=1)
    return torch.from_numpy(codes), torch.from_numpy(labels), torch.from_numpy(lengths)


def sample_batch(data, generator):
    """One training batch: x (B, T, V) one-hot words, zero after each sentence's end;
    y (B, 2) each sentence's label and length."""
    codes, labels, lengths = data
    chosen = torch.randint(0, len(labels), (BATCH_SIZE,), generator=generator)
    words = codes[chosen]
    x = F.one_hot(words.clamp_min(0), INPUT_SIZE).to(torch.float32) * (words >= 0).unsqueeze(-1)
    return x, torch.stack([labels[chosen], lengths[chosen]], dim=1)


def loss_fn(outputs, y):
    """Cross-entropy of each sentence's output at its last word."""
    last = outputs[torch.arange(outputs.shape[0]), y[:, 1] - 1]  # (B, OUTPUT_SIZE)
    return F.cross_entropy(last, y[:, 0])
'''
)
