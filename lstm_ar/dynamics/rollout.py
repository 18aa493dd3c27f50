"""Free-running (autoregressive) rollout: each prediction is fed back as the next input.

Two modes, both one ``lax.scan`` over steps, written for one model and vmapped over seeds:

* ``rollout_window`` (Keras's way, what the seed's models do): every prediction is made from the
  last ``window`` values with a fresh zero state; the window then slides forward with the
  prediction appended. With ``window = 1`` the model is a 1-D map ``x_{t+1} = f(x_t)``.
* ``rollout_stateful``: warm the LSTM up over a context from the zero state, then carry (h, c)
  forward and feed each prediction back as the next input.

Both return f32[steps]: the predictions y_1 .. y_steps following the context.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.config import ModelConfig
from lstm_ar.model.cell import LSTMCarry, lstm_step
from lstm_ar.model.forecaster import Params, encode, forecast, head

ROLLOUT_MODES = ("window", "stateful")

def _as_column(context: jax.Array) -> jax.Array:
    context = jnp.asarray(context, jnp.float32)
    if context.ndim == 1:
        context = context[:, None]
    if context.ndim != 2 or context.shape[1] != 1:
        raise ValueError(f"context must be f32[time] or f32[time, 1], got shape {context.shape}")
    return context


def rollout_window(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                   *, unroll: int = 1) -> jax.Array:
    """Window-mode rollout. context: f32[time] (its last ``model.window`` values start it)."""
    context = _as_column(context)
    if context.shape[0] < model.window:
        raise ValueError(f"context has {context.shape[0]} values, the model needs {model.window}")
    window = context[-model.window:]

    def step(window: jax.Array, _):
        y = forecast(params, window, model)
        return jnp.concatenate([window[1:], y[None, :]], axis=0), y[0]

    _, ys = jax.lax.scan(step, window, None, length=steps, unroll=unroll)
    return ys


def rollout_stateful(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                     *, unroll: int = 1) -> jax.Array:
    """Stateful rollout. context: f32[time] warm-up inputs; carries (h, c) across all steps."""
    carry = encode(params, _as_column(context), model)
    y = head(params, carry.h)

    def step(state: tuple[LSTMCarry, jax.Array], _):
        carry, y = state
        carry, h = lstm_step(params["lstm"], carry, y, activation=model.activation,
                             recurrent_activation=model.recurrent_activation)
        return (carry, head(params, h)), y[0]

    _, ys = jax.lax.scan(step, (carry, y), None, length=steps, unroll=unroll)
    return ys


def rollout(params: Params, context: jax.Array, steps: int, model: ModelConfig, *,
            mode: str = "window", unroll: int = 1) -> jax.Array:
    """Dispatch on ``mode`` in {"window", "stateful"}."""
    if mode == "window":
        return rollout_window(params, context, steps, model, unroll=unroll)
    if mode == "stateful":
        return rollout_stateful(params, context, steps, model, unroll=unroll)
    raise ValueError(f"unknown rollout mode {mode!r}; valid: {', '.join(map(repr, ROLLOUT_MODES))}")
