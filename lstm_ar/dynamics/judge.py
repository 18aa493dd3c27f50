"""The one judge of a rollout: collapse, divergence, error against the truth, valid horizon.

Every experiment, reference, backtest and user command judges its rollouts here, with one
convention for a diverged rollout (a value not finite, or one farther than ``DIVERGENCE_BOUND``
training stds from the training mean; ``lstm_ar.dynamics.collapse``): its RMSE is ``inf``, the
worst value, never a number that could pass for a score; it never counts as collapsed; its
``diverged`` flag is 1. Statistics then count it as the worst seed, never drop it
(``lstm_ar.study.claims.diverged_as_worst``).

* ``judge_rollout(ys, truth, scale, center)``: one rollout f32[T] ->
  ``CollapseMetrics`` fields, and with a truth ``rollout_rmse`` and ``valid_horizon`` (T when
  valid for all T steps: ``valid_full``).
* ``judge_path``: ``judge_rollout`` with ``valid_full`` (1.0 when valid for every step).
* ``judge_origins(ys, truths, scale, center)``: rollouts from K forecast origins f32[K, H] ->
  the backtest's means over origins (``backtest_rmse``: inf if any origin diverged) and the
  per-origin RMSE ``origin_rmse`` f32[K].

The tail statistics read the last ``min(TAIL, T)`` steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.dynamics.collapse import DIVERGENCE_BOUND, TAIL, VALID_TOLERANCE, collapse_metrics, valid_horizon


def judge_rollout(ys: jax.Array, truth: jax.Array | None, scale, center=0.0, *,
                  bound: float = DIVERGENCE_BOUND) -> dict[str, jax.Array]:
    """Judge one rollout (conventions in the module docstring).

    Args:
      ys: f32[T] the rollout.
      truth: f32[T] the values it should have followed, or None (collapse metrics only).
      scale: the training series' std (> 0); center: its mean.
      bound: the divergence bound in training stds.

    Returns:
      {tail_std_ratio, collapsed, diverged, steps_to_collapse, settle_value, max_abs_deviation
      [, rollout_rmse, valid_horizon]} as scalars.
    """
    cm = collapse_metrics(ys, scale, tail=min(TAIL, int(jnp.shape(ys)[0])), center=center, bound=bound)
    m = cm._asdict()
    if truth is not None:
        rmse = jnp.sqrt(jnp.mean(jnp.square(ys - truth)))
        m["rollout_rmse"] = jnp.where(cm.diverged, jnp.inf, rmse)
        m["valid_horizon"] = valid_horizon(ys, truth, VALID_TOLERANCE * scale)
    return m


def valid_full(metrics: dict[str, jax.Array], steps: int) -> jax.Array:
    """1.0 where the rollout stayed valid for all ``steps`` (``valid_horizon == steps``), else 0.0."""
    return (jnp.asarray(metrics["valid_horizon"]) == steps).astype(jnp.float32)


def judge_path(ys: jax.Array, truth: jax.Array, scale, center=0.0) -> dict[str, jax.Array]:
    """``judge_rollout`` against a truth with ``valid_full`` (1 when valid for every step), as the
    experiments over noise realisations report it."""
    m = judge_rollout(ys, truth, scale, center)
    m["valid_full"] = valid_full(m, ys.shape[0])
    return m


def judge_origins(ys: jax.Array, truths: jax.Array, scale, center=0.0, *,
                  bound: float = DIVERGENCE_BOUND) -> dict[str, jax.Array]:
    """Judge the rollouts from every forecast origin of a backtest.

    Args:
      ys: f32[K, H] the rollout from each origin; truths: f32[K, H] the values after each.
      scale, center, bound: as ``judge_rollout``.

    Returns:
      {backtest_rmse (mean over origins; inf if any diverged), backtest_valid_horizon,
      backtest_valid_full_rate, backtest_collapse_rate, backtest_diverged_rate, origin_rmse f32[K]}.
    """
    if jnp.ndim(ys) != 2 or jnp.shape(ys) != jnp.shape(truths):
        raise ValueError(f"ys and truths must both be f32[origins, horizon], got {jnp.shape(ys)} and {jnp.shape(truths)}")
    per = jax.vmap(lambda y, t: judge_rollout(y, t, scale, center, bound=bound))(ys, truths)
    mean = lambda v: jnp.mean(jnp.asarray(v, jnp.float32))  # noqa: E731
    return {"backtest_rmse": jnp.mean(per["rollout_rmse"]),
            "backtest_valid_horizon": mean(per["valid_horizon"]),
            "backtest_valid_full_rate": mean(valid_full(per, ys.shape[1])),
            "backtest_collapse_rate": mean(per["collapsed"]),
            "backtest_diverged_rate": mean(per["diverged"]),
            "origin_rmse": per["rollout_rmse"]}
