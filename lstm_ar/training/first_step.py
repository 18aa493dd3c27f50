"""Training layout of a window-1 forecaster: only the parameters one step from zero can use.

A window-1 model reads one value from the zero state (``lstm_ar.model.cell.lstm_first_step``)::

    z_k = (x * m_x[k]) * kernel_k + bias_k     for gates k = i, c, o
    h   = sig(z_o) * act(sig(z_i) * act(z_c))  [* output mask]
    y   = h . w + b

The recurrent kernel (h0 = 0) and the forget gate (c0 = 0) never enter, so their gradients are
exactly zero; Keras's Adam then keeps their moments at zero and their update at exactly
``-(p * weight_decay * lr)``: nothing at all without weight decay. Training therefore packs the
parameters that can change into one flat vector (one Adam update over 7u + 1 numbers instead of
per-leaf updates over 4u + 4u^2 + ...), keeps the others aside (``Frozen``), decays those only
when the weight decay is not a concrete zero, and puts everything back in the usual layout at
the end.

Layout of ``theta: f32[7u + 1]``: ``[k_i, k_c, k_o, b_i, b_c, b_o, w, b]`` (gate order of
``lstm_ar.model.cell``, forget gate left out). ``tests/test_first_step.py`` checks it against the
plain forward/gradient and ``tests/test_train.py`` the whole training against the plain path.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.model.activations import get_activation
from lstm_ar.model.forecaster import DropoutMasks, Params

GATES = (0, 2, 3)  # i, c, o in the fused [i, f, c, o] layout; f (1) is not used from c0 = 0


class Frozen(NamedTuple):
    """What a first step cannot change: the recurrent kernel f32[u, 4u] and the forget gate's
    input kernel f32[d, u] and bias f32[u]."""

    recurrent_kernel: jax.Array
    forget_kernel: jax.Array
    forget_bias: jax.Array


def supports(config: TrainConfig, input_dim: int = 1) -> bool:
    """Window 1, one-step training, one input feature, no layer norm."""
    model = config.model
    return config.one_step and model.window == 1 and input_dim == 1 and not model.layer_norm


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
    """One-step forecasts of a batch. parts: ``unpack(theta, u)``; x: f32[b] (the window's one
    value) -> f32[b].

    masks: per-example masks with a leading batch axis (``input`` f32[b, 4, 1], ``output``
    f32[b, u]) or None; the recurrent mask is never read.
    """
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
