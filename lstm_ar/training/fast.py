"""The fast variant of ``lstm_ar.training.plain``: the same inputs, keys, steps and results, with keys, dropout
masks and epoch orders drawn by CPU kernels bit-identical to ``jax.random`` (``lstm_ar.kernels.threefry``,
``lstm_ar.kernels.permutation``). Window-1 one-step models have a faster layout still,
``lstm_ar.training.first_step``; ``lstm_ar.training.train.make_train`` chooses.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from lstm_ar.config import Hyper, TrainConfig
from lstm_ar.data.series import Dataset
from lstm_ar.kernels import threefry
from lstm_ar.kernels.permutation import permutation
from lstm_ar.model.forecaster import DropoutMasks, init_params
from lstm_ar.training.plain import (
    MINIBATCH_UNROLL,
    Batch,
    TrainCarry,
    TrainResult,
    epoch_batches,
    epoch_mean,
    make_optimizer,
    train_step,
)
from lstm_ar.training.regimes import teacher_probability
from lstm_ar.training.validation import check_dataset, check_hyper, training_arrays


def dropout_mask(key: jax.Array, rate, shape: tuple[int, ...]) -> jax.Array:
    """``lstm_ar.model.forecaster.dropout_mask`` with ``threefry.bernoulli``: the same bits."""
    keep = 1.0 - jnp.asarray(rate, jnp.float32)
    return threefry.bernoulli(key, keep, shape).astype(jnp.float32) / keep


def draw_masks(key: jax.Array, hyper: Hyper, units: int, input_dim: int = 1, *, sites: tuple[str, ...]) -> DropoutMasks:
    """``lstm_ar.model.forecaster.draw_masks`` with ``threefry``: the same masks, bit for bit."""
    input_key, recurrent_key, output_key = threefry.split(key, 3)
    input_mask = recurrent_mask = output_mask = None
    if "input" in sites:
        per_gate_inputs = dropout_mask(input_key, hyper.dropout, (4, input_dim))
        input_mask = jnp.broadcast_to(per_gate_inputs[:1], (4, input_dim))
        if "recurrent" in sites:
            input_mask = jnp.where(jnp.asarray(hyper.recurrent_dropout) > 0, per_gate_inputs, input_mask)
    if "recurrent" in sites:
        recurrent_mask = dropout_mask(recurrent_key, hyper.recurrent_dropout, (4, units))
    if "output" in sites:
        output_mask = dropout_mask(output_key, hyper.output_dropout, (units,))
    return DropoutMasks(input=input_mask, recurrent=recurrent_mask, output=output_mask)


def draw_batch(key: jax.Array, batch_size: int, config: TrainConfig,
               hyper: Hyper) -> tuple[DropoutMasks, jax.Array | None]:
    """``lstm_ar.training.plain.draw_batch`` with ``threefry``: the same masks and coin keys."""
    example_keys = threefry.split(key, batch_size)
    coin_keys = None
    if config.stateful:
        pairs = jax.vmap(threefry.split)(example_keys)
        example_keys, coin_keys = pairs[:, 0], pairs[:, 1]
    masks = jax.vmap(lambda k: draw_masks(k, hyper, config.model.units, sites=config.dropout_sites))(example_keys)
    return masks, coin_keys


def batch_indices(key: jax.Array, n: int, batch_size: int, shuffle: bool) -> tuple[jax.Array, jax.Array]:
    """``lstm_ar.training.plain.batch_indices`` with the key-sort permutation: the same batches."""
    order = permutation(key, n) if shuffle else jnp.arange(n)
    return epoch_batches(order, batch_size)


def supports(config: TrainConfig) -> bool:
    """Keras's plain training: the next-value head, any regime and dropout, none of ``TrainConfig.remedies``."""
    return not config.remedies


def make_train(config: TrainConfig, data: Dataset) -> Callable[..., TrainResult]:
    """``lstm_ar.training.plain.make_train`` with fast random numbers: same ``train``, results to float32 rounding."""
    if not supports(config):
        raise ValueError(f"the fast path trains Keras's plain model; {config.remedies} train on "
                         f"lstm_ar.training.plain.make_train")
    x_host, _ = check_dataset(data, config)
    n = int(x_host.shape[0])
    steps = -(-n // config.batch_size)
    total_steps = config.epochs * steps

    def train(key: jax.Array, data: Dataset, hyper: Hyper | None = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        check_hyper(hyper, config)
        x, y = training_arrays(data, config, n)
        init_key, shuffle_key, dropout_key = threefry.split(key, 3)
        tx = make_optimizer(config, hyper)
        params = init_params(init_key, config.model)
        carry = TrainCarry(params, tx.init(params))

        def epoch(carry: TrainCarry, e: jax.Array):
            idx, mask = batch_indices(threefry.fold_in(shuffle_key, e), n, config.batch_size, config.shuffle)
            epoch_key = threefry.fold_in(dropout_key, e)

            def minibatch(carry: TrainCarry, inputs):
                b, batch_idx, batch_mask = inputs
                batch = Batch(x=x[batch_idx], y=y[batch_idx], mask=batch_mask)
                masks, coin_keys = draw_batch(threefry.fold_in(epoch_key, b), config.batch_size, config, hyper)
                teacher_prob = teacher_probability(config.regime, e * steps + b, total_steps)
                return train_step(carry, batch, masks, coin_keys, teacher_prob, model=config.model, tx=tx)

            carry, losses = jax.lax.scan(minibatch, carry, (jnp.arange(steps), idx, mask), unroll=MINIBATCH_UNROLL)
            return carry, epoch_mean(losses, mask, n)

        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        return TrainResult(params=carry.params, epoch_loss=epoch_loss)

    return train
