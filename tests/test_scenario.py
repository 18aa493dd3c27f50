"""The small Scenario: defaults derived from the data, every name checked when it is built (before
any training), ``from_series`` end to end, a metric for every variant it applies to, verdict words."""

import dataclasses

import numpy as np
import pytest

from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.study import metrics as registry
from lstm_ar.study.claims import DOES_NOT_HOLD, HOLDS, INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, PairedClaim, RateClaim
from lstm_ar.study.experiment import run_scenario, summarise
from lstm_ar.study.scenario import Scenario

TINY = TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=1)
TINY3 = dataclasses.replace(TINY, model=ModelConfig(units=4, window=3, activation="relu"))


def _series(n=160, seed=0):
    rng = np.random.default_rng(seed)
    return 5.0 + 3.0 * np.sin(np.arange(n) / 4.0) + 0.1 * rng.standard_normal(n)


@pytest.fixture(scope="module")
def toy():
    """from_series on a tiny series: windows 1 and 3, LSTM(4), 1 epoch, 2 seeds; its run and summary."""
    values = _series()
    claims = (RateClaim("mine-rate", "The window-1 model collapses", "window_1", "collapsed", ">", 0.5),
              PairedClaim("mine-paired", "Window 3 beats window 1 on held-out one-step error", "window_3", "window_1",
                          "heldout_mse"),
              RateClaim("article-like", "The window-3 rollout stays finite", "window_3", "diverged", "<", 0.5,
                        source="article"))
    sc = Scenario.from_series(values, name="toy", windows=(1, 3), units=4, activation="relu", epochs=1,
                              test_fraction=0.35, claims=claims)
    result = run_scenario(sc, 2, progress=False)
    return values, sc, result, summarise(result)


def test_from_series_standardises_on_the_training_part_only(toy):
    values, sc, _, summary = toy
    n_test = round(0.35 * values.size)
    train, test = values[:-n_test], values[-n_test:]
    mean, std = train.mean(), train.std()  # numpy, by hand
    np.testing.assert_allclose(sc.series, (train - mean) / std, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sc.truth, (test - mean) / std, rtol=1e-6, atol=1e-6)
    assert sc.rollout_steps == n_test and sc.standardisation == pytest.approx((mean, std))
    assert summary["standardisation"] == pytest.approx({"mean": mean, "std": std})
    # the article's fields, derived: scale = std of the training series (1 once standardised),
    # context = the training series, test input = the last window, target = the value after it
    assert sc.scale == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(sc.context, sc.series)
    assert sc.test_input.tolist() == [sc.series[-2]] and sc.test_target == sc.series[-1]
    low, high = sc.series.min(), sc.series.max()
    assert sc.map_range[0] < low and sc.map_range[1] > high
    # every window is judged on the same held-out targets: all the held-out values
    for variant in ("window_1", "window_3"):
        heldout = sc.inputs(variant)[1]
        np.testing.assert_allclose(heldout.y[:, 0], (test - mean) / std, rtol=1e-6, atol=1e-6)
    first = sc.inputs("window_3")[1].x[0, :, 0]  # the first held-out window reads the end of the training part
    np.testing.assert_allclose(first, (train[-3:] - mean) / std, rtol=1e-6, atol=1e-6)
    # references without a model, by hand
    truth = (test - mean) / std
    assert sc.references["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((truth - (train[-1] - mean) / std) ** 2)),
                                                             rel=1e-5)
    assert sc.references["mean_rmse"] == pytest.approx(np.sqrt(np.mean(truth ** 2)), rel=1e-5)


def test_from_series_runs_end_to_end_with_raw_units(toy):
    _, sc, result, summary = toy
    assert set(result.variants) == {"window_1", "window_3"}
    mean, std = sc.standardisation
    for v in result.variants.values():
        m = v.metrics
        np.testing.assert_allclose(m["rollout_rmse_raw"], m["rollout_rmse"] * std)
        np.testing.assert_allclose(m["heldout_mse_raw"], m["heldout_mse"] * std ** 2)
        np.testing.assert_allclose(m["settle_value_raw"], m["settle_value"] * std + mean)
        np.testing.assert_allclose(m["rmse_minus_persistence"], m["rollout_rmse"] - sc.references["persistence_rmse"])
        assert v.rollouts.shape == (2, sc.rollout_steps)
    assert summary["seeds"] == 2 and {c["id"] for c in summary["claims"]} == {c.id for c in sc.claims}


def test_the_summary_has_linear_references_and_p_beats(toy):
    _, sc, result, summary = toy
    assert sc.center == pytest.approx(0.0, abs=1e-6)  # the training series' mean, once standardised
    refs = summary["linear_references"]
    assert {"persistence", "mean", "ar_1", "ar_aic", "ar_bic", "direct", "best_ar"} <= set(refs)
    assert refs["best_ar"]["of"] == result.linear_references.best_ar and refs["best_ar"]["chosen_on"] == "truth"
    assert refs["persistence"]["rollout_rmse"] == pytest.approx(sc.references["persistence_rmse"], rel=1e-5)
    for v in summary["variants"].values():
        assert set(v["vs_references"]) == {"best_ar", "ar_aic", "persistence"}
        c = v["vs_references"]["persistence"]["rollout_rmse"]
        assert c["n"] == 2 and c["lower_is_better"] and 0 <= c["prob_a_better"] <= 1
        assert v["metrics"]["rollout_rmse"]["worse"] == "higher" and "n_worst" in v["metrics"]["rollout_rmse"]
    assert summary["rollout"]["divergence_bound"] == 100.0
    # the window-1 map at MAP_GRID points for cobweb figures; none for window 3
    from lstm_ar.study.experiment import MAP_GRID, map_grid
    assert result.variants["window_1"].map_curve.shape == (2, MAP_GRID)
    assert result.variants["window_3"].map_curve is None
    grid = map_grid(sc)
    assert grid[0] == np.float32(sc.map_range[0]) and grid[-1] == np.float32(sc.map_range[1])


def test_the_metrics_listed_without_training_are_the_ones_computed(toy):
    _, sc, result, _ = toy
    for name, v in result.variants.items():
        assert set(v.metrics) == set(sc.metric_names()[name])
        assert all(registry.describe(m) is not None for m in v.metrics), name


def test_a_metric_missing_from_a_variant_says_why(toy):
    summary = toy[3]
    assert summary["variants"]["window_1"]["missing"] == {}
    missing = summary["variants"]["window_3"]["missing"]
    assert set(missing) == {"n_fixed_points", "settle_slope", "abs_settle_slope", "settle_residual"}
    assert all("not a 1-D map" in why for why in missing.values())


def test_verdict_words_follow_the_claims_source(toy):
    claims = {c["id"]: c for c in toy[3]["claims"]}
    assert claims["mine-rate"]["source"] == "user" and claims["mine-paired"]["source"] == "user"
    assert claims["mine-rate"]["verdict"] in (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)
    assert claims["mine-paired"]["verdict"] in (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)
    assert claims["article-like"]["verdict"] in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)


def test_window_1_gets_heldout_mse_from_a_heldout_series():
    """Given only heldout_series (no window-1 held-out windows), every window has heldout_mse."""
    values = np.sin(np.arange(120) / 3.0).astype(np.float32)
    sc = Scenario(name="h", variants={"w1": TINY, "w3": TINY3}, series=values[:80], heldout_series=values[80:])
    names = sc.metric_names()
    assert "heldout_mse" in names["w1"] and "heldout_mse" in names["w3"]
    heldout = sc.inputs("w1")[1]
    np.testing.assert_array_equal(heldout.x[:, 0, 0], values[80:-1])
    np.testing.assert_array_equal(heldout.y[:, 0], values[81:])


def test_defaults_from_a_series_alone():
    values = np.linspace(-2.0, 4.0, 100).astype(np.float32)
    sc = Scenario(name="d", variants={"w1": TINY}, series=values)
    assert sc.scale == pytest.approx(float(np.std(values.astype(np.float64))))
    assert sc.rollout_steps == 200 and sc.truth is None and sc.claims == ()
    assert sc.test_input.tolist() == [values[-2]] and sc.test_target == values[-1]
    assert sc.map_range == pytest.approx((-2.0 - 3.0, 4.0 + 3.0))  # half the span on each side
    assert sc.title == "" and "rollout_rmse" not in sc.metric_names()["w1"]
    sc = Scenario(name="t", variants={"w1": TINY}, series=values, truth=np.zeros(60))
    assert sc.rollout_steps == 60  # the truth sets the rollout length


BASE = dict(name="s", variants={"w1": TINY, "w3": TINY3}, series=np.sin(np.arange(100) / 3.0).astype(np.float32))


@pytest.mark.parametrize("change, message", [
    (dict(claims=(RateClaim("c", "t", "w_1", "collapsed", ">", 0.5),)), "names variant 'w_1'; valid: w1, w3"),
    (dict(claims=(PairedClaim("c", "t", "w3", "w2", "rollout_rmse"),)), "names variant 'w2'; valid: w1, w3"),
    (dict(claims=(RateClaim("c", "t", "w1", "colapsed", ">", 0.5),)), "names metric 'colapsed'.*valid: .*collapsed"),
    (dict(claims=(PairedClaim("c", "t", "w3", "w1", "rollout_rmse"),)), "no truth to judge the rollout against"),
    (dict(claims=(RateClaim("c", "t", "w3", "n_fixed_points", ">", 0.5),)), "window 3: the rollout is not a 1-D map"),
    (dict(claims=(RateClaim("c", "t", "w1", "heldout_mse", "<", 1.0),)), "no held-out data"),
    (dict(claims=(RateClaim("c", "t", "w1", "collapsed", ">", 0.5), RateClaim("c", "u", "w3", "collapsed", ">", 0.5))),
     "claim ids must be unique"),
    (dict(truth=np.zeros(100), rollout_steps=120), "truth has 100 values but the rollout is 120 steps"),
    (dict(rollout_steps=20), "rollout_steps must be an int >= 50"),
    (dict(lower_is_better=("rolout_rmse",)), "lower_is_better names metrics no variant has: \\['rolout_rmse'\\]"),
    (dict(figures=("tail_std",)), "figure metric 'tail_std' is missing"),
    (dict(probes=(0.1, 0.1000001)), "duplicate metric names"),
    (dict(probes=(float("nan"),)), "probes must be finite"),
    (dict(rollout_modes={"w9": "stateful"}), "rollout_modes names unknown variants \\['w9'\\]; valid: w1, w3"),
    (dict(rollout_modes={"w3": "stateless"}), "rollout mode of 'w3' must be one of"),
    (dict(variants={"w1": TINY, "w3": dataclasses.replace(TINY3, model=dataclasses.replace(TINY3.model, window_scaling=True))},
          rollout_modes={"w3": "stateful"}), "'w3' reads each window whole \\(window scaling or a linear skip\\)"),
    (dict(baseline="w2"), "baseline 'w2' is not a variant; valid: w1, w3"),
    (dict(derive=lambda m: {"gap": m["heldout_mse"] - m["train_mse"]}), "derive reads metric 'heldout_mse'"),
    (dict(variants={}), "at least one variant"),
    (dict(references={"persistence_rmse": float("nan")}), "references must be finite numbers"),
    (dict(series=None), "needs data"),
    (dict(series=np.ones(50, np.float32)), "scale .* must be a finite number > 0"),
    (dict(series=np.r_[np.zeros(3), np.nan, np.ones(40)]), "1 non-finite values .* the first at index 3"),
    (dict(series=np.sin(np.arange(3.0))), "window 3"),
    (dict(backtest_origins=3), "backtest_origins = 3 needs a training series and the held-out values after it"),
    (dict(backtest_origins=2.0), "backtest_origins must be an int >= 0, got 2.0"),
    (dict(backtest_origins=2, heldout_series=np.zeros(10), backtest_horizon=1), "backtest_horizon must be None or an int"),
    (dict(backtest_origins=9, heldout_series=np.arange(10.0)), "9 backtest origins do not fit: the held-out part has 10 "
     "values, so with a horizon of 5 there are only 6"),
    (dict(center=float("inf")), "center .* must be a finite number"),
])
def test_every_name_and_length_is_checked_when_built(change, message):
    with pytest.raises(ValueError, match=message):
        Scenario(**{**BASE, **change})


@pytest.mark.parametrize("field", ["name", "variant"])
@pytest.mark.parametrize("bad", ["../../../victim", "a/b", ".", "..", ".hidden", "", "a b", "/abs"])
def test_names_that_would_leave_or_nest_folders_are_refused(field, bad):
    """Names become folders below --out: '../../../victim' as a variant deleted <out>/../victim."""
    change = dict(name=bad) if field == "name" else dict(variants={"w1": TINY, bad: TINY3})
    with pytest.raises(ValueError, match=r"name .* must be a letter or digit, then letters, digits and _ \. = \+ -"):
        Scenario(**{**BASE, **change})


def test_names_with_the_allowed_characters_are_accepted():
    sc = Scenario(**{**BASE, "name": "lr=1e-3_v2.0", "variants": {"a+b": TINY, "9-x.y": TINY3}})
    assert list(sc.variants) == ["a+b", "9-x.y"]


def test_the_default_rollout_length_is_recorded_in_the_summary(toy):
    _, sc, _, summary = toy
    assert summary["rollout"]["steps"] == sc.rollout_steps


def test_every_catalogue_metric_is_registered_once():
    from lstm_ar.scenarios import context, data, diagnostics, real, regime, regularisation, reproduce

    seen = set()
    for module in (reproduce, context, regime, regularisation, data, diagnostics, real):
        for factory in module.SCENARIOS.values():
            for names in factory(False).metric_names().values():
                seen.update(names)
    unregistered = sorted(m for m in seen if registry.describe(m) is None)
    assert unregistered == []
    assert {"f(0.6)", "grad_k19", "heldout_mse", "n_fixed_points", "expected_rmse_ratio"} <= seen
    ids = [m.id for m in registry.glossary()]
    assert len(ids) == len(set(ids))
    assert all(m.worse in (registry.LOWER, registry.HIGHER, None) and m.unit and m.words for m in registry.glossary())


def test_a_derive_that_declares_its_metrics_makes_them_claimable():
    sc = Scenario(**BASE, claims=(RateClaim("c", "t", "w1", "double", ">", 0.0),),
                  derive=lambda m: {"double": 2 * m["train_mse"]})
    assert sc.metric_names()["w3"][-1] == "double"
    with pytest.raises(ValueError, match="names metric 'tripple'"):
        Scenario(**BASE, claims=(RateClaim("c", "t", "w1", "tripple", ">", 0.0),),
                 derive=lambda m: {"double": 2 * m["train_mse"]})


@pytest.mark.parametrize("values, kwargs, error, message", [
    (np.r_[np.ones(100), np.inf, np.nan, np.ones(98)], {}, ValueError,
     "2 non-finite values \\(1 NaN, 1 inf\\), the first at index 100"),
    (np.full(300, 3.0), {}, ValueError, "the training part of values is constant"),
    (np.array([]), {}, ValueError, "values has 0 values"),
    (np.ones((100, 2)), {}, ValueError, "must be 1-D"),
    (np.arange(200) * (1 + 1j), {}, TypeError, "complex"),
    (_series(60), {}, ValueError, "held-out part .* has 12 values, but a rollout is judged on at least 50"),
    (_series(300), dict(windows=(1, 250)), ValueError, "window 250 needs at least 252"),
    (_series(300), dict(rollout_steps=70), ValueError, "rollout_steps 70 is longer than"),
    (_series(300), dict(test_fraction=1.0), ValueError, "test_fraction must be in"),
    (_series(300), dict(windows=(1, 1)), ValueError, "distinct"),
    (_series(300), dict(heldout=np.r_[np.ones(60), np.nan]), ValueError, "heldout has 1 non-finite"),
    (_series(300), dict(claims=(RateClaim("c", "t", "window_2", "collapsed", ">", 0.5),)), ValueError,
     "valid: window_1, window_20"),
])
def test_from_series_refuses_bad_data_before_any_compute(values, kwargs, error, message):
    with pytest.raises(error, match=message):
        Scenario.from_series(values, **kwargs)
