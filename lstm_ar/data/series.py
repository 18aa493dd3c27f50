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

Series are numpy float32 on the host; ``Dataset`` holds the model's arrays. Every function that
takes a series checks it first (``check_series``): a real, finite, 1-D array long enough for what
is asked of it, with an error naming the problem (how many values are NaN or inf and where the
first one is; a constant series that cannot be standardised) before anything is computed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.checks import check_int

# A series whose std is at most this times max(1, |mean|) is constant up to float64 rounding
# (the mean of n copies of x is off by ~n eps |x|, and so is the std it leaves).
CONSTANT_TOLERANCE = 1e-12


def check_series(values, *, name: str = "series", min_length: int = 1, what: str = "") -> np.ndarray:
    """``values`` as a numpy array, or a clear error: it must be real (complex values are refused,
    not silently truncated to their real part), numeric, 1-D, finite and hold at least
    ``min_length`` values (``what`` says what needs them).

    Args:
      values: f[T] array-like.
      name: how the error messages call it.
      min_length: the fewest values accepted.
      what: why ``min_length`` values are needed (appended to the error).

    Returns:
      The validated values as a numpy array of their own (real) dtype, f[T].
    """
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
    bad = ~np.isfinite(array)
    if bad.any():
        nan = int(np.isnan(array).sum())
        raise ValueError(f"{name} has {int(bad.sum())} non-finite values ({nan} NaN, {int(bad.sum()) - nan} inf), "
                         f"the first at index {int(np.argmax(bad))}; remove or interpolate them first")
    return array


def standardisation(values, *, name: str = "series") -> tuple[float, float]:
    """(mean, std) of a series, in float64, to standardise it and its held-out part with.

    Args:
      values: f[T], checked with ``check_series`` (at least 2 values).
      name: how the error messages call it.

    Returns:
      (mean, std), std > 0. A constant series raises ValueError: dividing by its std would turn
      every value into NaN, or (a std of float rounding, e.g. 1.4e-17 for 1000 copies of 0.1)
      into noise blown up to +-1. Constant means every value equal, or
      ``std <= CONSTANT_TOLERANCE * max(1, |mean|)``.
    """
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
    mean, std = standardisation(values, name="noisy_sine") if standardise else (0.0, 1.0)
    return Series(values=((values - mean) / std).astype(np.float32),
                  clean=((clean - mean) / std).astype(np.float32), mean=mean, std=std)


def windows(series: np.ndarray, window: int = 1) -> Dataset:
    """All (series[t : t + window] -> series[t + window]) pairs.

    Args:
      series: f[T], real, finite, at least ``window + 1`` values (``check_series``).
      window: the number of values each example reads, an int >= 1.

    Returns:
      ``Dataset`` with x: f32[T - window, window, 1], y: f32[T - window, 1].
    """
    window = _positive_int(window, "window")
    series = check_series(series, min_length=window + 1, what=f"window {window} needs window + 1 for one example")
    series = np.asarray(series, np.float32)
    n = series.shape[0] - window
    idx = np.arange(n)[:, None] + np.arange(window)[None, :]
    return Dataset(x=series[idx][..., None], y=series[window:, None])


def linspace_identity(low: float = 0.4, high: float = 0.6, n_points: int = 100) -> Dataset:
    """Example 1: inputs and targets are the same points (the model is fit x -> x).

    Args:
      low, high: finite ends of the range, low < high.
      n_points: how many evenly spaced points (int >= 1).

    Returns:
      ``Dataset`` with x: f32[n_points, 1, 1], y: f32[n_points, 1], equal values.
    """
    n_points = _positive_int(n_points, "n_points")
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
    n_points = check_int(n_points, "n_points", 1)
    if not (np.isfinite(step_std) and step_std > 0):
        raise ValueError(f"step_std must be finite and > 0, got {step_std!r}")
    return np.cumsum(step_std * np.random.default_rng(seed).standard_normal(n_points))


def white_noise(n_points: int, *, std: float = 1.0, mean: float = 0.0, seed: int = 0) -> np.ndarray:
    """i.i.d. mean + std N(0, 1) from ``np.random.default_rng(seed)``. f64[n_points]. Its
    MSE-optimal forecast at every horizon is ``mean``: flat."""
    n_points = check_int(n_points, "n_points", 1)
    if not (np.isfinite(std) and std > 0):
        raise ValueError(f"std must be finite and > 0, got {std!r}")
    return mean + std * np.random.default_rng(seed).standard_normal(n_points)


def sequences(series: np.ndarray, window: int, horizon: int) -> Dataset:
    """(series[t : t + window] -> series[t + window : t + window + horizon]) pairs.

    Args:
      series: f[T], real, finite, at least ``window + horizon`` values (``check_series``).
      window: values read before predicting (int >= 1).
      horizon: values predicted after each window (int >= 1).

    Returns:
      ``Dataset`` with x: f32[n, window, 1], y: f32[n, horizon], n = T - window - horizon + 1.
    """
    window, horizon = _positive_int(window, "window"), _positive_int(horizon, "horizon")
    series = check_series(series, min_length=window + horizon,
                          what=f"window {window} and horizon {horizon} need window + horizon for one example")
    series = np.asarray(series, np.float32)
    base = windows(series[:series.shape[0] - horizon + 1], window)
    idx = np.arange(base.n)[:, None] + window + np.arange(horizon)[None, :]
    return Dataset(x=base.x, y=series[idx])


def example_indices(length: int, window: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``sequences``' examples in a series of ``length`` values: windows i32[n, window]
    and targets i32[n, horizon], n = length - window - horizon + 1 (ValueError when n < 1)."""
    window, horizon = _positive_int(window, "window"), _positive_int(horizon, "horizon")
    n = int(length) - window - horizon + 1
    if n < 1:
        raise ValueError(f"a series of {length} values has no example for window {window} and {horizon} target(s); "
                         f"need at least {window + horizon}")
    start = np.arange(n)[:, None]
    return start + np.arange(window)[None, :], start + window + np.arange(horizon)[None, :]


def gather_sequences(series, window: int, horizon: int = 1) -> Dataset:
    """``sequences`` of a series that may be traced (inside ``jit``/``vmap``, e.g. one noise
    realisation among many): the same examples, gathered with static indices, unchecked.

    Args:
      series: f32[T] (a jax or numpy array; T static).
      window, horizon: as ``sequences``.

    Returns:
      ``Dataset`` with x: f32[n, window, 1], y: f32[n, horizon] (jax arrays).
    """
    import jax.numpy as jnp  # the host-side functions above stay numpy-only

    series = jnp.asarray(series, jnp.float32)
    x_idx, y_idx = example_indices(series.shape[0], window, horizon)
    return Dataset(x=series[x_idx][..., None], y=series[y_idx])


def _positive_int(value, name: str) -> int:
    return check_int(value, name, 1)
