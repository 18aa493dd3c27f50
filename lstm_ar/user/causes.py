"""Why a variant's rollout collapses: five causes, each a rule on what the study already measures.

``collapse_causes(data, variant, window_one=...)`` names, in this order, those that hold for a collapsed variant:

* ``regression_dilution`` (the window-1 map the verdict explains, ``window_one``): the data's one-lag
  least-squares slope is below 1 in size, so the best one-lag map is itself a contraction
  (``lstm_ar.linear.shrinkage``; docs/findings.md has the closed form);
* ``leaves_range``: at least ``OUTSIDE_SHARE`` of the held-out values lie outside the training part's range,
  where a model fed back its own forecasts has never been;
* ``level_shift``: the held-out mean, or the training part's second half, sits ``LEVEL`` training stds or more
  from the training mean (from the first half);
* ``contracting_map``: the spectral radius of the rollout map's Jacobian where the rollout ended (``rho_end``;
  a 1-D map's |f'|) is below ``CONTRACTING``; named when regression dilution, which explains a contraction,
  is not;
* ``under_training``: the training loss of the collapsed seeds still fell by ``FALLING`` or more over the last
  quarter of the epochs (``loss_fall``).

The data's measures come from ``series_shift`` (the raw training and held-out values), the variant's from
``lstm_ar.user.verdict.measure_variant``; a measure that is None (not measured: a stateful rollout has no
``rho_end``) names nothing. Every text is in the user's units and has no final full stop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:  # verdict.py imports this module
    from lstm_ar.user.verdict import DataMeasures, VariantMeasures

# For exchangeable values a held-out value falls outside the range of n training values with probability
# 2 / (n + 1): under 2% from n = 100 on. A tenth of the held-out values outside is far beyond chance.
OUTSIDE_SHARE = 0.10
# A periodic series fakes level shifts up to about 1 std: half a period of a sine has a mean 0.90 stds from the
# whole's, of a square wave 1.0. Beyond both, 1.5 stds also make the flat forecast at the old level
# sqrt(1 + 1.5^2) = 1.8 times worse than at the new one.
LEVEL = 1.5
# A fixed point whose Jacobian has spectral radius below 1 attracts every window near it (linear stability).
CONTRACTING = 1.0
# Committed cure_8x4 (per seed and draw, epoch_loss): over their last quarter of epochs the converged one-step
# runs (plain_w50, plain_w20, 100 epochs) fell by a median 0.3% (90th percentile 4.5%); the same runs stopped at
# 5 epochs by 17% and 23%, the direct head stopped at 20 epochs (which beat AR at 100, not at 20) by 10.6%.
FALLING = 0.08

CAUSES = {
    "regression_dilution": "regression dilution (a window-1 map, the data's one-lag slope below 1)",
    "leaves_range": "held-out values outside the training range",
    "level_shift": "a level shift",
    "contracting_map": "a contracting rollout map",
    "under_training": "a training loss still falling",
}


class Cause(NamedTuple):
    """One cause that holds: ``name`` (a key of ``CAUSES``) and the clause that states it with its numbers."""

    name: str
    text: str


class SeriesShift(NamedTuple):
    """Where the held-out values sit against the training part (``series_shift``). low, high: the training
    part's range (user's units); below, above: shares of the held-out values outside it; beyond: the farthest
    one's distance outside it (training stds, 0 inside); heldout_shift: (held-out mean - training mean) /
    training std; inside_shift: (second half's mean - first half's) / training std, over the training part."""

    low: float
    high: float
    below: float
    above: float
    beyond: float
    heldout_shift: float
    inside_shift: float

    @property
    def outside(self) -> float:
        return self.below + self.above


def series_shift(train: np.ndarray, heldout: np.ndarray) -> SeriesShift:
    """``SeriesShift`` of train: f[n] (n >= 2, not constant) and heldout: f[m] (m >= 1), both finite."""
    train, heldout = np.asarray(train, np.float64), np.asarray(heldout, np.float64)
    if train.ndim != 1 or heldout.ndim != 1 or train.size < 2 or heldout.size < 1:
        raise ValueError(f"series_shift needs train f[n >= 2] and heldout f[m >= 1], got shapes {train.shape} and "
                         f"{heldout.shape}")
    std = float(train.std())
    if not (np.isfinite(std) and std > 0) or not np.isfinite(heldout).all():
        raise ValueError("series_shift needs a finite, non-constant training part and finite held-out values")
    low, high = float(train.min()), float(train.max())
    half = train.size // 2
    beyond = np.maximum(np.maximum(low - heldout, heldout - high), 0.0)
    return SeriesShift(low=low, high=high, below=float(np.mean(heldout < low)), above=float(np.mean(heldout > high)),
                       beyond=float(beyond.max()) / std, heldout_shift=float(heldout.mean() - train.mean()) / std,
                       inside_shift=float(train[half:].mean() - train[:half].mean()) / std)


def last_quarter(epochs: int) -> int:
    """Epochs ``loss_fall`` looks back over: a quarter of them, at least 1."""
    return max(1, epochs // 4)


def loss_fall(epoch_loss: np.ndarray) -> np.ndarray:
    """f[S]: per seed, how much the training loss fell over the last ``last_quarter(E)`` epochs, relative to
    where it stood: (L[E-1-k] - L[E-1]) / L[E-1-k]. epoch_loss: f[S, E]; nan with one epoch or a non-finite or
    zero loss."""
    loss = np.asarray(epoch_loss, np.float64)
    if loss.ndim != 2:
        raise ValueError(f"epoch_loss must be f[seeds, epochs], got shape {loss.shape}")
    if loss.shape[1] < 2:
        return np.full(loss.shape[0], np.nan)
    before, last = loss[:, -1 - last_quarter(loss.shape[1])], loss[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = (before - last) / before
    return np.where(np.isfinite(fall) & (before > 0), fall, np.nan)


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1e5 else f"{x:.3e}"


def _dilution(data: DataMeasures, v: VariantMeasures) -> str:
    text = (f"the least-squares one-lag slope of your data is {data.one_lag_slope:.3f}, below 1 in size, so even the "
            f"best one-lag linear map x -> c + {data.one_lag_slope:.3f} x is a contraction whose rollout settles on a "
            "single value. With a noisy lag, least squares shrinks the slope by the signal's share of the variance "
            "(regression dilution; for a sine of step w with signal variance s2 and noise variance n2, rho = cos(w) "
            "s2 / (s2 + n2))")
    if v.slope is not None:
        text += f"; the LSTM learned a map of the same kind (|f'| = {v.slope:.2f} at its settle value)"
    return text + (f". More lags average the noise out: AR({data.ar_order}) by AIC has companion spectral radius "
                   f"{data.ar_radius:.3f}")


def _where(settle: float, s: SeriesShift, std: float) -> str:
    if settle > s.high:
        return f"{(settle - s.high) / std:.2f} training stds above its maximum"
    if settle < s.low:
        return f"{(s.low - settle) / std:.2f} training stds below its minimum"
    return "inside it"


def _range(data: DataMeasures, v: VariantMeasures) -> str:
    s = data.shift
    return (f"{100 * s.outside:.0f}% of the held-out values lie outside the training part's range [{_num(s.low)}, "
            f"{_num(s.high)}] ({100 * s.below:.0f}% below, {100 * s.above:.0f}% above, up to {s.beyond:.2f} training "
            "stds beyond it), where a model fed back its own forecasts has never been: it settles at "
            f"{_num(v.settle[1])}, {_where(v.settle[1], s, data.std)}")


def _level(data: DataMeasures, v: VariantMeasures) -> str:
    s, parts = data.shift, []
    if abs(s.heldout_shift) >= LEVEL:
        parts.append(f"the held-out mean is {abs(s.heldout_shift):.2f} training stds "
                     f"{'above' if s.heldout_shift > 0 else 'below'} the training mean")
    if abs(s.inside_shift) >= LEVEL:
        parts.append(f"the training part's second half sits {abs(s.inside_shift):.2f} training stds "
                     f"{'above' if s.inside_shift > 0 else 'below'} its first")
    gap = (v.settle[1] - data.mean) / data.std - s.heldout_shift  # from the held-out mean, in training stds
    return ("the level shifts: " + " and ".join(parts) + f"; it settles at {_num(v.settle[1])}, {abs(gap):.2f} "
            f"training stds {'above' if gap > 0 else 'below'} the held-out mean")


def _contracting(radius: float, one_dim: bool) -> str:
    measure = ("|f'| of its learned map at the settle value" if one_dim
               else "the spectral radius of its window map's Jacobian at the rollout's last window")
    return (f"its rollout map contracts where the rollout settles: {measure} is {radius:.2f} (median over the "
            f"collapsed seeds), below {CONTRACTING:g}, so nearby windows are drawn together and the rollout forgets "
            "where it started")


def _training(v: VariantMeasures) -> str:
    return (f"its training loss was still falling: by {100 * v.loss_fall:.0f}% over the last "
            f"{last_quarter(v.epochs)} of its {v.epochs} epochs (median over the collapsed seeds; converged runs fall "
            f"by under 5%), so more epochs (--epochs, or the remedy epochs_x5) may change what it learns")


def collapse_causes(data: DataMeasures, v: VariantMeasures, *, window_one: bool = False) -> list[Cause]:
    """The causes (module docstring) that hold for ``v``, in order; [] when it does not collapse.
    ``window_one``: ``v`` is the window-1 map whose collapse regression dilution explains."""
    if not v.collapsed:
        return []
    causes = []
    diluted = window_one and abs(data.one_lag_slope) < 1
    if diluted:
        causes.append(Cause("regression_dilution", _dilution(data, v)))
    if data.shift is not None and data.shift.outside >= OUTSIDE_SHARE:
        causes.append(Cause("leaves_range", _range(data, v)))
    if data.shift is not None and max(abs(data.shift.heldout_shift), abs(data.shift.inside_shift)) >= LEVEL:
        causes.append(Cause("level_shift", _level(data, v)))
    radius = v.slope if v.slope is not None else v.radius  # a 1-D map's Jacobian is f'
    if radius is not None and radius < CONTRACTING and not diluted:
        causes.append(Cause("contracting_map", _contracting(radius, v.slope is not None)))
    if v.loss_fall is not None and v.loss_fall >= FALLING:
        causes.append(Cause("under_training", _training(v)))
    return causes


def measured(data: DataMeasures, v: VariantMeasures) -> bool:
    """Whether any cause beyond regression dilution could be judged for ``v`` (some measure is not None)."""
    return data.shift is not None or v.radius is not None or v.slope is not None or v.loss_fall is not None


def why_line(data: DataMeasures, v: VariantMeasures, *, window_one: bool = False) -> str | None:
    """"Why <variant> collapses: ..." with every cause that holds, each a sentence; when none holds but some
    were measured, a line that says so; None for a variant that does not collapse or has nothing measured."""
    causes = collapse_causes(data, v, window_one=window_one)
    if causes:
        texts = [causes[0].text] + [c.text[0].upper() + c.text[1:] for c in causes[1:]]
        return f"Why {v.words} collapses: " + ". ".join(texts) + "."
    if v.collapsed and measured(data, v):
        return (f"Why {v.words} collapses: none of the causes the verdict measures holds "
                f"({', '.join(CAUSES.values())}).")
    return None
