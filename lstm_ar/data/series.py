"""The seed article's data, and turning a series into (window -> next value) examples.

* ``linspace_identity``: Example 1's ``linspace(0.4, 0.6, 100)``, trained x -> x.
* ``noisy_sine``: Examples 2 and 3's series: ``np.random.seed(42)``,
  ``sin(linspace(0, 10 pi, 1000)) + 0.1 randn(1000)``, standardised. The article's code crashes
  under Keras 3 (999 inputs, 998 labels); its intent, x[:-1] -> x[1:], gives 999 examples.

Beyond the seed (experiment 4, ``lstm_ar.scenarios.data``):

* ``sine_regime``: the same noisy sine with another amplitude and frequency (``sine_regime(1, 1)``
  is the seed's series before standardisation); ``rescale`` puts a raw series on another scale
  and offset (e.g. ``10 x + 50``).
* ``stacked_windows``: the windows of several separately generated series, concatenated, so
  that no window straddles two series (multi-regime training data).
* ``random_walk`` and ``white_noise``: controls where a flat forecast is MSE-optimal.

Series are numpy float32 on the host; ``Dataset`` holds the model's arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Dataset(NamedTuple):
    """x: f32[n, window, 1] inputs, y: f32[n, horizon] targets (the values after each window;
    horizon 1 for one-step training)."""

    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


class Series(NamedTuple):
    """A standardised series with what is needed to undo it and to judge forecasts.

    values: f32[T] the (noisy) series the model sees; clean: f32[T] the noiseless signal on the
    same scale (equal to values when there is no noise); mean, std: the standardisation.
    """

    values: np.ndarray
    clean: np.ndarray
    mean: float
    std: float


def noisy_sine(n_points: int = 1000, *, periods: float = 5.0, noise: float = 0.1,
               seed: int = 42, standardise: bool = True, amplitude: float = 1.0,
               frequency: float = 1.0) -> Series:
    """The seed's series, drawn with numpy's legacy global-seed stream exactly as it does
    (``amplitude sin(frequency t)``: 1 and 1 are the seed's)."""
    rng = np.random.RandomState(seed)  # same stream as np.random.seed(seed); np.random.randn
    t = np.linspace(0, 2 * periods * np.pi, n_points)
    clean = amplitude * np.sin(frequency * t)
    values = clean + noise * rng.randn(n_points)
    mean, std = (float(np.mean(values)), float(np.std(values))) if standardise else (0.0, 1.0)
    return Series(values=((values - mean) / std).astype(np.float32),
                  clean=((clean - mean) / std).astype(np.float32), mean=mean, std=std)


def windows(series: np.ndarray, window: int = 1) -> Dataset:
    """All (series[t : t + window] -> series[t + window]) pairs. series: f[T] -> n = T - window."""
    series = np.asarray(series, np.float32)
    if series.ndim != 1:
        raise ValueError(f"series must be 1-D, got shape {series.shape}")
    if not 1 <= window < series.shape[0]:
        raise ValueError(f"window must be in [1, {series.shape[0] - 1}], got {window}")
    n = series.shape[0] - window
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    return Dataset(x=series[idx][..., None], y=series[window:, None])


def linspace_identity(low: float = 0.4, high: float = 0.6, n_points: int = 100) -> Dataset:
    """Example 1: inputs and targets are the same points (the model is fit x -> x)."""
    values = np.linspace(low, high, n_points).astype(np.float32)
    return Dataset(x=values.reshape(n_points, 1, 1), y=values.reshape(n_points, 1))


def standardise_like(values: np.ndarray, reference: Series) -> np.ndarray:
    """Put raw values on a reference series' standardised scale."""
    return ((np.asarray(values, np.float64) - reference.mean) / reference.std).astype(np.float32)


def sine_continuation(reference: Series, start: int, steps: int, *, n_points: int = 1000,
                      periods: float = 5.0, amplitude: float = 1.0, frequency: float = 1.0) -> np.ndarray:
    """The noiseless ``amplitude sin(frequency t)`` at indices start..start+steps-1 of the seed's
    time grid, continued past its end, on the reference's standardised scale. f32[steps]."""
    dt = 2 * periods * np.pi / (n_points - 1)
    clean = amplitude * np.sin(frequency * dt * np.arange(start, start + steps))
    return standardise_like(clean, reference)


def sine_regime(amplitude: float = 1.0, frequency: float = 1.0, *, n_points: int = 1000,
                periods: float = 5.0, noise: float = 0.1, seed: int = 42) -> Series:
    """``amplitude sin(frequency t) + noise randn`` on the seed's time grid (``frequency`` 1: five
    periods in ``n_points``), not standardised (mean 0, std 1 in the Series). values, clean: f32[n].

    The noise is drawn as the seed draws it (``np.random.seed(seed); randn(n_points)``) and is not
    scaled with the amplitude, so ``sine_regime(1, 1)`` is the seed's raw series."""
    if not (amplitude > 0 and frequency > 0):
        raise ValueError(f"amplitude and frequency must be > 0, got {amplitude}, {frequency}")
    return noisy_sine(n_points, periods=periods, noise=noise, seed=seed, standardise=False,
                      amplitude=amplitude, frequency=frequency)


def rescale(series: Series, scale: float, offset: float) -> Series:
    """``scale x + offset`` of a raw series' values and clean signal (what an unnormalised
    sensor would record); still not standardised. f32[T] -> f32[T]."""
    def affine(x):
        return (scale * np.asarray(x, np.float64) + offset).astype(np.float32)

    return Series(values=affine(series.values), clean=affine(series.clean), mean=0.0, std=1.0)


def stacked_windows(series: list[np.ndarray], window: int = 1) -> Dataset:
    """The windows of each series (``windows``), concatenated in order: x: f32[sum(T_i - window),
    window, 1], y: f32[sum(T_i - window), 1]. No example spans two series."""
    if not series:
        raise ValueError("need at least one series")
    parts = [windows(s, window) for s in series]
    return Dataset(x=np.concatenate([p.x for p in parts]), y=np.concatenate([p.y for p in parts]))


def random_walk(n_points: int, *, step_std: float = 1.0, seed: int = 0) -> np.ndarray:
    """Gaussian random walk x_t = x_{t-1} + step_std N(0, 1), x_{-1} = 0, from
    ``np.random.default_rng(seed)``. f64[n_points]. Its MSE-optimal forecast, one step or k
    steps ahead, is the last value (persistence): flat."""
    if n_points < 1 or not step_std > 0:
        raise ValueError(f"need n_points >= 1 and step_std > 0, got {n_points}, {step_std}")
    return np.cumsum(step_std * np.random.default_rng(seed).standard_normal(n_points))


def white_noise(n_points: int, *, std: float = 1.0, mean: float = 0.0, seed: int = 0) -> np.ndarray:
    """i.i.d. mean + std N(0, 1) from ``np.random.default_rng(seed)``. f64[n_points]. Its
    MSE-optimal forecast at every horizon is ``mean``: flat."""
    if n_points < 1 or not std > 0:
        raise ValueError(f"need n_points >= 1 and std > 0, got {n_points}, {std}")
    return mean + std * np.random.default_rng(seed).standard_normal(n_points)


def sequences(series: np.ndarray, window: int, horizon: int) -> Dataset:
    """(series[t : t + window] -> series[t + window : t + window + horizon]) pairs:
    x: f32[n, window, 1], y: f32[n, horizon], n = T - window - horizon + 1."""
    series = np.asarray(series, np.float32)
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    base = windows(series[:series.shape[0] - horizon + 1], window)
    idx = np.arange(base.n)[:, None] + window + np.arange(horizon)[None, :]
    return Dataset(x=base.x, y=series[idx])
