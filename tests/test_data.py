import numpy as np
import pytest

from lstm_ar.data.series import (
    check_series,
    linspace_identity,
    noisy_sine,
    random_walk,
    rescale,
    sequences,
    sine_continuation,
    sine_regime,
    stacked_windows,
    standardisation,
    standardise_like,
    white_noise,
    windows,
)
from lstm_ar.data.split import split_standardise


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
    with pytest.raises(ValueError, match="step_std must be finite and > 0, got 0.0"):
        random_walk(10, step_std=0.0)
    with pytest.raises(TypeError, match="n_points must be an int >= 1, got 10.0 of type float"):
        random_walk(10.0)


def test_white_noise_statistics():
    noise = white_noise(20000, std=2.0, mean=3.0, seed=4)
    assert noise.shape == (20000,)
    assert abs(noise.mean() - 3.0) < 0.05 and abs(noise.std() - 2.0) < 0.05
    assert abs(np.corrcoef(noise[1:], noise[:-1])[0, 1]) < 0.03
    np.testing.assert_array_equal(noise, white_noise(20000, std=2.0, mean=3.0, seed=4))
    with pytest.raises(ValueError, match="n_points must be an int >= 1, got 0"):
        white_noise(0)
    with pytest.raises(ValueError, match="std must be finite and > 0, got inf"):
        white_noise(5, std=np.inf)


BAD_SERIES = [  # (values, error, message): each refused before anything is computed
    (np.r_[1.0, 2.0, np.nan, 4.0, np.inf, np.nan, 7.0], ValueError,
     r"3 non-finite values \(2 NaN, 1 inf\), the first at index 2"),
    (np.array([1.0, 2.0, -np.inf]), ValueError, r"1 non-finite values \(0 NaN, 1 inf\), the first at index 2"),
    (np.arange(6.0) + 1j, TypeError, "complex"),  # not silently truncated to the real part
    (np.ones((6, 1)), ValueError, r"must be 1-D .* got shape \(6, 1\); use .ravel\(\)"),
    (np.ones((2, 3)), ValueError, "must be 1-D"),
    (np.array([]), ValueError, "has 0 values"),
    (np.array(["1", "2", "3"]), TypeError, "real numbers"),
]


@pytest.mark.parametrize("values, error, message", BAD_SERIES)
def test_windows_and_sequences_refuse_bad_series(values, error, message):
    with pytest.raises(error, match=message):
        windows(values, 1)
    with pytest.raises(error, match=message):
        sequences(values, 1, 1)
    with pytest.raises(error, match=message):
        check_series(values)


def test_too_short_series_name_what_needs_the_values():
    with pytest.raises(ValueError, match="has 3 values; at least 4 are needed .*window 3"):
        windows(np.arange(3.0), 3)
    with pytest.raises(ValueError, match="has 5 values; at least 6 are needed .*window 2 and horizon 4"):
        sequences(np.arange(5.0), 2, 4)
    with pytest.raises(TypeError, match="window must be an int >= 1, got 2.5 of type float"):
        windows(np.arange(5.0), 2.5)
    with pytest.raises(ValueError, match="horizon must be an int >= 1, got 0"):
        sequences(np.arange(5.0), 1, 0)
    data = sequences(np.arange(6.0), 2, 4)  # exactly long enough: one example
    assert data.x[:, :, 0].tolist() == [[0.0, 1.0]] and data.y.tolist() == [[2.0, 3.0, 4.0, 5.0]]


def test_standardising_a_constant_series_is_refused():
    with pytest.raises(ValueError, match="constant .*every value is 2.5, std 0"):
        standardisation(np.full(10, 2.5))
    with pytest.raises(ValueError, match="constant"):
        split_standardise(np.r_[np.ones(8), 1.0, 5.0], 0.8)  # the training part is constant
    with pytest.raises(ValueError, match="constant"):
        noisy_sine(10, noise=0.0, amplitude=0.0)  # all zeros: dividing by std 0 gave NaN
    with pytest.raises(ValueError, match="1 non-finite"):
        split_standardise(np.r_[1.0, np.nan, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match="complex"):
        split_standardise(np.arange(10.0) * 1j)
    with pytest.raises(ValueError, match="each part needs at least 2"):
        split_standardise(np.arange(10.0), 0.95)
    values = np.array([1.0, 2.0, 4.0, 7.0])
    mean, std = standardisation(values)
    assert mean == 3.5 and std == pytest.approx(np.sqrt(((values - 3.5) ** 2).mean()))


# Constant up to float64 rounding: np.full(1000, 0.1).std() is 1.4e-17, not 0, and passed a
# `std > 0` test, so the standardised series was noise blown up to -1 or +-1.
NEAR_CONSTANT = [np.full(1000, 0.1), np.full(400, 1 / 3), np.r_[np.full(999, 0.1), np.nextafter(0.1, 1.0)]]


@pytest.mark.parametrize("values", NEAR_CONSTANT, ids=["0.1", "1/3", "0.1-and-next-float"])
def test_series_constant_up_to_rounding_are_refused(values):
    assert values.std() > 0  # what the old check looked at
    with pytest.raises(ValueError, match="constant"):
        standardisation(values)
    with pytest.raises(ValueError, match="constant"):
        split_standardise(values)
    with pytest.raises(ValueError, match="constant"):
        split_standardise(np.r_[values, np.arange(values.size / 4)])  # constant training part only


def test_small_but_real_variation_still_standardises():
    values = 1e-6 * white_noise(200, seed=3) + 0.1  # std 1e-6: far above rounding
    mean, std = standardisation(values)
    assert mean == float(values.mean()) and std == float(values.std())
    split = split_standardise(values)
    np.testing.assert_allclose(split.train.std(), 1.0, rtol=1e-5)
