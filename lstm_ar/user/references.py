"""Forecasts without an LSTM, judged on the same truth, and what the data alone says about collapse.

All in model units (the series standardised with the training part's mean and std):

* ``persistence``: the last training value, repeated; ``mean``: the training mean (0);
* ``seasonal_naive`` (with a season s): the last s training values, repeated;
* ``ar_aic``: least-squares AR(p) with intercept, p chosen by AIC among 0..``max_ar_order``
  on the common sample, then refitted on its own (statsmodels' ``ar_select_order(x, max_order,
  trend="c")``, as ``lstm_ar.linear.select_order`` does), rolled out freely from the end of the
  training part. One series needs no compiled program: this runs on the host in float64 numpy
  (compiling the JAX version costs seconds per series length).

Beside them, two numbers that explain a collapse before any LSTM is trained:

* ``one_lag_slope``: the least-squares slope of x_{t+1} on x_t (AR(1), as ``lstm_ar.linear.fit_ar(x, 1)``).
  Below 1 in size, the best one-lag linear map is a contraction and its rollout settles on the
  mean; with a noisy lag, least squares shrinks the slope by the signal's share of the variance
  (regression dilution, ``lstm_ar.linear.shrinkage``).
* ``explained``: the share of the held-out values' variance around the training mean that the
  AIC-chosen AR(p) explains one step ahead, ``1 - MSE(AR one step) / MSE(training mean)`` on the
  held-out values (``one_step_explained``; out of sample, so an order AIC over-fits does not
  count). Near 0 (or below) the past says nothing about the next value (white noise): a flat
  forecast at the mean is the best one can do.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.linear.ar import spectral_radius_host

MAX_AR_ORDER = 40  # largest AR order AIC compares (AR(p) tracks the noisy sine from p of about 25 upward)


class References(NamedTuple):
    """forecasts: name -> f32[steps] forecast; rmse: name -> its RMSE against the truth (model
    units); labels: name -> how a report calls it (``AR(7) by AIC``); ar_order: the AIC order;
    ar_radius: the AR companion matrix's spectral radius; one_lag_slope and explained: see the
    module docstring."""

    forecasts: dict[str, np.ndarray]
    rmse: dict[str, float]
    labels: dict[str, str]
    ar_order: int
    ar_radius: float
    one_lag_slope: float
    explained: float


def max_ar_order(n_train: int) -> int:
    """The largest AR order compared: ``MAX_AR_ORDER``, at most a fifth of the training values.

    Args:
        n_train: training values.

    Returns:
        An int >= 1.
    """
    return max(1, min(MAX_AR_ORDER, n_train // 5))


def seasonal_naive(train: np.ndarray, season: int, steps: int) -> np.ndarray:
    """The last ``season`` training values repeated for ``steps`` steps.

    Args:
        train: f[T] with T >= season.
        season: the season length (>= 1).
        steps: forecast length.

    Returns:
        f64[steps].
    """
    if season < 1 or season > train.shape[0]:
        raise ValueError(f"season must be in [1, {train.shape[0]}] (the training values), got {season}")
    last = np.asarray(train[-season:], np.float64)
    return np.resize(last, steps)


class ARHostFit(NamedTuple):
    """A least-squares AR(p) with intercept: ``intercept``, ``coefs`` f64[p] (``coefs[i]``
    multiplies x_{t-1-i}), ``sigma2`` (SSR / nobs), ``order`` p."""

    intercept: float
    coefs: np.ndarray
    sigma2: float
    order: int


def fit_ar_host(x: np.ndarray, order: int, hold_back: int | None = None) -> ARHostFit:
    """Least-squares AR(order) with intercept on the sample t >= hold_back (default: order), as
    statsmodels ``AutoReg(x, order, trend="c", hold_back=hold_back)``.

    Args:
        x: f[T] the series.
        order: p >= 0 (0: the intercept alone).
        hold_back: the first fitted index (>= order).

    Returns:
        ``ARHostFit``.
    """
    x = np.asarray(x, np.float64)
    start = order if hold_back is None else hold_back
    target = x[start:]
    design = np.column_stack([np.ones_like(target)] + [x[start - 1 - i:x.shape[0] - 1 - i] for i in range(order)])
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ beta
    return ARHostFit(intercept=float(beta[0]), coefs=beta[1:], sigma2=float(np.mean(np.square(resid))), order=order)


def select_ar_host(x: np.ndarray, max_order: int) -> ARHostFit:
    """The AR order in 0..max_order with the smallest AIC on the common sample t >= max_order
    (k = p + 2 parameters, statsmodels' ``AutoRegResults.aic``), refitted on its own sample.

    Args:
        x: f[T] the series, T > 2 max_order.
        max_order: the largest order compared.

    Returns:
        ``ARHostFit`` of the chosen order.
    """
    nobs = np.asarray(x).shape[0] - max_order
    aic = [nobs * (np.log(2 * np.pi) + np.log(fit_ar_host(x, p, max_order).sigma2) + 1) + 2 * (p + 2)
           for p in range(max_order + 1)]
    return fit_ar_host(x, int(np.argmin(aic)))


def ar_rollout_host(fit: ARHostFit, context: np.ndarray, steps: int) -> np.ndarray:
    """Free-running forecast of an AR fit from the end of ``context`` (each prediction becomes the newest lag).

    Args:
        fit: the AR fit.
        context: f[T] with T >= fit.order.
        steps: predictions.

    Returns:
        f64[steps].
    """
    history = list(np.asarray(context, np.float64)[len(context) - fit.order:][::-1]) if fit.order else []
    out = np.empty(steps)
    for t in range(steps):
        out[t] = fit.intercept + float(np.dot(fit.coefs, history))
        history = [out[t], *history[:-1]] if fit.order else []
    return out


def one_step_explained(fit: ARHostFit, train: np.ndarray, heldout: np.ndarray) -> float:
    """``1 - MSE(AR one step) / MSE(training mean)`` on the held-out values (lags read across the
    boundary from the training part), at least 0.

    Args:
        fit: the AR fit (on ``train``).
        train: f[T] the training part.
        heldout: f[L] the values after it.

    Returns:
        The share explained, in [0, 1].
    """
    history = np.concatenate([np.asarray(train, np.float64), np.asarray(heldout, np.float64)])
    start = len(train)
    targets = history[start:]
    predictions = np.full(targets.shape, fit.intercept)
    for i, a in enumerate(fit.coefs):
        predictions = predictions + a * history[start - 1 - i:len(history) - 1 - i]
    flat = np.mean(np.square(targets - np.mean(train)))
    return float(max(0.0, 1.0 - np.mean(np.square(targets - predictions)) / flat))


def compute_references(train: np.ndarray, truth: np.ndarray, *, season: int | None = None) -> References:
    """Every reference forecast from the end of ``train``, judged against ``truth``.

    Args:
        train: f[T] the training part, standardised.
        truth: f[steps] the held-out values right after it, standardised.
        season: the season length for the seasonal naive forecast (None: none).

    Returns:
        ``References``.
    """
    train = np.asarray(train, np.float64)
    truth = np.asarray(truth, np.float64)
    steps = truth.shape[0]
    forecasts = {"persistence": np.full(steps, float(train[-1])), "mean": np.full(steps, float(np.mean(train)))}
    labels = {"persistence": "persistence (the last value)", "mean": "the training mean (flat)"}
    if season is not None:
        forecasts["seasonal_naive"] = seasonal_naive(train, season, steps)
        labels["seasonal_naive"] = f"seasonal naive (season {season})"
    fit = select_ar_host(train, max_ar_order(train.shape[0]))
    forecasts["ar_aic"] = ar_rollout_host(fit, train, steps)
    labels["ar_aic"] = f"AR({fit.order}) by AIC"
    rmse = {name: float(np.sqrt(np.mean(np.square(f - truth)))) for name, f in forecasts.items()}
    return References(forecasts=forecasts, rmse=rmse, labels=labels, ar_order=fit.order,
                      ar_radius=spectral_radius_host(fit.coefs), one_lag_slope=float(fit_ar_host(train, 1).coefs[0]),
                      explained=one_step_explained(fit, train, truth))


def best_reference(rmse: dict[str, float]) -> str:
    """The reference with the smallest RMSE (the first listed on a tie).

    Args:
        rmse: name -> RMSE.

    Returns:
        Its name.
    """
    return min(rmse, key=lambda name: rmse[name])
