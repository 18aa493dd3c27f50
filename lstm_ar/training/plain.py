"""The plain training path: Keras ``fit`` inside ``lax.scan``, written to be read. The reference.

``make_train(config, data)`` resolves everything static and returns a pure
``train(key, hyper=None) -> TrainResult``; ``jax.jit(jax.vmap(train))(keys)`` trains one model per
key. Per epoch, as Keras ``fit``: shuffle the whole data set, cut it into ``ceil(n / batch_size)``
batches, keep the last partial batch (padded and masked, never dropped), take one Keras-Adam step
per batch on the batch's mean-squared error, and report the epoch loss as the batch-size-weighted
mean of the batch losses (Keras's ``Mean`` loss tracker). Dropout is on during training only, at
the sites in ``config.dropout_sites``. With a ``regime`` other than one-step teacher forcing, the
batch loss is ``lstm_ar.training.regimes.sequence_loss`` with the schedule's teacher probability at
the global step.

Keys (``jax.random`` throughout)::

    init_key, shuffle_key, dropout_key = split(key, 3)
    epoch e:  order = permutation(fold_in(shuffle_key, e), n)
    batch b:  batch_key = fold_in(fold_in(dropout_key, e), b)
              example i: example_key = split(batch_key, batch_size)[i]
              one step:  masks from example_key
              regimes:   mask_key, coin_key = split(example_key); masks from mask_key

The fast variants (``lstm_ar.training.fast``, ``lstm_ar.training.first_step``) take the same
inputs, use the same keys and give the same results to float32 rounding (``tests/test_train.py``);
``lstm_ar.training.train.make_train`` chooses among them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Dataset
from lstm_ar.model.forecaster import DropoutMasks, Params, draw_masks, forecast_batch, init_params
from lstm_ar.training.keras_adam import keras_adam
from lstm_ar.training.regimes import sequence_loss, teacher_probability
from lstm_ar.training.validation import check_dataset, check_hyper

# lax.scan unroll of the minibatch loop. Measured (Example 3, 256 seeds, 2-core CPU): unroll 1, 2, 4
# gave 6.6-7.5, 7.0-7.1, 7.1-7.3 CPU-s per 1000 seeds: no gain, so 1 (the smallest program).
MINIBATCH_UNROLL = 1


class Batch(NamedTuple):
    """x: f32[b, window, 1], y: f32[b, horizon], mask: f32[b] (1 for real examples, 0 for padding)."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array


class TrainCarry(NamedTuple):
    """params: the forecaster's parameters; opt_state: Keras Adam's state over all of them."""

    params: Params
    opt_state: optax.OptState


class TrainResult(NamedTuple):
    """params: final parameters (``init_params``' layout); epoch_loss: f32[epochs] training loss as
    Keras reports it."""

    params: Params
    epoch_loss: jax.Array


def make_optimizer(config: TrainConfig, hyper: Hyper) -> optax.GradientTransformation:
    """Keras's Adam with the config's constants and the hyper-parameters' numbers."""
    return keras_adam(hyper.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2,
                      epsilon=config.epsilon, weight_decay=hyper.weight_decay,
                      global_clipnorm=hyper.global_clipnorm)


def masked_mse(pred: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over real examples of the per-example mean squared error. pred, y: f32[b, k]; mask: f32[b]."""
    per_example = jnp.mean(jnp.square(pred - y), axis=-1)
    return jnp.sum(per_example * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def epoch_batches(order: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """Cut an epoch's example order i32[n] into batches: indices i32[steps, batch_size] and the
    mask f32[steps, batch_size]; the last partial batch is padded with index 0 and mask 0."""
    n = order.shape[0]
    steps = -(-n // batch_size)
    pad = steps * batch_size - n
    order = jnp.concatenate([order, jnp.zeros(pad, order.dtype)])
    mask = jnp.concatenate([jnp.ones(n, jnp.float32), jnp.zeros(pad, jnp.float32)])
    return order.reshape(steps, batch_size), mask.reshape(steps, batch_size)


def batch_indices(key: jax.Array, n: int, batch_size: int, shuffle: bool) -> tuple[jax.Array, jax.Array]:
    """One epoch's batches (``epoch_batches``) of ``jax.random.permutation(key, n)`` (or in order)."""
    order = jax.random.permutation(key, n) if shuffle else jnp.arange(n)
    return epoch_batches(order, batch_size)


def epoch_mean(losses: jax.Array, mask: jax.Array, n: int) -> jax.Array:
    """Keras's epoch loss: batch losses f32[steps] weighted by their real examples (mask
    f32[steps, b]), over the n examples."""
    return jnp.sum(losses * jnp.sum(mask, axis=1)) / n


def draw_batch(key: jax.Array, batch_size: int, config: TrainConfig,
               hyper: Hyper) -> tuple[DropoutMasks, jax.Array | None]:
    """Per-example dropout masks (leading axis ``batch_size``) at ``config.dropout_sites``, and
    for a regime the per-example coin keys (None for one-step training). Keys: module docstring."""
    example_keys = jax.random.split(key, batch_size)
    coin_keys = None
    if not config.one_step:
        pairs = jax.vmap(jax.random.split)(example_keys)
        example_keys, coin_keys = pairs[:, 0], pairs[:, 1]
    masks = jax.vmap(lambda k: draw_masks(k, hyper, config.model.units, sites=config.dropout_sites))(example_keys)
    return masks, coin_keys


def batch_loss(params: Params, batch: Batch, masks: DropoutMasks, coin_keys: jax.Array | None,
               teacher_prob, model: ModelConfig) -> jax.Array:
    """One-step MSE (Keras) when ``coin_keys`` is None, else the regime's k-step loss
    (``sequence_loss``) per example with its coins; both averaged over the real examples."""
    if coin_keys is None:
        return masked_mse(forecast_batch(params, batch.x, model, masks), batch.y, batch.mask)
    losses = jax.vmap(lambda w, t, k, m: sequence_loss(params, w, t, teacher_prob, k, model, m))(
        batch.x, batch.y, coin_keys, masks)
    return jnp.sum(losses * batch.mask) / jnp.maximum(jnp.sum(batch.mask), 1.0)


def train_step(carry: TrainCarry, batch: Batch, masks: DropoutMasks, coin_keys: jax.Array | None,
               teacher_prob, *, model: ModelConfig,
               tx: optax.GradientTransformation) -> tuple[TrainCarry, jax.Array]:
    """One Adam step on one batch; returns the new carry and the batch loss (before the update)."""
    loss, grads = jax.value_and_grad(batch_loss)(carry.params, batch, masks, coin_keys, teacher_prob, model)
    updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
    return TrainCarry(optax.apply_updates(carry.params, updates), opt_state), loss


def make_train(config: TrainConfig, data: Dataset) -> Callable[..., TrainResult]:
    """Check the data, resolve the static config; return ``train(key, hyper=None) -> TrainResult``.

    Args:
      config: the static configuration (its ``hyper`` is the default of ``train``).
      data: ``Dataset`` with x: [n, window, 1] and y: [n, horizon], real and finite.

    Returns:
      ``train(key, hyper=None)``: key a ``jax.random`` key; hyper a ``Hyper`` (numbers or arrays
      to vmap over; concrete ones are validated at the call). Pure: ``jit`` and ``vmap`` it.

    Raises:
      ValueError: bad data (``check_dataset``) here; bad concrete hyper-parameters at ``train``.
    """
    x_host, y_host = check_dataset(data, config)
    x, y = jnp.asarray(x_host), jnp.asarray(y_host)
    n = int(x.shape[0])
    steps = -(-n // config.batch_size)
    total_steps = config.epochs * steps

    def train(key: jax.Array, hyper: Hyper | None = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        check_hyper(hyper, config)
        init_key, shuffle_key, dropout_key = jax.random.split(key, 3)
        tx = make_optimizer(config, hyper)
        params = init_params(init_key, config.model)
        carry = TrainCarry(params, tx.init(params))

        def epoch(carry: TrainCarry, e: jax.Array):
            idx, mask = batch_indices(jax.random.fold_in(shuffle_key, e), n, config.batch_size, config.shuffle)
            epoch_key = jax.random.fold_in(dropout_key, e)

            def minibatch(carry: TrainCarry, inputs):
                b, batch_idx, batch_mask = inputs
                batch = Batch(x=x[batch_idx], y=y[batch_idx], mask=batch_mask)
                masks, coin_keys = draw_batch(jax.random.fold_in(epoch_key, b), config.batch_size, config, hyper)
                teacher_prob = teacher_probability(config.regime, e * steps + b, total_steps)
                return train_step(carry, batch, masks, coin_keys, teacher_prob, model=config.model, tx=tx)

            carry, losses = jax.lax.scan(minibatch, carry, (jnp.arange(steps), idx, mask), unroll=MINIBATCH_UNROLL)
            return carry, epoch_mean(losses, mask, n)

        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        return TrainResult(params=carry.params, epoch_loss=epoch_loss)

    return train
