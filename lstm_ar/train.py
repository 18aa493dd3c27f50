"""Training with Keras ``fit`` semantics, entirely inside ``lax.scan``: ``make_train(config, data)``.

``make_train`` resolves everything static and returns a pure ``train(key, hyper=None)``;
``jax.jit(jax.vmap(train))(keys)`` trains one model per key. Per epoch (as Keras ``fit``):
shuffle the whole dataset, cut it into ``ceil(n / batch_size)`` batches, keep the last partial
batch (padded and masked, never dropped), take one Keras-Adam step per batch on the batch's
mean-squared error, and report the epoch loss as the batch-size-weighted mean of the batch
losses (Keras's ``Mean`` loss tracker). Dropout is on during training only. With a ``regime``
other than one-step teacher forcing, the batch loss is ``lstm_ar.regime.sequence_loss`` with the
schedule's teacher probability at the global step.

Keys: ``init_key, shuffle_key, dropout_key = split(key, 3)``; epoch e uses
``fold_in(shuffle_key, e)`` and ``fold_in(dropout_key, e)``; batch b uses ``fold_in(., b)``.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lstm_ar.adam import keras_adam
from lstm_ar.config import Hyper, TrainConfig, validate_hyper
from lstm_ar.data import Dataset
from lstm_ar.forecaster import Params, check_inputs, draw_masks, forecast_batch, init_params
from lstm_ar.regime import sequence_loss, teacher_probability


class Batch(NamedTuple):
    """x: f32[b, window, 1], y: f32[b, 1], mask: f32[b] (1 for real examples, 0 for padding)."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array


class TrainCarry(NamedTuple):
    params: Params
    opt_state: optax.OptState


class TrainResult(NamedTuple):
    """params: final parameters; epoch_loss: f32[epochs] training loss as Keras reports it."""

    params: Params
    epoch_loss: jax.Array


def make_optimizer(config: TrainConfig, hyper: Hyper) -> optax.GradientTransformation:
    return keras_adam(hyper.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2,
                      epsilon=config.epsilon, weight_decay=hyper.weight_decay,
                      global_clipnorm=hyper.global_clipnorm)


def masked_mse(pred: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over real examples of the per-example mean squared error. pred, y: f32[b, 1]."""
    per_example = jnp.mean(jnp.square(pred - y), axis=-1)
    return jnp.sum(per_example * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def batch_indices(key: jax.Array, n: int, batch_size: int, shuffle: bool) -> tuple[jax.Array, jax.Array]:
    """Indices i32[steps, batch_size] of one epoch and the mask f32[steps, batch_size].

    The last partial batch is padded with index 0 and mask 0.
    """
    steps = -(-n // batch_size)
    order = jax.random.permutation(key, n) if shuffle else jnp.arange(n)
    pad = steps * batch_size - n
    order = jnp.concatenate([order, jnp.zeros(pad, order.dtype)])
    mask = jnp.concatenate([jnp.ones(n, jnp.float32), jnp.zeros(pad, jnp.float32)])
    return order.reshape(steps, batch_size), mask.reshape(steps, batch_size)


def loss_fn(params: Params, batch: Batch, key: Optional[jax.Array], config: TrainConfig,
            hyper: Hyper, teacher_prob=1.0) -> jax.Array:
    """Batch loss: one-step MSE (Keras), or the regime's k-step loss (``lstm_ar.regime``)."""
    if config.one_step:
        pred = forecast_batch(params, batch.x, config.model, hyper=hyper, key=key)
        return masked_mse(pred, batch.y, batch.mask)
    key = jax.random.key(0) if key is None else key
    keys = jax.random.split(key, batch.x.shape[0])

    def one(window, targets, k):
        mask_key, coin_key = jax.random.split(k)
        masks = draw_masks(mask_key, hyper, config.model.units, window.shape[-1])
        return sequence_loss(params, window, targets, teacher_prob, coin_key, config.model, masks)

    losses = jax.vmap(one)(batch.x, batch.y, keys)
    return jnp.sum(losses * batch.mask) / jnp.maximum(jnp.sum(batch.mask), 1.0)


def train_step(carry: TrainCarry, batch: Batch, key: jax.Array, *, config: TrainConfig,
               hyper: Hyper, tx: optax.GradientTransformation,
               teacher_prob=1.0) -> tuple[TrainCarry, jax.Array]:
    """One optimiser step on one batch; returns the new carry and the batch loss (pre-update)."""
    loss, grads = jax.value_and_grad(loss_fn)(carry.params, batch, key, config, hyper, teacher_prob)
    updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
    return TrainCarry(optax.apply_updates(carry.params, updates), opt_state), loss


def make_train(config: TrainConfig, data: Dataset) -> Callable[..., TrainResult]:
    """Resolve the static config and data; return ``train(key, hyper=None) -> TrainResult``."""
    x = jnp.asarray(data.x, jnp.float32)
    y = jnp.asarray(data.y, jnp.float32)
    check_inputs(x, config.model)
    if y.shape != (x.shape[0], config.horizon):
        raise ValueError(f"targets must be [{x.shape[0]}, {config.horizon}] (horizon {config.horizon}), "
                         f"got {y.shape}")
    n = int(x.shape[0])
    steps = -(-n // config.batch_size)

    def train(key: jax.Array, hyper: Optional[Hyper] = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        validate_hyper(hyper)
        init_key, shuffle_key, dropout_key = jax.random.split(key, 3)
        tx = make_optimizer(config, hyper)
        params = init_params(init_key, config.model)
        carry = TrainCarry(params, tx.init(params))

        def epoch(carry: TrainCarry, e: jax.Array):
            idx, mask = batch_indices(jax.random.fold_in(shuffle_key, e), n, config.batch_size,
                                      config.shuffle)
            epoch_dropout_key = jax.random.fold_in(dropout_key, e)

            def minibatch(carry: TrainCarry, inputs):
                b, batch_idx, batch_mask = inputs
                batch = Batch(x=x[batch_idx], y=y[batch_idx], mask=batch_mask)
                key = jax.random.fold_in(epoch_dropout_key, b)
                teacher_prob = teacher_probability(config.regime, e * steps + b, config.epochs * steps)
                return train_step(carry, batch, key, config=config, hyper=hyper, tx=tx,
                                  teacher_prob=teacher_prob)

            carry, losses = jax.lax.scan(minibatch, carry, (jnp.arange(steps), idx, mask))
            return carry, jnp.sum(losses * jnp.sum(mask, axis=1)) / n

        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        return TrainResult(params=carry.params, epoch_loss=epoch_loss)

    return train


def seed_keys(root: jax.Array | int, start: int, stop: int) -> jax.Array:
    """Keys for seeds start..stop-1: ``fold_in(root, i)``, so seed i never depends on how many run."""
    root = jax.random.key(root) if isinstance(root, (int, np.integer)) else root
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(jnp.arange(start, stop, dtype=jnp.uint32))
