"""Collapse metrics of a free-running rollout ``ys: f32[T]``, per seed, in JAX (vmap them over seeds).

* ``collapsed``: ``tail_std_ratio = std(ys[-tail:]) / scale < threshold`` (scale: the training
  std; ``COLLAPSE_THRESHOLD = 0.05``), the tail has (almost) stopped moving; a period-2 cycle has not.
* ``diverged``: a value is not finite or ``|y - center| > DIVERGENCE_BOUND * scale`` (center: the
  training mean); never collapsed (a rollout sitting at 1e20 does not move, yet has not settled on
  the data). ``max_abs_deviation = max |y - center| / scale``; with a non-finite value it and
  ``tail_std_ratio`` are inf, ``settle_value`` nan.
* ``settle_value``: the tail's mean; ``steps_to_collapse``: the first step from which every later
  value stays within ``threshold * scale`` of it (T if never).
* ``valid_horizon``: steps before the error against the truth first exceeds ``VALID_TOLERANCE * scale``.

A window-1 rollout iterates ``x -> f(x)``; ``map_fixed_points`` finds its fixed points and slopes:
``|f'(x*)| < 1`` makes x* an attractor. That is the mechanism of collapse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int, real_float32

COLLAPSE_THRESHOLD = 0.05
TAIL = 50
# diverged: |y - center| > 100 training stds. A series the model was fitted to stays within a few
# stds of its mean; 100 leaves room for a rollout that overshoots it several-fold without counting
# as diverged, while the runaway rollouts that called for a bound reach 1e6 and beyond.
DIVERGENCE_BOUND = 100.0
VALID_TOLERANCE = 0.5  # valid horizon: steps until |error| first exceeds 0.5 x the series' std


class CollapseMetrics(NamedTuple):
    """Per-rollout collapse statistics (scalars; leading seed axis when vmapped)."""

    tail_std_ratio: jax.Array
    collapsed: jax.Array
    diverged: jax.Array
    steps_to_collapse: jax.Array
    settle_value: jax.Array
    max_abs_deviation: jax.Array


def _check_positive(value, name: str) -> None:
    """A concrete ``value`` must be real (TypeError), finite in float32 and > 0 (ValueError); tracers pass."""
    try:
        values = real_float32(value, name)
    except ValueError:
        values = None
    if isinstance(values, jax.core.Tracer):
        return
    if values is None or not np.all(values > 0):
        raise ValueError(f"{name} must be finite and > 0 (in float32), got {value!r}")


def collapse_metrics(ys: jax.Array, scale, *, threshold: float = COLLAPSE_THRESHOLD,
                     tail: int = TAIL, center=0.0, bound: float = DIVERGENCE_BOUND) -> CollapseMetrics:
    """Collapse statistics of one rollout ys: f32[T >= tail] (definitions in the module docstring)."""
    tail = check_int(tail, "tail", 1)
    for value, name in ((scale, "scale"), (threshold, "threshold"), (bound, "bound")):
        _check_positive(value, name)
    real_float32(center, "center")  # real, and finite in float32 when concrete
    ys = jnp.asarray(ys)
    if ys.ndim != 1 or ys.shape[0] < tail:
        raise ValueError(f"rollout must be f32[T] with T >= tail={tail}, got shape {ys.shape}")
    finite = jnp.all(jnp.isfinite(ys))
    # times 1 / scale: what XLA makes of a division by a constant scale, so a scale given as an
    # argument (one program for many series) computes the same bits as one built in
    per_std = 1.0 / jnp.asarray(scale, jnp.float32)
    deviation = jnp.where(finite, jnp.max(jnp.abs(ys - center)) * per_std, jnp.inf)
    diverged = ~finite | (deviation > bound)
    tail_values = ys[-tail:]
    ratio = jnp.std(tail_values) * per_std
    settle = jnp.mean(tail_values)
    near = jnp.abs(ys - settle) < threshold * scale
    # length of the trailing run of "near" steps
    trailing = jnp.sum(jnp.cumprod(near[::-1].astype(jnp.int32)))
    collapsed = (ratio < threshold) & ~diverged
    return CollapseMetrics(tail_std_ratio=jnp.where(finite, ratio, jnp.inf), collapsed=collapsed, diverged=diverged,
                           steps_to_collapse=jnp.where(collapsed, ys.shape[0] - trailing, ys.shape[0]),
                           settle_value=jnp.where(finite, settle, jnp.nan), max_abs_deviation=deviation)


class FixedPoints(NamedTuple):
    """count: fixed points of f on the grid; settle_slope: f'(x) at the settle value; settle_residual: |f(x) - x|."""

    count: jax.Array
    settle_slope: jax.Array
    settle_residual: jax.Array


def map_fixed_points(f: Callable[[jax.Array], jax.Array], settle_value: jax.Array, *,
                     low: float, high: float, grid: int = 512) -> FixedPoints:
    """Fixed points of f: f32[] -> f32[] on a grid over finite [low, high], and f's slope (forward-mode)
    and residual at ``settle_value`` (nan: both nan)."""
    grid = check_int(grid, "grid", 2)
    known = not any(isinstance(v, jax.core.Tracer) for v in (low, high))  # traced: checked where it was made
    if known and not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got low={low}, high={high}")
    xs = jnp.linspace(low, high, grid)
    g = jax.vmap(f)(xs) - xs
    # a root is a grid point where g is exactly 0, or a grid cell where g changes sign
    crossings = jnp.sum(g[1:] * g[:-1] < 0) + jnp.sum(g == 0)
    finite = jnp.isfinite(settle_value)
    x = jnp.where(finite, settle_value, 0.0)
    fx, slope = jax.jvp(f, (x,), (jnp.ones_like(x),))
    return FixedPoints(count=crossings, settle_slope=jnp.where(finite, slope, jnp.nan),
                       settle_residual=jnp.where(finite, jnp.abs(fx - x), jnp.nan))


def valid_horizon(ys: jax.Array, truth: jax.Array, tolerance) -> jax.Array:
    """i32[]: steps before |ys - truth| (both f32[T]) first exceeds tolerance (> 0) or is not finite; T if never."""
    if jnp.shape(ys) != jnp.shape(truth) or jnp.ndim(ys) != 1:
        raise ValueError(f"ys and truth must both be f32[T], got shapes {jnp.shape(ys)} and {jnp.shape(truth)}")
    _check_positive(tolerance, "tolerance")
    bad = ~(jnp.abs(ys - truth) <= tolerance)
    return jnp.where(jnp.any(bad), jnp.argmax(bad), ys.shape[0])
