"""The forecaster of a recipe: the project's Keras-exact LSTM with one of three heads.

Parameters keep ``lstm_ar.model.forecaster.init_params``' layout (``{"lstm": ..., "dense": ...}``);
only the Dense head's width changes: 1 (next value), H (direct), 2 (Gaussian mean and scale). With
the next-value head the parameters are exactly ``init_params``' for the same key.

Every function here is for one example (vmap it): a window ``f32[w, 1]`` in, numbers out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.model import initializers
from lstm_ar.model.cell import LSTMCarry, init_lstm_params, lstm_step
from lstm_ar.model.forecaster import Params, encode
from lstm_ar.remedies.recipe import Recipe

SIGMA_FLOOR = 1e-3  # smallest std of the Gaussian head (model units), so the likelihood stays finite


def head_width(recipe: Recipe) -> int:
    """Outputs of the Dense head: 1, H or 2."""
    return {"next": 1, "direct": recipe.horizon, "gaussian": 2}[recipe.head]


def init_recipe_params(key: jax.Array, recipe: Recipe) -> Params:
    """Keras-default initialisation (as ``init_params``; the head is ``head_width`` wide).

    Args:
      key: a ``jax.random`` key.
      recipe: the recipe.

    Returns:
      {"lstm": ..., "dense": {"kernel": f32[u, width], "bias": f32[width]}}.
    """
    lstm_key, dense_key = jax.random.split(key)
    model, width = recipe.model, head_width(recipe)
    return {
        "lstm": init_lstm_params(lstm_key, 1, model.units, layer_norm=model.layer_norm,
                                 unit_forget_bias=model.unit_forget_bias),
        "dense": {"kernel": initializers.glorot_uniform(dense_key, (model.units, width)),
                  "bias": jnp.zeros((width,), jnp.float32)},
    }


def dense(params: Params, h: jax.Array) -> jax.Array:
    """The head on a hidden state: f32[u] -> f32[width]."""
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


def gaussian(out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean, std) from the Gaussian head's two outputs: std = softplus(out[1]) + SIGMA_FLOOR."""
    return out[0], jax.nn.softplus(out[1]) + SIGMA_FLOOR


def point(out: jax.Array, last: jax.Array, recipe: Recipe) -> jax.Array:
    """The point forecast of a one-step head (the Gaussian's mean), plus the last input with
    ``residual``. out: f32[width], last: f32[] -> f32[]."""
    y = out[0]
    return last + y if recipe.residual else y


def predict(params: Params, window: jax.Array, recipe: Recipe) -> jax.Array:
    """One example's forecast: f32[1] (one-step heads: the point forecast) or f32[H] (direct).

    Args:
      params: ``init_recipe_params``' layout.
      window: f32[w, 1].
      recipe: the recipe.

    Returns:
      f32[1] or f32[H].
    """
    out = dense(params, encode(params, window, recipe.model).h)
    if recipe.head == "direct":
        return out
    return point(out, window[-1, 0], recipe)[None]


def stateful_step(params: Params, carry: LSTMCarry, fed: jax.Array, recipe: Recipe) -> tuple[LSTMCarry, jax.Array]:
    """Feed one value to the carried LSTM and forecast the next: (carry, f32[]) -> (carry, f32[])."""
    carry, h = lstm_step(params["lstm"], carry, fed[None], activation=recipe.model.activation,
                         recurrent_activation=recipe.model.recurrent_activation)
    return carry, point(dense(params, h), fed, recipe)
