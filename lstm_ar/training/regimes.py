"""Training regimes for a stateful forecaster: teacher forcing, scheduled sampling, free running.

After a warm-up window ``f32[w, 1]`` read from the zero state the LSTM makes k predictions
carrying (h, c), fed the true value with probability ``p`` (a coin per step) and its own
prediction otherwise; the loss is their mean squared error, back-propagated through fed-back ones::

    p = 1: teacher forcing        p = 0: free running (loss on a k-step rollout)
    scheduled sampling (Bengio et al. 2015): p decays over training, step i of N:
      linear:            p_i = 1 - i / N
      exponential:       p_i = 0.01 ** (i / N)                  (k ** i with k = 0.01 ** (1/N))
      inverse_sigmoid:   p_i = c / (c + exp(i / c)), c log c = N / 2 (p = 1/2 half-way)

``curriculum_weights`` counts only the first ``1 + floor((k - 1) min(1, i / (N / 2)))`` steps.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from lstm_ar.config import REGIMES, ModelConfig
from lstm_ar.model.forecaster import DropoutMasks, Params, encode, head, point, stateful_step

EXPONENTIAL_FINAL = 0.01
CURRICULUM_FRACTION = 0.5  # the curriculum reaches the full horizon half-way through training


def inverse_sigmoid_constant(total_steps: int) -> float:
    """c with c log c = total_steps / 2 (Newton's method), so the schedule crosses 1/2 half-way."""
    target = max(total_steps / 2.0, math.e)
    c = target / math.log(target)
    for _ in range(50):
        c -= (c * math.log(c) - target) / (math.log(c) + 1.0)
    return c


def teacher_probability(regime: str, step, total_steps: int) -> jax.Array:
    """Probability of feeding the true value at training step ``step`` (0-based) of total_steps."""
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; valid: {', '.join(REGIMES)}")
    frac = jnp.asarray(step, jnp.float32) / total_steps
    if regime in ("teacher_forcing", "free_running"):
        return (jnp.ones_like if regime == "teacher_forcing" else jnp.zeros_like)(frac)
    if regime == "scheduled_linear":
        return jnp.clip(1.0 - frac, 0.0, 1.0)
    if regime == "scheduled_exponential":
        return jnp.power(jnp.float32(EXPONENTIAL_FINAL), frac)
    c = inverse_sigmoid_constant(total_steps)
    return c / (c + jnp.exp(jnp.asarray(step, jnp.float32) / c))


def curriculum_weights(horizon: int, curriculum: bool, progress) -> jax.Array | None:
    """f32[k] of 0/1: the loss steps counted at training progress in [0, 1]; None without a curriculum."""
    if not curriculum:
        return None
    counted = 1 + jnp.floor((horizon - 1) * jnp.minimum(1.0, progress / CURRICULUM_FRACTION))
    return (jnp.arange(horizon) < counted).astype(jnp.float32)


def sequence_loss(params: Params, window: jax.Array, targets: jax.Array, teacher_prob, key: jax.Array,
                  model: ModelConfig, masks: DropoutMasks | None = None, weights: jax.Array | None = None) -> jax.Array:
    """MSE of k stateful predictions. window: f32[w, 1], targets: f32[k]; weights f32[k] or None (plain mean)."""
    carry = encode(params, window, model, masks)
    h = carry.h if masks is None or masks.output is None else carry.h * masks.output
    first = point(head(params, h), window[-1, 0], model)
    coins = jax.random.bernoulli(key, teacher_prob, targets.shape)

    def step(state, inputs):
        carry, y = state
        target, coin = inputs
        err = jnp.square(y[0] - target)
        fed = jnp.where(coin, target, y[0])[None]
        carry, nxt = stateful_step(params, carry, fed, model, masks)
        return (carry, nxt), err

    _, errors = jax.lax.scan(step, (carry, first), (targets, coins))
    return jnp.mean(errors) if weights is None else jnp.sum(errors * weights) / jnp.sum(weights)
