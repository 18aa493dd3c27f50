"""A direct multi-output linear forecaster: the last ``window`` values -> the next ``horizon``.

Least squares over every window of ``[x_{t+1} .. x_{t+H}] = [x_{t-w+1} .. x_t, 1] @ W``, ``W: f32[w + 1, H]``: one
column per lead time, nothing fed back within the horizon (the linear counterpart of LSTM -> Dense(H)). Inputs and
targets are centred (the intercept from the means), solved by ``lstsq`` (SVD, float32); ``ridge > 0`` adds
``ridge * ||W[:-1]||^2``.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from lstm_ar.checks import check_int
from lstm_ar.linear.ar import RCOND, check_series


class DirectFit(NamedTuple):
    """``weights`` f32[window + 1, horizon]: rows for the window (oldest first), then the intercept."""

    weights: jax.Array


def _pairs(series: jax.Array, window: int, horizon: int) -> tuple[jax.Array, jax.Array]:
    """Inputs f32[n, window] (oldest first) and targets f32[n, horizon], n = T - window - horizon + 1."""
    starts = jnp.arange(series.shape[0] - window - horizon + 1)[:, None]
    return series[starts + jnp.arange(window)[None, :]], series[starts + window + jnp.arange(horizon)[None, :]]


def fit_direct(series, window: int, horizon: int, *, ridge=0.0) -> DirectFit:
    """Least squares (``ridge`` >= 0, may be traced) of the next ``horizon`` values on the last ``window``
    (both static); ``series`` needs at least ``2 * window + horizon + 1`` values (more pairs than coefficients)."""
    series = check_series(series)
    window, horizon = check_int(window, "window", 1), check_int(horizon, "horizon", 1)
    count = series.shape[0] - window - horizon + 1
    if count < window + 2:
        raise ValueError(f"series of length {series.shape[0]} is too short for window {window} and horizon {horizon}: "
                         f"it gives {max(count, 0)} (window, target) pairs, at least {window + 2} are needed")
    if not isinstance(ridge, jax.core.Tracer) and not float(ridge) >= 0.0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    return _fit_direct(jnp.asarray(series, jnp.float32), jnp.asarray(ridge, jnp.float32), window=window, horizon=horizon)


@partial(jax.jit, static_argnames=("window", "horizon"))
def _fit_direct(series: jax.Array, ridge: jax.Array, window: int, horizon: int) -> DirectFit:
    inputs, targets = _pairs(series, window, horizon)
    x_mean, y_mean = jnp.mean(inputs, axis=0), jnp.mean(targets, axis=0)
    penalty = jnp.sqrt(ridge) * jnp.eye(window, dtype=jnp.float32)
    design = jnp.concatenate([inputs - x_mean[None, :], penalty])
    target = jnp.concatenate([targets - y_mean[None, :], jnp.zeros((window, horizon), jnp.float32)])
    slopes = jnp.linalg.lstsq(design, target, rcond=RCOND)[0]
    return DirectFit(weights=jnp.concatenate([slopes, (y_mean - x_mean @ slopes)[None, :]]))


def _forecast(weights: jax.Array, window_values: jax.Array) -> jax.Array:
    return window_values @ weights[:-1] + weights[-1]


def _context_window(fit: DirectFit, context) -> jax.Array:
    window = fit.weights.shape[0] - 1
    context = check_series(context, "context")
    if context.shape[0] < window:
        raise ValueError(f"context must hold at least window = {window} values, got {context.shape[0]}")
    return jnp.asarray(context, jnp.float32)[-window:]


def direct_forecast(fit: DirectFit, context) -> jax.Array:
    """The next ``horizon`` values, f32[horizon], from the last ``window`` values of ``context``."""
    return _forecast(fit.weights, _context_window(fit, context))


def direct_rollout(fit: DirectFit, context, steps: int) -> jax.Array:
    """f32[steps] ahead in blocks of ``horizon`` forecasts, each block fed back: block b from the last ``window``
    values of (context, blocks 0..b-1), the last block truncated (``steps <= horizon``: nothing fed back)."""
    steps = check_int(steps, "steps", 1)
    return _direct_rollout(fit, _context_window(fit, context), steps=steps)


@partial(jax.jit, static_argnames="steps")
def _direct_rollout(fit: DirectFit, window_values: jax.Array, steps: int) -> jax.Array:
    window, horizon = fit.weights.shape[0] - 1, fit.weights.shape[1]

    def block(values, _):
        predicted = _forecast(fit.weights, values)
        return jnp.concatenate([values, predicted])[-window:], predicted

    blocks = lax.scan(block, window_values, None, length=-(-steps // horizon))[1]
    return blocks.reshape(-1)[:steps]
