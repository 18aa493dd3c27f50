"""Why a one-lag model fitted to a noisy sine collapses: regression dilution, in closed form.

For ``x_t = A sin(omega t + phi) + n_t`` (white noise of variance ``n2``), over whole periods the sine has
variance ``s2 = A^2 / 2`` and lag-one covariance ``s2 cos(omega)`` (``sin u sin(u + omega) = (cos omega -
cos(2u + omega)) / 2``); the noise adds to the variance only. The least-squares slope of ``x_{t+1}`` on
``x_t`` is ``rho = cos(omega) * s2 / (s2 + n2)``: the noiseless slope shrunk by the signal fraction (noise in
the regressor biases the slope towards 0; standardising leaves it unchanged). ``|rho| < 1``: ``x -> c + rho
x`` is a contraction whose rollout settles at ``c / (1 - rho)``. The article's series (``sin(linspace(0, 10
pi, 1000))``, noise 0.1): s2 = 0.5, n2 = 0.01, omega = 10 pi / 999, rho = 0.980.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.linear.ar import ARFit


def one_lag_shrinkage(omega, signal_var, noise_var) -> jax.Array:
    """The least-squares one-lag slope ``cos(omega) * signal_var / (signal_var + noise_var)`` (broadcast) of a
    sine of step ``omega`` (radians per sample) and variance ``A^2 / 2 > 0`` plus white noise (variance >= 0)."""
    for name, value, low in (("signal_var", signal_var, "> 0"), ("noise_var", noise_var, ">= 0")):
        if not isinstance(value, jax.core.Tracer):
            array = np.asarray(value, np.float64)
            if np.any(array <= 0 if low == "> 0" else array < 0) or not np.all(np.isfinite(array)):
                raise ValueError(f"{name} must be finite and {low}, got {value}")
    omega, signal_var, noise_var = (jnp.asarray(v, jnp.float32) for v in (omega, signal_var, noise_var))
    return jnp.cos(omega) * signal_var / (signal_var + noise_var)


def sine_step(length: int = 1000, periods: int = 5) -> float:
    """The step of ``sin(linspace(0, 2 pi periods, length))``: ``2 pi periods / (length - 1)``."""
    length = check_int(length, "length", 2)
    periods = check_int(periods, "periods", 1)
    return 2.0 * math.pi * periods / (length - 1)


def fixed_point_of_one_lag(fit: ARFit) -> jax.Array:
    """Where the fitted map's rollout settles: ``intercept / (1 - sum(coefs))`` (``intercept / (1 - rho)`` for one
    lag; the limit of ``ar_rollout`` when the companion spectral radius is below 1). Batch axes allowed."""
    return fit.intercept / (1.0 - jnp.sum(fit.coefs, axis=-1))
