"""Small deterministic series, each built to show one cause of a collapsing rollout the study's verdict names
(``lstm_ar.user.causes``), and none of the others where they do not hold.

* ``noisy_sine`` (``lstm_ar.data.series``): regression dilution, the window-1 map's cause;
* ``trend``: the held-out values leave the training range upward, and the level shifts;
* ``widening_sine``: the held-out values leave the training range, the level stays;
* ``level_step``: the level changes inside the training part, the held-out values stay in its range;
* ``ar1``: a stationary AR(1), none of the data's causes: a window model collapses by contracting to the mean.

Under-training is the training's, not the series': any of them with few epochs shows it. Every generator draws
its noise from ``np.random.default_rng(seed)`` and returns f64[n_points].
"""

from __future__ import annotations

import numpy as np

from lstm_ar.checks import check_int


def _noise(n_points: int, std: float, seed: int) -> np.ndarray:
    if not (np.isfinite(std) and std >= 0):
        raise ValueError(f"noise must be finite and >= 0, got {std!r}")
    return std * np.random.default_rng(seed).standard_normal(n_points)


def trend(n_points: int, *, slope: float = 0.01, noise: float = 0.1, seed: int = 0) -> np.ndarray:
    """``slope t + noise N(0, 1)``: every later stretch sits above every earlier one."""
    n_points = check_int(n_points, "n_points", 2)
    return slope * np.arange(n_points) + _noise(n_points, noise, seed)


def widening_sine(n_points: int, *, period: float = 25.0, widen_from: int | None = None, factor: float = 2.0,
                  noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """``a_t sin(2 pi t / period) + noise``, ``a_t = 1`` before ``widen_from`` (default: the last fifth) and
    ``factor`` from it on: the same mean, a wider range."""
    n_points = check_int(n_points, "n_points", 2)
    start = int(0.8 * n_points) if widen_from is None else check_int(widen_from, "widen_from", 0)
    amplitude = np.where(np.arange(n_points) < start, 1.0, factor)
    return amplitude * np.sin(2 * np.pi * np.arange(n_points) / period) + _noise(n_points, noise, seed)


def level_step(n_points: int, *, at: int | None = None, height: float = 5.0, noise: float = 1.0,
               seed: int = 0) -> np.ndarray:
    """White noise (std ``noise``) that steps up by ``height`` at index ``at`` (default: the middle of the first
    four fifths, the default training part): a level change inside the training part."""
    n_points = check_int(n_points, "n_points", 2)
    at = int(0.4 * n_points) if at is None else check_int(at, "at", 0)
    return np.where(np.arange(n_points) < at, 0.0, height) + _noise(n_points, noise, seed)


def ar1(n_points: int, *, phi: float = 0.5, seed: int = 0) -> np.ndarray:
    """x_t = phi x_{t-1} + N(0, 1), started from its stationary law: one level, one range throughout."""
    n_points = check_int(n_points, "n_points", 2)
    if not abs(phi) < 1:
        raise ValueError(f"phi must be in (-1, 1) for a stationary AR(1), got {phi!r}")
    eps = np.random.default_rng(seed).standard_normal(n_points)
    x = np.empty(n_points)
    x[0] = eps[0] / np.sqrt(1 - phi * phi)
    for t in range(1, n_points):
        x[t] = phi * x[t - 1] + eps[t]
    return x
