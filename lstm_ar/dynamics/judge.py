"""The one judge of a rollout: collapse, divergence, error against the truth, valid horizon.

A diverged rollout (``lstm_ar.dynamics.collapse``) has RMSE ``inf``, never a number that could pass
for a score, is never collapsed, and counts as the worst seed (``lstm_ar.study.claims.diverged_as_worst``).
The tail statistics read the last ``min(TAIL, T)`` steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.dynamics.collapse import DIVERGENCE_BOUND, TAIL, VALID_TOLERANCE, collapse_metrics, valid_horizon


def judge_rollout(ys: jax.Array, truth: jax.Array | None, scale, center=0.0, *,
                  bound: float = DIVERGENCE_BOUND) -> dict[str, jax.Array]:
    """Judge one rollout ys: f32[T]: the ``CollapseMetrics`` fields and, with a truth f32[T],
    ``rollout_rmse`` and ``valid_horizon`` (scalars). scale, center: the training series' std and mean."""
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
    """``judge_rollout`` against a truth, with ``valid_full`` (as the noise-realisation experiments report)."""
    m = judge_rollout(ys, truth, scale, center)
    m["valid_full"] = valid_full(m, ys.shape[0])
    return m


def judge_origins(ys: jax.Array, truths: jax.Array, scale, center=0.0, *,
                  bound: float = DIVERGENCE_BOUND) -> dict[str, jax.Array]:
    """Judge a backtest's rollouts ys: f32[K, H] from K origins against truths f32[K, H]: means over
    origins (``backtest_rmse`` inf if any diverged) and the per-origin ``origin_rmse`` f32[K]."""
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
