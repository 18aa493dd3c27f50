"""The seed article's data, and turning a series into (window -> next value) examples.

* ``linspace_identity``: Example 1's ``linspace(0.4, 0.6, 100)``, trained x -> x.
* ``noisy_sine``: Examples 2 and 3's series: ``np.random.seed(42)``,
  ``sin(linspace(0, 10 pi, 1000)) + 0.1 randn(1000)``, standardised. The article's code crashes
  under Keras 3 (999 inputs, 998 labels); its intent, x[:-1] -> x[1:], gives 999 examples.

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
               seed: int = 42, standardise: bool = True) -> Series:
    """The seed's series, drawn with numpy's legacy global-seed stream exactly as it does."""
    rng = np.random.RandomState(seed)  # same stream as np.random.seed(seed); np.random.randn
    t = np.linspace(0, 2 * periods * np.pi, n_points)
    clean = np.sin(t)
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
                      periods: float = 5.0) -> np.ndarray:
    """The noiseless sine at indices start..start+steps-1 of the seed's time grid, continued past
    its end, on the reference's standardised scale. f32[steps]."""
    dt = 2 * periods * np.pi / (n_points - 1)
    return standardise_like(np.sin(dt * np.arange(start, start + steps)), reference)


def sequences(series: np.ndarray, window: int, horizon: int) -> Dataset:
    """(series[t : t + window] -> series[t + window : t + window + horizon]) pairs:
    x: f32[n, window, 1], y: f32[n, horizon], n = T - window - horizon + 1."""
    series = np.asarray(series, np.float32)
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    base = windows(series[:series.shape[0] - horizon + 1], window)
    idx = np.arange(base.n)[:, None] + window + np.arange(horizon)[None, :]
    return Dataset(x=base.x, y=series[idx])
