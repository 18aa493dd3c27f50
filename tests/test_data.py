import numpy as np
import pytest

from lstm_ar.data.series import (
    linspace_identity,
    noisy_sine,
    random_walk,
    rescale,
    sine_continuation,
    sine_regime,
    stacked_windows,
    standardise_like,
    white_noise,
    windows,
)


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


def test_sine_regime_one_one_is_the_seed_series_unstandardised():
    regime = sine_regime(1.0, 1.0)
    np.testing.assert_allclose(regime.values, noisy_sine(standardise=False).values, rtol=0, atol=1e-6)
    assert regime.values.shape == regime.clean.shape == (1000,) and regime.values.dtype == np.float32
    assert (regime.mean, regime.std) == (0.0, 1.0)


def test_sine_regime_amplitude_and_frequency():
    t = np.linspace(0, 10 * np.pi, 1000)
    regime = sine_regime(2.0, 0.5, seed=3)
    np.testing.assert_allclose(regime.clean, 2.0 * np.sin(0.5 * t), atol=1e-6)
    noise = regime.values - regime.clean  # not scaled with the amplitude
    np.testing.assert_allclose(noise, 0.1 * np.random.RandomState(3).randn(1000), atol=1e-5)
    with pytest.raises(ValueError, match="amplitude"):
        sine_regime(0.0, 1.0)


def test_sine_continuation_continues_a_regime():
    reference = noisy_sine()
    regime = sine_regime(1.5, 1.5)
    cont = sine_continuation(reference, 990, 200, amplitude=1.5, frequency=1.5)
    # it starts on the regime's own last values, then continues on the same time step
    np.testing.assert_allclose(cont[:10], standardise_like(regime.clean[990:], reference), atol=1e-5)
    dt = 10 * np.pi / 999
    np.testing.assert_allclose(cont, standardise_like(1.5 * np.sin(1.5 * dt * np.arange(990, 1190)), reference),
                               atol=1e-5)
    # the default stays the seed's sine
    np.testing.assert_allclose(sine_continuation(reference, 0, 1000), reference.clean, atol=1e-5)


def test_rescale_is_affine_on_values_and_clean():
    base = sine_regime()
    big = rescale(base, 10.0, 50.0)
    np.testing.assert_allclose(big.values, 10 * base.values.astype(np.float64) + 50, rtol=1e-6)
    np.testing.assert_allclose(big.clean, 10 * base.clean.astype(np.float64) + 50, rtol=1e-6)
    # standardising removes the affine map: the seed's standardised series again
    z = (big.values - big.values.mean()) / big.values.std()
    np.testing.assert_allclose(z, noisy_sine().values, atol=1e-4)


def test_stacked_windows_never_straddle_two_series():
    a, b = np.arange(10.0), 100.0 + np.arange(6.0)
    data = stacked_windows([a, b], 3)
    assert data.x.shape == (7 + 3, 3, 1) and data.y.shape == (10, 1)
    for x, y in zip(data.x[:, :, 0], data.y[:, 0]):  # each example lies in one series, consecutive
        np.testing.assert_array_equal(np.append(x, y), x[0] + np.arange(4))
    np.testing.assert_array_equal(data.y[:, 0], np.concatenate([a[3:], b[3:]]))
    with pytest.raises(ValueError, match="at least one"):
        stacked_windows([], 1)
    with pytest.raises(ValueError, match="window"):
        stacked_windows([a, np.arange(3.0)], 3)  # a series too short for one window


def test_random_walk_increments_have_the_given_std():
    walk = random_walk(20000, step_std=0.5, seed=1)
    assert walk.shape == (20000,)
    steps = np.diff(walk, prepend=0.0)
    assert abs(steps.std() - 0.5) < 0.5 * 0.03 and abs(steps.mean()) < 0.02
    # independent increments: lag-1 autocorrelation near 0; the walk itself is strongly correlated
    assert abs(np.corrcoef(steps[1:], steps[:-1])[0, 1]) < 0.03
    np.testing.assert_array_equal(walk, random_walk(20000, step_std=0.5, seed=1))  # deterministic
    assert not np.array_equal(walk, random_walk(20000, step_std=0.5, seed=2))
    with pytest.raises(ValueError):
        random_walk(10, step_std=0.0)


def test_white_noise_statistics():
    noise = white_noise(20000, std=2.0, mean=3.0, seed=4)
    assert noise.shape == (20000,)
    assert abs(noise.mean() - 3.0) < 0.05 and abs(noise.std() - 2.0) < 0.05
    assert abs(np.corrcoef(noise[1:], noise[:-1])[0, 1]) < 0.03
    np.testing.assert_array_equal(noise, white_noise(20000, std=2.0, mean=3.0, seed=4))
    with pytest.raises(ValueError):
        white_noise(0)
