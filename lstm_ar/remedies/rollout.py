"""Free-running rollouts of a recipe's forecaster, one per head, and the metrics that judge them.

* next-value head, horizon 1: window mode (each prediction from the last w values, zero state),
  as Keras's stateless models are rolled out;
* next-value head trained on k steps: stateful (warm up on the last w values, then carry (h, c));
* direct head: one block of H values from the last window (blocks fed back if more are asked);
* Gaussian head: ``samples`` paths drawn ancestrally (each step samples N(mean, std^2) and feeds
  the sample back); judged on the pointwise median of the paths and on a single path.

``path_metrics`` judges a rollout against the noiseless continuation: the collapse metrics of
``lstm_ar.dynamics.collapse``, the divergence bound, the RMSE and the valid horizon.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.dynamics.collapse import DIVERGENCE_BOUND, TAIL, VALID_TOLERANCE, collapse_metrics, valid_horizon
from lstm_ar.model.forecaster import Params, encode
from lstm_ar.remedies.model import dense, gaussian, point, predict, stateful_step
from lstm_ar.remedies.recipe import Recipe


def rollout_window(params: Params, context: jax.Array, steps: int, recipe: Recipe) -> jax.Array:
    """Window-mode rollout of a one-step head: f32[steps] after ``context`` f32[T >= w]."""
    window = context[-recipe.model.window:][:, None]

    def step(window, _):
        y = predict(params, window, recipe)
        return jnp.concatenate([window[1:], y[None, :]], axis=0), y[0]

    _, ys = jax.lax.scan(step, window, None, length=steps)
    return ys


def rollout_stateful(params: Params, context: jax.Array, steps: int, recipe: Recipe) -> jax.Array:
    """Warm up on the last w context values, then feed each prediction back with the carried state."""
    window = context[-recipe.model.window:][:, None]
    carry = encode(params, window, recipe.model)
    first = point(dense(params, carry.h), window[-1, 0], recipe)

    def step(state, _):
        carry, y = state
        carry, nxt = stateful_step(params, carry, y, recipe)
        return (carry, nxt), y

    _, ys = jax.lax.scan(step, (carry, first), None, length=steps)
    return ys


def rollout_direct(params: Params, context: jax.Array, steps: int, recipe: Recipe) -> jax.Array:
    """Blocks of H values from the last window; blocks after the first read the values predicted."""
    w, h = recipe.model.window, recipe.horizon
    blocks = -(-steps // h)
    series = context[-w:]
    outs = []
    for _ in range(blocks):  # static: one block in the usual case (steps <= H)
        block = predict(params, series[-w:][:, None], recipe)
        outs.append(block)
        series = jnp.concatenate([series, block])
    return jnp.concatenate(outs)[:steps]


def sample_paths(params: Params, context: jax.Array, steps: int, recipe: Recipe, key: jax.Array) -> jax.Array:
    """Ancestral sampling from a Gaussian head: f32[samples, steps]."""
    window0 = context[-recipe.model.window:][:, None]

    def path(key):
        def step(window, k):
            mean, std = gaussian(dense(params, encode(params, window, recipe.model).h))
            mean = window[-1, 0] + mean if recipe.residual else mean
            y = mean + std * jax.random.normal(k, ())
            return jnp.concatenate([window[1:], y[None, None]], axis=0), y

        _, ys = jax.lax.scan(step, window0, jax.random.split(key, steps))
        return ys

    return jax.vmap(path)(jax.random.split(key, recipe.samples))


def rollouts(params: Params, context: jax.Array, steps: int, recipe: Recipe, key: jax.Array) -> dict[str, jax.Array]:
    """The rollouts a recipe is judged on: {"point": f32[steps]}; the Gaussian head gives the
    median of its sample paths as "point" and its first path as "sample"."""
    context = jnp.asarray(context, jnp.float32)
    if recipe.head == "gaussian":
        paths = sample_paths(params, context, steps, recipe, key)
        return {"point": jnp.median(paths, axis=0), "sample": paths[0]}
    if recipe.head == "direct":
        return {"point": rollout_direct(params, context, steps, recipe)}
    if recipe.stateful:
        return {"point": rollout_stateful(params, context, steps, recipe)}
    return {"point": rollout_window(params, context, steps, recipe)}


def path_metrics(ys: jax.Array, truth: jax.Array, scale, center=0.0, *, tail: int | None = None) -> dict[str, jax.Array]:
    """Judge one rollout f32[T] against the truth f32[T] (scale: the training series' std; center:
    its mean). Diverged: a non-finite value or one farther than DIVERGENCE_BOUND stds from the
    center; a diverged rollout's RMSE is inf (the worst) and it never counts as collapsed. The tail
    statistics read the last ``tail`` steps (default: the collapse metrics' 50, or T if shorter).

    Returns:
      {rollout_rmse, valid_horizon, valid_full (1 if valid for all T steps), collapsed, diverged,
      tail_std_ratio, settle_value, max_abs_deviation} as f32[] scalars.
    """
    cm = collapse_metrics(ys, scale, tail=min(TAIL, ys.shape[0]) if tail is None else tail, center=center,
                          bound=DIVERGENCE_BOUND)
    diverged, deviation = cm.diverged, cm.max_abs_deviation
    rmse = jnp.sqrt(jnp.mean(jnp.square(ys - truth)))
    horizon = valid_horizon(ys, truth, VALID_TOLERANCE * scale)
    return {
        "rollout_rmse": jnp.where(diverged, jnp.inf, rmse),
        "valid_horizon": horizon.astype(jnp.float32),
        "valid_full": (horizon == ys.shape[0]).astype(jnp.float32),
        "collapsed": (cm.collapsed & ~diverged).astype(jnp.float32),
        "diverged": diverged.astype(jnp.float32),
        "tail_std_ratio": jnp.where(diverged, jnp.inf, cm.tail_std_ratio),
        "settle_value": jnp.where(diverged, jnp.nan, cm.settle_value),
        "max_abs_deviation": deviation,
    }
