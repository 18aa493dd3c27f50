"""Why a one-lag model fitted to a noisy sine collapses: regression dilution, in closed form.

Let ``x_t = s_t + n_t`` with ``s_t = A sin(omega t + phi)`` and white noise ``n_t`` of variance
``n2``. Over whole periods the sine has mean 0, variance ``s2 = A^2 / 2`` and lag-one covariance

    cov(s_t, s_{t+1}) = A^2 / 2 * mean_t[sin(u) sin(u + omega)] = s2 cos(omega)

(``sin u sin(u + omega) = (cos omega - cos(2u + omega)) / 2``; the second term averages to 0).
The noise is independent of the sine and of itself across time, so ``cov(x_t, x_{t+1}) = s2
cos(omega)`` and ``var(x_t) = s2 + n2``. The least-squares slope of ``x_{t+1}`` on ``x_t`` is
their ratio::

    rho = cos(omega) * s2 / (s2 + n2)

the noiseless slope ``cos(omega)`` shrunk by the signal fraction ``s2 / (s2 + n2)`` (regression
dilution: noise in the regressor biases the slope towards 0). Standardising x divides both
variances by the same number, so it leaves ``rho`` unchanged. ``|rho| < 1``: the fitted map
``x -> c + rho x`` is a contraction and its rollout settles at ``c / (1 - rho)``. For the
article's series (``sin(linspace(0, 10 pi, 1000))``, noise 0.1): s2 = 0.5, n2 = 0.01, omega =
10 pi / 999, rho = 0.980. With no noise, rho = cos(omega): no shrinkage.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.linear.ar import ARFit


def one_lag_shrinkage(omega, signal_var, noise_var) -> jax.Array:
    """The least-squares one-lag slope of a sine of step ``omega`` plus white noise.

    Args:
      omega: f32[...] the sine's step in radians per sample.
      signal_var: f32[...] the sine's variance ``A^2 / 2`` (> 0).
      noise_var: f32[...] the noise variance (>= 0).

    Returns:
      f32[...] ``cos(omega) * signal_var / (signal_var + noise_var)`` (broadcast shape).
    """
    for name, value, low in (("signal_var", signal_var, "> 0"), ("noise_var", noise_var, ">= 0")):
        if not isinstance(value, jax.core.Tracer):
            array = np.asarray(value, np.float64)
            if np.any(array <= 0 if low == "> 0" else array < 0) or not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be finite and {low}, got {value}")
    omega, signal_var, noise_var = (jnp.asarray(v, jnp.float32) for v in (omega, signal_var, noise_var))
    return jnp.cos(omega) * signal_var / (signal_var + noise_var)


def sine_step(length: int = 1000, periods: int = 5) -> float:
    """The step in radians of ``sin(linspace(0, 2 pi periods, length))``: ``2 pi periods / (length - 1)``.

    Args:
      length: number of samples (>= 2).
      periods: number of periods (>= 1); the article's series is (1000, 5): 10 pi / 999.

    Returns:
      omega as a Python float.
    """
    length = check_int(length, "length", 2)
    periods = check_int(periods, "periods", 1)
    return 2.0 * math.pi * periods / (length - 1)


def fixed_point_of_one_lag(fit: ARFit) -> jax.Array:
    """Where the fitted map's rollout settles: ``intercept / (1 - rho)`` for one lag.

    For any order this is the AR fixed point ``intercept / (1 - sum(coefs))`` (equal to the
    one-lag formula when ``order = 1``); it is the limit of ``ar_rollout`` when the companion
    spectral radius is below 1.

    Args:
      fit: an ``ARFit`` (leading batch axes allowed).

    Returns:
      f32[...] the fixed point.
    """
    return fit.intercept / (1.0 - jnp.sum(fit.coefs, axis=-1))
