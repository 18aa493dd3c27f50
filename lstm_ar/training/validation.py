"""Checks at the training entry, before any compute: the data set and the hyper-parameters.

Refused: data that would train silently to NaN or to something else than asked, and a dropout rate (concrete and
nonzero, or traced) at a site the program lacks. Traced values out of range become NaN inside the program
(``checked_in_program``): the run's result is NaN instead of a model trained with them, and its ``hyper_errors``
say which parameter; ``check_result`` raises that on the host, where results come back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import (
    DROPOUT_SITES,
    HYPER_RANGES,
    Hyper,
    TrainConfig,
    is_concrete,
    require_scalar_hyper,
    validate_hyper,
)
from lstm_ar.data.series import Dataset


def _finite_float32(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == bool or array.dtype.kind not in "fiu":
        raise ValueError(f"data.{name} must hold real floating-point or integer values, got dtype {array.dtype}"
                         + (" (complex values are refused: their imaginary part would be lost)"
                            if array.dtype.kind == "c" else ""))
    if array.size == 0:
        raise ValueError(f"data.{name} is empty (shape {array.shape}); training needs at least one example")
    with np.errstate(over="ignore"):  # an overflow to inf is reported below
        out = array.astype(np.float32)
    bad = ~np.isfinite(out)
    if bad.any():
        n_nan, n_inf = int(np.isnan(out).sum()), int(np.isinf(out).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        overflow = " (after conversion to float32)" if np.isfinite(array[first]) else ""
        raise ValueError(f"data.{name} has {n_nan} NaN and {n_inf} inf values{overflow}, the first at index "
                         f"{first}; clean or drop them before training")
    return out


def check_dataset(data: Dataset, config: TrainConfig, input_dim: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(x: f32[n, window, input_dim], y: f32[n, horizon]) of ``data`` as numpy, checked (ValueError)."""
    if not (hasattr(data, "x") and hasattr(data, "y")):
        raise ValueError(f"data must be a Dataset(x, y), got {type(data).__name__}")
    x, y = _finite_float32("x", data.x), _finite_float32("y", data.y)
    window, horizon = config.model.window, config.horizon
    if x.ndim != 3 or x.shape[1:] != (window, input_dim):
        raise ValueError(f"expected inputs data.x of shape [batch, {window}, {input_dim}] (window {window}), "
                         f"got shape {x.shape}")
    if y.shape != (x.shape[0], horizon):
        raise ValueError(f"targets must be [{x.shape[0]}, {horizon}] (horizon {horizon}), got {y.shape}")
    return x, y


def training_arrays(data: Dataset, config: TrainConfig, n: int) -> tuple[jax.Array, jax.Array]:
    """(x: f32[n, window, 1], y: f32[n, horizon]) that ``train`` trains on: values checked
    (``check_dataset``) where known, shapes always (the batch layout of ``n`` examples is compiled in)."""
    if not (hasattr(data, "x") and hasattr(data, "y")):
        raise ValueError(f"data must be a Dataset(x, y), got {type(data).__name__}")
    if is_concrete(data.x) and is_concrete(data.y):
        x, y = check_dataset(data, config)
    else:
        (x, y), window, horizon = (data.x, data.y), config.model.window, config.horizon
        if np.shape(x) != (n, window, 1) or np.shape(y) != (n, horizon):
            raise ValueError(f"expected data.x [{n}, {window}, 1] and data.y [{n}, {horizon}], got {np.shape(x)} "
                             f"and {np.shape(y)}")
    if x.shape[0] != n:
        raise ValueError(f"this program was built for {n} training examples (make_train's data), got {x.shape[0]}: "
                         f"build another with make_train(config, data)")
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    chex.assert_shape([x, y], [(n, config.model.window, 1), (n, config.horizon)])  # what the batch layout assumes
    return x, y


def check_hyper(hyper: Hyper, config: TrainConfig) -> None:
    """Check ``hyper`` for one run: concrete leaves 0-d and in range, a dropout rate (nonzero or traced)
    only at a site in ``config.dropout_sites`` (elsewhere no mask exists and it would be ignored); traced
    leaves are checked inside the program (``checked_in_program``)."""
    if not isinstance(hyper, Hyper):
        raise TypeError(f"hyper must be a Hyper, got {type(hyper).__name__}")
    require_scalar_hyper(hyper)
    validate_hyper(hyper, dropout_sites=config.dropout_sites, noisy_inputs=config.noisy_inputs)
    for site, name in DROPOUT_SITES.items():
        if site not in config.dropout_sites and not is_concrete(getattr(hyper, name)):
            raise ValueError(f"Hyper.{name} is traced (jit/vmap) but the dropout site {site!r} is not among "
                             f"dropout_sites {config.dropout_sites}: the rate could never take effect; add {site!r} "
                             f"to TrainConfig.dropout_sites, or pass a concrete 0.0")


def traced_hyper_errors(hyper: Hyper) -> jax.Array | None:
    """i32[] inside the program: bit i set where the traced leaf ``Hyper._fields[i]`` (jit, vmap) is out of its
    range (``config.HYPER_RANGES``); None when none is traced (concrete leaves are ``validate_hyper``'s)."""
    bits = [jnp.where(jnp.all(HYPER_RANGES[name][1](value, jnp)), 0, 1 << i).astype(jnp.int32)
            for i, name in enumerate(Hyper._fields) if not is_concrete(value := getattr(hyper, name))]
    return None if not bits else functools.reduce(jnp.bitwise_or, bits)


def checked_in_program(train: Callable[..., Any], config: TrainConfig) -> Callable[..., Any]:
    """``train(key, data, hyper=None)`` whose result is NaN (every loss and parameter) where a traced
    hyper-parameter is out of range, with ``hyper_errors`` saying which (``check_result`` turns it into an error on
    the host): ``jit(lambda lr: train(key, data, hyper(lr)))(-1.0)`` trained silently with it. The check runs inside
    the compiled program: a host check (``checkify``, a callback) would keep it out of JAX's persistent compilation
    cache; the select leaves valid runs' bits as they were, and with no traced leaf the program is the plain one."""
    @functools.wraps(train)
    def checked(key: jax.Array, data: Dataset, hyper: Hyper | None = None):
        result = train(key, data, hyper)
        errors = traced_hyper_errors(config.hyper if hyper is None else hyper)
        if errors is None:
            return result
        poison = lambda leaf: jnp.where(errors == 0, leaf, jnp.nan) if jnp.issubdtype(leaf.dtype, jnp.floating) else leaf
        return jax.tree.map(poison, result)._replace(hyper_errors=errors)

    return checked


def check_result(result):
    """``result`` (a ``TrainResult``, any batch shape) as it is, or a ValueError naming each hyper-parameter that
    was traced and out of range (``hyper_errors``), its valid range and the runs it spoilt (their numbers are NaN):
    the host-side word for what the program could only mark. ``train_many`` and ``run_seeds`` call it on what
    comes back; call it on ``jax.jit(...)(...)`` results of your own."""
    errors = getattr(result, "hyper_errors", None)
    if errors is None or not np.any(errors := np.asarray(errors)):
        return result
    found = []
    for i, name in enumerate(Hyper._fields):
        if (hit := (errors >> i) & 1).any():
            where = f" (runs at index {np.argwhere(hit)[:5].tolist()}{' ...' if hit.sum() > 5 else ''})" if hit.ndim else ""
            found.append(f"Hyper.{name} must be {HYPER_RANGES[name][0]}, but was not in {int(hit.sum())} of "
                         f"{hit.size} runs{where}")
    raise ValueError(f"{'; '.join(found)}: a traced value (jit/vmap) cannot be refused before training, so those "
                     "runs' parameters and losses are NaN; pass values in range")
