"""Least-squares AR(p) with an intercept, in closed form in JAX (float32, jit- and vmap-able).

The model is ``x_t = c + a_1 x_{t-1} + .. + a_p x_{t-p} + e_t``, fitted by ordinary least
squares on the sample ``t = hold_back .. T-1`` (``hold_back >= p``), as statsmodels'
``AutoReg(x, p, trend="c", hold_back=hold_back)`` does.

One compiled program serves every order up to ``max_p``: the design has ``max_p`` lag columns
(``X[t, i] = x_{t-1-i}``, zero before the series starts), columns ``i >= p`` and rows
``t < hold_back`` are masked to zero, and the masked columns get a zero coefficient. So
``order`` and ``hold_back`` may be traced, and ``jax.vmap`` over orders (or over series of one
length) compiles once.

The solve is careful in float32: the rows in the sample are centred (the intercept is recovered
from the means), then ``jnp.linalg.lstsq`` (SVD) solves the masked, centred system. Singular
values below ``RCOND`` times the largest are dropped, so a rank-deficient design (masked
columns; lags of a noiseless sine, which span two dimensions) gets the minimum-norm solution.

Information criteria are statsmodels ``AutoRegResults``' (k = p + 2 parameters: the intercept,
p lags and the variance)::

    llf = -nobs / 2 * (log(2 pi) + log(sigma2) + 1)      sigma2 = SSR / nobs
    aic = -2 llf + 2 k            bic = -2 llf + log(nobs) k

``select_order`` compares orders ``min_order .. max_order`` (``min_order = 0`` by default, the
intercept alone, as ``ar_select_order(x, maxlag, trend="c", glob=False)`` does) on the common
sample ``t >= max_order``, then refits the chosen order on its own sample ``t >= p``, as
``ar_select_order(...).model.fit()`` does (``sample="common"`` keeps the common-sample fit).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lstm_ar.checks import check_int, real_float32

RCOND = 1e-5  # relative singular-value cut-off of the solve (float32 eps is 1.2e-7)
CRITERIA = ("aic", "bic")
SAMPLES = ("own", "common")


class ARFit(NamedTuple):
    """A fitted AR(p) with intercept.

    Attributes:
      intercept: f32[] the constant c.
      coefs: f32[max_p] ``coefs[i]`` multiplies ``x_{t-1-i}``; zero for ``i >= order``.
      sigma2: f32[] residual variance SSR / nobs (statsmodels ``AutoRegResults.sigma2``).
      order: i32[] p.
      nobs: i32[] the number of residuals (T - hold_back).
    """

    intercept: jax.Array
    coefs: jax.Array
    sigma2: jax.Array
    order: jax.Array
    nobs: jax.Array


def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _as_python_int(value):
    """A concrete 0-d integer jax/numpy array as a Python int (so ``for p in jnp.arange(..)`` works);
    anything else unchanged, for ``check_int`` to judge."""
    if isinstance(value, (jax.Array, np.ndarray)) and not _is_traced(value) and value.ndim == 0 \
            and np.dtype(value.dtype).kind in "iu":
        return int(value)
    return value


def check_series(series, name: str = "series"):
    """A 1-D real series, converted to f32 when concrete; a clear error otherwise.

    Args:
      series: f32[time] (or anything numpy turns into it); a traced array has its rank and dtype
        checked only.
      name: how the error messages call it.

    Returns:
      The series as a numpy f32 array when concrete, else unchanged.

    Raises:
      TypeError: not real. ValueError: not 1-D, or a value is nan/inf.
    """
    ndim = series.ndim if hasattr(series, "ndim") else np.ndim(series)
    if ndim != 1:
        shape = series.shape if hasattr(series, "shape") else np.shape(series)
        raise ValueError(f"{name} must be 1-D f32[time], got shape {tuple(shape)} (vmap over a batch of series)")
    return real_float32(series, name)


def lag_matrix(series: jax.Array, max_p: int) -> jax.Array:
    """``X[t, i] = series[t-1-i]``, zero where ``t-1-i < 0``.

    Args:
      series: f32[time].
      max_p: number of lag columns (static).

    Returns:
      f32[time, max_p].
    """
    lag_index = jnp.arange(series.shape[0])[:, None] - 1 - jnp.arange(max_p)[None, :]
    return jnp.where(lag_index >= 0, series[jnp.clip(lag_index, 0)], jnp.zeros((), series.dtype))


@partial(jax.jit, static_argnames="max_p")
def fit_masked(series: jax.Array, order, hold_back, max_p: int) -> ARFit:
    """The least-squares AR fit without input checks (``order`` may be 0: the intercept alone).

    Args:
      series: f32[time].
      order: i32[] p, ``0 <= p <= max_p`` (may be traced).
      hold_back: i32[] first row of the sample, ``p <= hold_back < time`` (may be traced).
      max_p: number of lag columns (static).

    Returns:
      ``ARFit`` with ``coefs: f32[max_p]``.
    """
    series = jnp.asarray(series, jnp.float32)
    length = series.shape[0]
    lags = lag_matrix(series, max_p)
    rows = (jnp.arange(length) >= hold_back).astype(jnp.float32)
    cols = (jnp.arange(max_p) < order).astype(jnp.float32)
    nobs = (length - jnp.asarray(hold_back)).astype(jnp.int32)
    n = nobs.astype(jnp.float32)
    y_mean = rows @ series / n
    x_mean = rows @ lags / n
    centred_x = (lags - x_mean[None, :]) * rows[:, None] * cols[None, :]
    centred_y = (series - y_mean) * rows
    coefs = jnp.linalg.lstsq(centred_x, centred_y, rcond=RCOND)[0] * cols
    resid = centred_y - centred_x @ coefs
    return ARFit(intercept=y_mean - x_mean @ coefs, coefs=coefs, sigma2=resid @ resid / n,
                 order=jnp.asarray(order, jnp.int32), nobs=nobs)


def _check_order(order, max_order, length: int, hold_back_name: str):
    """Host checks shared by ``fit_ar``: returns (max_p, hold_back)."""
    order = _as_python_int(order)
    if max_order is None:
        if _is_traced(order):
            raise TypeError("a traced order needs a static max_order (the number of lag columns)")
        order = check_int(order, "order", 1)
        max_p = hold_back = order
    else:
        max_p = hold_back = check_int(max_order, "max_order", 1)
        if not _is_traced(order):
            order = check_int(order, "order", 1)
            if order > max_p:
                raise ValueError(f"order must be <= max_order = {max_p}, got {order}")
    if length - hold_back < max_p + 2:
        raise ValueError(f"series of length {length} is too short for {hold_back_name} {hold_back}: the sample "
                         f"t >= {hold_back} needs at least {max_p + 2} values (more than the {max_p + 1} coefficients)")
    return max_p, hold_back


def fit_ar(series, order, *, max_order: int | None = None) -> ARFit:
    """Least-squares AR(order) with intercept.

    Without ``max_order``: statsmodels ``AutoReg(x, order, trend="c")`` (sample t >= order).
    With ``max_order``: ``AutoReg(x, order, trend="c", hold_back=max_order)`` (the common sample
    t >= max_order), and ``order`` may be traced, e.g. ``jax.vmap(lambda p: fit_ar(x, p,
    max_order=8))(jnp.arange(1, 9))`` compiles once.

    Args:
      series: f32[time], 1-D, finite.
      order: int p >= 1 (``<= max_order``), or a traced i32[] when ``max_order`` is given.
      max_order: static number of lag columns and hold-back.

    Returns:
      ``ARFit`` with ``coefs: f32[max_order or order]``.

    Raises:
      TypeError / ValueError: bad series or order, or a series too short for the sample.
    """
    series = check_series(series)
    max_p, hold_back = _check_order(order, max_order, series.shape[0], "hold-back")
    return fit_masked(series, order, hold_back, max_p)


def information_criteria(fit: ARFit) -> tuple[jax.Array, jax.Array]:
    """statsmodels ``AutoRegResults.aic`` and ``.bic`` (k = order + 2; elementwise over a batch).

    Args:
      fit: an ``ARFit`` (leading batch axes allowed).

    Returns:
      ``(aic, bic)``, each f32[...] with the batch shape of ``fit.sigma2``.
    """
    n = fit.nobs.astype(jnp.float32)
    k = fit.order.astype(jnp.float32) + 2.0
    minus_2_llf = n * (jnp.log(2.0 * jnp.pi) + jnp.log(fit.sigma2) + 1.0)
    return minus_2_llf + 2.0 * k, minus_2_llf + jnp.log(n) * k


def select_order(series, max_order: int, criterion: str = "aic", *, min_order: int = 0, sample: str = "own") -> ARFit:
    """The AR order with the smallest AIC or BIC, as ``ar_select_order(x, max_order, ic=criterion,
    trend="c", glob=False)`` picks it, and its fit.

    Orders ``min_order .. max_order`` are fitted on the common sample t >= max_order (one vmapped
    program); order 0 is the intercept alone (white noise picks it), as in statsmodels.

    Args:
      series: f32[time], 1-D, finite.
      max_order: static largest order (>= 1).
      criterion: ``"aic"`` or ``"bic"``.
      min_order: smallest order compared (0 or more).
      sample: ``"own"``: refit the chosen order p on t >= p (``ar_select_order(...).model.fit()``);
        ``"common"``: keep its fit on t >= max_order.

    Returns:
      ``ARFit`` with ``coefs: f32[max_order]`` (zero beyond the chosen order).
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    if sample not in SAMPLES:
        raise ValueError(f"sample must be one of {SAMPLES}, got {sample!r}")
    series = check_series(series)
    max_p, _ = _check_order(1, max_order, series.shape[0], "hold-back = max_order")
    min_order = check_int(min_order, "min_order", 0)
    if min_order > max_p:
        raise ValueError(f"min_order must be <= max_order = {max_p}, got {min_order}")
    return _select(jnp.asarray(series), max_p=max_p, which=CRITERIA.index(criterion), min_order=min_order,
                   refit=sample == "own")


@partial(jax.jit, static_argnames=("max_p", "min_order", "refit"))
def _select(series, max_p: int, which: int, min_order: int, refit: bool) -> ARFit:
    orders = jnp.arange(min_order, max_p + 1)
    fits = jax.vmap(lambda p: fit_masked(series, p, max_p, max_p))(orders)
    best = jnp.argmin(jnp.stack(information_criteria(fits))[which])  # which: traced, aic and bic share a program
    if refit:
        return fit_masked(series, orders[best], orders[best], max_p)
    return jax.tree.map(lambda leaf: leaf[best], fits)


def _history(context: jax.Array, max_p: int) -> jax.Array:
    """The last ``max_p`` values, most recent first, zero-padded: f32[max_p]."""
    padded = jnp.concatenate([jnp.zeros((max_p,), jnp.float32), jnp.asarray(context, jnp.float32)])
    return padded[-max_p:][::-1]


def _step(fit: ARFit, history: jax.Array, _):
    prediction = fit.intercept + fit.coefs @ history
    return jnp.concatenate([prediction[None], history[:-1]]), prediction


def ar_rollout(fit: ARFit, context, steps: int) -> jax.Array:
    """Free-running forecast: each prediction becomes the newest lag of the next (``lax.scan``).

    Equals statsmodels' dynamic forecast ``AutoRegResults.predict(start=len(x), end=len(x) +
    steps - 1)`` with ``x = context``.

    Args:
      fit: an ``ARFit`` (``coefs: f32[max_p]``).
      context: f32[time], at least ``order`` values; the last ``max_p`` are read.
      steps: number of predictions (static int >= 1).

    Returns:
      f32[steps].
    """
    steps = check_int(steps, "steps", 1)
    context = check_series(context, "context")
    if not _is_traced(fit.order) and np.ndim(fit.order) == 0 and context.shape[0] < int(fit.order):
        raise ValueError(f"context must hold at least order = {int(fit.order)} values, got {context.shape[0]}")
    return _rollout(fit, jnp.asarray(context), steps=steps)


@partial(jax.jit, static_argnames="steps")
def _rollout(fit: ARFit, context: jax.Array, steps: int) -> jax.Array:
    history = _history(context, fit.coefs.shape[0])
    return lax.scan(lambda h, x: _step(fit, h, x), history, None, length=steps)[1]


def ar_one_step_mse(fit: ARFit, series, *, start: int | None = None) -> jax.Array:
    """Mean squared one-step error of ``fit`` on ``series`` (in-sample or held out).

    Args:
      fit: an ``ARFit`` (``coefs: f32[max_p]``).
      series: f32[time], 1-D, finite.
      start: first predicted index (static; default ``max_p``, so every lag is in the series).

    Returns:
      f32[] mean over t = start .. time-1 of ``(series[t] - intercept - coefs @ lags_t)^2``.
    """
    series = check_series(series)
    max_p = fit.coefs.shape[0]
    start = max_p if start is None else check_int(start, "start", 0)
    if start >= series.shape[0]:
        raise ValueError(f"start must be < len(series) = {series.shape[0]}, got {start}")
    return _one_step_mse(fit, jnp.asarray(series), start=start)


@partial(jax.jit, static_argnames="start")
def _one_step_mse(fit: ARFit, series: jax.Array, start: int) -> jax.Array:
    predictions = fit.intercept + lag_matrix(series, fit.coefs.shape[0]) @ fit.coefs
    return jnp.mean((series[start:] - predictions[start:]) ** 2)


def companion_matrix(coefs: jax.Array) -> jax.Array:
    """The AR companion matrix: first row ``coefs``, ones on the sub-diagonal.

    Args:
      coefs: f32[p].

    Returns:
      f32[p, p].
    """
    p = coefs.shape[-1]
    return jnp.eye(p, k=-1, dtype=jnp.float32).at[0].set(coefs)


def companion_spectral_radius(coefs) -> jax.Array:
    """max |eigenvalue| of the companion matrix = max |root| of ``z^p - a_1 z^(p-1) - .. - a_p``.

    Below 1: the rollout settles to ``intercept / (1 - sum(coefs))``; 1: a sustained oscillation
    (a noiseless sine's AR(2) has roots ``exp(+-i omega)``). Trailing zero coefficients add zero
    roots only. ``jnp.linalg.eigvals`` runs on the host CPU on GPU backends (no TPU kernel).

    Args:
      coefs: f32[p] (an ``ARFit.coefs``).

    Returns:
      f32[].
    """
    return _spectral_radius(jnp.asarray(coefs, jnp.float32))


def spectral_radius_host(coefs) -> float:
    """``companion_spectral_radius`` on the host in float64 (numpy; no compile), for one fit's
    report: max |root| of ``z^p - a_1 z^(p-1) - .. - a_p`` (0 for order 0). Tested equal to the
    JAX one (``tests/test_linear.py``).

    Args:
      coefs: f[p].

    Returns:
      The spectral radius.
    """
    coefs = np.asarray(coefs, np.float64)
    if coefs.size == 0:
        return 0.0
    return float(np.max(np.abs(np.roots(np.concatenate([[1.0], -coefs])))))


@jax.jit
def _spectral_radius(coefs: jax.Array) -> jax.Array:
    return jnp.max(jnp.abs(jnp.linalg.eigvals(companion_matrix(coefs)))).astype(jnp.float32)
