"""The forecaster: LSTM over a window from the zero state -> [Dropout] -> Dense(outputs) -> head.

With the default next-value head this is Keras's ``Sequential([LSTM(u, ...), Dropout(r), Dense(1)])``.
Params (one tree for the pure functions, the Flax ``Forecaster``, training and ``from_keras``)::

    {"lstm": {"kernel", "recurrent_kernel", "bias"
              [, "ln_scale", "ln_bias", "ln_cell_scale", "ln_cell_bias"]},
     "dense": {"kernel": f32[u, outputs], "bias": f32[outputs]}
     [, "skip": {"kernel": f32[window, outputs]}]}   (linear_skip; zeros)

Heads (``ModelConfig.head``): "next" (1 output), "direct" (the next H values at once), "gaussian" (mean and,
through a softplus, scale; its point forecast is the mean). With ``residual`` a one-value head predicts the
change from the window's last value. With ``linear_skip`` (the hybrid) a linear map of the window is added to the
Dense outputs, so the LSTM learns what a direct linear forecast leaves (LSTNet's autoregressive highway).
Pure functions act on one example (``window: f32[time, 1]``); ``forecast_batch`` vmaps them. Dropout (training only)
is inverted, one mask per example and sequence
(``DropoutMasks``); a site not in ``TrainConfig.dropout_sites`` has ``None``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from lstm_ar.config import Hyper, ModelConfig, resolve_dropout_sites, validate_hyper
from lstm_ar.model import initializers
from lstm_ar.model.cell import LSTMCarry, LSTMCell, init_lstm_params, lstm_sequence, lstm_step

Params = dict[str, Any]


class DropoutMasks(NamedTuple):
    """Per-example masks: input f32[4, d], recurrent f32[4, u], output f32[u]; ``None`` where not drawn."""

    input: jax.Array | None
    recurrent: jax.Array | None
    output: jax.Array | None


SIGMA_FLOOR = 1e-3  # smallest std of the Gaussian head (model units), so the likelihood stays finite


def init_params(key: jax.Array, model: ModelConfig, input_dim: int = 1) -> Params:
    """Keras-default initialisation of the whole forecaster (the Dense layer ``model.outputs`` wide)."""
    lstm_key, dense_key = jax.random.split(key)
    params = {"lstm": init_lstm_params(lstm_key, input_dim, model.units, layer_norm=model.layer_norm,
                                       unit_forget_bias=model.unit_forget_bias),
              "dense": {"kernel": initializers.glorot_uniform(dense_key, (model.units, model.outputs)),
                        "bias": jnp.zeros((model.outputs,), jnp.float32)}}
    if model.linear_skip:  # zeros: the model starts as the plain LSTM (and no key is drawn for it)
        params["skip"] = {"kernel": jnp.zeros((model.window, model.outputs), jnp.float32)}
    return params


def dropout_mask(key: jax.Array, rate, shape: tuple[int, ...]) -> jax.Array:
    """Inverted dropout mask f32[shape]: 0 with probability ``rate`` (may be traced), else 1 / (1 - rate)."""
    keep = 1.0 - jnp.asarray(rate, jnp.float32)
    return jax.random.bernoulli(key, keep, shape).astype(jnp.float32) / keep


def draw_masks(key: jax.Array, hyper: Hyper, units: int, input_dim: int = 1, *, sites: tuple[str, ...]) -> DropoutMasks:
    """One example's masks at ``sites`` (None elsewhere), drawn as Keras 3 does: four independent input
    masks exactly when ``recurrent_dropout > 0`` (a ``jnp.where`` on the rate, so rates stay
    vmappable), else one shared by the gates. Each site has its own key (``split(key, 3)``)."""
    input_key, recurrent_key, output_key = jax.random.split(key, 3)
    input_mask = None
    if "input" in sites:
        per_gate_inputs = dropout_mask(input_key, hyper.dropout, (4, input_dim))
        input_mask = jnp.broadcast_to(per_gate_inputs[:1], (4, input_dim))
        if "recurrent" in sites:
            input_mask = jnp.where(jnp.asarray(hyper.recurrent_dropout) > 0, per_gate_inputs, input_mask)
    recurrent_mask = dropout_mask(recurrent_key, hyper.recurrent_dropout, (4, units)) if "recurrent" in sites else None
    output_mask = dropout_mask(output_key, hyper.output_dropout, (units,)) if "output" in sites else None
    return DropoutMasks(input=input_mask, recurrent=recurrent_mask, output=output_mask)


def draw_batch_masks(key: jax.Array, hyper: Hyper, batch: int, units: int, input_dim: int = 1, *,
                     sites: tuple[str, ...]) -> DropoutMasks:
    """``draw_masks(split(key, batch)[i], ...)`` for example i; leaves f32[batch, ...]."""
    return jax.vmap(lambda k: draw_masks(k, hyper, units, input_dim, sites=sites))(jax.random.split(key, batch))


def head(params: Params, h: jax.Array) -> jax.Array:
    """The Dense layer on the hidden state. h: f32[u] -> f32[outputs]."""
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


def gaussian(out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean, std) from the Gaussian head's two outputs: std = softplus(out[1]) + SIGMA_FLOOR."""
    return out[0], jax.nn.softplus(out[1]) + SIGMA_FLOOR


def point(out: jax.Array, last: jax.Array, model: ModelConfig) -> jax.Array:
    """Point forecast from the Dense outputs: f32[1] (value or Gaussian mean, + ``last`` if residual) or f32[H]."""
    if model.head == "direct" or (model.head == "next" and not model.residual):
        return out
    y = out[:1]
    return last + y if model.residual else y


def gaussian_nll(out: jax.Array, last: jax.Array, target: jax.Array, model: ModelConfig) -> jax.Array:
    """NLL of ``target`` f32[] under the Gaussian head's outputs f32[2] (mean + ``last`` with ``residual``)."""
    mean, std = gaussian(out)
    mean = mean + last if model.residual else mean
    return 0.5 * jnp.log(2 * jnp.pi) + jnp.log(std) + 0.5 * jnp.square((target - mean) / std)


def encode(params: Params, window: jax.Array, model: ModelConfig,
           masks: DropoutMasks | None = None, carry: LSTMCarry | None = None) -> LSTMCarry:
    """Run the LSTM over window: f32[time, d]; returns the final carry."""
    return lstm_sequence(params["lstm"], window, activation=model.activation,
                         recurrent_activation=model.recurrent_activation, carry=carry,
                         input_mask=None if masks is None else masks.input,
                         recurrent_mask=None if masks is None else masks.recurrent)


def outputs(params: Params, window: jax.Array, model: ModelConfig, masks: DropoutMasks | None = None) -> jax.Array:
    """The Dense layer's outputs for one example. window: f32[time, d] -> f32[outputs]."""
    h = encode(params, window, model, masks).h
    if masks is not None and masks.output is not None:
        h = h * masks.output
    return head(params, h) + (window[:, 0] @ params["skip"]["kernel"] if model.linear_skip else 0.0)


def forecast(params: Params, window: jax.Array, model: ModelConfig, masks: DropoutMasks | None = None) -> jax.Array:
    """Point forecast of one example (``point``). window: f32[time, d] -> f32[1] (f32[H]: direct head). With
    ``window_scaling`` the model reads ``(window - m) / s`` (``window_statistics``) and its forecast is scaled back:
    ``m + s * point(...)``, so a shifted and stretched window gives the same forecast shifted and stretched."""
    if not model.window_scaling:
        return point(outputs(params, window, model, masks), window[-1, 0], model)
    level, scale = window_statistics(window)
    scaled = (window - level) / scale
    return level + scale * point(outputs(params, scaled, model, masks), scaled[-1, 0], model)


WINDOW_SCALE_FLOOR = 1e-3  # the smallest window std divided by (a constant window is only shifted)


def window_statistics(window: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean f32[], max(std, ``WINDOW_SCALE_FLOOR``) f32[]) of the first feature of window: f32[time, d] over time."""
    values = window[:, 0]
    return jnp.mean(values), jnp.maximum(jnp.std(values), WINDOW_SCALE_FLOOR)


def stateful_step(params: Params, carry: LSTMCarry, fed: jax.Array, model: ModelConfig,
                  masks: DropoutMasks | None = None) -> tuple[LSTMCarry, jax.Array]:
    """Feed one value f32[1] to the carried LSTM and forecast the next: (carry, f32[1])."""
    carry, h = lstm_step(params["lstm"], carry, fed, activation=model.activation,
                         recurrent_activation=model.recurrent_activation,
                         input_mask=None if masks is None else masks.input,
                         recurrent_mask=None if masks is None else masks.recurrent)
    if masks is not None and masks.output is not None:
        h = h * masks.output
    return carry, point(head(params, h), fed[0], model)


def check_inputs(x: jax.Array, model: ModelConfig, input_dim: int = 1) -> None:
    """Clear errors for inputs that are not f32[batch, window, input_dim]."""
    if x.ndim != 3:
        raise ValueError(f"expected inputs of rank 3 [batch, time, features], got shape {x.shape}")
    if x.shape[1] != model.window or x.shape[2] != input_dim:
        raise ValueError(f"expected inputs [batch, {model.window}, {input_dim}], got shape {x.shape}")


def forecast_batch(params: Params, x: jax.Array, model: ModelConfig, masks: DropoutMasks | None = None) -> jax.Array:
    """x: f32[batch, time, d] -> f32[batch, 1] (f32[batch, H]: direct head); masks from ``draw_batch_masks``."""
    check_inputs(x, model, params["lstm"]["kernel"].shape[0])
    if masks is None:
        return jax.vmap(lambda w: forecast(params, w, model))(x)
    return jax.vmap(lambda w, m: forecast(params, w, model, m))(x, masks)


class Forecaster(nn.Module):
    """The forecaster as a Flax module; ``init`` gives ``init_params``' layout and ``apply({"params": p}, x)``
    equals ``forecast_batch(p, x, model)``. With ``deterministic=False`` masks are drawn at
    ``dropout_sites`` (None: those with a nonzero rate in ``hyper``) from ``make_rng("dropout")``."""

    model: ModelConfig = ModelConfig()
    hyper: Hyper = Hyper()
    dropout_sites: tuple[str, ...] | None = None

    @nn.compact
    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        """x: f32[batch, time, d] -> f32[batch, 1] (f32[batch, H]: direct head)."""
        model = self.model
        check_inputs(x, model, x.shape[-1])
        batch, _, input_dim = x.shape
        if model.window_scaling:  # as ``forecast``: each window by its own statistics, the output scaled back
            level, scale = jax.vmap(window_statistics)(x)
            x = (x - level[:, None, None]) / scale[:, None, None]
        masks = DropoutMasks(None, None, None)
        if not deterministic:
            sites = resolve_dropout_sites(self.dropout_sites, self.hyper)
            validate_hyper(self.hyper, dropout_sites=sites)  # a rate at a missing site is not ignored
            masks = draw_batch_masks(self.make_rng("dropout"), self.hyper, batch, model.units, input_dim, sites=sites)
        cell = LSTMCell(features=model.units, gate_fn=model.recurrent_activation, activation_fn=model.activation,
                        layer_norm=model.layer_norm, name="lstm",
                        bias_init=initializers.unit_forget_bias if model.unit_forget_bias else initializers.zeros)

        def step(cell: LSTMCell, carry: LSTMCarry, x_t: jax.Array):
            return cell(carry, x_t, input_mask=masks.input, recurrent_mask=masks.recurrent)

        run = nn.scan(step, variable_broadcast="params", split_rngs={"params": False}, in_axes=1, out_axes=1)
        carry, _ = run(cell, cell.initialize_carry(None, x[:, 0].shape), x)
        h = carry.h if masks.output is None else carry.h * masks.output
        out = nn.Dense(model.outputs, kernel_init=initializers.glorot_uniform, bias_init=initializers.zeros,
                       name="dense")(h)
        if model.linear_skip:
            out = out + nn.Dense(model.outputs, use_bias=False, kernel_init=initializers.zeros, name="skip")(x[:, :, 0])
        y = jax.vmap(lambda o, last: point(o, last, model))(out, x[:, -1, 0])
        return level[:, None] + scale[:, None] * y if model.window_scaling else y
