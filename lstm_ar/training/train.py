"""Training with Keras ``fit`` semantics, entirely inside ``lax.scan``: ``make_train(config, data)``.

``make_train`` resolves everything static and returns a pure ``train(key, hyper=None)``;
``jax.jit(jax.vmap(train))(keys)`` trains one model per key. Per epoch (as Keras ``fit``):
shuffle the whole dataset, cut it into ``ceil(n / batch_size)`` batches, keep the last partial
batch (padded and masked, never dropped), take one Keras-Adam step per batch on the batch's
mean-squared error, and report the epoch loss as the batch-size-weighted mean of the batch
losses (Keras's ``Mean`` loss tracker). Dropout is on during training only. With a ``regime``
other than one-step teacher forcing, the batch loss is ``lstm_ar.training.regimes.sequence_loss`` with the
schedule's teacher probability at the global step.

Keys: ``init_key, shuffle_key, dropout_key = split(key, 3)``; epoch e uses
``fold_in(shuffle_key, e)`` and ``fold_in(dropout_key, e)``; batch b uses ``fold_in(., b)``.

Speed (``benchmarks/train.py``; each change keeps the plain path's results, tested in
``tests/test_train.py`` against ``make_train(..., reference=True)``, the plain implementation):

* shuffles with ``lstm_ar.kernels.permutation.permutation``: the same permutation as
  ``jax.random.permutation``, bit for bit, without XLA CPU's slow multi-operand sort;
* draws no dropout mask whose rate is a concrete zero (it would be all ones), and draws keys and
  masks with ``lstm_ar.kernels.threefry`` (``jax.random``'s bits, with the hash unrolled);
* window-1 one-step models train in ``lstm_ar.training.first_step``'s layout: only the 7u + 1 parameters
  a step from the zero state can change go through Adam; the recurrent kernel and forget gate
  (gradient exactly zero) are kept aside and only decayed, when there is weight decay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lstm_ar.config import Hyper, TrainConfig, validate_hyper
from lstm_ar.data.series import Dataset
from lstm_ar.kernels import threefry
from lstm_ar.kernels.permutation import permutation
from lstm_ar.model.forecaster import (
    DropoutMasks,
    Params,
    check_inputs,
    draw_masks,
    forecast_batch,
    init_params,
    is_zero,
)
from lstm_ar.training import first_step
from lstm_ar.training.keras_adam import keras_adam
from lstm_ar.training.regimes import sequence_loss, teacher_probability

# lax.scan unroll of the minibatch loop. Measured (Example 3, 256 seeds, 2-core CPU): unroll 1, 2, 4
# gave 6.6-7.5, 7.0-7.1, 7.1-7.3 CPU-s per 1000 seeds: no gain, so 1 (the smallest program).
MINIBATCH_UNROLL = 1


class Batch(NamedTuple):
    """x: f32[b, window, 1], y: f32[b, 1], mask: f32[b] (1 for real examples, 0 for padding)."""

    x: jax.Array
    y: jax.Array
    mask: jax.Array


class TrainCarry(NamedTuple):
    """params: what the optimiser updates (forecaster params, or ``first_step``'s flat theta);
    frozen: parameters with an always-zero gradient (``first_step.Frozen``), or None."""

    params: Any
    opt_state: optax.OptState
    frozen: Any = None


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


def batch_indices(key: jax.Array, n: int, batch_size: int, shuffle: bool, *,
                  reference: bool = False) -> tuple[jax.Array, jax.Array]:
    """Indices i32[steps, batch_size] of one epoch and the mask f32[steps, batch_size].

    The last partial batch is padded with index 0 and mask 0. The order is
    ``jax.random.permutation(key, n)`` (computed by ``lstm_ar.kernels.permutation`` unless ``reference``).
    """
    steps = -(-n // batch_size)
    shuffled = jax.random.permutation if reference else permutation
    order = shuffled(key, n) if shuffle else jnp.arange(n)
    pad = steps * batch_size - n
    order = jnp.concatenate([order, jnp.zeros(pad, order.dtype)])
    mask = jnp.concatenate([jnp.ones(n, jnp.float32), jnp.zeros(pad, jnp.float32)])
    return order.reshape(steps, batch_size), mask.reshape(steps, batch_size)


def loss_fn(params: Params, batch: Batch, key: jax.Array | None, config: TrainConfig,
            hyper: Hyper, teacher_prob=1.0, *, reference: bool = False) -> jax.Array:
    """Batch loss: one-step MSE (Keras), or the regime's k-step loss (``lstm_ar.training.regimes``).

    ``reference``: draw every dropout mask, even at rate zero (the plain implementation).
    """
    if config.one_step:
        pred = forecast_batch(params, batch.x, config.model, hyper=hyper, key=key, reference=reference)
        return masked_mse(pred, batch.y, batch.mask)
    rng = jax.random if reference else threefry
    key = jax.random.key(0) if key is None else key
    keys = rng.split(key, batch.x.shape[0])

    def one(window, targets, k):
        mask_key, coin_key = rng.split(k)
        masks = draw_masks(mask_key, hyper, config.model.units, window.shape[-1], skip_zero=not reference,
                           rng=rng)
        return sequence_loss(params, window, targets, teacher_prob, coin_key, config.model, masks)

    losses = jax.vmap(one)(batch.x, batch.y, keys)
    return jnp.sum(losses * batch.mask) / jnp.maximum(jnp.sum(batch.mask), 1.0)


def first_step_masks(key: jax.Array | None, batch_size: int, config: TrainConfig,
                     hyper: Hyper) -> DropoutMasks | None:
    """The dropout masks ``loss_fn`` draws for a window-1 batch (same keys, same bits), leading
    axis the batch; None without a key or when every rate that matters is a concrete zero."""
    if key is None or (is_zero(hyper.dropout) and is_zero(hyper.output_dropout)):
        return None
    keys = threefry.split(key, batch_size)
    return jax.vmap(lambda k: draw_masks(k, hyper, config.model.units, 1, skip_zero=True, recurrent=False))(keys)


def first_step_loss(parts: tuple[jax.Array, ...], batch: Batch, masks: DropoutMasks | None,
                    config: TrainConfig) -> jax.Array:
    """``loss_fn`` of a window-1 model in ``first_step``'s layout (``parts = unpack(theta)``);
    batch.x: f32[b] here."""
    pred = first_step.predict(parts, batch.x, config.model, masks)
    return masked_mse(pred[:, None], batch.y, batch.mask)


def first_step_value_and_grad(theta: jax.Array, batch: Batch, masks: DropoutMasks | None,
                              config: TrainConfig) -> tuple[jax.Array, jax.Array]:
    """Loss and gradient f32[7u + 1] with respect to theta. Differentiating with respect to the
    eight parts (sliced outside) rather than theta keeps the backward pass free of pads."""
    loss, grads = jax.value_and_grad(first_step_loss)(first_step.unpack(theta, config.model.units),
                                                      batch, masks, config)
    return loss, jnp.concatenate(grads)


def train_step(carry: TrainCarry, batch: Batch, key: jax.Array, *, config: TrainConfig,
               hyper: Hyper, tx: optax.GradientTransformation, teacher_prob=1.0,
               reference: bool = False, masks: DropoutMasks | None = None) -> tuple[TrainCarry, jax.Array]:
    """One optimiser step on one batch; returns the new carry and the batch loss (pre-update).

    With ``carry.frozen`` set (``first_step`` layout) the loss is ``first_step_loss`` on
    ``masks`` (drawn here from ``key`` when not given) and the frozen parameters take Keras's
    decay-only step when the weight decay is not a concrete zero.
    """
    if carry.frozen is None:
        loss, grads = jax.value_and_grad(loss_fn)(carry.params, batch, key, config, hyper, teacher_prob,
                                                  reference=reference)
    else:
        if masks is None:
            masks = first_step_masks(key, batch.x.shape[0], config, hyper)
        loss, grads = first_step_value_and_grad(carry.params, batch, masks, config)
    updates, opt_state = tx.update(grads, carry.opt_state, carry.params)
    frozen = carry.frozen
    if frozen is not None and not is_zero(hyper.weight_decay):
        frozen = first_step.decay(frozen, hyper.learning_rate, hyper.weight_decay)
    return TrainCarry(optax.apply_updates(carry.params, updates), opt_state, frozen), loss


def make_train(config: TrainConfig, data: Dataset, *, reference: bool = False) -> Callable[..., TrainResult]:
    """Resolve the static config and data; return ``train(key, hyper=None) -> TrainResult``.

    ``reference=True`` gives the plain implementation (``jax.random.permutation``, every mask
    drawn, every parameter through Adam), against which the fast default is tested.
    """
    x = jnp.asarray(data.x, jnp.float32)
    y = jnp.asarray(data.y, jnp.float32)
    check_inputs(x, config.model)
    if y.shape != (x.shape[0], config.horizon):
        raise ValueError(f"targets must be [{x.shape[0]}, {config.horizon}] (horizon {config.horizon}), "
                         f"got {y.shape}")
    n = int(x.shape[0])
    steps = -(-n // config.batch_size)
    compact = not reference and first_step.supports(config, int(x.shape[2]))
    if compact:
        x = x[:, 0, 0]  # f32[n]: the window's one value

    def train(key: jax.Array, hyper: Hyper | None = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        validate_hyper(hyper)
        rng = jax.random if reference else threefry  # the same bits; threefry's are unrolled
        init_key, shuffle_key, dropout_key = rng.split(key, 3)
        tx = make_optimizer(config, hyper)
        params = init_params(init_key, config.model)
        frozen = None
        if compact:
            params, frozen = first_step.split(params)
        carry = TrainCarry(params, tx.init(params), frozen)

        def epoch(carry: TrainCarry, e: jax.Array):
            idx, mask = batch_indices(rng.fold_in(shuffle_key, e), n, config.batch_size,
                                      config.shuffle, reference=reference)
            epoch_dropout_key = rng.fold_in(dropout_key, e)
            # Window 1: draw the epoch's dropout masks before its minibatch loop, from the same
            # keys. Inside the loop XLA fuses the (integer, "cheap") hash into each consumer of
            # a mask, forward and backward, and so computes it four times per step.
            masks = None
            if compact:
                masks = jax.vmap(lambda b: first_step_masks(rng.fold_in(epoch_dropout_key, b),
                                                            config.batch_size, config, hyper))(jnp.arange(steps))

            def minibatch(carry: TrainCarry, inputs):
                b, batch_idx, batch_mask, batch_masks = inputs
                batch = Batch(x=x[batch_idx], y=y[batch_idx], mask=batch_mask)
                key = rng.fold_in(epoch_dropout_key, b)
                teacher_prob = teacher_probability(config.regime, e * steps + b, config.epochs * steps)
                return train_step(carry, batch, key, config=config, hyper=hyper, tx=tx,
                                  teacher_prob=teacher_prob, reference=reference, masks=batch_masks)

            carry, losses = jax.lax.scan(minibatch, carry, (jnp.arange(steps), idx, mask, masks),
                                         unroll=MINIBATCH_UNROLL)
            return carry, jnp.sum(losses * jnp.sum(mask, axis=1)) / n

        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        params = first_step.merge(carry.params, carry.frozen) if compact else carry.params
        return TrainResult(params=params, epoch_loss=epoch_loss)

    return train


def seed_keys(root: jax.Array | int, start: int, stop: int) -> jax.Array:
    """Keys for seeds start..stop-1: ``fold_in(root, i)``, so seed i never depends on how many run."""
    root = jax.random.key(root) if isinstance(root, (int, np.integer)) else root
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(jnp.arange(start, stop, dtype=jnp.uint32))
