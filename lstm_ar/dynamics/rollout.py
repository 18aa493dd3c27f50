"""Free-running (autoregressive) rollout: each prediction is fed back as the next input.

The one rollout module. Modes, each written for one model and vmapped over seeds:

* ``rollout_window`` (Keras's way, what the seed's models do): every prediction is made from the
  last ``window`` values with a fresh zero state; the window then slides forward with the
  prediction appended. With ``window = 1`` the model is a 1-D map ``x_{t+1} = f(x_t)``.
* ``rollout_stateful``: warm the LSTM up over a context from the zero state, then carry (h, c)
  forward and feed each prediction back as the next input.
* ``rollout_direct``: a direct head's block of H values from the last window (blocks after the
  first read the values predicted, when more than H steps are asked).
* ``sample_paths``: a Gaussian head's paths drawn ancestrally (each step samples N(mean, std^2)
  and feeds the sample back).

``rollouts(params, context, steps, config, key)`` picks the one a trained config is judged on.
All return f32[steps]: the predictions y_1 .. y_steps following the context. Inputs are checked
before anything is compiled: ``steps`` a non-negative int, the context f32[time] or f32[time, 1]
and long enough, real, and finite once in float32 (when its values are known, i.e. not traced),
the model univariate.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int, real_float32
from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.model.cell import LSTMCarry
from lstm_ar.model.forecaster import Params, encode, forecast, gaussian, head, outputs, point, stateful_step

ROLLOUT_MODES = ("window", "stateful", "direct", "sampled")


def check_steps(steps: int, *, minimum: int = 0) -> int:
    """Validate a step count (the length of a ``lax.scan``, so it must be concrete).

    Args:
      steps: a Python or numpy int; a bool, a float (``2.5`` would silently run 2 steps) or an
        array is refused.
      minimum: the smallest valid value.

    Returns:
      ``steps`` as a Python int.

    Raises:
      TypeError: not an int. ValueError: below ``minimum``.
    """
    return check_int(steps, "steps", minimum)


def check_unroll(unroll: int) -> int:
    """Validate a ``lax.scan`` unroll factor.

    Args:
      unroll: a Python or numpy int >= 1.

    Returns:
      ``unroll`` as a Python int.

    Raises:
      TypeError: a bool, float or other type. ValueError: below 1.
    """
    return check_int(unroll, "unroll", 1)


def check_real_finite(x, name: str = "context") -> None:
    """Refuse complex, boolean or non-numeric input, and (where values are known) nan/inf or
    values that overflow float32 (``lstm_ar.checks.real_float32``).

    Args:
      x: an array-like; ``name`` is used in the messages.

    Raises:
      TypeError: the dtype is not float or int (complex input would lose its imaginary part).
      ValueError: a concrete ``x`` holds nan or inf, or a value that becomes inf in float32.

    A traced ``x`` (inside ``jit``/``vmap``) has its dtype checked; its values cannot be (nor those
    of an array spread over other processes).
    """
    real_float32(x, name)


def check_univariate(params: Params) -> None:
    """A rollout feeds each prediction back as the next input: the LSTM must take 1 feature.

    Args:
      params: forecaster parameters (a leading model axis is allowed).

    Raises:
      ValueError: the LSTM kernel is not f32[..., 1, 4u].
    """
    kernel = params["lstm"]["kernel"]
    if kernel.ndim < 2 or kernel.shape[-2] != 1:
        raise ValueError(f"rollout needs a univariate model (LSTM kernel f32[1, 4u]), got kernel shape {kernel.shape}")


def as_column(context: jax.Array, min_length: int = 1) -> jax.Array:
    """Validate a context and lay it out as a column.

    Args:
      context: f32[time] or f32[time, 1]; real (float or int dtype) and, when concrete, finite
        in float32.
      min_length: the fewest values accepted.

    Returns:
      f32[time, 1].

    Raises:
      TypeError: complex, boolean or non-numeric values.
      ValueError: another shape (checked before the values), fewer than ``min_length`` values, nan/inf, or a
        value that overflows float32.
    """
    shape = np.shape(context)
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"context must be f32[time] or f32[time, 1], got shape {shape}")
    if shape[0] < min_length:
        raise ValueError(f"context has {shape[0]} values, the model needs {min_length}")
    context = jnp.asarray(real_float32(context, "context"), jnp.float32)
    return context[:, None] if context.ndim == 1 else context


def rollout_window(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                   *, unroll: int = 1) -> jax.Array:
    """Window-mode rollout: each prediction from the last ``model.window`` values, zero state.

    Args:
      params: one forecaster's parameters (univariate: LSTM kernel f32[1, 4u]).
      context: f32[time] or f32[time, 1], real and finite, ``time >= model.window``; its last
        ``model.window`` values start the rollout.
      steps: number of predictions, a Python/numpy int >= 0.
      model: the forecaster's static configuration.
      unroll: ``lax.scan`` unroll factor, an int >= 1.

    Returns:
      f32[steps]: the predictions y_1 .. y_steps following the context.
    """
    steps, unroll = check_steps(steps), check_unroll(unroll)
    check_univariate(params)
    window = as_column(context, model.window)[-model.window:]

    def step(window: jax.Array, _):
        y = forecast(params, window, model)
        return jnp.concatenate([window[1:], y[None, :]], axis=0), y[0]

    _, ys = jax.lax.scan(step, window, None, length=steps, unroll=unroll)
    return ys


def rollout_stateful(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                     *, unroll: int = 1) -> jax.Array:
    """Stateful rollout: warm up over the context, then carry (h, c) across all steps.

    Args:
      params: one forecaster's parameters (univariate: LSTM kernel f32[1, 4u]).
      context: f32[time] or f32[time, 1] warm-up inputs, real and finite, ``time >= 1``.
      steps: number of predictions, a Python/numpy int >= 0.
      model: the forecaster's static configuration.
      unroll: ``lax.scan`` unroll factor, an int >= 1.

    Returns:
      f32[steps]: the predictions y_1 .. y_steps following the context.
    """
    steps, unroll = check_steps(steps), check_unroll(unroll)
    check_univariate(params)
    context = as_column(context)
    carry = encode(params, context, model)
    y = point(head(params, carry.h), context[-1, 0], model)

    def step(state: tuple[LSTMCarry, jax.Array], _):
        carry, y = state
        carry, nxt = stateful_step(params, carry, y, model)
        return (carry, nxt), y[0]

    _, ys = jax.lax.scan(step, (carry, y), None, length=steps, unroll=unroll)
    return ys


def rollout_direct(params: Params, context: jax.Array, steps: int, model: ModelConfig) -> jax.Array:
    """A direct head's forecast: blocks of H values from the last window; blocks after the first
    read the values predicted (one block in the usual case, steps <= H).

    Args:
      params: a direct head's parameters; context: f32[time >= window]; steps: predictions.
      model: the configuration (``head == "direct"``).

    Returns:
      f32[steps].
    """
    steps = check_steps(steps)
    check_univariate(params)
    series = as_column(context, model.window)[:, 0]
    outs, done = [], 0
    while done < steps:  # static
        block = forecast(params, series[-model.window:][:, None], model)
        outs.append(block)
        series = jnp.concatenate([series, block])
        done += block.shape[0]
    return jnp.concatenate(outs)[:steps] if outs else jnp.zeros((0,), jnp.float32)


def sample_paths(params: Params, context: jax.Array, steps: int, model: ModelConfig, key: jax.Array) -> jax.Array:
    """Ancestral sampling from a Gaussian head, in window mode: f32[model.samples, steps]."""
    steps = check_steps(steps)
    check_univariate(params)
    window0 = as_column(context, model.window)[-model.window:]

    def path(key):
        def step(window, k):
            mean, std = gaussian(outputs(params, window, model))
            mean = window[-1, 0] + mean if model.residual else mean
            y = mean + std * jax.random.normal(k, ())
            return jnp.concatenate([window[1:], y[None, None]], axis=0), y

        _, ys = jax.lax.scan(step, window0, jax.random.split(key, steps))
        return ys

    return jax.vmap(path)(jax.random.split(key, model.samples))


def rollout_mode(config: TrainConfig) -> str:
    """How a model trained with ``config`` is rolled out: "direct" (direct head), "sampled"
    (Gaussian head), "stateful" (a k-step regime), else "window" (Keras's way)."""
    if config.model.head == "direct":
        return "direct"
    if config.model.head == "gaussian":
        return "sampled"
    return "stateful" if config.stateful else "window"


def rollouts(params: Params, context: jax.Array, steps: int, config: TrainConfig,
             key: jax.Array | None = None) -> dict[str, jax.Array]:
    """The rollouts a trained config is judged on (``rollout_mode``): {"point": f32[steps]}; a
    Gaussian head gives the pointwise median of its sample paths as "point" and its first path as
    "sample" (``key`` draws them). A stateful rollout warms up on the last ``window`` values.

    Args:
      params: one model's parameters; context: f32[time >= window]; steps: predictions.
      config: the configuration it was trained with.
      key: a ``jax.random`` key (only a Gaussian head uses it).

    Returns:
      {"point": f32[steps]} (and "sample": f32[steps] for a Gaussian head).
    """
    mode, model = rollout_mode(config), config.model
    if mode == "sampled":
        if key is None:
            raise ValueError("a Gaussian head's rollout draws samples: give a key")
        paths = sample_paths(params, context, steps, model, key)
        out = {"point": jnp.median(paths, axis=0), "sample": paths[0]}
    elif mode == "direct":
        out = {"point": rollout_direct(params, context, steps, model)}
    elif mode == "stateful":
        out = {"point": rollout_stateful(params, jnp.asarray(context)[-model.window:], steps, model)}
    else:
        out = {"point": rollout_window(params, context, steps, model)}
    chex.assert_tree_shape_prefix(out, (steps,))  # every path has the steps asked for (checked at trace time)
    return out


def check_mode(mode: str) -> None:
    """ValueError unless ``mode`` is one of ``ROLLOUT_MODES``."""
    if not (isinstance(mode, str) and mode in ROLLOUT_MODES):
        raise ValueError(f"unknown rollout mode {mode!r}; valid: {', '.join(map(repr, ROLLOUT_MODES))}")


def rollout(params: Params, context: jax.Array, steps: int, model: ModelConfig, *,
            mode: str = "window", unroll: int = 1) -> jax.Array:
    """Free-running rollout in ``mode`` ("window", "stateful", or "direct" for a direct head); see
    ``rollout_window`` / ``rollout_stateful`` / ``rollout_direct`` (``rollouts`` also samples a
    Gaussian head).

    Args:
      params: one forecaster's parameters.
      context: f32[time] or f32[time, 1], real and finite.
      steps: number of predictions, a Python/numpy int >= 0.
      model: the forecaster's static configuration.
      mode: "window" (Keras's way), "stateful" or "direct".
      unroll: ``lax.scan`` unroll factor, an int >= 1 (window and stateful modes).

    Returns:
      f32[steps]: the predictions following the context.
    """
    check_mode(mode)
    if mode == "sampled":
        raise ValueError("a Gaussian head's rollout draws samples: use rollouts(params, context, steps, config, key)")
    if (mode == "direct") != (model.head == "direct"):
        raise ValueError(f"a {model.head!r} head is not rolled out in mode {mode!r}: the direct mode is the direct "
                         "head's (its block of values at once)")
    if mode == "direct":
        return rollout_direct(params, context, steps, model)
    if mode == "window":
        return rollout_window(params, context, steps, model, unroll=unroll)
    return rollout_stateful(params, context, steps, model, unroll=unroll)
