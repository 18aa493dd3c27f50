"""Training layout of a window-1 forecaster: only the parameters one step from zero can use.

From the zero state (``lstm_ar.model.cell.lstm_first_step``) the recurrent kernel and the forget gate never enter,
so their gradients are exactly zero and Keras's Adam only decays them (``-(p * weight_decay * lr)``). Training
packs the rest into ``theta: f32[7u + 1]`` = ``[k_i, k_c, k_o, b_i, b_c, b_o, w, b]`` (one Adam update instead of
per-leaf ones), keeps the others aside (``Frozen``, decayed only for a nonzero decay) and restores the usual
layout at the end: ``lstm_ar.training.fast.make_train``'s keys, masks and results (``tests/test_train.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from lstm_ar.activations import get_activation
from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Dataset
from lstm_ar.kernels import threefry
from lstm_ar.model.forecaster import DropoutMasks, Params, init_params
from lstm_ar.training import fast
from lstm_ar.training.plain import MINIBATCH_UNROLL, Batch, TrainResult, epoch_mean, make_optimizer, masked_mse
from lstm_ar.training.validation import check_dataset, check_hyper, training_arrays

GATES = (0, 2, 3)  # i, c, o in the fused [i, f, c, o] layout; f (1) is not used from c0 = 0


class Frozen(NamedTuple):
    """What a first step cannot change: the recurrent kernel f32[u, 4u] and the forget gate's
    input kernel f32[d, u] and bias f32[u]."""

    recurrent_kernel: jax.Array
    forget_kernel: jax.Array
    forget_bias: jax.Array


def supports(config: TrainConfig, input_dim: int = 1) -> bool:
    """Window 1, one-step training of the plain next-value model (no remedy), one input feature, no layer norm."""
    model = config.model
    return (config.one_step and fast.supports(config) and model.window == 1 and input_dim == 1 and not model.layer_norm)


def split(params: Params) -> tuple[jax.Array, Frozen]:
    """Forecaster params -> (theta: f32[7u + 1], Frozen)."""
    lstm, dense = params["lstm"], params["dense"]
    u = lstm["recurrent_kernel"].shape[0]
    block = lambda a, g: a[..., g * u:(g + 1) * u]  # noqa: E731
    kernel, bias = lstm["kernel"][0], lstm["bias"]
    theta = jnp.concatenate([block(kernel, g) for g in GATES] + [block(bias, g) for g in GATES]
                            + [dense["kernel"][:, 0], dense["bias"]])
    return theta, Frozen(lstm["recurrent_kernel"], block(lstm["kernel"], 1), block(bias, 1))


def unpack(theta: jax.Array, units: int) -> tuple[jax.Array, ...]:
    """theta -> (k_i, k_c, k_o, b_i, b_c, b_o, w): f32[u] each, and b: f32[1]."""
    u = units
    return tuple(theta[j * u:(j + 1) * u] for j in range(7)) + (theta[7 * u:],)


def merge(theta: jax.Array, frozen: Frozen) -> Params:
    """(theta, Frozen) -> forecaster params in the usual layout."""
    u = frozen.forget_bias.shape[0]
    k_i, k_c, k_o, b_i, b_c, b_o, w, b = unpack(theta, u)
    kernel = jnp.concatenate([k_i, frozen.forget_kernel[0], k_c, k_o])[None, :]
    bias = jnp.concatenate([b_i, frozen.forget_bias, b_c, b_o])
    return {"lstm": {"kernel": kernel, "recurrent_kernel": frozen.recurrent_kernel, "bias": bias},
            "dense": {"kernel": w[:, None], "bias": b}}


def predict(parts: tuple[jax.Array, ...], x: jax.Array, model: ModelConfig,
            masks: DropoutMasks | None = None) -> jax.Array:
    """One-step forecasts f32[b] of x: f32[b] (each window's one value); parts: ``unpack(theta, u)``; masks:
    per-example (``input`` f32[b, 4, 1], ``output`` f32[b, u]; the recurrent one is never read) or None."""
    act, rec_act = get_activation(model.activation), get_activation(model.recurrent_activation)
    k_i, k_c, k_o, b_i, b_c, b_o, w, b = parts
    x = x[:, None]  # f32[b, 1]
    m_in = None if masks is None else masks.input
    gate_x = (lambda g: x) if m_in is None else (lambda g: x * m_in[:, g])  # noqa: E731
    # x[b, 1] @ k[1, u] and h @ w as products, not broadcasts: their gradients are then
    # contractions over the batch (matrix products), with nothing of size [b, u] to build.
    i = rec_act(gate_x(0) @ k_i[None, :] + b_i[None, :])
    g = act(gate_x(2) @ k_c[None, :] + b_c[None, :])
    o = rec_act(gate_x(3) @ k_o[None, :] + b_o[None, :])
    h = o * act(i * g)
    if masks is not None and masks.output is not None:
        h = h * masks.output
    return h @ w + b[0]


def decay(frozen: Frozen, learning_rate, weight_decay) -> Frozen:
    """Keras Adam's step on a parameter whose gradient is always zero: ``p - p * wd * lr``."""
    rate = jnp.asarray(weight_decay, jnp.float32) * jnp.asarray(learning_rate, jnp.float32)
    return jax.tree.map(lambda p: p + (-(p * rate)), frozen)


def decay_if_any(frozen: Frozen, learning_rate, weight_decay) -> Frozen:
    """``decay`` where the weight decay is nonzero, else the parameters untouched (a ``lax.cond``:
    skipped at run time for a zero decay; under vmap over decays, a select per member)."""
    return jax.lax.cond(jnp.asarray(weight_decay) != 0, lambda f: decay(f, learning_rate, weight_decay),
                        lambda f: f, frozen)


class FirstStepCarry(NamedTuple):
    """theta: f32[7u + 1] (trained); opt_state: Keras Adam's state over theta; frozen: the rest."""

    theta: jax.Array
    opt_state: optax.OptState
    frozen: Frozen


def batch_masks(key: jax.Array, batch_size: int, config: TrainConfig, hyper: Hyper) -> DropoutMasks | None:
    """``lstm_ar.training.fast.draw_batch``'s masks for a window-1 batch (same bits) less the recurrent one (never
    read); None when the config has no input or output site."""
    if not {"input", "output"} & set(config.dropout_sites):
        return None
    masks, _ = fast.draw_batch(key, batch_size, config, hyper)
    return masks._replace(recurrent=None)


def loss(parts: tuple[jax.Array, ...], batch: Batch, masks: DropoutMasks | None, model: ModelConfig) -> jax.Array:
    """The batch loss of the plain path in this layout (``parts = unpack(theta)``); batch.x: f32[b]."""
    pred = predict(parts, batch.x, model, masks)
    return masked_mse(pred[:, None], batch.y, batch.mask)


def value_and_grad(theta: jax.Array, batch: Batch, masks: DropoutMasks | None,
                   model: ModelConfig) -> tuple[jax.Array, jax.Array]:
    """Loss and gradient f32[7u + 1] with respect to theta; differentiating with respect to the eight parts
    (sliced outside) rather than theta keeps the backward pass free of pads."""
    value, grads = jax.value_and_grad(loss)(unpack(theta, model.units), batch, masks, model)
    return value, jnp.concatenate(grads)


def train_step(carry: FirstStepCarry, batch: Batch, masks: DropoutMasks | None, *, model: ModelConfig,
               hyper: Hyper, tx: optax.GradientTransformation) -> tuple[FirstStepCarry, jax.Array]:
    """One Adam step on theta and Keras's decay-only step on the frozen parameters: (new carry, batch loss)."""
    value, grads = value_and_grad(carry.theta, batch, masks, model)
    updates, opt_state = tx.update(grads, carry.opt_state, carry.theta)
    frozen = decay_if_any(carry.frozen, hyper.learning_rate, hyper.weight_decay)
    return FirstStepCarry(optax.apply_updates(carry.theta, updates), opt_state, frozen), value


def make_train(config: TrainConfig, data: Dataset) -> Callable[..., TrainResult]:
    """``lstm_ar.training.fast.make_train`` in this layout, for configs ``supports`` accepts: the same ``train``
    and results to float32 rounding (the parameters of always-zero gradient exactly, without weight decay)."""
    if not supports(config):
        raise ValueError("the window-1 layout needs window 1, one-step teacher forcing and no layer norm; "
                         f"got window {config.model.window}, regime {config.regime!r}, horizon {config.horizon}, "
                         f"layer_norm {config.model.layer_norm}: use lstm_ar.training.fast.make_train")
    x_host, _ = check_dataset(data, config)
    n = int(x_host.shape[0])
    steps = -(-n // config.batch_size)

    def train(key: jax.Array, data: Dataset, hyper: Hyper | None = None) -> TrainResult:
        hyper = config.hyper if hyper is None else hyper
        check_hyper(hyper, config)
        x, y = training_arrays(data, config, n)
        x = x[:, 0, 0]  # f32[n], the window's one value
        init_key, shuffle_key, dropout_key = threefry.split(key, 3)
        tx = make_optimizer(config, hyper)
        theta, frozen = split(init_params(init_key, config.model))
        carry = FirstStepCarry(theta, tx.init(theta), frozen)

        def epoch(carry: FirstStepCarry, e: jax.Array):
            idx, mask = fast.batch_indices(threefry.fold_in(shuffle_key, e), n, config.batch_size, config.shuffle)
            epoch_key = threefry.fold_in(dropout_key, e)
            # The epoch's masks are drawn before its minibatch loop, from the same keys. Inside the
            # loop XLA fuses the (integer, "cheap") hash into each consumer of a mask, forward and
            # backward, and so computes it four times per step.
            masks = jax.vmap(lambda b: batch_masks(threefry.fold_in(epoch_key, b), config.batch_size,
                                                   config, hyper))(jnp.arange(steps))

            def minibatch(carry: FirstStepCarry, inputs):
                batch_idx, batch_mask, masks_b = inputs
                batch = Batch(x=x[batch_idx], y=y[batch_idx], mask=batch_mask)
                return train_step(carry, batch, masks_b, model=config.model, hyper=hyper, tx=tx)

            carry, losses = jax.lax.scan(minibatch, carry, (idx, mask, masks), unroll=MINIBATCH_UNROLL)
            return carry, epoch_mean(losses, mask, n)

        carry, epoch_loss = jax.lax.scan(epoch, carry, jnp.arange(config.epochs))
        return TrainResult(params=merge(carry.theta, carry.frozen), epoch_loss=epoch_loss)

    return train
