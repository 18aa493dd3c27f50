"""The one train/test split: the first values train, the rest are held out, both standardised with the
training part's mean and std only (``lstm_ar.data.series.standardisation``)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.data.series import check_series, standardisation

TRAIN_FRACTION = 0.8


class SplitSeries(NamedTuple):
    """train: f32[n_train], test: f32[n_test], standardised with the training part's mean, std."""

    train: np.ndarray
    test: np.ndarray
    mean: float
    std: float


def train_length(length: int, test_fraction: float) -> int:
    """``length - round(test_fraction * length)``: the values that train."""
    return length - int(round(test_fraction * length))


def split_standardise(values, train_fraction: float = TRAIN_FRACTION, *, n_train: int | None = None,
                      name: str = "the training part") -> SplitSeries:
    """The first ``n_train`` (default ``round(train_fraction * T)``) of ``values`` f[T] train; both parts as
    ``(x - mean) / std`` in float32 (statistics in float64). ValueError when either part has fewer than 2
    values or the training part (``name`` in the message) is constant."""
    values = np.asarray(check_series(values, name="values", min_length=4, what="2 to train and 2 to test"),
                        np.float64)
    if n_train is None:
        if not 0.0 < train_fraction < 1.0:
            raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
        n_train = int(round(train_fraction * values.shape[0]))
    if not 2 <= n_train <= values.shape[0] - 2:
        raise ValueError(f"{n_train} of {values.shape[0]} values to train (train_fraction {train_fraction}) leaves "
                         f"{values.shape[0] - n_train} to test; each part needs at least 2")
    train, test = values[:n_train], values[n_train:]
    mean, std = standardisation(train, name=name)
    return SplitSeries(train=((train - mean) / std).astype(np.float32),
                       test=((test - mean) / std).astype(np.float32), mean=mean, std=std)
