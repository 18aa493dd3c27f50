"""A seed ensemble: the median of the seeds' forecasts as one forecaster, judged by the one judge.

Every seed of a backtested variant forecasts from every origin (``VariantResult.origin_forecasts``, f32[seeds, K, H]).
The ensemble's forecast at origin k, step h is the median over the seeds that stayed finite there (a diverged seed
drops out, it does not drag the median; where every seed diverged the ensemble diverged too). It is then judged as
one more rollout by ``lstm_ar.dynamics.judge.judge_origins``: the same RMSE, collapse and divergence rules as each
seed's (N-BEATS and the M4 winners ensemble many networks for the same reason: one seed's quirks average out).
"""

from __future__ import annotations

import numpy as np

from lstm_ar.dynamics.judge import judge_origins


def median_forecast(origin_forecasts: np.ndarray) -> np.ndarray:
    """f32[K, H]: the median over seeds of f[seeds, K, H], each element over the seeds finite there (NaN where none
    is, so the judge calls it diverged)."""
    f = np.asarray(origin_forecasts, np.float64)
    if f.ndim != 3 or f.shape[0] < 1:
        raise ValueError(f"origin_forecasts must be f[seeds >= 1, origins, horizon], got shape {f.shape}")
    finite = np.where(np.isfinite(f), f, np.nan)
    out = np.full(f.shape[1:], np.nan)
    some = np.any(np.isfinite(f), axis=0)
    out[some] = np.nanmedian(finite[:, some], axis=0)
    return out.astype(np.float32)


def judge_median(median: np.ndarray, truths: np.ndarray, scale: float, center: float = 0.0) -> dict:
    """An ensemble's forecast f[K, H] (``median_forecast``) judged: ``judge_origins``' names as host floats
    (``origin_rmse`` f64[K])."""
    judged = judge_origins(np.asarray(median, np.float32), np.asarray(truths, np.float32), scale, center)
    return {k: (np.asarray(v, np.float64) if k == "origin_rmse" else float(v)) for k, v in judged.items()}


def judge_ensemble(origin_forecasts: np.ndarray, truths: np.ndarray, scale: float, center: float = 0.0) -> dict:
    """The ensemble's backtest metrics from every seed's forecasts f[seeds, K, H] (``judge_median`` of their
    ``median_forecast``)."""
    return judge_median(median_forecast(origin_forecasts), truths, scale, center)
