"""Linear references: least-squares AR(p) against statsmodels (AutoReg, ar_select_order, ARIMA),
the direct linear forecaster against numpy least squares, and the one-lag shrinkage formula
against least squares on sines with known noise."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from statsmodels.tsa.ar_model import AutoReg, ar_select_order
from statsmodels.tsa.arima.model import ARIMA

from lstm_ar.data.series import noisy_sine
from lstm_ar.linear import (
    ar_one_step_mse,
    ar_rollout,
    companion_spectral_radius,
    direct_forecast,
    direct_rollout,
    fit_ar,
    fit_direct,
    fixed_point_of_one_lag,
    information_criteria,
    one_lag_shrinkage,
    select_order,
    sine_step,
)

RTOL = 1e-4  # float32 closed form against statsmodels' float64, on well-conditioned data
LENGTH = 500  # one length for every shared series: the compiled programs are reused across tests
MAX_ORDER = 8


def ar2(n: int, seed: int) -> np.ndarray:
    """x_t = 0.5 + 0.6 x_{t-1} - 0.3 x_{t-2} + e_t (stationary), f32[n]."""
    e = np.random.default_rng(seed).normal(size=n + 100)
    x = np.zeros(n + 100)
    for t in range(2, n + 100):
        x[t] = 0.5 + 0.6 * x[t - 1] - 0.3 * x[t - 2] + e[t]
    return x[100:].astype(np.float32)


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 10 * np.pi, LENGTH)
    return {
        "ar2": ar2(LENGTH, 0),
        "sine": (np.sin(t) + 0.5 * rng.normal(size=t.size)).astype(np.float32),
        "white": rng.normal(size=LENGTH).astype(np.float32),
    }


@functools.cache
def selected_by_statsmodels(x_bytes: bytes, criterion: str):
    x = np.frombuffer(x_bytes, np.float32).astype(np.float64)
    return ar_select_order(x, MAX_ORDER, ic=criterion, trend="c", glob=False)


@pytest.fixture(scope="module")
def order_fits(series):
    """Orders 1..MAX_ORDER on the common sample of the noisy sine, one vmapped program."""
    return jax.jit(jax.vmap(lambda p: fit_ar(series["sine"], p, max_order=MAX_ORDER)))(jnp.arange(1, MAX_ORDER + 1))


def autoreg(x, p, **kw):
    return AutoReg(np.asarray(x, np.float64), p, trend="c", **kw).fit()


def assert_matches_autoreg(fit, result, p):
    np.testing.assert_allclose(float(fit.intercept), result.params[0], rtol=RTOL, atol=1e-5)
    np.testing.assert_allclose(np.asarray(fit.coefs[:p]), result.params[1:], rtol=RTOL, atol=1e-5)
    assert np.all(np.asarray(fit.coefs[p:]) == 0)
    np.testing.assert_allclose(float(fit.sigma2), result.sigma2, rtol=RTOL)
    assert int(fit.order) == p and int(fit.nobs) == result.nobs


@pytest.mark.parametrize("p", [1, 2, 5])
def test_fit_ar_matches_autoreg(series, p):
    x = series["ar2"]
    fit, result = fit_ar(x, p), autoreg(x, p)
    assert_matches_autoreg(fit, result, p)
    aic, bic = information_criteria(fit)
    np.testing.assert_allclose([float(aic), float(bic)], [result.aic, result.bic], rtol=1e-5)
    # the common sample t >= max_order is AutoReg's hold_back
    assert_matches_autoreg(fit_ar(x, p, max_order=MAX_ORDER), autoreg(x, p, hold_back=MAX_ORDER), p)
    # the in-sample one-step MSE on the fit's own sample is sigma2
    np.testing.assert_allclose(float(ar_one_step_mse(fit, x, start=p)), result.sigma2, rtol=RTOL)


@pytest.mark.parametrize("name", ["ar2", "sine", "white"])
@pytest.mark.parametrize("criterion", ["aic", "bic"])
def test_select_order_matches_ar_select_order(series, name, criterion):
    x, max_order = series[name], MAX_ORDER
    reference = selected_by_statsmodels(x.tobytes(), criterion)
    chosen = len(reference.ar_lags) if reference.ar_lags is not None else 0
    fit = select_order(x, max_order, criterion)
    assert int(fit.order) == chosen
    if chosen:  # statsmodels refits the chosen order on its own sample
        assert_matches_autoreg(fit, reference.model.fit(), chosen)
        common = select_order(x, max_order, criterion, sample="common")
        assert_matches_autoreg(common, autoreg(x, chosen, hold_back=max_order), chosen)
    else:
        np.testing.assert_allclose(float(fit.intercept), float(np.mean(x)), rtol=RTOL, atol=1e-6)


def test_select_order_sees_the_orders_statsmodels_sees(series, order_fits):
    """The criteria of every order on the common sample, not only the winner."""
    x = series["sine"]
    reference = selected_by_statsmodels(x.tobytes(), "aic")
    aic, bic = information_criteria(order_fits)
    # statsmodels' selection counts the intercept in df_model one less than AutoRegResults: +2 / +log(n)
    expected_aic = np.array([reference.aic[tuple(range(1, p + 1))] for p in range(1, 9)]) + 2
    expected_bic = np.array([reference.bic[tuple(range(1, p + 1))] for p in range(1, 9)]) + np.log(len(x) - 8)
    np.testing.assert_allclose(np.asarray(aic), expected_aic, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(bic), expected_bic, rtol=1e-5)


@pytest.mark.parametrize("name,p", [("ar2", 3), ("sine", 8)])
def test_rollout_matches_dynamic_forecast(series, name, p):
    x, steps = series[name], 40
    expected = autoreg(x, p).predict(start=len(x), end=len(x) + steps - 1)
    np.testing.assert_allclose(np.asarray(ar_rollout(fit_ar(x, p), x, steps)), expected, rtol=1e-4, atol=1e-4)


def test_rollout_settles_at_the_fixed_point(series):
    fit = fit_ar(series["ar2"], 1)
    path = np.asarray(ar_rollout(fit, series["ar2"], 400))
    np.testing.assert_allclose(path[-1], float(fixed_point_of_one_lag(fit)), rtol=1e-5)
    np.testing.assert_allclose(float(fixed_point_of_one_lag(fit)), float(fit.intercept) / (1 - float(fit.coefs[0])),
                               rtol=1e-6)


def test_arima_mle_agrees_loosely():
    """ARIMA(p, 0, 0) is the exact Gaussian MLE, not OLS: on a long AR(2) series the two agree to
    sampling precision only, so the tolerance is loose (0.05)."""
    x = ar2(4000, 3)
    result = ARIMA(np.asarray(x, np.float64), order=(2, 0, 0)).fit()
    names = list(result.model.param_names)
    expected = [result.params[names.index("ar.L1")], result.params[names.index("ar.L2")]]
    np.testing.assert_allclose(np.asarray(fit_ar(x, 2).coefs), expected, atol=0.05)
    np.testing.assert_allclose(np.asarray(fit_ar(x, 2).coefs), [0.6, -0.3], atol=0.05)


def test_vmap_over_orders_equals_single_fits(series, order_fits):
    for i, p in enumerate(jnp.arange(1, MAX_ORDER + 1)):  # a concrete jax int order is accepted
        single = fit_ar(series["sine"], p, max_order=MAX_ORDER)
        for got, want in zip(jax.tree.leaves(order_fits), jax.tree.leaves(single), strict=True):
            np.testing.assert_allclose(np.asarray(got[i]), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_vmap_over_series_equals_loop(series):
    stack = np.stack([series["sine"], series["white"], series["ar2"]])

    def one(s):
        fit = fit_ar(s, 3)
        return fit, select_order(s, MAX_ORDER, "bic"), ar_rollout(fit, s, 40)

    fits, chosen, paths = jax.jit(jax.vmap(one))(stack)
    for i, s in enumerate(stack):
        fit = fit_ar(s, 3)
        np.testing.assert_allclose(np.asarray(fits.coefs[i]), np.asarray(fit.coefs), rtol=1e-5, atol=1e-6)
        assert int(chosen.order[i]) == int(select_order(s, MAX_ORDER, "bic").order)
        np.testing.assert_allclose(np.asarray(paths[i]), np.asarray(ar_rollout(fit, s, 40)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call,error,match", [
    (lambda x: fit_ar(x, 0), ValueError, "order must be an int >= 1"),
    (lambda x: fit_ar(x, 2.0), TypeError, "order must be an int"),
    (lambda x: fit_ar(x, 9, max_order=MAX_ORDER), ValueError, "order must be <= max_order = 8"),
    (lambda x: fit_ar(x[:6], 4), ValueError, "too short"),
    (lambda x: fit_ar(np.where(np.arange(x.size) == 7, np.nan, x), 2), ValueError, "non-finite"),
    (lambda x: fit_ar(np.stack([x, x]), 2), ValueError, "must be 1-D"),
    (lambda x: jax.vmap(lambda p: fit_ar(x, p))(jnp.arange(1, 3)), TypeError, "traced order needs a static max_order"),
    (lambda x: select_order(x, 3, "hqic"), ValueError, "criterion must be one of"),
    (lambda x: select_order(x[:8], 4), ValueError, "too short"),
    (lambda x: ar_rollout(fit_ar(x, 3), x[:2], 5), ValueError, "at least order = 3"),
    (lambda x: ar_rollout(fit_ar(x, 3), x, 0), ValueError, "steps must be an int >= 1"),
    (lambda x: select_order(x, MAX_ORDER, "aic", sample="mixed"), ValueError, "sample must be one of"),
    (lambda x: fit_direct(x[:10], 4, 3), ValueError, "too short"),
    (lambda x: fit_direct(x, 6, 4, ridge=-1.0), ValueError, "ridge must be >= 0"),
    (lambda x: direct_forecast(fit_direct(x, 6, 4), x[:3]), ValueError, "at least window = 6"),
    (lambda x: one_lag_shrinkage(0.1, 0.5, -0.01), ValueError, "noise_var must be"),
])
def test_bad_input_is_refused(series, call, error, match):
    with pytest.raises(error, match=match):
        call(series["ar2"])


def test_companion_spectral_radius_matches_numpy_roots():
    rng = np.random.default_rng(2)
    for coefs in [rng.normal(scale=0.4, size=p) for p in (1, 3, 7)] + [np.array([0.9, 0.0, 0.0])]:
        roots = np.roots(np.concatenate([[1.0], -coefs]))
        np.testing.assert_allclose(float(companion_spectral_radius(coefs.astype(np.float32))), np.abs(roots).max(),
                                   rtol=1e-4)
    omega = 0.3  # a noiseless sine is AR(2) with roots exp(+-i omega): radius 1
    np.testing.assert_allclose(float(companion_spectral_radius(np.array([2 * np.cos(omega), -1.0], np.float32))), 1.0,
                               rtol=1e-5)


@pytest.fixture(scope="module")
def direct_data(series):
    x = series["sine"]
    window, horizon = 6, 4
    count = len(x) - window - horizon + 1
    inputs = np.stack([x[i:i + window] for i in range(count)]).astype(np.float64)
    targets = np.stack([x[i + window:i + window + horizon] for i in range(count)]).astype(np.float64)
    design = np.concatenate([inputs, np.ones((count, 1))], axis=1)
    return x, window, horizon, design, targets


def test_fit_direct_matches_numpy_lstsq(direct_data):
    x, window, horizon, design, targets = direct_data
    fit = fit_direct(x, window, horizon)
    assert fit.weights.shape == (window + 1, horizon)
    expected = np.linalg.lstsq(design, targets, rcond=None)[0]
    np.testing.assert_allclose(np.asarray(fit.weights), expected, rtol=1e-3, atol=1e-4)
    # ridge: the penalty on the window rows only, intercept free
    ridge = 5.0
    penalty = np.diag(np.r_[np.full(window, ridge), 0.0])
    expected = np.linalg.solve(design.T @ design + penalty, design.T @ targets)
    np.testing.assert_allclose(np.asarray(fit_direct(x, window, horizon, ridge=ridge).weights), expected,
                               rtol=1e-3, atol=1e-4)


def test_direct_forecast_and_rollout(direct_data):
    x, window, horizon, design, targets = direct_data
    fit = fit_direct(x, window, horizon)
    weights = np.asarray(fit.weights, np.float64)
    expected_block = x[-window:] @ weights[:-1] + weights[-1]
    np.testing.assert_allclose(np.asarray(direct_forecast(fit, x)), expected_block, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(direct_rollout(fit, x, 3)), expected_block[:3], rtol=1e-5, atol=1e-5)
    history, blocks = list(x.astype(np.float64)), []  # blocks fed back, the last one truncated
    for _ in range(3):
        block = np.array(history[-window:]) @ weights[:-1] + weights[-1]
        blocks.extend(block)
        history.extend(block)
    np.testing.assert_allclose(np.asarray(direct_rollout(fit, x, 10)), blocks[:10], rtol=1e-4, atol=1e-4)


def test_article_shrinkage_is_0_980():
    assert math.isclose(sine_step(), 10 * math.pi / 999)
    assert f"{float(one_lag_shrinkage(sine_step(), 0.5, 0.1**2)):.3f}" == "0.980"  # 0.97991
    # the article's series: the OLS slope, standardised or not, within 4 standard errors of it
    standardised, raw = noisy_sine(), noisy_sine(standardise=False)
    slopes = [float(fit_ar(s.values, 1).coefs[0]) for s in (standardised, raw)]
    np.testing.assert_allclose(slopes[0], slopes[1], rtol=1e-5)
    rho = 0.980
    assert abs(slopes[0] - rho) < 4 * math.sqrt((1 - rho**2) / 999)


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5])
def test_one_lag_slope_matches_the_formula(noise):
    """A sine of 50 samples a period (4,000 whole periods) plus noise: the OLS slope of one lag
    estimates rho with standard error about sqrt((1 - rho^2) / n) (2e-4 to 1.7e-3 here); the
    tolerance is four of them (1e-6 when there is no noise: then the slope is cos(omega), no
    shrinkage). At noise 0.1 and 0.5 the unshrunk cos(omega) lies outside it."""
    n, omega, amplitude = 200_000, 2 * math.pi / 50, 1.0
    rng = np.random.default_rng(int(noise * 10))
    t = np.arange(n)
    x = amplitude * np.sin(omega * t + rng.uniform(0, 2 * np.pi)) + noise * rng.normal(size=n)
    slope = float(fit_ar(x.astype(np.float32), 1).coefs[0])
    rho = float(one_lag_shrinkage(omega, amplitude**2 / 2, noise**2))
    tolerance = 4 * math.sqrt((1 - rho**2) / n) if noise else 1e-6
    assert abs(slope - rho) < tolerance
    if noise:
        assert abs(slope - math.cos(omega)) > tolerance
    else:
        assert rho == pytest.approx(math.cos(omega), rel=1e-6)


def test_the_host_spectral_radius_equals_the_jax_one():
    from lstm_ar.linear.ar import companion_spectral_radius, spectral_radius_host

    rng = np.random.default_rng(7)
    for p in (1, 2, 5, 13):
        coefs = rng.normal(0, 0.4, p).astype(np.float32)
        np.testing.assert_allclose(spectral_radius_host(coefs), float(companion_spectral_radius(coefs)), rtol=1e-5)
    omega = 0.3  # a noiseless sine's AR(2): roots exp(+-i omega), radius 1
    assert abs(spectral_radius_host([2 * np.cos(omega), -1.0]) - 1.0) < 1e-9
    assert spectral_radius_host([]) == 0.0


def test_the_ar_rollout_is_an_affine_map_of_the_window(rng):
    """ar_window_map_host gives ar_rollout_host's forecasts as one matrix product (so a Dense layer holds them);
    a window wider than the order weighs its older values by zero, a narrower one is refused."""
    from lstm_ar.linear.ar import ar_rollout_host, ar_window_map_host, fit_ar_host

    x = np.sin(np.arange(200) / 3.0) + 0.2 * rng.normal(size=200)
    fit = fit_ar_host(x, 3)
    coefs, intercept = ar_window_map_host(fit, 5, 7)
    assert coefs.shape == (5, 7) and intercept.shape == (7,) and not coefs[:2].any()
    for end in (50, 120, 200):
        np.testing.assert_allclose(x[end - 5:end] @ coefs + intercept, ar_rollout_host(fit, x[:end], 7), rtol=1e-12,
                                   atol=1e-12)
    with pytest.raises(ValueError, match="window"):
        ar_window_map_host(fit, 2, 7)


def test_the_host_twins_match_statsmodels_in_float64(rng):
    from lstm_ar.linear.ar import ar_rollout_host, select_ar_host

    e = rng.standard_normal(300)
    x = np.zeros(300)
    for t in range(2, 300):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + e[t]
    ours = select_ar_host(x, 8)
    theirs = ar_select_order(x, 8, trend="c", ic="aic", glob=False).model.fit()
    assert ours.order == len(theirs.params) - 1 and ours.nobs == theirs.nobs
    np.testing.assert_allclose([ours.intercept, *ours.coefs], theirs.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.sigma2, theirs.sigma2, rtol=1e-9)
    np.testing.assert_allclose(ar_rollout_host(ours, x, 20), theirs.predict(start=300, end=319), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["noisy sine", "noiseless sine", "random walk"])
def test_select_ar_host_reads_the_series_once_and_picks_what_a_fit_per_order_picks(rng, monkeypatch, kind):
    """The AIC of every order from one reduction of the common sample (``common_sample_r``), not one ``lstsq`` over
    the series per order (a 1,000,000-value series took minutes so): the same order and fit as fitting each order
    on the common sample, collinear lags (a noiseless sine) included."""
    from lstm_ar.linear.ar import fit_ar_host, select_ar_host

    t = np.arange(400)
    x = {"noisy sine": np.sin(0.2 * t) + 0.3 * rng.standard_normal(t.size), "noiseless sine": np.sin(0.3 * t),
         "random walk": np.cumsum(rng.standard_normal(t.size))}[kind]
    aic = [392 * (np.log(2 * np.pi) + np.log(fit_ar_host(x, p, 8).sigma2) + 1) + 2 * (p + 2) for p in range(9)]
    rows, lstsq = [], np.linalg.lstsq
    monkeypatch.setattr(np.linalg, "lstsq", lambda a, *args, **kw: rows.append(len(a)) or lstsq(a, *args, **kw))
    ours = select_ar_host(x, 8)
    assert sum(n > 10 for n in rows) == 1, rows  # the chosen order's refit on its own sample: the only pass
    want = fit_ar_host(x, int(np.argmin(aic)))
    assert ours.order == want.order and ours.nobs == want.nobs
    np.testing.assert_array_equal([ours.intercept, *ours.coefs, ours.sigma2], [want.intercept, *want.coefs, want.sigma2])


@pytest.mark.parametrize("name", ["ar2", "sine", "white"])
def test_the_host_twins_equal_the_jax_functions(series, name):
    """fit_ar_host, select_ar_host, ar_rollout_host (float64 numpy) against fit_ar, select_order(.., "aic"),
    ar_rollout (float32 JAX): the same orders, fits and rollouts to float32 rounding."""
    from lstm_ar.linear.ar import ar_rollout_host, fit_ar_host, select_ar_host

    x = series[name]
    pairs = [(fit_ar_host(x, p), fit_ar(x, p)) for p in (1, 5)] + [(select_ar_host(x, MAX_ORDER),
                                                                     select_order(x, MAX_ORDER, "aic"))]
    for host, fit in pairs:
        p = host.order
        assert p == int(fit.order) and host.nobs == int(fit.nobs)
        np.testing.assert_allclose([host.intercept, *host.coefs, host.sigma2],
                                   [float(fit.intercept), *np.asarray(fit.coefs[:p]), float(fit.sigma2)], rtol=RTOL,
                                   atol=1e-5)
        np.testing.assert_allclose(ar_rollout_host(host, x, 40), np.asarray(ar_rollout(fit, x, 40)), rtol=1e-4, atol=1e-4)
