"""Next-step forecasting of a scalar series: sine waves and the Mauna Loa CO₂ record.

Both tasks show the series one value a step and regress the next value (MSE); the
metric is R² against the trivial predictor of the same split. The waves are generated
afresh from the caller's generator; the CO₂ record is a bundled file with a held-out
test split.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from rnn_core.tasks.base import ASSETS_DIR, BundledDataTask, Task, random_windows

CO2_PATH = ASSETS_DIR / "data" / "co2_mauna_loa_weekly.csv"


class _ForecastTask(Task):
    """Next-step regression of a scalar series: y (B, T, 1), MSE over all steps."""

    target_type = "regression"
    input_size = 1
    output_size = 1
    metric_name = "R² (explained variance)"
    higher_is_better = True

    def loss(self, outputs: Tensor, y: Tensor) -> Tensor:
        return F.mse_loss(outputs, y)

    def metric(self, outputs: Tensor, y: Tensor, split: str = "train") -> float:
        # R² against the trivial predictor of the same split: 1 = perfect, 0 = no better
        # than ignoring the input, below 0 worse than that
        with torch.no_grad():
            mse = F.mse_loss(outputs, y).item()
        return 1.0 - mse / self.baseline_loss(y.shape[1], split)


class SineTask(_ForecastTask):
    name = "sine"
    title = "Waveform forecasting"
    description = (
        "Each sequence is the sum of two sine waves with their own random frequency (one "
        "cycle every 10 to 100 steps), amplitude and phase, plus measurement noise. At every "
        "step the network sees the current value and predicts the next one. The waves change "
        "from one sequence to the next, so the net has to work out the frequencies and phases "
        "from what it has seen so far and keep them in its state. Predicting 0 (the average) "
        "gives R² = 0; the noise, which cannot be predicted, caps R² at about 0.98."
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


class CO2Task(_ForecastTask, BundledDataTask):
    name = "co2"
    title = "Mauna Loa CO₂ forecasting"
    description = (
        "The weekly CO₂ concentration measured at Mauna Loa, Hawaii, from 1958 to 2001: a "
        "rising trend with a yearly rhythm on top (plants in the northern hemisphere take CO₂ "
        "up in summer and release it in winter). At every step the network sees this week's "
        "value and predicts next week's. Each window is measured from its own first week, in "
        "units of 3 ppm, so the net has to learn the seasonal cycle and the slope of the trend "
        "rather than the absolute level. The net trains on 1958 to early 1993 and is scored by "
        "R² on 64 fixed windows of the held-out weeks, April 1993 to 2001. R² compares the "
        "net with predicting, for each step, the average change over the same split's "
        "windows (which ignores the input): 0 means no better than that. Simply repeating "
        "this week's value already scores about 0.97 on either split, so the skill is in the "
        "last few hundredths: the seasonal turns and the recent slope."
    )
    has_split = True
    train_fraction = 0.8
    # Fixed, not per-window, so the transform never looks ahead and the loss has one unit.
    # 3 ppm is about the seasonal amplitude, so a yearly cycle spans about ±1.
    scale = 3.0  # ppm

    default_path = CO2_PATH

    def _splits(self) -> dict[str, np.ndarray]:
        return self._loaded()

    def _load(self) -> dict[str, np.ndarray]:
        table = np.genfromtxt(self._path, delimiter=",", skip_header=1, dtype=str)
        dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in table[:, 0]], dtype="datetime64[D]")
        days = dates.astype(np.int64)
        ppm = np.array([float(v) if v else np.nan for v in table[:, 1]])
        known = ~np.isnan(ppm)
        # weeks with no valid measurement: linear in time between their neighbours
        ppm = np.interp(days, days[known], ppm[known])
        cut = int(self.train_fraction * len(ppm))
        return {"train": ppm[:cut], "test": ppm[cut:]}

    def series(self, split: str = "train") -> np.ndarray:
        """The weekly record of a split in ppm, gaps filled (a copy)."""
        return self._splits()[split].copy()

    @property
    def max_seq_len(self) -> int:
        # a held-out window needs seq_len + 1 weeks
        return len(self._splits()["test"]) - 1

    def _relative(self, window: np.ndarray | Tensor):
        """Window (..., T+1) in ppm -> (inputs, targets), each (..., T), from the first week."""
        relative = (window - window[..., :1]) / self.scale
        return relative[..., :-1], relative[..., 1:]

    def sample(self, batch_size, seq_len, generator, split="train"):
        self._check_request(seq_len, split)
        data = torch.from_numpy(self._splits()[split])
        window = random_windows(data, batch_size, seq_len + 1, generator)  # (B, T+1) float64
        x, y = self._relative(window)
        return x.to(torch.float32)[..., None], y.to(torch.float32)[..., None]

    def baseline_loss(self, seq_len, split="train"):
        self._check_request(seq_len, split)
        if (seq_len, split) not in self._baselines:
            # every window of the split at once: the best constant at each position is
            # the mean target there, and its loss the (population) variance
            windows = np.lib.stride_tricks.sliding_window_view(self._splits()[split], seq_len + 1)
            _, targets = self._relative(windows)  # (n_starts, T)
            self._baselines[seq_len, split] = float(targets.var(axis=0).mean())
        return self._baselines[seq_len, split]
