"""The seed article's data, and turning a series into (window -> next value) examples.

``linspace_identity`` is Example 1 (x -> x); ``noisy_sine`` Examples 2 and 3's ``sin(linspace(0,
10 pi, 1000)) + 0.1 randn(1000)``, seed 42, standardised (the article's code crashes under Keras 3,
999 inputs for 998 labels; its intent, x[:-1] -> x[1:], gives 999 examples). The other generators
serve ``lstm_ar.scenarios.data``. Every function taking a series checks it first (``check_series``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.checks import check_int

# A series whose std is at most this times max(1, |mean|) is constant up to float64 rounding
# (the mean of n copies of x is off by ~n eps |x|, and so is the std it leaves).
CONSTANT_TOLERANCE = 1e-12


def check_series(values, *, name: str = "series", min_length: int = 1, what: str = "") -> np.ndarray:
    """``values`` f[T] as a numpy array of its own dtype, or a clear error: real (complex is refused,
    not truncated), 1-D, finite, at least ``min_length`` values (``what`` says what needs them)."""
    array = np.asarray(values)
    if np.iscomplexobj(array):
        raise TypeError(f"{name} has complex values (dtype {array.dtype}); a series must be real: pass "
                        "np.real(x) or np.abs(x) explicitly if that is what you mean")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per time step), got shape {array.shape}"
                         + ("; use .ravel() for a single column" if array.ndim == 2 and 1 in array.shape else ""))
    if array.shape[0] < min_length:
        need = f" ({what})" if what else ""
        raise ValueError(f"{name} has {array.shape[0]} values; at least {min_length} are needed{need}")
    if (bad := ~np.isfinite(array)).any():
        nan = int(np.isnan(array).sum())
        raise ValueError(f"{name} has {int(bad.sum())} non-finite values ({nan} NaN, {int(bad.sum()) - nan} inf), "
                         f"the first at index {int(np.argmax(bad))}; remove or interpolate them first")
    return array


def standardisation(values, *, name: str = "series") -> tuple[float, float]:
    """(mean, std > 0) of a series in float64. A constant series (also up to ``CONSTANT_TOLERANCE``) is a
    ValueError: its std would give NaN, or rounding noise (std 1.4e-17 for 1000 x 0.1) blown up to +-1."""
    array = check_series(values, name=name, min_length=2, what="a mean and a standard deviation")
    array = np.asarray(array, np.float64)
    mean, std = float(array.mean()), float(array.std())
    if array.max() == array.min():
        raise ValueError(f"{name} is constant (every value is {array[0]:g}, std 0): it cannot be standardised, "
                         "and a constant series has nothing to forecast")
    if not std > CONSTANT_TOLERANCE * max(1.0, abs(mean)):
        raise ValueError(f"{name} is constant up to rounding (std {std:.3g} around mean {mean:g}, at most "
                         f"{CONSTANT_TOLERANCE:g} x max(1, |mean|)): it cannot be standardised, and a constant "
                         "series has nothing to forecast")
    return mean, std


class Dataset(NamedTuple):
    """x: f32[n, window, 1] inputs, y: f32[n, horizon] targets (the values after each window; 1 for one step)."""

    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


class Series(NamedTuple):
    """values: f32[T] the series the model sees; clean: f32[T] the noiseless signal, same scale; mean, std."""

    values: np.ndarray
    clean: np.ndarray
    mean: float
    std: float


def noisy_sine(n_points: int = 1000, *, periods: float = 5.0, noise: float = 0.1, seed: int = 42,
               standardise: bool = True, amplitude: float = 1.0, frequency: float = 1.0) -> Series:
    """The seed's series, drawn with numpy's legacy global-seed stream exactly as it does
    (``amplitude sin(frequency t)``: 1 and 1 are the seed's)."""
    rng = np.random.RandomState(seed)  # same stream as np.random.seed(seed); np.random.randn
    clean = amplitude * np.sin(frequency * np.linspace(0, 2 * periods * np.pi, n_points))
    values = clean + noise * rng.randn(n_points)
    mean, std = standardisation(values, name="noisy_sine") if standardise else (0.0, 1.0)
    return Series(values=((values - mean) / std).astype(np.float32),
                  clean=((clean - mean) / std).astype(np.float32), mean=mean, std=std)


def windows(series: np.ndarray, window: int = 1) -> Dataset:
    """All (series[t : t + window] -> series[t + window]) pairs: x f32[T - window, window, 1], y f32[T - window, 1]."""
    window = check_int(window, "window", 1)
    series = np.asarray(check_series(series, min_length=window + 1,
                                     what=f"window {window} needs window + 1 for one example"), np.float32)
    idx = np.arange(series.shape[0] - window)[:, None] + np.arange(window)[None, :]
    return Dataset(x=series[idx][..., None], y=series[window:, None])


def linspace_identity(low: float = 0.4, high: float = 0.6, n_points: int = 100) -> Dataset:
    """Example 1: x f32[n_points, 1, 1] and y f32[n_points, 1] the same evenly spaced points in [low, high]."""
    n_points = check_int(n_points, "n_points", 1)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got low={low!r}, high={high!r}")
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
    return standardise_like(amplitude * np.sin(frequency * dt * np.arange(start, start + steps)), reference)


def sine_regime(amplitude: float = 1.0, frequency: float = 1.0, *, n_points: int = 1000,
                periods: float = 5.0, noise: float = 0.1, seed: int = 42) -> Series:
    """``amplitude sin(frequency t) + noise randn`` on the seed's time grid, not standardised (mean 0,
    std 1 in the Series). The noise is drawn as the seed draws it and not scaled with the amplitude,
    so ``sine_regime(1, 1)`` is the seed's raw series."""
    if not (amplitude > 0 and frequency > 0):
        raise ValueError(f"amplitude and frequency must be > 0, got {amplitude}, {frequency}")
    return noisy_sine(n_points, periods=periods, noise=noise, seed=seed, standardise=False,
                      amplitude=amplitude, frequency=frequency)


def rescale(series: Series, scale: float, offset: float) -> Series:
    """``scale x + offset`` of a raw series' values and clean signal (an unnormalised sensor); not standardised."""
    affine = lambda x: (scale * np.asarray(x, np.float64) + offset).astype(np.float32)
    return Series(values=affine(series.values), clean=affine(series.clean), mean=0.0, std=1.0)


def stacked_windows(series: list[np.ndarray], window: int = 1) -> Dataset:
    """The ``windows`` of each series, concatenated in order (no example spans two series)."""
    if not series:
        raise ValueError("need at least one series")
    parts = [windows(s, window) for s in series]
    return Dataset(x=np.concatenate([p.x for p in parts]), y=np.concatenate([p.y for p in parts]))


def random_walk(n_points: int, *, step_std: float = 1.0, seed: int = 0) -> np.ndarray:
    """f64[n_points] Gaussian random walk x_t = x_{t-1} + step_std N(0, 1), x_{-1} = 0
    (``default_rng(seed)``); its MSE-optimal forecast at every horizon is the last value: flat."""
    n_points = check_int(n_points, "n_points", 1)
    if not (np.isfinite(step_std) and step_std > 0):
        raise ValueError(f"step_std must be finite and > 0, got {step_std!r}")
    return np.cumsum(step_std * np.random.default_rng(seed).standard_normal(n_points))


def white_noise(n_points: int, *, std: float = 1.0, mean: float = 0.0, seed: int = 0) -> np.ndarray:
    """f64[n_points] i.i.d. mean + std N(0, 1) (``default_rng(seed)``); its MSE-optimal forecast is ``mean``."""
    n_points = check_int(n_points, "n_points", 1)
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be finite and > 0, got {std!r}")
    return mean + std * np.random.default_rng(seed).standard_normal(n_points)


def sequences(series: np.ndarray, window: int, horizon: int) -> Dataset:
    """(series[t : t + window] -> series[t + window : t + window + horizon]) pairs: x f32[n, window, 1],
    y f32[n, horizon], n = T - window - horizon + 1."""
    window, horizon = check_int(window, "window", 1), check_int(horizon, "horizon", 1)
    series = np.asarray(check_series(series, min_length=window + horizon, what=f"window {window} and horizon "
                                     f"{horizon} need window + horizon for one example"), np.float32)
    x_idx, y_idx = example_indices(series.shape[0], window, horizon)
    return Dataset(x=series[x_idx][..., None], y=series[y_idx])


def example_indices(length: int, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``sequences``' indices in a series of ``length`` values: windows i32[n, window], targets i32[n, horizon]."""
    window, horizon = check_int(window, "window", 1), check_int(horizon, "horizon", 1)
    if (n := int(length) - window - horizon + 1) < 1:
        raise ValueError(f"a series of {length} values has no example for window {window} and {horizon} target(s); "
                         f"need at least {window + horizon}")
    start = np.arange(n)[:, None]
    return start + np.arange(window)[None, :], start + window + np.arange(horizon)[None, :]


def gather_sequences(series, window: int, horizon: int = 1) -> Dataset:
    """``sequences`` of a possibly traced series f32[T] (vmap), gathered with static indices; jax arrays, unchecked."""
    import jax.numpy as jnp  # the host-side functions above stay numpy-only
    series = jnp.asarray(series, jnp.float32)
    x_idx, y_idx = example_indices(series.shape[0], window, horizon)
    return Dataset(x=series[x_idx][..., None], y=series[y_idx])
