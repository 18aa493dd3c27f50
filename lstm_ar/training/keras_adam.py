"""Keras 3's Adam as an optax ``GradientTransformation``, exactly (``keras/src/optimizers/adam.py``)::

    g      = clip(g)                                   # global_clipnorm, if set
    theta -= theta * weight_decay * lr                 # decoupled decay, before the step
    alpha  = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m     += (g - m) * (1 - beta_1)
    v     += (g**2 - v) * (1 - beta_2)
    theta -= alpha * m / (sqrt(v) + epsilon)

``epsilon`` is added to ``sqrt(v)`` of the *un-corrected* v; ``optax.adam`` adds it to
``sqrt(v_hat)``, a factor ``sqrt(1 - beta_2**t)`` apart: large early in training when gradients
are small. Keras also decays every variable, biases included.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class KerasAdamState(NamedTuple):
    """count: i32[] steps taken; mu, nu: first and second moments (pytrees like params)."""

    count: jax.Array
    mu: optax.Params
    nu: optax.Params


def global_norm_clip_scale(grads, max_norm) -> jax.Array:
    """Keras ``global_clipnorm``: scale = max_norm * min(1 / norm, 1 / max_norm); 1 when inf."""
    norm = optax.tree.norm(grads)
    max_norm = jnp.asarray(max_norm, jnp.float32)
    return jnp.where(norm > max_norm, max_norm / jnp.maximum(norm, 1e-30), 1.0)


def keras_adam(learning_rate=1e-3, *, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
               weight_decay=0.0, global_clipnorm=math.inf) -> optax.GradientTransformation:
    """Keras 3 ``Adam`` (``AdamW`` with ``weight_decay``), numbers may be traced; updates ``-(decay + step)``."""

    def init(params) -> KerasAdamState:
        return KerasAdamState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params),
                              jax.tree.map(jnp.zeros_like, params))

    def update(grads, state: KerasAdamState, params=None):
        if params is None:
            raise ValueError("keras_adam needs params (for weight decay): tx.update(g, s, params)")
        lr = jnp.asarray(learning_rate, jnp.float32)
        scale = global_norm_clip_scale(grads, global_clipnorm)
        grads = jax.tree.map(lambda g: g * scale.astype(g.dtype), grads)
        t = (state.count + 1).astype(jnp.float32)
        alpha = lr * jnp.sqrt(1.0 - jnp.power(jnp.float32(beta_2), t)) / (1.0 - jnp.power(jnp.float32(beta_1), t))
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1.0 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (jnp.square(g) - v) * (1.0 - beta_2), state.nu, grads)
        decay = jnp.asarray(weight_decay, jnp.float32) * lr
        updates = jax.tree.map(lambda p, m, v: -(p * decay) - (m * alpha) / (jnp.sqrt(v) + epsilon), params, mu, nu)
        return updates, KerasAdamState(count=state.count + 1, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)
