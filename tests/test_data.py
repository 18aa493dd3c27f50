import numpy as np
import pytest

from lstm_ar.data import linspace_identity, noisy_sine, windows


def test_noisy_sine_is_the_seed_series():
    np.random.seed(42)  # the article's exact construction
    raw = np.sin(np.linspace(0, 10 * np.pi, 1000)) + 0.1 * np.random.randn(1000)
    want = (raw - raw.mean()) / raw.std()
    series = noisy_sine()
    np.testing.assert_allclose(series.values, want, rtol=1e-5, atol=1e-6)
    assert abs(series.values.mean()) < 1e-5 and abs(series.values.std() - 1) < 1e-5
    # clean is the noiseless sine on the same scale
    np.testing.assert_allclose(series.clean * series.std + series.mean, np.sin(np.linspace(0, 10 * np.pi, 1000)), atol=1e-5)


def test_windows_pairs_x_then_next_value():
    data = windows(np.arange(6.0), 2)
    assert data.x.shape == (4, 2, 1) and data.y.shape == (4, 1)
    np.testing.assert_array_equal(data.x[1, :, 0], [1, 2])
    np.testing.assert_array_equal(data.y[:, 0], [2, 3, 4, 5])
    seed = windows(noisy_sine().values, 1)  # x[:-1] -> x[1:]: 999 examples, not the crash
    assert seed.n == 999


def test_windows_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        windows(np.ones((3, 2)), 1)
    with pytest.raises(ValueError, match="window"):
        windows(np.ones(3), 3)


def test_linspace_identity():
    data = linspace_identity()
    assert data.n == 100
    np.testing.assert_array_equal(data.x[:, 0, 0], data.y[:, 0])
    assert data.x.min() == np.float32(0.4) and data.x.max() == np.float32(0.6)
