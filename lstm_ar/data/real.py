"""Real series that ship inside a PyPI package (statsmodels), so nothing is downloaded at run time.

* ``sunspots``: yearly mean sunspot number, 1700-2008 (309 values; cycle of about 11 years).
* ``co2``: Mauna Loa CO2, weekly 1958-2001, averaged per month, gaps interpolated, then
  differenced month to month (526 values): the yearly cycle without the rising trend, which no
  model trained on the past could extrapolate (Example 1's lesson).
* ``elnino``: monthly sea surface temperature of the El Nino region, 1950-2010 (732 values; a
  yearly cycle with irregular El Nino and La Nina swings).

Install with ``pip install -e ".[real]"``. Each series is split in time: the first 80% trains,
the rest is the truth a rollout is judged against; both are standardised with the training
part's mean and std.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.data.series import check_series, standardisation

TRAIN_FRACTION = 0.8
SERIES = ("sunspots", "co2", "elnino")


class SplitSeries(NamedTuple):
    """train: f32[n_train], test: f32[n_test], standardised with the training part's mean, std."""

    train: np.ndarray
    test: np.ndarray
    mean: float
    std: float


def _statsmodels_datasets():
    try:
        from statsmodels import datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("real series need statsmodels: pip install -e \".[real]\"") from err
    return datasets


def load_series(name: str) -> np.ndarray:
    """The raw series (float64) by name: one of ``SERIES`` ('sunspots', 'co2', 'elnino')."""
    datasets = _statsmodels_datasets()
    if name == "sunspots":
        return datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)
    if name == "co2":
        weekly = datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate()
        return np.diff(monthly.to_numpy(np.float64))
    if name == "elnino":  # one row per year, one column per month
        table = datasets.elnino.load_pandas().data
        return table.drop(columns="YEAR").to_numpy(np.float64).reshape(-1)
    raise ValueError(f"unknown series {name!r}; valid: {', '.join(map(repr, SERIES))}")


def split_standardise(values: np.ndarray, train_fraction: float = TRAIN_FRACTION) -> SplitSeries:
    """Split in time and standardise both parts with the training part's statistics.

    Args:
      values: f[T], real, finite, 1-D (``check_series``).
      train_fraction: the share of values, from the start, that trains, in (0, 1).

    Returns:
      ``SplitSeries`` with train f32[n_train] (the nearest whole number to train_fraction T) and
      test f32[T - n_train], both
      ``(x - mean) / std`` with the training part's mean and std. A split that leaves either part
      with fewer than 2 values, or a constant training part, raises ValueError.
    """
    values = np.asarray(check_series(values, name="values", min_length=4, what="2 to train and 2 to test"),
                        np.float64)
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    n_train = int(round(train_fraction * values.shape[0]))
    if not 2 <= n_train <= values.shape[0] - 2:
        raise ValueError(f"train_fraction {train_fraction} of {values.shape[0]} values leaves {n_train} to train and "
                         f"{values.shape[0] - n_train} to test; each part needs at least 2")
    train, test = values[:n_train], values[n_train:]
    mean, std = standardisation(train, name="the training part")
    return SplitSeries(train=((train - mean) / std).astype(np.float32),
                       test=((test - mean) / std).astype(np.float32), mean=mean, std=std)
