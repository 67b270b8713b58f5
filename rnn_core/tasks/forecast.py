"""Next-step forecasting of a scalar series: sine waves and real records.

Every task shows the series one value a step and regresses the next value (MSE). The
metric is the forecast's skill against persistence (``rnn_core.skill``): 1 - MSE_net /
MSE_persistence on the same points, where persistence forecasts each value by the one
before it. A smooth series makes persistence hard to beat and R² easy to win, so skill is
the score. The waves are generated afresh from the caller's generator; the records
(``SeriesTask``) are bundled files, or data that ships inside an installed package, with
a held-out split:

- ``CO2Task``: the weekly Mauna Loa CO₂ record;
- ``StocksTask``: six tech stocks' weekly closing prices (plotly's sample data);
- ``ElNinoTask``: monthly sea temperatures of the Niño 1+2 region (seasonal);
- ``ECGTask``: an ECG excerpt with one labelled abnormal stretch, for anomaly detection.
"""

from __future__ import annotations

import gzip
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnn_core.skill import skill
from rnn_core.tasks.base import ASSETS_DIR, BundledDataTask, Task

CO2_PATH = ASSETS_DIR / "data" / "co2_mauna_loa_weekly.csv"
ELNINO_PATH = ASSETS_DIR / "data" / "elnino_nino12_sst_monthly.csv"
ECG_PATH = ASSETS_DIR / "data" / "ecg_mitdb_excerpt.csv"


class _ForecastTask(Task):
    """Next-step regression of a scalar series: y (B, T, 1), MSE over all steps."""

    target_type = "regression"
    input_size = 1
    output_size = 1
    metric_name = "skill vs persistence"
    higher_is_better = True
    season: int | None = None  # steps per season: seasonal persistence is a reference too

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(outputs, y)

    def metric(self, outputs: Tensor, y: Tensor, split: str = "train") -> float:
        """Skill against persistence on the same batch: 1 = perfect, 0 = no better than
        repeating the last value, below 0 worse. y[:, t - 1] is the input at step t, so
        every step but the first has its persistence forecast in the batch; the first is
        left out of both errors (NaN for one-step sequences). Same for either split."""
        if y.shape[1] < 2:
            return math.nan
        actual = y[:, 1:].detach().double().numpy()
        predicted = outputs[:, 1:].detach().double().numpy()
        return skill(predicted, actual, y[:, :-1].detach().double().numpy())


class SineTask(_ForecastTask):
    name = "sine"
    title = "Waveform forecasting"
    description = (
        "Each sequence is the sum of two sine waves with their own random frequency (one "
        "cycle every 10 to 100 steps), amplitude and phase, plus measurement noise. At every "
        "step the network sees the current value and predicts the next one. The waves change "
        "from one sequence to the next, so the net has to work out the frequencies and phases "
        "from what it has seen so far and keep them in its state. The score is skill against "
        "persistence (repeating the current value): 0 means no better than that. The noise, "
        "which cannot be predicted, caps the skill at about 0.9."
    )
    n_components = 2
    freq_range = (0.01, 0.1)  # cycles per step
    amp_range = (0.5, 1.0)
    noise_std = 0.1

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        shape = (batch_size, 1, self.n_components)
        # float64 keeps the phase exact over 2000 steps; the batch is cast to float32 at the end
        freq = self._uniform(shape, self.freq_range, generator)
        amp = self._uniform(shape, self.amp_range, generator)
        phase = self._uniform(shape, (0.0, 2 * math.pi), generator)
        t = torch.arange(seq_len + 1, dtype=torch.float64)[None, :, None]
        clean = (amp * torch.sin(2 * math.pi * freq * t + phase)).sum(dim=-1)  # (B, T+1)
        noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        series = (clean + self.noise_std * noise).to(torch.float32)[..., None]
        return series[:, :-1], series[:, 1:]

    @staticmethod
    def _uniform(shape, bounds, generator):
        low, high = bounds
        return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        # A uniform phase makes every value mean 0 at every step, so the best constant is 0
        # and its loss the variance: sum over components of E[A²]/2, plus the noise.
        low, high = self.amp_range
        mean_amp_sq = (low * low + low * high + high * high) / 3
        return self.n_components * mean_amp_sq / 2 + self.noise_std**2


class SeriesTask(_ForecastTask, BundledDataTask):
    """Next-step forecasting of recorded series, with a held-out split.

    ``_load`` returns {split: [series, ...]}, each series a 1-D float64 array in its own
    units (``unit``), one value per ``step_name``. A batch is windows of ``seq_len + 1``
    consecutive values of one series, every start of every series of the split equally
    likely; ``encode`` turns a window into model units (x: all but the last value, y: all
    but the first) and ``decode`` turns model units back. The baseline is exact: the best
    constant at each position over every window of the split.
    """

    has_split = True
    unit: str
    step_name: str
    # ``encode`` measures each window from its own first value (so ``decode`` needs it):
    # the net learns changes, not levels. Otherwise one fixed transform for every window.
    relative: bool = False

    def _splits(self) -> dict[str, list[np.ndarray]]:
        return self._loaded()

    def series_list(self, split: str = "train") -> list[np.ndarray]:
        """Every series of a split in its own units (copies)."""
        return [s.copy() for s in self._splits()[split]]

    time_name = "step"  # what ``times`` counts

    def times(self, split: str = "train") -> list[np.ndarray]:
        """When each value of each series of a split was taken, in ``time_name`` (the
        step number where a task records no time)."""
        self._loaded()
        stamped = getattr(self, "_times", None)
        if stamped is None:
            return [np.arange(len(s), dtype=np.float64) for s in self._splits()[split]]
        return [t.copy() for t in stamped[split]]

    def labels(self) -> list[str]:
        """A name for each series of a split (the same in both splits)."""
        return [self.title] * len(self._splits()["train"])

    @property
    def max_seq_len(self) -> int:
        # a held-out window needs seq_len + 1 values of one series
        return min(len(s) for s in self._splits()["test"]) - 1

    def encode(self, windows: np.ndarray) -> np.ndarray:
        """Windows (..., L) in the series' units -> the same shape in model units."""
        raise NotImplementedError

    def decode(self, values: np.ndarray, windows: np.ndarray) -> np.ndarray:
        """Model units (..., L') back to the series' units, for values that came from (or
        forecast) the windows ``windows`` (..., L) encoded."""
        raise NotImplementedError

    def _all_windows(self, split: str, seq_len: int) -> np.ndarray:
        """(n, seq_len + 1): every window of every series of the split, by series then
        start. One series: a read-only view of it (no copy); several are short (the
        stocks), so their copy is small and kept, since every training step draws from it."""
        views = [
            np.lib.stride_tricks.sliding_window_view(s, seq_len + 1) for s in self._splits()[split]
        ]
        if len(views) == 1:
            return views[0]
        key = ("windows", seq_len, split)
        if key not in self._baselines:
            self._baselines[key] = np.concatenate(views)
        return self._baselines[key]

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        windows = self._all_windows(split, seq_len)
        rows = torch.randint(0, windows.shape[0], (batch_size,), generator=generator)
        encoded = torch.from_numpy(self.encode(windows[rows.numpy()]))  # (B, T+1) float64
        x, y = encoded[:, :-1], encoded[:, 1:]
        return x.to(torch.float32)[..., None], y.to(torch.float32)[..., None]

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if (seq_len, split) not in self._baselines:
            # every window of the split at once: the best constant at each position is
            # the mean target there, and its loss the (population) variance
            targets = self.encode(self._all_windows(split, seq_len))[:, 1:]  # (n, T)
            self._baselines[seq_len, split] = float(targets.var(axis=0).mean())
        return self._baselines[seq_len, split]


class _SingleSeriesTask(SeriesTask):
    def series(self, split: str = "train") -> np.ndarray:
        """The record of a split in its own units (a copy)."""
        return self._splits()[split][0].copy()


class _RelativeScale:
    """Windows measured from their first value, divided by ``scale``."""

    relative = True
    scale: float

    def encode(self, windows):
        return (windows - windows[..., :1]) / self.scale

    def decode(self, values, windows):
        return values * self.scale + windows[..., :1]


class CO2Task(_RelativeScale, _SingleSeriesTask):
    name = "co2"
    title = "Mauna Loa CO₂ forecasting"
    description = (
        "The weekly CO₂ concentration measured at Mauna Loa, Hawaii, from 1958 to 2001: a "
        "rising trend with a yearly rhythm on top (plants in the northern hemisphere take CO₂ "
        "up in summer and release it in winter). At every step the network sees this week's "
        "value and predicts next week's. Each window is measured from its own first week, in "
        "units of 3 ppm, so the net has to learn the seasonal cycle and the slope of the trend "
        "rather than the absolute level. The net trains on 1958 to early 1993 and is scored on "
        "64 fixed windows of the held-out weeks, April 1993 to 2001, by its skill against "
        "persistence (next week equals this week): 1 - its squared error / persistence's, on "
        "the same weeks; 0 means no better than persistence. R² would flatter it: simply "
        "repeating this week's value already scores R² about 0.97 on either split, so the "
        "skill is in the last few hundredths: the seasonal turns and the recent slope."
    )
    unit = "ppm"
    step_name = "week"
    time_name = "year"
    train_fraction = 0.8
    # Fixed, not per-window, so the transform never looks ahead and the loss has one unit.
    # 3 ppm is about the seasonal amplitude, so a yearly cycle spans about ±1.
    scale = 3.0  # ppm

    default_path = CO2_PATH

    def _load(self) -> dict[str, list[np.ndarray]]:
        table = np.genfromtxt(self._path, delimiter=",", skip_header=1, dtype=str)
        dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in table[:, 0]], dtype="datetime64[D]")
        days = dates.astype(np.int64)
        ppm = np.array([float(v) if v else np.nan for v in table[:, 1]])
        known = ~np.isnan(ppm)
        # weeks with no valid measurement: linear in time between their neighbours
        ppm = np.interp(days, days[known], ppm[known])
        cut = int(self.train_fraction * len(ppm))
        years = 1970 + days / 365.2425  # decimal years, for the axis
        self._times = {"train": [years[:cut]], "test": [years[cut:]]}
        return {"train": [ppm[:cut]], "test": [ppm[cut:]]}

    def _relative(self, window: np.ndarray | Tensor):
        """Window (..., T+1) in ppm -> (inputs, targets), each (..., T), from the first week."""
        relative = self.encode(window)
        return relative[..., :-1], relative[..., 1:]


def plotly_stocks_path() -> Path:
    """The weekly prices file inside the installed plotly package (plotly.data.stocks)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "datasets" / "stocks.csv.gz"


class StocksTask(_RelativeScale, SeriesTask):
    name = "stocks"
    title = "Stock prices (weekly)"
    description = (
        "Weekly closing prices of six tech stocks (Google, Apple, Amazon, Facebook, Netflix, "
        "Microsoft) in 2018 and 2019, the sample data that ships with plotly. At every step "
        "the network sees this week's price and predicts next week's. Each window is the "
        "logarithm of the price measured from the window's first week, in units of 5%, so "
        "a step is a percentage change and the six stocks share one scale. The net trains "
        "on the first 80 weeks of every stock and is scored on the last 25 by its skill "
        "against persistence (next week's price equals this week's). Prices are close to a "
        "random walk, so expect a skill near 0: that is the honest result."
    )
    unit = "price (1 = 1 January 2018)"
    step_name = "week"
    time_name = "year"
    train_weeks = 80
    scale = 0.05  # 5% in log price: a typical week moves a few percent

    def __init__(self, path: Path | None = None):
        super().__init__(plotly_stocks_path() if path is None else path)

    def _load(self) -> dict[str, list[np.ndarray]]:
        with gzip.open(self._path, "rt") as f:
            header = f.readline().strip().split(",")
            table = np.loadtxt(f, delimiter=",", dtype=str, ndmin=2)
        self.companies = header[1:]
        prices = table[:, 1:].astype(np.float64).T  # (companies, weeks)
        cut = self.train_weeks
        days = np.array(table[:, 0], dtype="datetime64[D]").astype(np.int64)
        years = 1970 + days / 365.2425
        self._times = {
            "train": [years[:cut]] * len(prices),
            "test": [years[cut:]] * len(prices),
        }
        return {"train": list(prices[:, :cut]), "test": list(prices[:, cut:])}

    def labels(self) -> list[str]:
        self._loaded()
        return list(self.companies)

    def encode(self, windows):
        return super().encode(np.log(windows))

    def decode(self, values, windows):
        return np.exp(super().decode(values, np.log(windows)))


class ElNinoTask(_SingleSeriesTask):
    name = "elnino"
    title = "El Niño sea temperatures (monthly)"
    description = (
        "The monthly mean sea surface temperature of the Niño 1+2 region of the Pacific "
        "(0-10° S, 80-90° W) from 1950 to 2010, as NOAA published it (statsmodels ships the "
        "table). A strong yearly cycle, and every few years an El Niño warms it by several "
        "degrees. At every step the network sees this month's temperature and predicts next "
        "month's, in units of the training years' standard deviation around their mean. The "
        "net trains on 1950-1997 and is scored on 1998-2010 against two naive forecasts: "
        "persistence (next month equals this month) and seasonal persistence (next month "
        "equals the same month last year)."
    )
    unit = "°C"
    step_name = "month"
    time_name = "year"
    season = 12
    train_years = 48

    default_path = ELNINO_PATH

    def _load(self) -> dict[str, list[np.ndarray]]:
        table = np.genfromtxt(self._path, delimiter=",", skip_header=1)
        self.first_year = int(table[0, 0])
        monthly = table[:, 1:13].reshape(-1)  # January 1950, February 1950, ...
        cut = 12 * self.train_years
        self.centre = float(monthly[:cut].mean())
        self.spread = float(monthly[:cut].std())
        years = self.first_year + (np.arange(monthly.size) + 0.5) / 12  # mid-month
        self._times = {"train": [years[:cut]], "test": [years[cut:]]}
        return {"train": [monthly[:cut]], "test": [monthly[cut:]]}

    def encode(self, windows):
        self._loaded()  # centre and spread come from the training years
        return (windows - self.centre) / self.spread

    def decode(self, values, windows):
        self._loaded()
        return values * self.spread + self.centre


@dataclass(frozen=True)
class LabelledRecord:
    """A whole series with its labels and the stretches a detector uses."""

    times: np.ndarray  # (N,) float64, in the task's time_name
    values: np.ndarray  # (N,) float64, in the task's units
    abnormal: np.ndarray  # (N,) bool
    train_end: int  # values[:train_end]: what the net trains on (all normal)
    normal_end: int  # values[train_end:normal_end]: normal, held out (sets thresholds)


class ECGTask(_SingleSeriesTask):
    name = "ecg"
    title = "ECG anomaly detection"
    description = (
        "About 21 seconds of one electrocardiogram lead from the MIT-BIH Arrhythmia "
        "Database, as it ships with sktime, with one stretch labelled abnormal near the "
        "end: a premature heartbeat and the long pause after it. Read at 90 samples a "
        "second (every 4th of the recording's 360), in units of 0.3 mV around the "
        "training part's median. At every step the network sees this sample and predicts "
        "the next. It trains on the first 60% (normal beats only); the next 20% (also "
        "normal) is held out: the score (skill against persistence) and the thresholds of "
        "the Time series page come from it. The page then watches the last 20%, where the "
        "abnormal beat is: a forecast that goes badly wrong there flags it."
    )
    unit = "mV"
    step_name = "sample (1/90 s)"
    time_name = "second"
    rate_hz = 90
    stride = 4  # the file has 360 samples a second
    train_fraction = 0.6
    normal_fraction = 0.8  # [train, normal): held out, normal
    scale = 0.3  # mV: a normal beat's R peak stands about 4 units above the baseline

    default_path = ECG_PATH

    def _load(self) -> dict[str, list[np.ndarray]]:
        table = np.genfromtxt(self._path, delimiter=",", skip_header=1)[:: self.stride]
        values, abnormal = table[:, 0], table[:, 1] > 0
        train_end = int(self.train_fraction * len(values))
        normal_end = int(self.normal_fraction * len(values))
        if abnormal[:normal_end].any():
            raise ValueError(f"{self._path}: the training or held-out part has abnormal points")
        seconds = np.arange(len(values)) / self.rate_hz
        self._record = LabelledRecord(seconds, values, abnormal, train_end, normal_end)
        self.centre = float(np.median(values[:train_end]))
        self._times = {"train": [seconds[:train_end]], "test": [seconds[train_end:normal_end]]}
        return {"train": [values[:train_end]], "test": [values[train_end:normal_end]]}

    def record(self) -> LabelledRecord:
        """The whole recording (training, normal held-out and watched parts) and its labels."""
        self._loaded()
        return self._record

    def encode(self, windows):
        self._loaded()
        return (windows - self.centre) / self.scale

    def decode(self, values, windows):
        self._loaded()
        return values * self.scale + self.centre
