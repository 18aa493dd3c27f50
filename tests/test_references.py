"""Linear references beside the LSTMs: statsmodels as the oracle, and the paired comparisons."""

import json

import numpy as np
import pytest

from lstm_ar.study import references
from lstm_ar.study.scenario import Scenario

STEPS = 60


@pytest.fixture(scope="module")
def small():
    """A short noisy sine, its scenario (no training needed) and its references."""
    rng = np.random.default_rng(5)
    t = np.arange(300)
    values = np.sin(2 * np.pi * t / 37) + 0.2 * rng.standard_normal(300)
    # the shapes of tests/test_backtest.py's scenario: one compiled reference program serves both
    sc = Scenario.from_series(values[:240], heldout=values[240:], name="small", windows=(1,), rollout_steps=STEPS,
                              backtest_origins=5)
    return sc, references.evaluate(sc)


def test_the_plan_keeps_what_the_series_can_fit():
    assert references.ar_orders(1000, 999) == (1, 2, 5, 10, 20, 30, 50)
    assert references.ar_orders(60, 60) == (1, 2, 5, 10, 20)  # AR(30) needs 62 values
    assert references.ar_orders(1000, 8) == (1, 2, 5)  # the context must start the rollout
    assert references.selection_max_order(240) == 24 and references.selection_max_order(5000) == 50
    assert references.direct_shape(1000, 200) == (50, 200)
    assert references.direct_shape(240, 200) == (24, 191)  # too short for 200: blocks of 191
    assert references.direct_shape(9, 50) is None


def test_ar_rollouts_equal_statsmodels(small):
    from statsmodels.tsa.ar_model import AutoReg, ar_select_order

    sc, refs = small
    x = sc.series.astype(np.float64)
    assert np.array_equal(sc.context, sc.series)  # from_series rolls out from the end of the training part
    for p in (1, 5, 20):
        expected = AutoReg(x, p, trend="c").fit().predict(start=len(x), end=len(x) + STEPS - 1, dynamic=True)
        np.testing.assert_allclose(refs.rollouts[f"ar_{p}"], expected, rtol=2e-4, atol=2e-4)
        assert refs.metrics[f"ar_{p}"]["order"] == p
    for criterion in ("aic", "bic"):
        chosen = ar_select_order(x, 24, ic=criterion, trend="c", glob=False)
        assert refs.metrics[f"ar_{criterion}"]["order"] == max(chosen.ar_lags or [0])
    np.testing.assert_array_equal(refs.rollouts["persistence"], np.full(STEPS, sc.series[-1]))
    np.testing.assert_allclose(refs.rollouts["mean"], np.full(STEPS, x.mean()), atol=1e-6)  # 0 up to rounding


def test_reference_metrics_are_the_rollout_metrics(small):
    sc, refs = small
    truth = sc.truth[:STEPS].astype(np.float64)
    for name, ys in refs.rollouts.items():
        m = refs.metrics[name]
        np.testing.assert_allclose(m["rollout_rmse"], np.sqrt(np.mean((ys - truth) ** 2)), rtol=1e-5)
        bad = np.abs(ys - truth) > 0.5 * sc.scale
        assert m["valid_horizon"] == (np.argmax(bad) if bad.any() else STEPS)
        np.testing.assert_allclose(m["max_abs_deviation"], np.max(np.abs(ys - sc.center)) / sc.scale, rtol=1e-5)
    # the existing no-model references agree with these
    np.testing.assert_allclose(refs.metrics["persistence"]["rollout_rmse"], sc.references["persistence_rmse"], rtol=1e-5)
    np.testing.assert_allclose(refs.metrics["mean"]["rollout_rmse"], sc.references["mean_rmse"], rtol=1e-4, atol=1e-6)
    ar = [n for n in refs.metrics if n[3:].isdigit()]
    assert refs.best_ar == min(ar, key=lambda n: refs.metrics[n]["rollout_rmse"])
    written = json.loads(json.dumps(references.summary(refs), allow_nan=False))
    assert written["best_ar"]["of"] == refs.best_ar and written["best_ar"]["chosen_on"] == "truth"
    assert set(written) == set(refs.metrics) | {"best_ar"}


def test_a_variant_that_always_beats_has_probability_one(small):
    _, refs = small
    best = refs.metrics[refs.best_ar]
    n = 16
    winner = {"rollout_rmse": np.full(n, best["rollout_rmse"] / 2), "valid_horizon": np.full(n, STEPS + 1.0),
              "diverged": np.zeros(n)}
    out = references.compare(winner, refs)
    assert set(out) == {"best_ar", "ar_aic", "persistence"}
    for ref in out:
        for metric, c in out[ref].items():
            assert c["prob_a_better"] == 1.0 and c["n"] == n, (ref, metric)
    # a diverged seed loses even with a small value; a tie counts 1/2
    loser = dict(winner, diverged=np.r_[np.ones(4), np.zeros(n - 4)],
                 valid_horizon=np.full(n, float(refs.metrics["persistence"]["valid_horizon"])))
    out = references.compare(loser, refs)
    assert out["best_ar"]["rollout_rmse"]["prob_a_better"] == 12 / 16
    assert out["persistence"]["valid_horizon"]["prob_a_better"] == (4 * 0 + 12 * 0.5) / 16


def test_one_series_white_noise_is_unpredictable_and_the_sine_is_not(rng):
    """``series_references`` (``lstm-ar study``): the share explained, the best reference, seasonal naive and the
    one-lag slope."""
    w = rng.standard_normal(600)
    r = references.series_references(w[:480], w[480:], season=7)
    assert r.explained < 0.05 and references.best_reference(r.rmse) in ("mean", "ar_aic", "ets", "theta")  # flat or nearly
    np.testing.assert_allclose(r.forecasts["seasonal_naive"][:14], np.tile(w[473:480], 2))
    assert list(r.labels) == ["persistence", "mean", "seasonal_naive", "ar_aic", "ets", "theta"]
    t = np.arange(600)
    s = np.sin(2 * np.pi * t / 50) + 0.1 * rng.standard_normal(600)
    r = references.series_references(s[:480], s[480:])
    assert r.explained > 0.9 and references.best_reference(r.rmse) == "ar_aic"
    assert r.labels["ar_aic"] == f"AR({r.ar_order}) by AIC" and "seasonal_naive" not in r.rmse
    np.testing.assert_allclose(r.one_lag_slope, np.polyfit(s[:479], s[1:480], 1)[0], rtol=1e-9)


def test_seasonal_naive_and_the_best_reference():
    batch = np.arange(12.0).reshape(2, 6)
    np.testing.assert_array_equal(references.seasonal_naive(batch, 4, 6), [[2, 3, 4, 5, 2, 3], [8, 9, 10, 11, 8, 9]])
    with pytest.raises(ValueError, match="season must be in"):
        references.seasonal_naive(batch, 7, 3)
    assert references.best_reference({"a": np.nan, "b": 2.0, "c": 1.0, "d": 1.0}) == "c"
    assert references.best_reference({"a": np.inf, "b": np.nan}) == "a"


@pytest.fixture(scope="module")
def seasonal_trend():
    """A seasonal series with a slow trend: 140 values (period 12), of which the first 100 train."""
    rng = np.random.default_rng(11)
    t = np.arange(140)
    return 0.02 * t + np.sin(2 * np.pi * t / 12) + 0.3 * rng.standard_normal(140)


def test_ets_from_each_origin_equals_statsmodels_filtered_with_the_training_fit(seasonal_trend):
    """The form with the lowest AIC among the fitted ones; from a later end, statsmodels' own forecast of that model
    with the training parameters smoothed over everything before the end."""
    import warnings

    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y, ends = seasonal_trend, np.asarray([100, 117, 130])
    paths, form = references.ets_paths(y, ends, 10, 100, 12)
    fit, kwargs = references.fit_ets(y[:100], 12)
    assert form == "ETS(A,Ad,A)" and kwargs["seasonal_periods"] == 12  # the season is in the data: it is chosen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aics = [ETSModel(y[:100], trend=tr, damped_trend=d, **({"seasonal": "add", "seasonal_periods": 12} if s else {}))
                .fit(disp=False).aic for tr, d, s in references.ETS_FORMS]
        expected = [ETSModel(y[:e], **kwargs).smooth(fit.params).forecast(10) for e in ends]
    assert fit.aic == pytest.approx(min(aics))
    np.testing.assert_allclose(paths, np.stack(expected), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(paths[0], fit.forecast(10), rtol=1e-9, atol=1e-9)
    _, plain = references.ets_paths(y, ends, 10, 100, None)  # no season given: no seasonal form
    assert plain.endswith(",N)")


def test_theta_from_each_origin_equals_statsmodels(seasonal_trend):
    import warnings

    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = seasonal_trend
    paths = references.theta_paths(y, [100, 125], 7, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = [ThetaModel(y[:e], period=12).fit().forecast(7) for e in (100, 125)]
    np.testing.assert_allclose(paths, np.stack(expected), rtol=1e-12)


def test_origin_references_add_ets_and_theta_judged_like_the_others(seasonal_trend):
    from lstm_ar.study import backtest

    bt = backtest.build(seasonal_trend[:100], seasonal_trend[100:], 4, 12, 48)
    refs = references.origin_references(bt, season=12, classical=True)
    paths, form = references.classical_paths(bt.history, bt.start + bt.origins, 12, 100, 12)
    for name in ("ETS", "Theta"):
        rmse = np.sqrt(np.mean(np.square(paths[name] - bt.truths()), axis=1))
        np.testing.assert_allclose(refs[name]["origin_rmse"], rmse, rtol=1e-4)
    assert refs["ETS"]["form"] == form and "ETS" not in references.origin_references(bt, season=12)
    one = references.series_references(bt.history[:100], bt.history[100:112], season=12)
    np.testing.assert_allclose(one.forecasts["ets"], paths["ETS"][0], rtol=1e-12)
    assert one.labels["ets"] == f"{form} by AIC" and one.rmse["theta"] > 0
