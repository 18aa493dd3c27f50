"""The forecaster: LSTM over a window from the zero state -> [Dropout] -> Dense(1).

This is Keras's ``Sequential([LSTM(u, ...), Dropout(r), Dense(1)])`` with
``return_sequences=False``. Params::

    {"lstm": {"kernel", "recurrent_kernel", "bias"[, "ln_scale", "ln_bias"]},
     "dense": {"kernel": f32[u, 1], "bias": f32[1]}}

Pure functions act on one example (``window: f32[time, 1]``); ``forecast_batch`` vmaps them.
Dropout (training only) is inverted dropout with one mask per example and sequence, reused at
every timestep: input masks f32[4, d] and recurrent masks f32[4, u] (one row per gate, see
``lstm_ar.model.cell``), and the output Dropout layer's mask f32[u]. A mask whose rate is a concrete
zero may be left out (``None``): it would be all ones, and drawing it costs random bits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import Hyper, ModelConfig
from lstm_ar.kernels import threefry
from lstm_ar.model import initializers
from lstm_ar.model.cell import LSTMCarry, init_lstm_params, lstm_sequence

Params = dict[str, Any]


class DropoutMasks(NamedTuple):
    """Per-example inverted-dropout masks: input f32[4, d], recurrent f32[4, u], output f32[u];
    ``None`` for a mask that is not drawn (no dropout there)."""

    input: jax.Array | None
    recurrent: jax.Array | None
    output: jax.Array | None


def init_params(key: jax.Array, model: ModelConfig, input_dim: int = 1) -> Params:
    """Keras-default initialisation of the whole forecaster."""
    lstm_key, dense_key = jax.random.split(key)
    return {
        "lstm": init_lstm_params(lstm_key, input_dim, model.units, layer_norm=model.layer_norm,
                                 unit_forget_bias=model.unit_forget_bias),
        "dense": {
            "kernel": initializers.glorot_uniform(dense_key, (model.units, 1)),
            "bias": jnp.zeros((1,), jnp.float32),
        },
    }


def dropout_mask(key: jax.Array, rate, shape: tuple[int, ...], *, rng=threefry) -> jax.Array:
    """Inverted dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    ``rng``: ``lstm_ar.kernels.threefry`` (default: the same bits as ``jax.random``, faster on CPU) or
    ``jax.random``.
    """
    keep = 1.0 - jnp.asarray(rate, jnp.float32)
    return rng.bernoulli(key, keep, shape).astype(jnp.float32) / keep


def is_zero(rate) -> bool:
    """True when ``rate`` is concretely zero (a Python/numpy number, not a traced value)."""
    try:
        return bool(np.all(np.asarray(rate) == 0))
    except (TypeError, jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return False


def draw_masks(key: jax.Array, hyper: Hyper, units: int, input_dim: int = 1, *,
               skip_zero: bool = False, recurrent: bool = True, rng=threefry) -> DropoutMasks:
    """One set of masks for one example's sequence, drawn as Keras 3 draws them.

    Keras uses ``implementation=1`` (four independent input masks, one per gate) exactly when
    ``recurrent_dropout > 0``, else one input mask shared by the gates. The choice is made with
    ``jnp.where`` so the rates stay numeric (vmappable).

    ``skip_zero``: leave out (``None``) the masks whose rate is concretely zero; ``recurrent=False``
    leaves out the recurrent masks (a window-1 model from the zero state never reads them). Each
    mask has its own key, so the masks that are drawn are the same either way. ``rng``: see
    ``dropout_mask``.
    """
    input_key, recurrent_key, output_key = rng.split(key, 3)
    skip = is_zero if skip_zero else (lambda rate: False)  # noqa: E731
    input_mask = None
    if not skip(hyper.dropout):
        per_gate_inputs = dropout_mask(input_key, hyper.dropout, (4, input_dim), rng=rng)
        shared_input = jnp.broadcast_to(per_gate_inputs[:1], (4, input_dim))
        input_mask = jnp.where(jnp.asarray(hyper.recurrent_dropout) > 0, per_gate_inputs, shared_input)
    recurrent_mask = None
    if recurrent and not skip(hyper.recurrent_dropout):
        recurrent_mask = dropout_mask(recurrent_key, hyper.recurrent_dropout, (4, units), rng=rng)
    output_mask = None
    if not skip(hyper.output_dropout):
        output_mask = dropout_mask(output_key, hyper.output_dropout, (units,), rng=rng)
    return DropoutMasks(input=input_mask, recurrent=recurrent_mask, output=output_mask)


def head(params: Params, h: jax.Array) -> jax.Array:
    """Dense(1) on the hidden state. h: f32[u] -> f32[1]."""
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


def encode(params: Params, window: jax.Array, model: ModelConfig,
           masks: DropoutMasks | None = None, carry: LSTMCarry | None = None) -> LSTMCarry:
    """Run the LSTM over window: f32[time, d]; returns the final carry."""
    return lstm_sequence(
        params["lstm"], window, activation=model.activation,
        recurrent_activation=model.recurrent_activation, carry=carry,
        input_mask=None if masks is None else masks.input,
        recurrent_mask=None if masks is None else masks.recurrent)


def forecast(params: Params, window: jax.Array, model: ModelConfig,
             masks: DropoutMasks | None = None) -> jax.Array:
    """One-step forecast of one example. window: f32[time, d] -> f32[1]."""
    h = encode(params, window, model, masks).h
    if masks is not None and masks.output is not None:
        h = h * masks.output
    return head(params, h)


def check_inputs(x: jax.Array, model: ModelConfig, input_dim: int = 1) -> None:
    """Clear errors for inputs that are not f32[batch, window, input_dim]."""
    if x.ndim != 3:
        raise ValueError(f"expected inputs of rank 3 [batch, time, features], got shape {x.shape}")
    if x.shape[1] != model.window or x.shape[2] != input_dim:
        raise ValueError(f"expected inputs [batch, {model.window}, {input_dim}], got shape {x.shape}")


def forecast_batch(params: Params, x: jax.Array, model: ModelConfig, *,
                   hyper: Hyper | None = None, key: jax.Array | None = None,
                   reference: bool = False) -> jax.Array:
    """Batched forecast. x: f32[batch, time, d] -> f32[batch, 1].

    With ``key`` (training), each example draws its own dropout masks from ``hyper``'s rates
    (none for a rate that is concretely zero); without it (inference) there is no dropout.
    ``reference=True`` draws every mask with ``jax.random`` (the plain implementation).
    """
    input_dim = params["lstm"]["kernel"].shape[0]
    check_inputs(x, model, input_dim)
    if key is None:
        return jax.vmap(lambda w: forecast(params, w, model))(x)
    hyper = Hyper() if hyper is None else hyper
    rng = jax.random if reference else threefry
    keys = rng.split(key, x.shape[0])
    masks = jax.vmap(lambda k: draw_masks(k, hyper, model.units, input_dim, skip_zero=not reference,
                                          recurrent=model.window > 1 or reference, rng=rng))(keys)
    return jax.vmap(lambda w, m: forecast(params, w, model, m))(x, masks)


class Forecaster(nn.Module):
    """Flax module of the same model; ``params`` of ``init`` have the layout above.

    ``__call__(x: f32[batch, time, d], deterministic=True)``; in training (``deterministic=False``)
    dropout masks come from ``self.make_rng('dropout')``.
    """

    model: ModelConfig = ModelConfig()
    hyper: Hyper = Hyper()

    @nn.compact
    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        params = self.param("params_tree", lambda k: init_params(k, self.model, x.shape[-1]))
        key = None if deterministic else self.make_rng("dropout")
        return forecast_batch(params, x, self.model, hyper=self.hyper, key=key)
