"""The plain-language verdict of a study: every sentence is computed from the measurements.

``verdict`` writes, in order: what the data alone says; when a flat forecast is optimal, that collapsing to
the mean is not a failure; per variant its collapse, divergence and seeds beating the best reference; why each
collapsing variant collapses (``lstm_ar.user.causes``: regression dilution, leaving the training range, a level
shift, a contracting rollout map, under-training); the best variant, if any.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.study.claims import diverged_as_worst
from lstm_ar.user.causes import SeriesShift, loss_fall, why_line

FLAT_EXPLAINED = 0.05  # the past explains < 5% of the held-out values' variance one step ahead: nothing to forecast
FLAT_MARGIN = 0.02  # ... and no reference beats the flat forecast's RMSE by more than 2%
AT_MEAN = 0.25  # a settle value within 0.25 training stds of the mean is "the mean"
SPREAD = 0.25  # collapsed seeds whose settle values span more than 0.25 stds settle at different values


class DataMeasures(NamedTuple):
    """What the data alone says (user's units); ``judged``: how forecasts are judged, in words; references: label
    -> RMSE; the AIC order, its companion spectral radius and the share of the variance it explains one step ahead;
    shift: where the held-out values sit against the training part (None: not measured)."""

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
    shift: SeriesShift | None = None


class VariantMeasures(NamedTuple):
    """One variant over its seeds (user's units). n, collapsed, diverged, beats (RMSE below the best reference's):
    seed counts. Over the collapsed seeds (else None): settle (p10, p50, p90), steps (median), slope (median |f'|,
    window-1 maps), radius (median ``rho_end``, window-mode rollouts), loss_fall (median ``causes.loss_fall``) of
    ``epochs``. rmse: median as judged (diverged seeds worst); backtest_collapse: median share, or None."""

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
    radius: float | None = None
    loss_fall: float | None = None
    epochs: int | None = None


def measure_variant(name: str, words: str, metrics: dict[str, np.ndarray], *, judged: str, std: float,
                    best_rmse: float, epoch_loss: np.ndarray | None = None) -> VariantMeasures:
    """One variant's per-seed metrics -> ``VariantMeasures``; ``judged``: the RMSE metric (model units, times
    ``std`` to the user's), ``best_rmse``: the best reference's (user's units); ``epoch_loss``: f[seeds, epochs],
    the training loss per epoch (None: no ``loss_fall``)."""
    finite_median = lambda x: float(np.median(x[np.isfinite(x)])) if np.isfinite(x).any() else None
    collapsed = np.asarray(metrics["collapsed"]) > 0
    diverged = np.asarray(metrics["diverged"]) > 0
    rmse = diverged_as_worst(np.asarray(metrics[judged], np.float64) * std, True, diverged)
    settle = steps = slope = radius = fall = None
    epochs = None if epoch_loss is None else int(np.shape(epoch_loss)[-1])
    if collapsed.any():
        values = np.asarray(metrics["settle_value_raw"])[collapsed]
        settle = tuple(float(v) for v in np.percentile(values, [10, 50, 90]))
        steps = float(np.median(np.asarray(metrics["steps_to_collapse"])[collapsed]))
        if "abs_settle_slope" in metrics:
            slope = finite_median(np.asarray(metrics["abs_settle_slope"])[collapsed])
        if "rho_end" in metrics:
            radius = finite_median(np.asarray(metrics["rho_end"], np.float64)[collapsed])
        if epoch_loss is not None:
            fall = finite_median(loss_fall(np.asarray(epoch_loss).reshape(collapsed.size, -1))[collapsed])
    median = float(np.median(rmse))
    backtest = (finite_median(np.asarray(metrics["backtest_collapse_rate"], np.float64))
                if "backtest_collapse_rate" in metrics else None)
    return VariantMeasures(name=name, words=words, n=int(collapsed.size), collapsed=int(collapsed.sum()),
                           diverged=int(diverged.sum()), settle=settle, steps=steps, slope=slope,
                           beats=int(np.sum(rmse < best_rmse)), rmse=median if median < np.finfo(np.float64).max else None,
                           backtest_collapse=backtest, radius=radius, loss_fall=fall, epochs=epochs)


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:.3e}"


def flat_is_optimal(data: DataMeasures) -> bool:
    """Whether the flat forecast at the training mean is as good as it gets (point 2 of the module docstring)."""
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
    parts = [f"does not collapse on any of {v.n} seeds"]
    if v.collapsed:
        lo, mid, hi = v.settle
        spread = hi - lo > SPREAD * data.std
        at_mean = abs(mid - data.mean) <= AT_MEAN * data.std
        text = (f"collapses on {v.collapsed}/{v.n} seeds to "
                + (f"values from {_num(lo)} to {_num(hi)} (your units; median {_num(mid)}" if spread
                   else f"{_num(mid)} (your units") + ("; the training mean" if at_mean and not spread else "")
                + f") within a median of {v.steps:.0f} step{'' if v.steps == 1 else 's'} of its rollout from the end of "
                "the training part")
        if v.slope is not None:
            text += ("; its learned map has an attracting fixed point there" if v.slope < 1
                     else "; its learned map is not contracting there") + f" (|f'| = {v.slope:.2f})"
        parts = [text]
    if v.backtest_collapse is not None:
        parts.append(f"at the backtest origins a median of {100 * v.backtest_collapse:.0f}% of its rollouts collapse")
    if v.diverged:
        parts.append(f"diverges on {v.diverged}/{v.n}")
    parts.append(f"beats {data.best} on {v.beats}/{v.n} seeds"
                 + (f" (median RMSE {_num(v.rmse)} against {_num(data.references[data.best])})" if v.rmse is not None else ""))
    sentence = f"{v.words}: " + ", ".join(parts[:-1]) + ("; " if len(parts) > 1 else "") + parts[-1] + "."
    if flat and v.collapsed and abs(v.settle[1] - data.mean) <= AT_MEAN * data.std:
        sentence += " Collapsing to the mean is the flat forecast: here it is not a failure."
    return sentence


def verdict(data: DataMeasures, variants: Sequence[VariantMeasures], *, window_one: str | None = None) -> list[str]:
    """The verdict's sentences; ``window_one``: the window-1 map variant whose collapse regression dilution may
    explain, or None."""
    flat = flat_is_optimal(data)
    lines = [_data_sentence(data)]
    if flat:
        lines.append(f"The past of this series predicts almost none of its next value (AR({data.ar_order}) explains "
                     f"{100 * data.explained:.1f}% of the held-out variance) and no reference beats the flat forecast at the "
                     f"training mean by more than {100 * FLAT_MARGIN:.0f}%: a flat forecast is the best one can do here, "
                     "and an LSTM whose rollout collapses to the mean is not failing.")
    lines += [_variant_sentence(v, data, flat) for v in variants]
    if not flat:  # when flat is optimal a collapse to the mean needs no cause
        lines += [why for v in variants if (why := why_line(data, v, window_one=v.name == window_one))]
    if variants and not flat:
        top = max(variants, key=lambda v: (v.beats, -(v.rmse if v.rmse is not None else np.inf)))
        rmse = f" (median RMSE {_num(top.rmse)})." if top.rmse is not None else "."
        lines.append(f"Best: {top.words}, which beats {data.best} on {top.beats}/{top.n} seeds." if 2 * top.beats > top.n
                     else f"No variant beats {data.best} on most seeds; the closest is {top.words}, which beats it on "
                          f"{top.beats}/{top.n} seeds{rmse}")
    return lines
