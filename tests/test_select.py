"""Choosing without peeking: the seed ensemble, the choice, and the linear references handed back as maps."""

import math

import numpy as np
import pytest

from lstm_ar.study.ensemble import judge_ensemble, median_forecast
from lstm_ar.study.select import candidate_scores, choice, choose, lstm_name


def test_the_ensemble_is_the_median_of_the_finite_seeds_and_is_judged_by_the_one_judge():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(median_forecast(f), np.median(f, axis=0), rtol=1e-6)
    f[0, 1, 2], f[1, 1, 2] = np.inf, np.nan  # two seeds diverged there: the median of the other three
    assert median_forecast(f)[1, 2] == pytest.approx(float(np.median(f[2:, 1, 2])))
    f[:, 0, 0] = np.nan  # every seed diverged: so did the ensemble
    assert np.isnan(median_forecast(f)[0, 0])
    truths = np.zeros((3, 4), np.float32)
    judged = judge_ensemble(f, truths, 1.0)
    assert judged["backtest_rmse"] == math.inf and judged["backtest_diverged_rate"] == pytest.approx(1 / 3)
    finite = np.nan_to_num(f, nan=0.0, posinf=0.0)
    ok = judge_ensemble(finite, truths, 1.0)
    expected = np.mean(np.sqrt(np.mean(np.square(np.median(finite, axis=0)), axis=1)))
    assert ok["backtest_rmse"] == pytest.approx(float(expected), rel=1e-5)
    with pytest.raises(ValueError, match="seeds >= 1"):
        median_forecast(np.zeros((3, 4)))


def test_the_choice_is_made_on_validation_alone_ties_to_the_classical_reference():
    validation = candidate_scores({"AR(AIC)": 0.5, "ETS": None}, {"scaled_direct": 0.4, "direct": float("nan")})
    assert validation == {"AR(AIC)": 0.5, "ETS": math.inf, lstm_name("scaled_direct"): 0.4, lstm_name("direct"): math.inf}
    assert choose(validation) == lstm_name("scaled_direct")
    assert choose({"AR(AIC)": 0.4, lstm_name("x"): 0.4}) == "AR(AIC)"  # a tie: the simpler forecaster
    assert choose({"AR(AIC)": 0.1, lstm_name("x"): 0.4, lstm_name("y"): 0.3}, lstm_only=True) == lstm_name("y")
    with pytest.raises(ValueError, match="no LSTM recipe"):
        choose({"AR(AIC)": 0.1}, lstm_only=True)
    # the held-out scores choose nothing: the best there is only the bar
    heldout = {"AR(AIC)": 0.3, "ETS": 0.2, lstm_name("scaled_direct"): 0.25, lstm_name("direct"): 0.1}
    c = choice(validation, heldout)
    assert c["chosen"] == c["chosen_lstm"] == lstm_name("scaled_direct") and c["best_classical"] == "ETS"
    assert c["chosen_ratio"] == pytest.approx(0.25 / 0.2) and c["chosen_rmse"] == 0.25


@pytest.fixture(scope="module")
def judged():
    """A seasonal series' backtest and every reference's score on it (``origin_references``, computed once)."""
    from lstm_ar.study import backtest
    from lstm_ar.study.references import origin_references

    t = np.arange(150)
    series = (np.sin(2 * np.pi * t / 4) + 0.3 * np.sin(t / 7) + 0.1 * np.random.default_rng(1).normal(size=150))
    series = ((series - series[:120].mean()) / series[:120].std()).astype(np.float32)
    bt = backtest.build(series[:120], series[120:], 5, 6, 6)
    return series, bt, origin_references(bt, season=4)


@pytest.mark.parametrize("name", ["AR(AIC)", "AR(BIC)", "direct linear", "persistence", "training mean",
                                  "seasonal naive (4)"])
def test_each_linear_reference_is_handed_back_as_the_map_the_backtest_judged(judged, name):
    """``recommend.linear_map``'s window @ coefs + intercept equals the reference's forecast from every origin of
    ``origin_references`` (the backtest that scored it), so the exported Dense layer is that forecaster."""
    from lstm_ar.user.recommend import linear_map

    series, bt, refs = judged
    coefs, intercept = linear_map(name, series[:120].astype(np.float64), bt.horizon)
    forecasts = bt.contexts(coefs.shape[0]).astype(np.float64) @ coefs + intercept
    rmse = np.mean(np.sqrt(np.mean(np.square(forecasts - bt.truths()), axis=1)))
    assert rmse == pytest.approx(refs[name]["backtest_rmse"], rel=1e-4, abs=1e-6)
    assert linear_map("ETS", series[:120].astype(np.float64), 6) is None
