"""Experiment 4's scenarios: data, references and claims are what they say (no training here,
except one tiny end-to-end run of a DataScenario)."""

import dataclasses

import numpy as np
import pytest

from lstm_ar.data.series import Dataset, noisy_sine, sine_continuation, windows
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


def test_mixture_is_the_five_regimes_windowed_separately(scenarios):
    sc = scenarios["multi_regime"]
    seed = noisy_sine()
    for w in ds.WINDOWS:
        mixture, single = sc.inputs(f"mixture_w{w}")[0], sc.inputs(f"single_w{w}")[0]
        assert mixture.n == len(ds.REGIMES) * (1000 - w) and single.n == 1000 - w
        parts = [windows(s, w) for s in ds.regime_mixture(seed)]
        np.testing.assert_array_equal(mixture.x, np.concatenate([p.x for p in parts]))
        np.testing.assert_array_equal(single.x, windows(seed.values, w).x)
    # the first regime is the seed's own series; the same number of Adam steps (batch 32)
    np.testing.assert_allclose(ds.regime_mixture(seed)[0], seed.values, atol=1e-5)
    steps = {n: sc.variants[n].epochs * -(-sc.inputs(n)[0].n // 32) for n in ("single_w1", "mixture_w1")}
    assert abs(steps["mixture_w1"] - steps["single_w1"]) / steps["single_w1"] < 0.05
    # both multi-regime scenarios train the same models on the same data
    other = scenarios["multi_regime_unseen"]
    for name in sc.variants:
        assert other.variants[name] == sc.variants[name]
        np.testing.assert_array_equal(other.inputs(name)[0].x, sc.inputs(name)[0].x)


def test_held_out_targets_are_shared_by_every_window(scenarios):
    for name in ("multi_regime", "scale_offset"):
        sc = scenarios[name]
        targets = {n: sc.inputs(n)[1].y for n in sc.variants}
        first = next(iter(targets.values()))
        assert first.shape == (1000 - max(ds.WINDOWS), 1)
        for n, y in targets.items():
            np.testing.assert_array_equal(y, first)
            window = sc.variants[n].model.window
            assert sc.inputs(n)[1].x.shape[1] == window and sc.inputs(n)[2].shape == (window,)
            np.testing.assert_array_equal(sc.inputs(n)[2], sc.series[-1 - window:-1])


def test_sine_references_are_persistence_and_mean_on_the_clean_continuation(scenarios):
    sc = scenarios["multi_regime"]
    seed = noisy_sine()
    truth = sine_continuation(seed, 999, 200)
    np.testing.assert_array_equal(sc.truth, truth)
    last, mean = seed.values[998], seed.values[:999].astype(np.float64).mean()
    assert sc.references["persistence_rmse"] == pytest.approx(np.sqrt(np.mean((truth - last) ** 2)), rel=1e-6)
    assert sc.references["mean_rmse"] == pytest.approx(np.sqrt(np.mean((truth - mean) ** 2)), rel=1e-6)
    unseen = scenarios["multi_regime_unseen"]
    assert np.abs(unseen.truth).max() > 1.4 * np.abs(truth).max()  # amplitude 1.5 on the seed's scale


def test_scale_variants_are_affine_copies(scenarios):
    raw, big = scenarios["scale_raw"], scenarios["scale_offset"]
    np.testing.assert_allclose(big.series, 10 * raw.series.astype(np.float64) + 50, rtol=1e-6)
    np.testing.assert_allclose(big.truth, 10 * raw.truth.astype(np.float64) + 50, rtol=1e-6)
    assert big.scale == pytest.approx(10 * raw.scale, rel=1e-5)
    for key in ("persistence_rmse", "mean_rmse"):  # errors scale with the series
        assert big.references[key] == pytest.approx(10 * raw.references[key], rel=1e-5)
    # relative errors are comparable across scales
    m = {"rollout_rmse": np.array([7.0, 7.0]), "heldout_mse": np.array([2.0, 2.0]), "settle_value": np.array([0.5, 45.0])}
    rel_big = big.derive(m)
    rel_raw = raw.derive({"rollout_rmse": m["rollout_rmse"] / 10, "heldout_mse": m["heldout_mse"] / 100,
                          "settle_value": (m["settle_value"] - 50) / 10})
    for key in ("relative_rollout_rmse", "relative_heldout_mse", "heldout_mse_over_persistence", "settle_outside_range"):
        np.testing.assert_allclose(rel_big[key], rel_raw[key], rtol=1e-5)
    # settling at 0.5 is far below the data (about 40..60); 45 is inside it
    low = float(big.context.min())
    np.testing.assert_allclose(rel_big["settle_outside_range"], [(low - 0.5) / big.scale, 0.0], rtol=1e-6)


@pytest.mark.parametrize("kind", ["random_walk", "white_noise"])
def test_controls_are_judged_against_the_optimal_flat_forecast(scenarios, kind):
    sc = scenarios[kind]
    context = sc.context
    assert context.shape == (ds.CONTROL_TRAIN,) and abs(context.mean()) < 1e-5 and abs(context.std() - 1) < 1e-5
    assert np.all(sc.truth == sc.truth[0])  # flat
    refs = sc.references
    if kind == "random_walk":
        assert sc.truth[0] == context[-1] and refs["persistence_rmse"] == 0.0
        # the standardised increments are the process's unit steps on the standardised scale
        steps = np.random.default_rng(ds.CONTROL_SEEDS[kind]).standard_normal(1000)[1:]
        np.testing.assert_allclose(np.diff(context) / np.sqrt(refs["process_one_step_mse"]), steps, atol=2e-3)
        k = np.arange(1, 201)
        assert refs["optimal_expected_rmse"] == pytest.approx(np.sqrt(refs["process_one_step_mse"] * k.mean()))
    else:
        values = np.random.default_rng(ds.CONTROL_SEEDS[kind]).standard_normal(1000)
        np.testing.assert_allclose(context / np.sqrt(refs["process_one_step_mse"]), values - values.mean(), atol=1e-4)
        assert refs["mean_rmse"] < 0.1  # the process mean (0) is near the training mean
        assert refs["optimal_expected_rmse"] == pytest.approx(np.sqrt(refs["process_one_step_mse"]))
    # the held-out targets are the realised future, the same values the realised references use
    future = sc.inputs("w1")[1].y[:, 0]
    assert future.shape == (200,) and sc.inputs("w1")[1].x[0, 0, 0] == context[-1]
    assert refs["persistence_rmse_realised"] == pytest.approx(np.sqrt(np.mean((future - context[-1]) ** 2)), rel=1e-5)
    # a rollout exactly on the optimal forecast has expected RMSE ratio 1; any offset is worse
    derived = sc.derive({"rollout_rmse": np.array([0.0, 0.5]), "heldout_mse": np.array([1.0, 1.0]),
                         "settle_value": sc.truth[:2].astype(np.float64)})
    np.testing.assert_array_equal(derived["settle_outside_range"], 0.0)
    np.testing.assert_allclose(derived["expected_rmse_ratio"][0], 1.0)
    np.testing.assert_allclose(derived["settle_minus_optimum"], 0.0, atol=1e-6)
    assert derived["expected_rmse_ratio"][1] > 1.0
    np.testing.assert_allclose(derived["expected_rmse"], np.hypot([0.0, 0.5], refs["optimal_expected_rmse"]))


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
    refs = sc.references
    np.testing.assert_allclose(m["heldout_mse_over_mean"], m["heldout_mse"] / refs["mean_one_step_mse"])
    np.testing.assert_allclose(m["expected_rmse"], np.hypot(m["rollout_rmse"], refs["optimal_expected_rmse"]))
    summary = summarise(result)
    assert summary["references"] == refs and {c["id"] for c in summary["claims"]} == {c.id for c in sc.claims}
    assert isinstance(sc.inputs("w1")[1], Dataset)
