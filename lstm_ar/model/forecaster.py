"""The forecaster: LSTM over a window from the zero state -> [Dropout] -> Dense(outputs) -> head.

With the default next-value head this is Keras's ``Sequential([LSTM(u, ...), Dropout(r), Dense(1)])``
with ``return_sequences=False``. Params (the same tree for the pure functions, the Flax
``Forecaster``, training and ``from_keras``)::

    {"lstm": {"kernel", "recurrent_kernel", "bias"
              [, "ln_scale", "ln_bias", "ln_cell_scale", "ln_cell_bias"]},
     "dense": {"kernel": f32[u, outputs], "bias": f32[outputs]}}

The head (``ModelConfig.head``) reads the Dense layer's outputs: "next" (1: the next value),
"direct" (H: the next H values at once), "gaussian" (2: the mean and, through a softplus, the
scale of a Gaussian for the next value; its point forecast is the mean). With
``ModelConfig.residual`` a one-value head predicts the change from the window's last value.

Pure functions act on one example (``window: f32[time, 1]``); ``forecast_batch`` vmaps them.
Dropout (training only) is inverted dropout with one mask per example and sequence, reused at
every timestep: input masks f32[4, d] and recurrent masks f32[4, u] (one row per gate, see
``lstm_ar.model.cell``), and the output Dropout layer's mask f32[u]. Which masks exist is static
(``TrainConfig.dropout_sites``); a site without dropout has ``None`` there.
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
    """Per-example inverted-dropout masks: input f32[4, d], recurrent f32[4, u], output f32[u];
    ``None`` for a mask that is not drawn (no dropout there)."""

    input: jax.Array | None
    recurrent: jax.Array | None
    output: jax.Array | None


SIGMA_FLOOR = 1e-3  # smallest std of the Gaussian head (model units), so the likelihood stays finite


def init_params(key: jax.Array, model: ModelConfig, input_dim: int = 1) -> Params:
    """Keras-default initialisation of the whole forecaster (the Dense layer ``model.outputs`` wide)."""
    lstm_key, dense_key = jax.random.split(key)
    return {
        "lstm": init_lstm_params(lstm_key, input_dim, model.units, layer_norm=model.layer_norm,
                                 unit_forget_bias=model.unit_forget_bias),
        "dense": {
            "kernel": initializers.glorot_uniform(dense_key, (model.units, model.outputs)),
            "bias": jnp.zeros((model.outputs,), jnp.float32),
        },
    }


def dropout_mask(key: jax.Array, rate, shape: tuple[int, ...]) -> jax.Array:
    """Inverted dropout mask: 0 with probability ``rate``, else ``1 / (1 - rate)``.

    Args:
      key: a ``jax.random`` key.
      rate: number in [0, 1) (may be traced).
      shape: the mask's shape.

    Returns:
      f32[shape].
    """
    keep = 1.0 - jnp.asarray(rate, jnp.float32)
    return jax.random.bernoulli(key, keep, shape).astype(jnp.float32) / keep


def draw_masks(key: jax.Array, hyper: Hyper, units: int, input_dim: int = 1, *,
               sites: tuple[str, ...]) -> DropoutMasks:
    """One set of masks for one example's sequence, drawn as Keras 3 draws them, at ``sites``.

    Keras uses ``implementation=1`` (four independent input masks, one per gate) exactly when
    ``recurrent_dropout > 0``, else one input mask shared by the gates. With a recurrent site the
    choice is a ``jnp.where`` on the rate, so rates stay numeric (vmappable). Each site has its own
    key (``input_key, recurrent_key, output_key = split(key, 3)``), so the masks drawn do not
    depend on which other sites exist.

    Args:
      key: a ``jax.random`` key for this example.
      hyper: the rates (``dropout``, ``recurrent_dropout``, ``output_dropout``); numbers or tracers.
      units: u; input_dim: d.
      sites: the sites to draw (names from ``lstm_ar.config.DROPOUT_SITES``); None elsewhere.

    Returns:
      DropoutMasks(input f32[4, d] | None, recurrent f32[4, u] | None, output f32[u] | None).
    """
    input_key, recurrent_key, output_key = jax.random.split(key, 3)
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


def draw_batch_masks(key: jax.Array, hyper: Hyper, batch: int, units: int, input_dim: int = 1, *,
                     sites: tuple[str, ...]) -> DropoutMasks:
    """Masks for a batch: example i uses ``draw_masks(split(key, batch)[i], ...)``. Leaves have a
    leading axis of size ``batch`` (None at sites not drawn)."""
    keys = jax.random.split(key, batch)
    return jax.vmap(lambda k: draw_masks(k, hyper, units, input_dim, sites=sites))(keys)


def head(params: Params, h: jax.Array) -> jax.Array:
    """The Dense layer on the hidden state. h: f32[u] -> f32[outputs]."""
    return h @ params["dense"]["kernel"] + params["dense"]["bias"]


def gaussian(out: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(mean, std) from the Gaussian head's two outputs: std = softplus(out[1]) + SIGMA_FLOOR."""
    return out[0], jax.nn.softplus(out[1]) + SIGMA_FLOOR


def point(out: jax.Array, last: jax.Array, model: ModelConfig) -> jax.Array:
    """The point forecast from the Dense outputs: f32[1] for a one-value head (the value, or the
    Gaussian's mean; plus ``last``, the last value read, with ``residual``), f32[H] for a direct head."""
    if model.head == "direct" or (model.head == "next" and not model.residual):
        return out
    y = out[:1]
    return last + y if model.residual else y


def gaussian_nll(out: jax.Array, last: jax.Array, target: jax.Array, model: ModelConfig) -> jax.Array:
    """Negative log-likelihood of ``target`` f32[] under the Gaussian head's outputs f32[2] (the
    mean shifted by ``last`` with ``residual``)."""
    mean, std = gaussian(out)
    mean = mean + last if model.residual else mean
    return 0.5 * jnp.log(2 * jnp.pi) + jnp.log(std) + 0.5 * jnp.square((target - mean) / std)


def encode(params: Params, window: jax.Array, model: ModelConfig,
           masks: DropoutMasks | None = None, carry: LSTMCarry | None = None) -> LSTMCarry:
    """Run the LSTM over window: f32[time, d]; returns the final carry."""
    return lstm_sequence(
        params["lstm"], window, activation=model.activation,
        recurrent_activation=model.recurrent_activation, carry=carry,
        input_mask=None if masks is None else masks.input,
        recurrent_mask=None if masks is None else masks.recurrent)


def outputs(params: Params, window: jax.Array, model: ModelConfig,
            masks: DropoutMasks | None = None) -> jax.Array:
    """The Dense layer's outputs for one example. window: f32[time, d] -> f32[outputs]."""
    h = encode(params, window, model, masks).h
    if masks is not None and masks.output is not None:
        h = h * masks.output
    return head(params, h)


def forecast(params: Params, window: jax.Array, model: ModelConfig,
             masks: DropoutMasks | None = None) -> jax.Array:
    """Point forecast of one example (``point``). window: f32[time, d] -> f32[1] (f32[H]: direct head)."""
    return point(outputs(params, window, model, masks), window[-1, 0], model)


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


def forecast_batch(params: Params, x: jax.Array, model: ModelConfig,
                   masks: DropoutMasks | None = None) -> jax.Array:
    """Batched point forecast. x: f32[batch, time, d] -> f32[batch, 1] (f32[batch, H]: direct head).

    Args:
      params: the forecaster's parameters (layout above).
      x: f32[batch, time, d] windows.
      model: the static shape (window, activations).
      masks: None (inference: no dropout) or per-example masks with a leading batch axis
        (``draw_batch_masks``; training).

    Returns:
      f32[batch, 1] one-step forecasts (f32[batch, H] for a direct head).
    """
    input_dim = params["lstm"]["kernel"].shape[0]
    check_inputs(x, model, input_dim)
    if masks is None:
        return jax.vmap(lambda w: forecast(params, w, model))(x)
    return jax.vmap(lambda w, m: forecast(params, w, model, m))(x, masks)


class Forecaster(nn.Module):
    """The forecaster as a Flax module: ``LSTMCell`` named "lstm" over the window, then
    [Dropout], ``Dense(model.outputs)`` named "dense" and the head's point forecast (``point``).

    ``Forecaster(model).init(key, x)["params"]`` has the layout of ``init_params`` (the one
    ``make_train`` trains and ``from_keras`` builds), so ``apply({"params": p}, x)`` runs any of
    them and equals ``forecast_batch(p, x, model)``. In training (``deterministic=False``) each
    example draws its masks at ``dropout_sites`` from ``make_rng("dropout")`` with ``hyper``'s
    rates (``draw_batch_masks``), one mask per sequence as Keras does.

    Attributes:
      model: the static shape (units, window, activations, layer norm, forget bias).
      hyper: the dropout rates used in training (other fields are ignored here).
      dropout_sites: the sites with dropout; None: those whose rate in ``hyper`` is nonzero.
    """

    model: ModelConfig = ModelConfig()
    hyper: Hyper = Hyper()
    dropout_sites: tuple[str, ...] | None = None

    @nn.compact
    def __call__(self, x: jax.Array, deterministic: bool = True) -> jax.Array:
        """x: f32[batch, time, d] -> f32[batch, 1] (f32[batch, H]: direct head)."""
        model = self.model
        check_inputs(x, model, x.shape[-1])
        batch, _, input_dim = x.shape
        masks = DropoutMasks(None, None, None)
        if not deterministic:
            sites = resolve_dropout_sites(self.dropout_sites, self.hyper)
            validate_hyper(self.hyper, dropout_sites=sites)  # a rate at a missing site is not ignored
            masks = draw_batch_masks(self.make_rng("dropout"), self.hyper, batch, model.units, input_dim, sites=sites)
        cell = LSTMCell(features=model.units, gate_fn=model.recurrent_activation, activation_fn=model.activation,
                        layer_norm=model.layer_norm,
                        bias_init=initializers.unit_forget_bias if model.unit_forget_bias else initializers.zeros,
                        name="lstm")

        def step(cell: LSTMCell, carry: LSTMCarry, x_t: jax.Array):
            return cell(carry, x_t, input_mask=masks.input, recurrent_mask=masks.recurrent)

        run = nn.scan(step, variable_broadcast="params", split_rngs={"params": False}, in_axes=1, out_axes=1)
        carry, _ = run(cell, cell.initialize_carry(None, x[:, 0].shape), x)
        h = carry.h if masks.output is None else carry.h * masks.output
        out = nn.Dense(model.outputs, kernel_init=initializers.glorot_uniform, bias_init=initializers.zeros,
                       name="dense")(h)
        return jax.vmap(lambda o, last: point(o, last, model))(out, x[:, -1, 0])
