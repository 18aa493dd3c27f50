"""Data as Demonstrator (Venkatraman, Hebert and Bagnell, AAAI 2015): ``TrainConfig.dad_rounds > 0``.

After every epoch the model is rolled out on the training series (``concat(x[0, :, 0], y[:, 0])``) from ``dad_starts``
evenly spaced, randomly offset points for ``dad_length`` steps; the (window of its own predictions -> true next value)
pairs of the last ``dad_rounds`` epochs are extra batches. Keys: ``dad_key = fold_in(key, DAD_STREAM)``; epoch e:
``e_key = fold_in(dad_key, e)``, the pairs' order ``fold_in(e_key, 0)``, the start offset ``fold_in(e_key, 1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp

from lstm_ar.config import TrainConfig
from lstm_ar.model.forecaster import Params, forecast

DAD_STREAM = 0x64616421  # "dad!"


class DadBuffer(NamedTuple):
    """Pairs of the last ``rounds`` epochs: x f32[rounds, pairs, w, 1], y f32[rounds, pairs, 1], filled f32[rounds]
    (1 once a round's pairs are written)."""

    x: jax.Array
    y: jax.Array
    filled: jax.Array


def pairs_per_round(config: TrainConfig) -> int:
    """Pairs one round adds: starts x length."""
    return config.dad_starts * config.dad_length


def check_series_length(config: TrainConfig, n_values: int) -> None:
    """ValueError when a series of ``n_values`` cannot hold ``dad_starts`` rollouts of ``dad_length``."""
    if n_values - config.model.window - config.dad_length - 1 < config.dad_starts:
        raise ValueError(f"DaD rolls out {config.dad_length} steps after a window of {config.model.window} from "
                         f"{config.dad_starts} starts: a series of {n_values} values is too short")


def empty_buffer(config: TrainConfig) -> DadBuffer:
    """The buffer before the first epoch: every round unfilled."""
    rounds, per_round, w = config.dad_rounds, pairs_per_round(config), config.model.window
    return DadBuffer(jnp.zeros((rounds, per_round, w, 1), jnp.float32), jnp.zeros((rounds, per_round, 1), jnp.float32),
                     jnp.zeros((rounds,), jnp.float32))


def series_of(x: jax.Array, y: jax.Array) -> jax.Array:
    """The series one-step windows were cut from: x f32[n, w, 1], y f32[n, 1] -> f32[w + n]."""
    return jnp.concatenate([x[0, :, 0], y[:, 0]])


def dad_pairs(params: Params, series: jax.Array, key: jax.Array, config: TrainConfig) -> tuple[jax.Array, jax.Array]:
    """The windows the model's rollouts on ``series`` produced and the true value after each: x f32[starts * length,
    w, 1], y f32[starts * length, 1]."""
    w, length, starts = config.model.window, config.dad_length, config.dad_starts
    last = series.shape[0] - w - length - 1  # the latest start whose pairs all have a true target
    spacing = max(last // starts, 1)
    offset = jax.random.randint(key, (), 0, spacing)
    positions = jnp.minimum(jnp.arange(starts) * spacing + offset, last)

    def one(p):
        window = jax.lax.dynamic_slice(series, (p,), (w,))[:, None]

        def step(window, j):  # after prediction j the window ends at its estimate of x[p + w + j]
            y = forecast(params, window, config.model)
            window = jnp.concatenate([window[1:], y[None, :]], axis=0)
            target = jax.lax.dynamic_index_in_dim(series, p + w + j + 1, keepdims=False)  # the value after it
            return window, (window, target)

        return jax.lax.scan(step, window, jnp.arange(length))[1]

    xs, ys = jax.vmap(one)(positions)
    return xs.reshape(starts * length, w, 1), ys.reshape(starts * length, 1)


def dad_epoch(carry, buffer: DadBuffer, series: jax.Array, e: jax.Array, dad_key: jax.Array,
              sgd: Callable, batch_indices: Callable, config: TrainConfig):
    """Train on the buffer's pairs (``sgd(carry, x, y, mask, b) -> (carry, loss)``, b counting the epoch's
    DaD batches), then replace the oldest round with this epoch's pairs: (carry, buffer)."""
    size, bs = config.dad_rounds * pairs_per_round(config), config.batch_size
    flat_x, flat_y = buffer.x.reshape(size, config.model.window, 1), buffer.y.reshape(size, 1)
    filled = jnp.repeat(buffer.filled, pairs_per_round(config))
    e_key = jax.random.fold_in(dad_key, e)
    order_idx, pad_mask = batch_indices(jax.random.fold_in(e_key, 0), size, bs, True)

    def minibatch(carry, inputs):
        b, batch_idx, batch_mask = inputs
        mask = batch_mask * filled[batch_idx]
        # a batch with no pair yet (the buffer fills after the first epoch) is no Adam step
        return jax.lax.cond(jnp.sum(mask) > 0, lambda c: sgd(c, flat_x[batch_idx], flat_y[batch_idx], mask, b),
                            lambda c: (c, jnp.float32(0.0)), carry)

    carry, _ = jax.lax.scan(minibatch, carry, (jnp.arange(-(-size // bs)), order_idx, pad_mask))
    new_x, new_y = dad_pairs(carry.params, series, jax.random.fold_in(e_key, 1), config)
    chex.assert_equal_shape([new_x, buffer.x[0]])  # a round's pairs fill exactly one slot
    slot = e % config.dad_rounds
    buffer = DadBuffer(buffer.x.at[slot].set(new_x), buffer.y.at[slot].set(new_y), buffer.filled.at[slot].set(1.0))
    return carry, buffer
