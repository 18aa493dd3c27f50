"""Free-running (autoregressive) rollout, the one rollout module: each prediction is fed back.

Modes, for one model (vmap over seeds): ``rollout_window`` (Keras's way) predicts from the last ``window`` values
with a fresh zero state; ``rollout_stateful`` warms up over the context, then carries (h, c); ``rollout_direct``
gives a direct head's blocks; ``sample_paths`` draws a Gaussian head's paths. ``rollouts`` picks the one a config
is judged on. All return f32[steps], checking their inputs before anything is compiled.
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


MAX_STEPS = 10**8  # 400 MB of float32 predictions per model: a longer rollout is a mistake, not a forecast


def check_steps(steps: int, *, minimum: int = 0) -> int:
    """A step count (a ``lax.scan`` length) as a Python int (``lstm_ar.checks.check_int``), at most ``MAX_STEPS``."""
    return check_int(steps, "steps", minimum, MAX_STEPS, " (its float32 predictions alone would take "
                     f"{4 * MAX_STEPS // 10**6} MB per model)")


def check_real_finite(x, name: str = "context") -> None:
    """Refuse non-real input and (where known) nan/inf or float32 overflow (``lstm_ar.checks.real_float32``)."""
    real_float32(x, name)


def check_univariate(params: Params) -> None:
    """ValueError unless the LSTM takes one feature (kernel f32[..., 1, 4u]): predictions are fed back."""
    kernel = params["lstm"]["kernel"]
    if kernel.ndim < 2 or kernel.shape[-2] != 1:
        raise ValueError(f"rollout needs a univariate model (LSTM kernel f32[1, 4u]), got kernel shape {kernel.shape}")


def as_column(context: jax.Array, min_length: int = 1) -> jax.Array:
    """A context f32[time] or f32[time, 1] of at least ``min_length`` values, checked, as f32[time, 1]."""
    shape = np.shape(context)
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(f"context must be f32[time] or f32[time, 1], got shape {shape}")
    if shape[0] < min_length:
        raise ValueError(f"context has {shape[0]} values, the model needs {min_length}")
    context = jnp.asarray(real_float32(context, "context"), jnp.float32)
    return context[:, None] if context.ndim == 1 else context


def rollout_window(params: Params, context: jax.Array, steps: int, model: ModelConfig, *, unroll: int = 1) -> jax.Array:
    """Window mode -> f32[steps]: each prediction from the last ``model.window`` values, zero state."""
    steps, unroll = check_steps(steps), check_int(unroll, "unroll", 1)
    check_univariate(params)
    window = as_column(context, model.window)[-model.window:]

    def step(window: jax.Array, _):
        y = forecast(params, window, model)
        return jnp.concatenate([window[1:], y[None, :]], axis=0), y[0]

    return jax.lax.scan(step, window, None, length=steps, unroll=unroll)[1]


def check_unscaled(model: ModelConfig, what: str) -> None:
    """ValueError for a model that reads each window whole (``ModelConfig.reads_window``: window scaling, a linear
    skip) in ``what`` (a map that feeds raw values through the cell: the window's own scaling or linear part would be
    left out, silently giving another model's numbers)."""
    if model.reads_window:
        raise ValueError(f"{what} feeds values through the cell one by one; a window_scaling or linear_skip model "
                         "reads each window whole: use the window (or direct) mode")


def rollout_stateful(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                     *, unroll: int = 1) -> jax.Array:
    """Stateful mode -> f32[steps]: warm up over the context (time >= 1), then carry (h, c)."""
    check_unscaled(model, "the stateful rollout")
    steps, unroll = check_steps(steps), check_int(unroll, "unroll", 1)
    check_univariate(params)
    context = as_column(context)
    carry = encode(params, context, model)
    y = point(head(params, carry.h), context[-1, 0], model)

    def step(state: tuple[LSTMCarry, jax.Array], _):
        carry, y = state
        carry, nxt = stateful_step(params, carry, y, model)
        return (carry, nxt), y[0]

    return jax.lax.scan(step, (carry, y), None, length=steps, unroll=unroll)[1]


def rollout_direct(params: Params, context: jax.Array, steps: int, model: ModelConfig) -> jax.Array:
    """A direct head's forecast f32[steps]: blocks of H values from the last window, blocks after the
    first reading the values predicted (one block when steps <= H)."""
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

        return jax.lax.scan(step, window0, jax.random.split(key, steps))[1]

    return jax.vmap(path)(jax.random.split(key, model.samples))


def rollout_mode(config: TrainConfig) -> str:
    """How a model trained with ``config`` is rolled out: "direct" (direct head), "sampled"
    (Gaussian head), "stateful" (a k-step regime), else "window" (Keras's way)."""
    return {"direct": "direct", "gaussian": "sampled"}.get(config.model.head,
                                                           "stateful" if config.stateful else "window")


def rollouts(params: Params, context: jax.Array, steps: int, config: TrainConfig,
             key: jax.Array | None = None) -> dict[str, jax.Array]:
    """{"point": f32[steps]}, the rollout a trained config is judged on (``rollout_mode``); a Gaussian head
    (``key`` draws its paths) gives their median as "point" and its first path as "sample"."""
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
    """Free-running rollout f32[steps] in ``mode``: ``rollout_window``, ``rollout_stateful`` or (a direct
    head) ``rollout_direct``; ``rollouts`` also samples a Gaussian head."""
    check_mode(mode)
    if mode == "sampled":
        raise ValueError("a Gaussian head's rollout draws samples: use rollouts(params, context, steps, config, key)")
    if (mode == "direct") != (model.head == "direct"):
        raise ValueError(f"a {model.head!r} head is not rolled out in mode {mode!r}: the direct mode is the direct "
                         "head's (its block of values at once)")
    if mode == "direct":
        return rollout_direct(params, context, steps, model)
    return (rollout_window if mode == "window" else rollout_stateful)(params, context, steps, model, unroll=unroll)
