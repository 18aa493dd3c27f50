"""The plain training path: Keras ``fit`` inside ``lax.scan``, written to be read. The reference.

``make_train(config, data)`` returns a pure ``train(key, data, hyper=None) -> TrainResult``. Per
epoch, as Keras ``fit``: shuffle, cut into ``ceil(n / batch_size)`` batches (the last one padded
and masked, never dropped), one Keras-Adam step per batch, and the epoch loss is the
batch-size-weighted mean of the batch losses (Keras's ``Mean`` tracker). Remedies (k-step regimes,
Gaussian NLL, input noise, Data as Demonstrator) are config fields. Keys (``jax.random``; the fast
variants use the same and agree to float32 rounding, ``tests/test_train.py``)::

    init_key, shuffle_key, dropout_key = split(key, 3)
    epoch e:  order = permutation(fold_in(shuffle_key, e), n)
    batch b:  batch_key = fold_in(fold_in(dropout_key, e), b)
              example i: example_key = split(batch_key, batch_size)[i]
              one step:  masks from example_key
              regimes:   mask_key, coin_key = split(example_key); masks from mask_key
    input noise: noise_key = fold_in(key, NOISE_STREAM); batch b of epoch e:
              normal(fold_in(fold_in(noise_key, e), b), x.shape)
    DaD:      dad_key = fold_in(key, DAD_STREAM) (``lstm_ar.training.dad``); its batches count on
              from b = steps in the epoch's dropout and noise keys
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Dataset
from lstm_ar.model.forecaster import DropoutMasks, Params, draw_masks, forecast_batch, gaussian_nll, init_params, outputs
from lstm_ar.training import dad
from lstm_ar.training.keras_adam import keras_adam
from lstm_ar.training.regimes import curriculum_weights, sequence_loss, teacher_probability
from lstm_ar.training.validation import check_dataset, check_hyper, training_arrays

NOISE_STREAM = 0x6E6F6973  # "nois": the input noise's keys, fold_in(key, NOISE_STREAM)

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
    """params: final parameters (``init_params``' layout; with ``validation_tail``, those of the epoch with the lowest
    validation loss); epoch_loss: f32[epochs] the training loss Keras reports; validation_loss: f32[epochs] the loss on
    the held-out tail after each epoch (None without one); hyper_errors: i32[] where a hyper-parameter was traced
    (jit, vmap), bit i set where ``Hyper._fields[i]`` was out of its range and every float above is NaN (None
    where none was traced: the plain program is unchanged; ``validation.check_result`` names them)."""

    params: Params
    epoch_loss: jax.Array
    validation_loss: jax.Array | None = None
    hyper_errors: jax.Array | None = None


def make_optimizer(config: TrainConfig, hyper: Hyper) -> optax.GradientTransformation:
    """Keras's Adam with the config's constants and the hyper-parameters' numbers."""
    return keras_adam(hyper.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon,
                      weight_decay=hyper.weight_decay, global_clipnorm=hyper.global_clipnorm)


def masked_mse(pred: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean over real examples of the per-example mean squared error. pred, y: f32[b, k]; mask: f32[b]."""
    return jnp.sum(jnp.mean(jnp.square(pred - y), axis=-1) * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def epoch_batches(order: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """order i32[n] -> (indices i32[steps, batch_size], mask f32[steps, batch_size]); padding: index 0, mask 0."""
    n = order.shape[0]
    steps = -(-n // batch_size)
    pad = steps * batch_size - n
    order = jnp.concatenate([order, jnp.zeros(pad, order.dtype)])
    mask = jnp.concatenate([jnp.ones(n, jnp.float32), jnp.zeros(pad, jnp.float32)])
    return order.reshape(steps, batch_size), mask.reshape(steps, batch_size)


def batch_indices(key: jax.Array, n: int, batch_size: int, shuffle: bool) -> tuple[jax.Array, jax.Array]:
    """One epoch's batches (``epoch_batches``) of ``jax.random.permutation(key, n)`` (or in order)."""
    return epoch_batches(jax.random.permutation(key, n) if shuffle else jnp.arange(n), batch_size)


def epoch_mean(losses: jax.Array, mask: jax.Array, n: int) -> jax.Array:
    """Keras's epoch loss: batch losses f32[steps] weighted by their real examples (mask f32[steps, b])."""
    return jnp.sum(losses * jnp.sum(mask, axis=1)) / n


def draw_batch(key: jax.Array, batch_size: int, config: TrainConfig,
               hyper: Hyper) -> tuple[DropoutMasks, jax.Array | None]:
    """Per-example masks at ``config.dropout_sites`` and, for a k-step regime, coin keys (else None)."""
    example_keys = jax.random.split(key, batch_size)
    coin_keys = None
    if config.stateful:
        pairs = jax.vmap(jax.random.split)(example_keys)
        example_keys, coin_keys = pairs[:, 0], pairs[:, 1]
    masks = jax.vmap(lambda k: draw_masks(k, hyper, config.model.units, sites=config.dropout_sites))(example_keys)
    return masks, coin_keys


def batch_loss(params: Params, batch: Batch, masks: DropoutMasks, coin_keys: jax.Array | None,
               teacher_prob, model: ModelConfig, weights: jax.Array | None = None) -> jax.Array:
    """Mean loss over real examples: ``sequence_loss`` given ``coin_keys``, the Gaussian NLL, else the MSE (Keras)."""
    if coin_keys is None and model.head != "gaussian":
        return masked_mse(forecast_batch(params, batch.x, model, masks), batch.y, batch.mask)
    if coin_keys is None:
        losses = jax.vmap(lambda w, t, m: gaussian_nll(outputs(params, w, model, m), w[-1, 0], t[0], model))(
            batch.x, batch.y, masks)
    else:
        losses = jax.vmap(lambda w, t, k, m: sequence_loss(params, w, t, teacher_prob, k, model, m, weights))(
            batch.x, batch.y, coin_keys, masks)
    return jnp.sum(losses * batch.mask) / jnp.maximum(jnp.sum(batch.mask), 1.0)


def train_step(carry: TrainCarry, batch: Batch, masks: DropoutMasks, coin_keys: jax.Array | None,
               teacher_prob, *, model: ModelConfig, tx: optax.GradientTransformation,
               weights: jax.Array | None = None) -> tuple[TrainCarry, jax.Array]:
    """One Adam step on one batch; returns the new carry and the batch loss (before the update)."""
    loss, grads = jax.value_and_grad(batch_loss)(carry.params, batch, masks, coin_keys, teacher_prob, model, weights)
    updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
    return TrainCarry(optax.apply_updates(carry.params, updates), opt_state), loss


class EpochCarry(NamedTuple):
    """train: parameters and Adam state; dad: the Data-as-Demonstrator buffer (None without DaD); best: early
    stopping's (parameters, validation loss) of the best epoch so far (None without a validation tail)."""

    train: TrainCarry
    dad: dad.DadBuffer | None
    best: tuple[Params, jax.Array] | None = None


def make_train(config: TrainConfig, data: Dataset) -> Callable[..., TrainResult]:
    """Check ``data`` (x: [n, window, 1], y: [n, horizon]); return the pure ``train(key, data, hyper=None)``
    for data of those shapes (concrete ones checked at the call)."""
    x_host, _ = check_dataset(data, config)
    n_all = int(x_host.shape[0])
    n_val = config.validation_windows(n_all)  # early stopping: the last n_val windows are held out
    n = n_all - n_val
    if n < 1:
        raise ValueError(f"validation_tail {config.validation_tail} leaves no training window of {n_all}")
    steps = -(-n // config.batch_size)
    total_steps = config.epochs * steps
    if config.dad_rounds:
        dad.check_series_length(config, n + config.model.window)

    def train(key: jax.Array, data: Dataset, hyper: Hyper | None = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        check_hyper(hyper, config)
        x, y = training_arrays(data, config, n_all)
        x, y, val = x[:n], y[:n], (Batch(x=x[n:], y=y[n:], mask=jnp.ones(n_val, jnp.float32)) if n_val else None)
        init_key, shuffle_key, dropout_key = jax.random.split(key, 3)
        noise_key = jax.random.fold_in(key, NOISE_STREAM)
        tx = make_optimizer(config, hyper)
        params = init_params(init_key, config.model)

        def sgd(carry: TrainCarry, xb, yb, mask, epoch_keys, b, step) -> tuple[TrainCarry, jax.Array]:
            """One Adam step: epoch_keys (dropout, noise), b the batch number (keys), step the global step."""
            epoch_dropout, epoch_noise = epoch_keys
            masks, coin_keys = draw_batch(jax.random.fold_in(epoch_dropout, b), config.batch_size, config, hyper)
            if config.noisy_inputs:
                xb = xb + hyper.input_noise * jax.random.normal(jax.random.fold_in(epoch_noise, b), xb.shape, xb.dtype)
            return train_step(carry, Batch(x=xb, y=yb, mask=mask), masks, coin_keys,
                              teacher_probability(config.regime, step, total_steps), model=config.model, tx=tx,
                              weights=curriculum_weights(config.horizon, config.curriculum, step / total_steps))

        def epoch(carry: EpochCarry, e: jax.Array):
            idx, mask = batch_indices(jax.random.fold_in(shuffle_key, e), n, config.batch_size, config.shuffle)
            epoch_keys = (jax.random.fold_in(dropout_key, e), jax.random.fold_in(noise_key, e))  # once per epoch

            def minibatch(carry: TrainCarry, inputs):
                b, batch_idx, batch_mask = inputs
                return sgd(carry, x[batch_idx], y[batch_idx], batch_mask, epoch_keys, b, e * steps + b)

            train_carry, losses = jax.lax.scan(minibatch, carry.train, (jnp.arange(steps), idx, mask),
                                               unroll=MINIBATCH_UNROLL)
            if (buffer := carry.dad) is not None:  # after the epoch's own batches, at its last step's schedule
                train_carry, buffer = dad.dad_epoch(
                    train_carry, buffer, dad.series_of(x, y), e, jax.random.fold_in(key, dad.DAD_STREAM),
                    lambda c, xb, yb, m, b: sgd(c, xb, yb, m, epoch_keys, steps + b, e * steps + steps - 1),
                    batch_indices, config)
            if val is None:
                return EpochCarry(train_carry, buffer), epoch_mean(losses, mask, n)
            val_loss = masked_mse(forecast_batch(train_carry.params, val.x, config.model), val.y, val.mask)
            better = val_loss < carry.best[1]  # the first of equal losses is kept
            best = jax.tree.map(lambda new, old: jnp.where(better, new, old), (train_carry.params, val_loss), carry.best)
            return EpochCarry(train_carry, buffer, best), (epoch_mean(losses, mask, n), val_loss)

        carry = EpochCarry(TrainCarry(params, tx.init(params)), dad.empty_buffer(config) if config.dad_rounds else None,
                           None if val is None else (params, jnp.float32(jnp.inf)))
        carry, losses = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        if val is None:
            return TrainResult(params=carry.train.params, epoch_loss=losses)
        return TrainResult(params=carry.best[0], epoch_loss=losses[0], validation_loss=losses[1])

    return train
