"""Least-squares AR(p) with an intercept, in closed form in JAX (float32, jit- and vmap-able), as statsmodels'
``AutoReg(x, p, trend="c", hold_back=hold_back)`` on ``t = hold_back .. T-1``.

One compiled program serves every order up to ``max_p``: of ``max_p`` lag columns (``X[t, i] = x_{t-1-i}``, zero
before the start), columns ``i >= p`` and rows ``t < hold_back`` are masked to zero, so both may be traced. The
centred system is solved by ``lstsq`` (SVD), dropping singular values below ``RCOND`` times the largest: a
rank-deficient design (masked columns; a noiseless sine's lags) gets the minimum-norm solution. Information criteria
are statsmodels' (k = p + 2; ``-2 llf = nobs (log(2 pi) + log(SSR / nobs) + 1)``). ``select_order`` compares orders on
the common sample ``t >= max_order``, as ``ar_select_order(x, maxlag, trend="c", glob=False)``, and refits the chosen
one on ``t >= p``. ``*_host``: float64 numpy twins for one series, tested equal to the JAX functions.
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
QR_BLOCK = 1 << 16  # rows per block of ``common_sample_r`` (41 lags: a 22 MB block; larger blocks were no faster)


class ARFit(NamedTuple):
    """A fitted AR(p) with intercept: ``coefs`` f32[max_p] (``coefs[i]`` multiplies ``x_{t-1-i}``; zero for
    ``i >= order``), ``sigma2`` SSR / nobs (statsmodels' ``sigma2``), ``nobs`` = T - hold_back."""

    intercept: jax.Array
    coefs: jax.Array
    sigma2: jax.Array
    order: jax.Array
    nobs: jax.Array


def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _as_python_int(value):
    """A concrete 0-d integer array as a Python int (``for p in jnp.arange(..)``); else unchanged for ``check_int``."""
    if isinstance(value, (jax.Array, np.ndarray)) and not _is_traced(value) and value.ndim == 0 \
            and np.dtype(value.dtype).kind in "iu":
        return int(value)
    return value


def check_series(series, name: str = "series"):
    """A 1-D real series as numpy f32 when concrete (a tracer: rank and dtype checked only); TypeError when not
    real, ValueError when not 1-D or not finite."""
    if (series.ndim if hasattr(series, "ndim") else np.ndim(series)) != 1:
        shape = series.shape if hasattr(series, "shape") else np.shape(series)
        raise ValueError(f"{name} must be 1-D f32[time], got shape {tuple(shape)} (vmap over a batch of series)")
    return real_float32(series, name)


def lag_matrix(series: jax.Array, max_p: int) -> jax.Array:
    """``X[t, i] = series[t-1-i]``, zero where ``t-1-i < 0``: f32[time, max_p]."""
    lag_index = jnp.arange(series.shape[0])[:, None] - 1 - jnp.arange(max_p)[None, :]
    return jnp.where(lag_index >= 0, series[jnp.clip(lag_index, 0)], jnp.zeros((), series.dtype))


@partial(jax.jit, static_argnames="max_p")
def fit_masked(series: jax.Array, order, hold_back, max_p: int) -> ARFit:
    """The least-squares AR fit without input checks: ``0 <= order <= max_p`` (0: the intercept alone) and
    ``order <= hold_back < time`` may be traced; ``coefs: f32[max_p]``."""
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
    """Least-squares AR(order >= 1) with intercept: ``AutoReg(x, order, trend="c")`` (sample t >= order), or
    with a static ``max_order`` ``hold_back=max_order`` (the common sample) and ``order`` may be traced:
    ``jax.vmap(lambda p: fit_ar(x, p, max_order=8))(jnp.arange(1, 9))`` compiles once. ``coefs: f32[max_order
    or order]``; TypeError / ValueError for a bad series or order, or a series too short for the sample."""
    series = check_series(series)
    max_p, hold_back = _check_order(order, max_order, series.shape[0], "hold-back")
    return fit_masked(series, order, hold_back, max_p)


def information_criteria(fit: ARFit) -> tuple[jax.Array, jax.Array]:
    """statsmodels' ``(aic, bic)`` (k = order + 2), elementwise over any batch axes of ``fit``."""
    n = fit.nobs.astype(jnp.float32)
    k = fit.order.astype(jnp.float32) + 2.0
    minus_2_llf = n * (jnp.log(2.0 * jnp.pi) + jnp.log(fit.sigma2) + 1.0)
    return minus_2_llf + 2.0 * k, minus_2_llf + jnp.log(n) * k


def select_order(series, max_order: int, criterion: str = "aic", *, min_order: int = 0, sample: str = "own") -> ARFit:
    """The fit of the order with the smallest AIC or BIC, as ``ar_select_order(x, max_order, ic=criterion,
    trend="c", glob=False)`` picks it (module docstring; one vmapped program); ``coefs: f32[max_order]``."""
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


def ar_rollout(fit: ARFit, context, steps: int) -> jax.Array:
    """Free-running forecast f32[steps] from the last ``max_p`` values of ``context`` (at least ``order``), each
    prediction the newest lag of the next: statsmodels' dynamic ``predict(start=len(x), end=len(x) + steps - 1)``."""
    steps = check_int(steps, "steps", 1)
    context = check_series(context, "context")
    if not _is_traced(fit.order) and np.ndim(fit.order) == 0 and context.shape[0] < int(fit.order):
        raise ValueError(f"context must hold at least order = {int(fit.order)} values, got {context.shape[0]}")
    return _rollout(fit, jnp.asarray(context), steps=steps)


@partial(jax.jit, static_argnames="steps")
def _rollout(fit: ARFit, context: jax.Array, steps: int) -> jax.Array:
    max_p = fit.coefs.shape[0]  # history: the last max_p values, most recent first, zero-padded
    history = jnp.concatenate([jnp.zeros((max_p,), jnp.float32), jnp.asarray(context, jnp.float32)])[-max_p:][::-1]

    def step(history, _):
        prediction = fit.intercept + fit.coefs @ history
        return jnp.concatenate([prediction[None], history[:-1]]), prediction

    return lax.scan(step, history, None, length=steps)[1]


def ar_one_step_mse(fit: ARFit, series, *, start: int | None = None) -> jax.Array:
    """f32[] mean over t = start .. time-1 of ``(series[t] - intercept - coefs @ lags_t)^2`` (in-sample or held
    out); ``start``: static, default ``max_p`` (every lag in the series)."""
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
    """The AR companion matrix f32[p, p]: first row ``coefs``, ones on the sub-diagonal."""
    return jnp.eye(coefs.shape[-1], k=-1, dtype=jnp.float32).at[0].set(coefs)


def companion_spectral_radius(coefs) -> jax.Array:
    """max |root| of ``z^p - a_1 z^(p-1) - .. - a_p``: below 1 the rollout settles to ``intercept / (1 -
    sum(coefs))``; 1: a sustained oscillation (a noiseless sine's AR(2)). Trailing zero coefficients add zero
    roots only. ``jnp.linalg.eigvals`` runs on the host CPU on GPU backends (no TPU kernel)."""
    return _spectral_radius(jnp.asarray(coefs, jnp.float32))


# Host twins: float64 numpy, one series, nothing to compile (``lstm-ar study`` / ``diagnose``: one series per
# run, where compiling the JAX fit costs seconds). ``ARFit`` of numpy values, ``coefs: f64[order]``.


def fit_ar_host(x, order: int, hold_back: int | None = None) -> ARFit:
    """``fit_ar`` on the host, sample t >= hold_back (default: order); order 0 is the intercept alone."""
    x, start = np.asarray(x, np.float64), order if hold_back is None else hold_back
    target = x[start:]
    design = np.column_stack([np.ones_like(target)] + [x[start - 1 - i:x.shape[0] - 1 - i] for i in range(order)])
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ beta
    return ARFit(intercept=float(beta[0]), coefs=beta[1:], sigma2=float(np.mean(np.square(resid))), order=order,
                 nobs=int(target.shape[0]))


def select_ar_host(x, max_order: int) -> ARFit:
    """``select_order(x, max_order, "aic")`` on the host (orders 0..max_order, compared on the common sample
    t >= max_order, the chosen one refitted on its own sample by ``fit_ar_host``).

    The design ``[1, x_{t-1} .. x_{t-max_order}, x_t]`` of the common sample is reduced once, block by block, to
    the triangular R of its QR (``common_sample_r``); each order's least squares is then solved on R's first
    columns (the same singular values, so the same ``lstsq`` cut-off), not on the series: one pass over the data
    instead of max_order + 1. Measured on the training 800,000 values of a 1,000,000-value AR(2) series (max_order
    40, the same order 3 chosen; 2 CPU cores shared with other jobs): a ``lstsq`` per order took 53 s, this 2.3 s
    with ``OPENBLAS_NUM_THREADS=1``; 78 s and 12-19 s with OpenBLAS's default threads. The orders and fits equal
    a fit per order and statsmodels' (tests/test_linear.py)."""
    x = np.asarray(x, np.float64)
    nobs = x.shape[0] - max_order
    r = common_sample_r(x, max_order)
    aic = [nobs * (np.log(2 * np.pi) + np.log(_ssr_of_prefix(r, p + 1, nobs) / nobs) + 1) + 2 * (p + 2)
           for p in range(max_order + 1)]
    return fit_ar_host(x, int(np.argmin(aic)))


def common_sample_r(x: np.ndarray, max_order: int) -> np.ndarray:
    """f64[max_order + 2, max_order + 2]: R of a QR of the rows ``[1, x_{t-1}, .., x_{t-max_order}, x_t]``, t >=
    max_order, reduced ``QR_BLOCK`` rows at a time (each block stacked under the last R: memory stays one block)."""
    windows = np.lib.stride_tricks.sliding_window_view(x, max_order + 1)  # row s: x_s .. x_{s+max_order}
    r = np.zeros((0, max_order + 2))
    for start in range(0, windows.shape[0], QR_BLOCK):
        w = windows[start:start + QR_BLOCK]
        block = np.column_stack([np.ones(w.shape[0]), w[:, -2::-1], w[:, -1]])
        r = np.linalg.qr(np.vstack([r, block]), mode="r")
    return r


def _ssr_of_prefix(r: np.ndarray, columns: int, nobs: int) -> float:
    """The residual sum of squares of the last column of the design regressed on its first ``columns``, from its
    R: ``lstsq`` with numpy's default cut-off for the full design (eps x max(nobs, columns))."""
    design, target = r[:, :columns], r[:, -1]
    beta = np.linalg.lstsq(design, target, rcond=np.finfo(np.float64).eps * max(nobs, columns))[0]
    resid = target - design @ beta
    return float(resid @ resid)


def ar_rollout_host(fit: ARFit, context, steps: int) -> np.ndarray:
    """``ar_rollout`` on the host: f64[steps] from the end of ``context`` (at least len(fit.coefs) values)."""
    p = len(fit.coefs)
    history = list(np.asarray(context, np.float64)[len(context) - p:][::-1]) if p else []
    out = np.empty(steps)
    for t in range(steps):
        out[t] = fit.intercept + float(np.dot(fit.coefs, history))
        history = [out[t], *history[:-1]] if p else []
    return out


def ar_window_map_host(fit: ARFit, window: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``ar_rollout_host`` as an affine map of the last ``window`` values (at least ``len(fit.coefs)``), each
    forecast a linear function of the window: (``coefs`` f64[window, steps], rows oldest first; ``intercept``
    f64[steps]) with ``ar_rollout_host(fit, context, steps) == context[-window:] @ coefs + intercept``."""
    lags = np.asarray(fit.coefs, np.float64)
    window, steps = check_int(window, "window", max(1, lags.shape[0])), check_int(steps, "steps", 1)
    weights = list(np.eye(window))  # each value known so far as (weights on the window, constant)
    constants = [0.0] * window
    for _ in range(steps):  # x_next = intercept + sum_i lags[i] * x_{newest - i}, as ar_rollout_host
        new_weights = sum((a * weights[-1 - i] for i, a in enumerate(lags)), np.zeros(window))
        new_constant = float(fit.intercept) + sum(a * constants[-1 - i] for i, a in enumerate(lags))
        weights.append(new_weights)
        constants.append(new_constant)
    return np.stack(weights[window:], axis=1), np.asarray(constants[window:])


def spectral_radius_host(coefs) -> float:
    """``companion_spectral_radius`` on the host in float64 (0 for order 0)."""
    coefs = np.asarray(coefs, np.float64)
    return 0.0 if coefs.size == 0 else float(np.max(np.abs(np.roots(np.concatenate([[1.0], -coefs])))))


@jax.jit
def _spectral_radius(coefs: jax.Array) -> jax.Array:
    return jnp.max(jnp.abs(jnp.linalg.eigvals(companion_matrix(coefs)))).astype(jnp.float32)
