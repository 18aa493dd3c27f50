"""Training a recipe on a series given at call time (so noise realisations can be vmapped).

``make_train(recipe, n_values)`` returns a pure ``train(key, series, hyper) -> TrainResult``:
``series`` is an argument (f32[n_values], traced), not a constant, so one compiled program trains
on every noise realisation of the data. The loop is ``lstm_ar.training.plain``'s (Keras ``fit``:
shuffle, batches of 32 with the partial last one masked, Keras's Adam, the epoch loss Keras
reports), built from its pieces; the remedies of ``lstm_ar.remedies.recipe`` change only the
batch loss and, with Data as Demonstrator, add batches. At the neutral settings the result equals
``lstm_ar.training.plain.make_train(recipe.train_config(), data)`` on the same key
(``tests/test_remedies.py``).

Keys: ``init_key, shuffle_key, dropout_key = split(key, 3)`` as the plain path (dropout_key is
unused: recipes have no dropout), and two more streams that leave those untouched::

    noise_key = fold_in(key, NOISE_STREAM)   batch b of epoch e: fold_in(fold_in(noise_key, e), b)
    dad_key   = fold_in(key, DAD_STREAM)     epoch e: start offset and the pairs' shuffle
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lstm_ar.model.forecaster import Params, encode
from lstm_ar.remedies.model import dense, gaussian, init_recipe_params, point, predict, stateful_step
from lstm_ar.remedies.recipe import NEUTRAL, Recipe, RemedyHyper
from lstm_ar.training.keras_adam import keras_adam
from lstm_ar.training.plain import TrainCarry, TrainResult, batch_indices, epoch_mean, masked_mse

NOISE_STREAM = 0x6E6F6973  # "nois"
DAD_STREAM = 0x64616421  # "dad!"
CURRICULUM_FRACTION = 0.5  # the curriculum reaches the full horizon half-way through training


class DadBuffer(NamedTuple):
    """Data-as-Demonstrator pairs of the last ``rounds`` epochs: x f32[rounds, pairs, w, 1],
    y f32[rounds, pairs, 1], filled f32[rounds] (1 once a round's pairs are written)."""

    x: jax.Array
    y: jax.Array
    filled: jax.Array


class RemedyCarry(NamedTuple):
    """train: parameters and Adam state; dad: the DaD buffer (None without DaD)."""

    train: TrainCarry
    dad: DadBuffer | None


def example_indices(recipe: Recipe, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training examples in the series: windows i32[n, w] and targets i32[n, k],
    n = n_values - w - k + 1 (``lstm_ar.data.series.windows`` / ``sequences``' examples)."""
    w, k = recipe.model.window, recipe.targets
    n = n_values - w - k + 1
    if n < 1:
        raise ValueError(f"a series of {n_values} values has no example for window {w} and {k} target(s); "
                         f"need at least {w + k}")
    start = np.arange(n)[:, None]
    return start + np.arange(w)[None, :], start + w + np.arange(k)[None, :]


def curriculum_weights(recipe: Recipe, progress: jax.Array) -> jax.Array:
    """Which of the k loss steps count at training progress in [0, 1]: f32[k] of 0/1. Without a
    curriculum all of them; with it the first 1 + floor((k - 1) min(1, progress / 0.5))."""
    k = recipe.horizon
    if not recipe.curriculum:
        return jnp.ones((k,), jnp.float32)
    counted = 1 + jnp.floor((k - 1) * jnp.minimum(1.0, progress / CURRICULUM_FRACTION))
    return (jnp.arange(k) < counted).astype(jnp.float32)


def k_step_loss(params: Params, window: jax.Array, targets: jax.Array, weights: jax.Array,
                recipe: Recipe) -> jax.Array:
    """Weighted mean squared error of k free-running stateful predictions (the model's own
    predictions fed back), as ``lstm_ar.training.regimes.sequence_loss`` with no teacher.
    window: f32[w, 1], targets: f32[k], weights: f32[k]."""
    carry = encode(params, window, recipe.model)
    first = point(dense(params, carry.h), window[-1, 0], recipe)

    def step(state, target):
        carry, y = state
        err = jnp.square(y - target)
        carry, nxt = stateful_step(params, carry, y, recipe)
        return (carry, nxt), err

    _, errors = jax.lax.scan(step, (carry, first), targets)
    return jnp.sum(errors * weights) / jnp.sum(weights)


def example_loss(params: Params, x: jax.Array, y: jax.Array, weights: jax.Array, recipe: Recipe) -> jax.Array:
    """One example's loss. x: f32[w, 1]; y: f32[k]; weights: f32[k] (the curriculum)."""
    if recipe.stateful:
        return k_step_loss(params, x, y, weights, recipe)
    out = dense(params, encode(params, x, recipe.model).h)
    if recipe.head == "gaussian":
        mean, std = gaussian(out)
        mean = mean + x[-1, 0] if recipe.residual else mean
        return 0.5 * jnp.log(2 * jnp.pi) + jnp.log(std) + 0.5 * jnp.square((y[0] - mean) / std)
    return jnp.mean(jnp.square(predict(params, x, recipe) - y))


def batch_loss(params: Params, x: jax.Array, y: jax.Array, mask: jax.Array, noise_key: jax.Array,
               hyper: RemedyHyper, progress: jax.Array, recipe: Recipe) -> jax.Array:
    """Mean loss over a batch's real examples, inputs perturbed by N(0, input_noise^2).
    x: f32[b, w, 1], y: f32[b, k], mask: f32[b]."""
    x = x + hyper.input_noise * jax.random.normal(noise_key, x.shape, x.dtype)
    if recipe.one_step and recipe.head == "next":  # the plain path's exact arithmetic
        return masked_mse(jax.vmap(lambda w: predict(params, w, recipe))(x), y, mask)
    weights = curriculum_weights(recipe, progress)
    losses = jax.vmap(lambda xi, yi: example_loss(params, xi, yi, weights, recipe))(x, y)
    return jnp.sum(losses * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def dad_pairs(params: Params, series: jax.Array, key: jax.Array, recipe: Recipe) -> tuple[jax.Array, jax.Array]:
    """Roll the model out on the training series from ``dad_starts`` points (evenly spaced, shifted
    by a random offset) for ``dad_length`` steps; return the windows it produced after each of its
    predictions and the true value after each: x f32[starts * length, w, 1], y f32[starts * length, 1]."""
    w, length, starts = recipe.model.window, recipe.dad_length, recipe.dad_starts
    last = series.shape[0] - w - length - 1  # the latest start whose pairs all have a true target
    spacing = max(last // starts, 1)
    offset = jax.random.randint(key, (), 0, spacing)
    positions = jnp.minimum(jnp.arange(starts) * spacing + offset, last)

    def one(p):
        window = jax.lax.dynamic_slice(series, (p,), (w,))[:, None]

        def step(window, j):  # after prediction j the window ends at its estimate of x[p + w + j]
            y = predict(params, window, recipe)
            window = jnp.concatenate([window[1:], y[None, :]], axis=0)
            target = jax.lax.dynamic_index_in_dim(series, p + w + j + 1, keepdims=False)  # the value after it
            return window, (window, target)

        _, (xs, ys) = jax.lax.scan(step, window, jnp.arange(length))
        return xs, ys

    xs, ys = jax.vmap(one)(positions)
    return xs.reshape(starts * length, w, 1), ys.reshape(starts * length, 1)


def make_train(recipe: Recipe, n_values: int) -> Callable[..., TrainResult]:
    """Resolve the static recipe; return ``train(key, series, hyper=RemedyHyper()) -> TrainResult``.

    Args:
      recipe: the recipe.
      n_values: the training series' length (static).

    Returns:
      ``train(key, series, hyper)``: key a ``jax.random`` key; series f32[n_values] (may be traced);
      hyper a ``RemedyHyper`` of numbers (vmap it for several settings). Pure: jit and vmap it.
      ``TrainResult.epoch_loss`` is the loss of the original batches, as Keras reports it.
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    x_idx, y_idx = example_indices(recipe, n_values)
    n, bs = x_idx.shape[0], recipe.batch_size
    steps = -(-n // bs)
    total_steps = recipe.epochs * steps
    optimizer = lambda hyper: keras_adam(hyper.learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7,  # noqa: E731
                                         weight_decay=0.0, global_clipnorm=hyper.global_clipnorm)
    if recipe.dad_rounds and n_values - recipe.model.window - recipe.dad_length - 1 < recipe.dad_starts:
        raise ValueError(f"DaD rolls out {recipe.dad_length} steps after a window of {recipe.model.window}: "
                         f"a series of {n_values} values is too short")
    dad_size = recipe.dad_rounds * recipe.dad_starts * recipe.dad_length
    dad_steps = -(-dad_size // bs) if dad_size else 0

    def train(key: jax.Array, series: jax.Array, hyper: RemedyHyper = NEUTRAL) -> TrainResult:
        init_key, shuffle_key, _dropout_key = jax.random.split(key, 3)
        noise_key = jax.random.fold_in(key, NOISE_STREAM)
        dad_key = jax.random.fold_in(key, DAD_STREAM)
        series = jnp.asarray(series, jnp.float32)
        x, y = series[x_idx][..., None], series[y_idx]
        tx = optimizer(hyper)
        params = init_recipe_params(init_key, recipe)
        dad = None
        if dad_size:
            per_round = dad_size // recipe.dad_rounds
            dad = DadBuffer(jnp.zeros((recipe.dad_rounds, per_round, recipe.model.window, 1), jnp.float32),
                            jnp.zeros((recipe.dad_rounds, per_round, 1), jnp.float32),
                            jnp.zeros((recipe.dad_rounds,), jnp.float32))

        def sgd_step(carry: TrainCarry, xb, yb, mask, key, step):
            progress = step / total_steps
            loss, grads = jax.value_and_grad(batch_loss)(carry.params, xb, yb, mask, key, hyper, progress, recipe)
            updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
            return TrainCarry(optax.apply_updates(carry.params, updates), opt_state), loss

        def epoch(carry: RemedyCarry, e: jax.Array):
            idx, mask = batch_indices(jax.random.fold_in(shuffle_key, e), n, bs, True)
            epoch_noise = jax.random.fold_in(noise_key, e)

            def minibatch(train_carry: TrainCarry, inputs):
                b, batch_idx, batch_mask = inputs
                return sgd_step(train_carry, x[batch_idx], y[batch_idx], batch_mask,
                                jax.random.fold_in(epoch_noise, b), e * steps + b)

            train_carry, losses = jax.lax.scan(minibatch, carry.train, (jnp.arange(steps), idx, mask))
            buffer = carry.dad
            if buffer is not None:
                train_carry, buffer = dad_epoch(train_carry, buffer, e, epoch_noise, sgd_step)
            return RemedyCarry(train_carry, buffer), epoch_mean(losses, mask, n)

        def dad_epoch(train_carry: TrainCarry, buffer: DadBuffer, e, epoch_noise, sgd_step):
            flat_x = buffer.x.reshape(dad_size, recipe.model.window, 1)
            flat_y = buffer.y.reshape(dad_size, 1)
            filled = jnp.repeat(buffer.filled, dad_size // recipe.dad_rounds)
            e_key = jax.random.fold_in(dad_key, e)
            order_idx, pad_mask = batch_indices(jax.random.fold_in(e_key, 0), dad_size, bs, True)

            def minibatch(train_carry, inputs):
                b, batch_idx, batch_mask = inputs
                mask = batch_mask * filled[batch_idx]

                def step(c):
                    return sgd_step(c, flat_x[batch_idx], flat_y[batch_idx], mask,
                                    jax.random.fold_in(epoch_noise, steps + b), e * steps + steps - 1)

                # a batch with no pair yet (the buffer fills after the first epoch) is no Adam step
                return jax.lax.cond(jnp.sum(mask) > 0, step, lambda c: (c, jnp.float32(0.0)), train_carry)

            train_carry, _ = jax.lax.scan(minibatch, train_carry, (jnp.arange(dad_steps), order_idx, pad_mask))
            new_x, new_y = dad_pairs(train_carry.params, series, jax.random.fold_in(e_key, 1), recipe)
            slot = e % recipe.dad_rounds
            buffer = DadBuffer(buffer.x.at[slot].set(new_x), buffer.y.at[slot].set(new_y),
                               buffer.filled.at[slot].set(1.0))
            return train_carry, buffer

        carry = RemedyCarry(TrainCarry(params, tx.init(params)), dad)
        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(recipe.epochs))
        return TrainResult(params=carry.train.params, epoch_loss=epoch_loss)

    return train
