"""Experiment 4's scenarios: data, references and claims are what they say (no training here,
except one tiny end-to-end run of a DataScenario)."""

import dataclasses

import numpy as np
import pytest

from lstm_ar.data.series import Dataset, windows
from lstm_ar.scenarios import data as ds
from lstm_ar.study.claims import PairedClaim, RateClaim
from lstm_ar.study.experiment import run_scenario, summarise


@pytest.fixture(scope="module")
def scenarios():
    return {name: factory(False) for name, factory in ds.SCENARIOS.items()}


def test_reference_forecasts_equal_numpy(rng):
    context = rng.normal(size=50).astype(np.float32)
    truth = rng.normal(size=30).astype(np.float32)
    heldout = windows(rng.normal(size=40).astype(np.float32), 3)
    refs = ds.reference_forecasts(context, truth, heldout)
    last, mean = float(context[-1]), float(context.astype(np.float64).mean())
    t = truth.astype(np.float64)
    assert refs["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((t - last) ** 2)), rel=1e-12)
    assert refs["mean_rmse"] == pytest.approx(np.sqrt(np.mean((t - mean) ** 2)), rel=1e-12)
    y, prev = heldout.y[:, 0].astype(np.float64), heldout.x[:, -1, 0].astype(np.float64)
    assert refs["persistence_one_step_mse"] == pytest.approx(np.mean((y - prev) ** 2), rel=1e-12)
    assert refs["mean_one_step_mse"] == pytest.approx(np.mean((y - mean) ** 2), rel=1e-12)


def test_the_new_scenarios_and_their_claims(scenarios):
    want = {"multi_regime": {"single_w1", "mixture_w1", "single_w5", "mixture_w5"},
            "multi_regime_unseen": {"single_w1", "mixture_w1", "single_w5", "mixture_w5"},
            "scale_raw": {"w1", "w5"}, "scale_offset": {"w1", "w5"}, "random_walk": {"w1", "w1_epochs_200"},
            "white_noise": {"w1"}}
    for name, variants in want.items():
        sc = scenarios[name]
        assert isinstance(sc, ds.DataScenario) and sc.name == name and set(sc.variants) == variants
        assert {"persistence_rmse", "mean_rmse", "persistence_one_step_mse", "mean_one_step_mse"} <= set(sc.references)
        for claim in sc.claims:  # every claim names variants and metrics the scenario has
            named = [claim.variant] if isinstance(claim, RateClaim) else [claim.a, claim.b]
            assert set(named) <= variants, claim.id
    claims = {c.id: c for name in want for c in scenarios[name].claims}
    assert isinstance(claims["M-horizon-w5"], PairedClaim) and not claims["M-horizon-w5"].lower_is_better
    assert claims["C-random_walk-right"].metric == "expected_rmse_ratio"
    assert claims["C-white_noise-one-step"].metric == "heldout_mse_over_mean"
    assert scenarios["random_walk"].variants["w1_epochs_200"].epochs == 10 * scenarios["random_walk"].variants["w1"].epochs
    assert scenarios["training_range"].variants.keys() == {"width_0.2", "width_0.5", "width_1", "width_0.2_epochs_1000"}


T = np.linspace(0, 10 * np.pi, 1000)  # the article's time grid
DT = 10 * np.pi / 999


def raw_sine(amplitude=1.0, frequency=1.0, seed=42):
    """``amplitude sin(frequency t) + 0.1 randn(1000)`` as the article draws it (by hand, numpy)."""
    return amplitude * np.sin(frequency * T) + 0.1 * np.random.RandomState(seed).randn(1000)


def by_hand_windows(values, w):
    """(values[i : i + w] -> values[i + w]) pairs with a Python loop."""
    x = np.array([values[i:i + w] for i in range(len(values) - w)])
    y = np.array([values[i + w] for i in range(len(values) - w)])
    return x, y


SEED_RAW = raw_sine()
SEED_MEAN, SEED_STD = SEED_RAW.mean(), SEED_RAW.std()


def on_seed_scale(values):
    return (values - SEED_MEAN) / SEED_STD


def test_mixture_is_the_five_regimes_windowed_separately(scenarios):
    sc = scenarios["multi_regime"]
    regimes = [on_seed_scale(raw_sine(a, f, s)) for (a, f), s in
               zip([(1, 1), (0.5, 0.5), (0.5, 2), (2, 0.5), (2, 2)], [42, 1, 2, 3, 4])]
    for w in (1, 5):
        mixture, single = sc.inputs(f"mixture_w{w}")[0], sc.inputs(f"single_w{w}")[0]
        parts = [by_hand_windows(r, w) for r in regimes]
        np.testing.assert_allclose(mixture.x[:, :, 0], np.concatenate([p[0] for p in parts]), atol=2e-6)
        np.testing.assert_allclose(mixture.y[:, 0], np.concatenate([p[1] for p in parts]), atol=2e-6)
        x, y = by_hand_windows(on_seed_scale(SEED_RAW), w)
        np.testing.assert_allclose(single.x[:, :, 0], x, atol=2e-6)
        np.testing.assert_allclose(single.y[:, 0], y, atol=2e-6)
    # the same number of Adam steps (batch 32): 20 epochs of 999 examples, 4 of 5 x 999
    steps = {n: sc.variants[n].epochs * -(-sc.inputs(n)[0].n // 32) for n in ("single_w1", "mixture_w1")}
    assert steps == {"single_w1": 20 * 32, "mixture_w1": 4 * 157}
    # both multi-regime scenarios train the same models on the same data
    other = scenarios["multi_regime_unseen"]
    for name in sc.variants:
        assert other.variants[name] == sc.variants[name]
        np.testing.assert_array_equal(other.inputs(name)[0].x, sc.inputs(name)[0].x)


def test_held_out_targets_are_shared_by_every_window(scenarios):
    """Held-out one-step targets: the fresh-noise series (seed 43) after its first 5 values (the
    longest window), the same for every window; each window reads the values just before them."""
    fresh = on_seed_scale(raw_sine(seed=43))
    sc = scenarios["multi_regime"]
    for name, w in (("single_w1", 1), ("mixture_w1", 1), ("single_w5", 5), ("mixture_w5", 5)):
        heldout = sc.inputs(name)[1]
        np.testing.assert_allclose(heldout.y[:, 0], fresh[5:], atol=2e-6)
        np.testing.assert_allclose(heldout.x[:, :, 0], [fresh[i - w:i] for i in range(5, 1000)], atol=2e-6)
        np.testing.assert_allclose(sc.inputs(name)[2], on_seed_scale(SEED_RAW)[999 - w:999], atol=2e-6)
    big = scenarios["scale_offset"]  # not standardised: 10 (sin + noise) + 50
    fresh_big = 10 * raw_sine(seed=43) + 50
    for w in (1, 5):
        np.testing.assert_allclose(big.inputs(f"w{w}")[1].y[:, 0], fresh_big[5:], rtol=1e-6)


def test_sine_references_are_persistence_and_mean_on_the_clean_continuation(scenarios):
    sc = scenarios["multi_regime"]
    truth = on_seed_scale(np.sin(DT * np.arange(999, 1199)))  # the noiseless sine after x[998], by hand
    np.testing.assert_allclose(sc.truth, truth, atol=2e-6)
    context = on_seed_scale(SEED_RAW)[:999]
    assert sc.references["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((truth - context[-1]) ** 2)), rel=1e-5)
    assert sc.references["mean_rmse"] == pytest.approx(np.sqrt(np.mean((truth - context.mean()) ** 2)), rel=1e-5)
    fresh = on_seed_scale(raw_sine(seed=43))[4:]  # held-out windows of 1 over the shared targets
    assert sc.references["persistence_one_step_mse"] == pytest.approx(np.mean(np.diff(fresh) ** 2), rel=1e-5)
    unseen = scenarios["multi_regime_unseen"]
    np.testing.assert_allclose(unseen.truth, on_seed_scale(1.5 * np.sin(1.5 * DT * np.arange(999, 1199))), atol=2e-6)
    np.testing.assert_allclose(unseen.context, on_seed_scale(raw_sine(1.5, 1.5, 5))[:999], atol=2e-6)


def test_scale_scenarios_are_the_raw_series(scenarios):
    for name, scale, offset in (("scale_raw", 1.0, 0.0), ("scale_offset", 10.0, 50.0)):
        sc = scenarios[name]
        series = scale * SEED_RAW + offset
        np.testing.assert_allclose(sc.series, series, rtol=1e-6, atol=1e-6)
        truth = scale * np.sin(DT * np.arange(999, 1199)) + offset
        np.testing.assert_allclose(sc.truth, truth, rtol=1e-6, atol=1e-6)
        assert sc.scale == pytest.approx(series[:999].std(), rel=1e-5)
        assert sc.references["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((truth - series[998]) ** 2)),
                                                                 rel=1e-5)
        assert sc.map_range == pytest.approx((series.mean() - 4 * series.std(), series.mean() + 4 * series.std()),
                                             rel=1e-5)
        m = {"rollout_rmse": np.array([2.0 * scale]), "heldout_mse": np.array([3.0 * scale ** 2]),
             "settle_value": np.array([series[:999].min() - scale])}
        derived = sc.derive(m)
        std = series[:999].std()
        np.testing.assert_allclose(derived["relative_rollout_rmse"], 2.0 * scale / std, rtol=1e-5)
        np.testing.assert_allclose(derived["relative_heldout_mse"], 3.0 * scale ** 2 / std ** 2, rtol=1e-5)
        np.testing.assert_allclose(derived["settle_outside_range"], scale / std, rtol=1e-5)


@pytest.mark.parametrize("kind", ["random_walk", "white_noise"])
def test_controls_are_judged_against_the_optimal_flat_forecast(scenarios, kind):
    sc = scenarios[kind]
    draws = np.random.default_rng({"random_walk": 7, "white_noise": 11}[kind]).standard_normal(1200)
    process = np.cumsum(draws) if kind == "random_walk" else draws
    mean, std = process[:1000].mean(), process[:1000].std()
    context, future = (process[:1000] - mean) / std, (process[1000:] - mean) / std
    np.testing.assert_allclose(sc.context, context, atol=1e-5)
    level = context[-1] if kind == "random_walk" else -mean / std  # the MSE-optimal flat forecast
    np.testing.assert_allclose(sc.truth, np.full(200, level), atol=1e-5)
    variance = np.arange(1, 201) / std ** 2 if kind == "random_walk" else np.full(200, 1 / std ** 2)
    refs = sc.references
    assert refs["process_one_step_mse"] == pytest.approx(1 / std ** 2, rel=1e-6)
    assert refs["optimal_expected_rmse"] == pytest.approx(np.sqrt(variance.mean()), rel=1e-6)
    assert refs["persistence_rmse_realised"] == pytest.approx(np.sqrt(np.mean((future - context[-1]) ** 2)), rel=1e-5)
    assert refs["mean_rmse_realised"] == pytest.approx(np.sqrt(np.mean((future - context.mean()) ** 2)), rel=1e-5)
    # the held-out targets are the realised future; the first reads the last training value
    heldout = sc.inputs("w1")[1]
    np.testing.assert_allclose(heldout.y[:, 0], future, atol=1e-5)
    assert heldout.x[0, 0, 0] == pytest.approx(context[-1], abs=1e-5)
    mean_one_step = np.mean((future - context.mean()) ** 2)
    assert refs["mean_one_step_mse"] == pytest.approx(mean_one_step, rel=1e-5)
    # a rollout exactly on the optimal forecast has expected RMSE ratio 1; any offset is worse
    derived = sc.derive({"rollout_rmse": np.array([0.0, 0.5]), "heldout_mse": np.array([1.0, 1.0]),
                         "settle_value": np.array([level, level + 0.5])})
    np.testing.assert_allclose(derived["expected_rmse"], np.sqrt(np.array([0.0, 0.25]) + variance.mean()), rtol=1e-6)
    np.testing.assert_allclose(derived["expected_rmse_ratio"], derived["expected_rmse"] / np.sqrt(variance.mean()))
    np.testing.assert_allclose(derived["settle_minus_optimum"], [0.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(derived["heldout_mse_over_mean"], 1.0 / mean_one_step, rtol=1e-5)


def test_data_scenario_needs_data_for_every_variant(scenarios):
    sc = scenarios["white_noise"]
    with pytest.raises(ValueError, match="no training data"):
        dataclasses.replace(sc, variant_data={})
    with pytest.raises(ValueError, match="unknown control"):
        ds.control_scenario("brown_noise")


def test_a_data_scenario_runs_end_to_end():
    """2 seeds, 2 epochs: the held-out MSE is on the scenario's aligned targets, and the derived
    metrics use the scenario's references."""
    sc = ds.SCENARIOS["white_noise"](True)
    sc = dataclasses.replace(sc, variants={"w1": dataclasses.replace(sc.variants["w1"], epochs=1)})
    result = run_scenario(sc, 2, progress=False)
    m = result.variants["w1"].metrics
    assert set(m) == set(sc.metric_names()["w1"])  # listed without training
    refs = sc.references
    np.testing.assert_allclose(m["heldout_mse_over_mean"], m["heldout_mse"] / refs["mean_one_step_mse"])
    np.testing.assert_allclose(m["expected_rmse"], np.hypot(m["rollout_rmse"], refs["optimal_expected_rmse"]))
    summary = summarise(result)
    assert summary["references"]["optimal_expected_rmse"] > 0 and "expected_rmse_ratio" in summary["variants"]["w1"]["metrics"]
    assert summary["references"] == refs and {c["id"] for c in summary["claims"]} == {c.id for c in sc.claims}
    assert isinstance(sc.inputs("w1")[1], Dataset)
