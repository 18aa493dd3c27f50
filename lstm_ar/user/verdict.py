"""The plain-language verdict of a study: every sentence is computed from the measurements.

``measure_data`` and ``measure_variant`` reduce a study's results to the numbers a verdict may
use (``DataMeasures``, ``VariantMeasures``); ``verdict`` writes the sentences:

1. the data: the best forecast without an LSTM (on the same truth), how much of the next value
   the past explains (AR(p) by AIC), and the least-squares one-lag slope;
2. when the past explains less than ``FLAT_EXPLAINED`` of the variance and no reference beats the
   flat forecast at the training mean by more than ``FLAT_MARGIN``: a flat forecast is the best
   one can do, and a rollout collapsing to the mean is not a failure;
3. per variant: on how many seeds it collapses, to what value (the user's units), within how many
   steps, diverges, and beats the best reference; for a window-1 model rolled out as a map,
   whether the map has an attracting fixed point where it settles (median |f'| over the
   collapsed seeds);
4. why a window-1 model collapses (when the data is not flat-optimal): the data's one-lag
   least-squares slope is itself below 1 in size (regression dilution), so the best one-lag
   linear map is a contraction too;
5. the best variant, or that none beats the best reference on most seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.study.claims import diverged_as_worst

FLAT_EXPLAINED = 0.05  # the past explains < 5% of the held-out values' variance one step ahead: nothing to forecast
FLAT_MARGIN = 0.02  # ... and no reference beats the flat forecast's RMSE by more than 2%
AT_MEAN = 0.25  # a settle value within 0.25 training stds of the mean is "the mean"
SPREAD = 0.25  # collapsed seeds whose settle values span more than 0.25 stds settle at different values


class DataMeasures(NamedTuple):
    """What the data alone says, in the user's units where it has units.

    n_train, n_heldout: values. mean, std: of the training part. judged: how the forecasts are
    judged, in words (one rollout from the end of the training part, or K backtest origins).
    references: label -> RMSE against the held-out values (as judged). best: the best
    reference's label. mean_label: the flat
    forecast's label. ar_order, ar_radius: the AIC-chosen AR order and its companion spectral
    radius. one_lag_slope: the least-squares slope of x_{t+1} on x_t. explained: the share of the
    variance AR(p) explains one step ahead.
    """

    n_train: int
    n_heldout: int
    judged: str
    mean: float
    std: float
    references: dict[str, float]
    best: str
    mean_label: str
    ar_order: int
    ar_radius: float
    one_lag_slope: float
    explained: float


class VariantMeasures(NamedTuple):
    """One variant over its seeds (settle values in the user's units).

    words: ``LSTM(32, tanh), window 1``. n, collapsed, diverged: seeds. settle: (10th, median,
    90th percentile) of the collapsed seeds' settle values, or None. steps: median steps to
    collapse of the collapsed seeds, or None. slope: median |f'| at the settle value over the
    collapsed seeds (window-1 maps), or None. beats: seeds whose RMSE (as judged) is below the
    best reference's. rmse: median RMSE as judged (user's units; diverged seeds count as worst).
    backtest_collapse: median over seeds of the share of backtest origins whose rollout
    collapsed, or None without a backtest.
    """

    name: str
    words: str
    n: int
    collapsed: int
    diverged: int
    settle: tuple[float, float, float] | None
    steps: float | None
    slope: float | None
    beats: int
    rmse: float | None
    backtest_collapse: float | None = None


def measure_variant(name: str, words: str, metrics: dict[str, np.ndarray], *, judged: str, std: float,
                    best_rmse: float) -> VariantMeasures:
    """Reduce one variant's per-seed metrics (``VariantResult.metrics``) to ``VariantMeasures``.

    Args:
        name: the variant. words: how the verdict calls it.
        metrics: name -> f[n_seeds], with ``collapsed``, ``diverged``, ``settle_value_raw``,
            ``steps_to_collapse``, ``judged`` and, for window-1 maps, ``abs_settle_slope``.
        judged: the RMSE metric the forecasts are judged by (model units): ``rollout_rmse`` or
            ``backtest_rmse``.
        std: the training part's std (model units -> the user's units).
        best_rmse: the best reference's RMSE (user's units).

    Returns:
        ``VariantMeasures``.
    """
    collapsed = np.asarray(metrics["collapsed"]) > 0
    diverged = np.asarray(metrics["diverged"]) > 0
    rmse = diverged_as_worst(np.asarray(metrics[judged], np.float64) * std, True, diverged)
    settle = steps = slope = None
    if collapsed.any():
        values = np.asarray(metrics["settle_value_raw"])[collapsed]
        settle = tuple(float(v) for v in np.percentile(values, [10, 50, 90]))
        steps = float(np.median(np.asarray(metrics["steps_to_collapse"])[collapsed]))
        if "abs_settle_slope" in metrics:
            slopes = np.asarray(metrics["abs_settle_slope"])[collapsed]
            slope = float(np.median(slopes[np.isfinite(slopes)])) if np.isfinite(slopes).any() else None
    median = float(np.median(rmse))
    backtest = None
    if "backtest_collapse_rate" in metrics:
        rates = np.asarray(metrics["backtest_collapse_rate"], np.float64)
        backtest = float(np.median(rates[np.isfinite(rates)])) if np.isfinite(rates).any() else None
    return VariantMeasures(name=name, words=words, n=int(collapsed.size), collapsed=int(collapsed.sum()),
                           diverged=int(diverged.sum()), settle=settle, steps=steps, slope=slope,
                           beats=int(np.sum(rmse < best_rmse)),
                           rmse=median if median < np.finfo(np.float64).max else None, backtest_collapse=backtest)


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:.3e}"


def flat_is_optimal(data: DataMeasures) -> bool:
    """Whether the flat forecast at the training mean is as good as it gets (see the module docstring).

    Args:
        data: the data's measures.

    Returns:
        True when AR(p) explains less than ``FLAT_EXPLAINED`` and no reference beats the mean's
        RMSE by more than ``FLAT_MARGIN``.
    """
    flat = data.references[data.mean_label]
    return data.explained < FLAT_EXPLAINED and min(data.references.values()) >= (1 - FLAT_MARGIN) * flat


def _data_sentence(data: DataMeasures) -> str:
    best = data.references[data.best]
    flat = ("" if data.best == data.mean_label
            else f"; the flat forecast at the training mean: {_num(data.references[data.mean_label])}")
    return (f"Your series: {data.n_train} values to train, {data.n_heldout} held out; forecasts are judged {data.judged}. "
            f"Without an LSTM, the best forecast is {data.best} (RMSE {_num(best)} in your units{flat}; the training "
            f"mean is {_num(data.mean)}). One step ahead on the held-out values, AR({data.ar_order}) by AIC explains "
            f"{100 * data.explained:.1f}% of their variance around the training mean; the least-squares one-lag slope "
            f"is {data.one_lag_slope:.3f}.")


def _variant_sentence(v: VariantMeasures, data: DataMeasures, flat: bool) -> str:
    parts = []
    if v.collapsed:
        lo, mid, hi = v.settle
        spread = hi - lo > SPREAD * data.std
        at_mean = abs(mid - data.mean) <= AT_MEAN * data.std
        text = (f"collapses on {v.collapsed}/{v.n} seeds to "
                + (f"values from {_num(lo)} to {_num(hi)} (your units; median {_num(mid)}" if spread
                   else f"{_num(mid)} (your units") + ("; the training mean" if at_mean and not spread else "")
                + f") within a median of {v.steps:.0f} "
                f"step{'' if v.steps == 1 else 's'} of its rollout from the end of the training part")
        if v.slope is not None:
            text += ("; its learned map has an attracting fixed point there" if v.slope < 1
                     else "; its learned map is not contracting there") + f" (|f'| = {v.slope:.2f})"
        parts.append(text)
    else:
        parts.append(f"does not collapse on any of {v.n} seeds")
    if v.backtest_collapse is not None:
        parts.append(f"at the backtest origins a median of {100 * v.backtest_collapse:.0f}% of its rollouts collapse")
    if v.diverged:
        parts.append(f"diverges on {v.diverged}/{v.n}")
    parts.append(f"beats {data.best} on {v.beats}/{v.n} seeds"
                 + (f" (median RMSE {_num(v.rmse)} against {_num(data.references[data.best])})" if v.rmse is not None
                    else ""))
    sentence = f"{v.words}: " + ", ".join(parts[:-1]) + ("; " if len(parts) > 1 else "") + parts[-1] + "."
    if flat and v.collapsed and abs(v.settle[1] - data.mean) <= AT_MEAN * data.std:
        sentence += " Collapsing to the mean is the flat forecast: here it is not a failure."
    return sentence


def _why_sentence(data: DataMeasures, window_one: VariantMeasures) -> str | None:
    if not window_one.collapsed or abs(data.one_lag_slope) >= 1:
        return None
    text = (f"Why {window_one.words} collapses: the least-squares one-lag slope of your data is "
            f"{data.one_lag_slope:.3f}, below 1 in size, so even the best one-lag linear map x -> c + "
            f"{data.one_lag_slope:.3f} x is a contraction whose rollout settles on a single value. With a noisy lag, "
            "least squares shrinks the slope by the signal's share of the variance (regression dilution; for a sine "
            "of step w with signal variance s2 and noise variance n2, rho = cos(w) s2 / (s2 + n2))")
    if window_one.slope is not None:
        text += f"; the LSTM learned a map of the same kind (|f'| = {window_one.slope:.2f} at its settle value)"
    text += (f". More lags average the noise out: AR({data.ar_order}) by AIC has companion spectral radius "
             f"{data.ar_radius:.3f}.")
    return text


def verdict(data: DataMeasures, variants: Sequence[VariantMeasures], *, window_one: str | None = None) -> list[str]:
    """The verdict's sentences (see the module docstring).

    Args:
        data: the data's measures.
        variants: each variant's measures, in the report's order.
        window_one: the name of the variant whose collapse the "why" sentence explains (a window-1
            model rolled out as a map), or None.

    Returns:
        The sentences, in order.
    """
    flat = flat_is_optimal(data)
    lines = [_data_sentence(data)]
    if flat:
        lines.append(f"The past of this series predicts almost none of its next value (AR({data.ar_order}) explains "
                     f"{100 * data.explained:.1f}% of the held-out variance) and no reference beats the flat forecast at the "
                     f"training mean by more than {100 * FLAT_MARGIN:.0f}%: a flat forecast is the best one can do here, "
                     "and an LSTM whose rollout collapses to the mean is not failing.")
    lines += [_variant_sentence(v, data, flat) for v in variants]
    by_name = {v.name: v for v in variants}
    if window_one is not None and window_one in by_name and not flat:
        why = _why_sentence(data, by_name[window_one])
        if why:
            lines.append(why)
    if variants and not flat:
        top = max(variants, key=lambda v: (v.beats, -(v.rmse if v.rmse is not None else np.inf)))
        if 2 * top.beats > top.n:
            lines.append(f"Best: {top.words}, which beats {data.best} on {top.beats}/{top.n} seeds.")
        else:
            lines.append(f"No variant beats {data.best} on most seeds; the closest is {top.words}, which beats it on "
                         f"{top.beats}/{top.n} seeds" + (f" (median RMSE {_num(top.rmse)})." if top.rmse is not None else "."))
    return lines
