import numpy as np
import pytest

from lstm_ar.data.real import load_series
from lstm_ar.data.split import split_standardise, train_length


def test_bundled_series_load_offline():
    sunspots = load_series("sunspots")
    assert sunspots.shape == (309,) and np.all(sunspots >= 0)
    co2 = load_series("co2")
    assert co2.ndim == 1 and co2.shape[0] > 500 and np.all(np.isfinite(co2))
    assert abs(np.mean(co2)) < 0.5  # differenced: the trend (~+0.1 ppm a month) is gone
    with pytest.raises(ValueError, match="unknown series"):
        load_series("gold")


def test_split_standardises_with_training_statistics_only():
    values = np.r_[np.arange(8.0), 100.0, 200.0]
    split = split_standardise(values, 0.8)
    assert split.train.shape == (8,) and split.test.shape == (2,)
    np.testing.assert_allclose(split.train.mean(), 0, atol=1e-6)
    np.testing.assert_allclose(split.train.std(), 1, rtol=1e-6)
    np.testing.assert_allclose(split.test, (np.asarray([100.0, 200.0]) - 3.5) / np.std(np.arange(8.0)), rtol=1e-6)
    same = split_standardise(values, n_train=8)  # a count instead of a fraction
    assert all(np.array_equal(a, b) for a, b in zip(same, split, strict=True))
    assert train_length(10, 0.2) == 8 and train_length(5, 0.5) == 3  # the last round(0.5 * 5) = 2 held out
    with pytest.raises(ValueError, match="each part needs at least 2"):
        split_standardise(values, n_train=9)
    with pytest.raises(ValueError):
        split_standardise(np.r_[1.0, np.nan, 2.0])
