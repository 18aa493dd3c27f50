"""Collapse metrics of a free-running rollout, per seed, in JAX (vmap them over seeds).

A rollout ``ys: f32[T]`` has *collapsed* when its tail has (almost) stopped moving:

* ``tail_std_ratio = std(ys[-tail:]) / scale`` with ``scale`` the std of the training series.
  ``collapsed = tail_std_ratio < threshold`` (default ``COLLAPSE_THRESHOLD = 0.05``: the tail
  moves by less than 5% of what the data moves). A period-2 cycle or a diverging rollout is not
  collapsed; a non-finite rollout is *diverged* and never collapsed.
* ``settle_value``: the mean of the tail, the value the rollout sits on.
* ``steps_to_collapse``: the first step from which every later value stays within
  ``threshold * scale`` of the settle value (T if it never settles).
* ``valid_horizon``: against a known continuation, the number of steps before the error first
  exceeds ``VALID_TOLERANCE * scale`` (T if it never does).

For window-1 models the rollout iterates a 1-D map ``x -> f(x)``. ``map_fixed_points`` finds its
fixed points ``f(x*) = x*`` on a grid and the slope ``f'(x*)``: ``|f'(x*)| < 1`` makes x* an
attractor, and a rollout that reaches its basin settles there. That is the mechanism of collapse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

COLLAPSE_THRESHOLD = 0.05
TAIL = 50
VALID_TOLERANCE = 0.5  # valid horizon: steps until |error| first exceeds 0.5 x the series' std


class CollapseMetrics(NamedTuple):
    """Per-rollout collapse statistics (scalars; leading seed axis when vmapped)."""

    tail_std_ratio: jax.Array
    collapsed: jax.Array
    diverged: jax.Array
    steps_to_collapse: jax.Array
    settle_value: jax.Array


def collapse_metrics(ys: jax.Array, scale, *, threshold: float = COLLAPSE_THRESHOLD,
                     tail: int = TAIL) -> CollapseMetrics:
    """ys: f32[T] rollout; scale: std of the training series."""
    if ys.ndim != 1 or ys.shape[0] < tail:
        raise ValueError(f"rollout must be f32[T] with T >= tail={tail}, got shape {ys.shape}")
    diverged = ~jnp.all(jnp.isfinite(ys))
    tail_values = ys[-tail:]
    ratio = jnp.std(tail_values) / scale
    settle = jnp.mean(tail_values)
    near = jnp.abs(ys - settle) < threshold * scale
    # length of the trailing run of "near" steps
    trailing = jnp.sum(jnp.cumprod(near[::-1].astype(jnp.int32)))
    collapsed = (ratio < threshold) & ~diverged
    return CollapseMetrics(
        tail_std_ratio=jnp.where(diverged, jnp.inf, ratio),
        collapsed=collapsed,
        diverged=diverged,
        steps_to_collapse=jnp.where(collapsed, ys.shape[0] - trailing, ys.shape[0]),
        settle_value=jnp.where(diverged, jnp.nan, settle),
    )


class FixedPoints(NamedTuple):
    """count: fixed points of f on the grid; settle_slope: f'(x) at the settle value;
    settle_residual: |f(x) - x| there (0 for a true fixed point)."""

    count: jax.Array
    settle_slope: jax.Array
    settle_residual: jax.Array


def map_fixed_points(f: Callable[[jax.Array], jax.Array], settle_value: jax.Array, *,
                     low: float, high: float, grid: int = 512) -> FixedPoints:
    """Fixed points of a scalar map f on [low, high] (roots of f(x) - x on a grid), and
    the slope of f at the rollout's settle value (by forward-mode autodiff)."""
    xs = jnp.linspace(low, high, grid)
    g = jax.vmap(f)(xs) - xs
    # a root is a grid point where g is exactly 0, or a grid cell where g changes sign
    crossings = jnp.sum(g[1:] * g[:-1] < 0) + jnp.sum(g == 0)
    x = jnp.where(jnp.isfinite(settle_value), settle_value, 0.0)
    fx, slope = jax.jvp(f, (x,), (jnp.ones_like(x),))
    finite = jnp.isfinite(settle_value)
    return FixedPoints(count=crossings,
                       settle_slope=jnp.where(finite, slope, jnp.nan),
                       settle_residual=jnp.where(finite, jnp.abs(fx - x), jnp.nan))


def valid_horizon(ys: jax.Array, truth: jax.Array, tolerance) -> jax.Array:
    """Steps before |ys - truth| first exceeds tolerance (or is not finite); T if never. i32[]."""
    bad = ~(jnp.abs(ys - truth) <= tolerance)
    return jnp.where(jnp.any(bad), jnp.argmax(bad), ys.shape[0])
