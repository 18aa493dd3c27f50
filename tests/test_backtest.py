"""Rolling-origin backtests: origins, contexts and truths by hand; the model path and the references agree."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.dynamics.judge import judge_origins
from lstm_ar.dynamics.rollout import rollout
from lstm_ar.model.forecaster import forecast, init_params
from lstm_ar.study import backtest, references
from lstm_ar.study.experiment import make_rollout_metrics, map_grid, program_inputs
from lstm_ar.study.scenario import Scenario


def test_origins_contexts_and_truths_by_hand():
    series = np.arange(10, dtype=np.float32)  # S = 0..9
    heldout = 100 + np.arange(8, dtype=np.float32)  # H = 100..107, L = 8
    b = backtest.build(series, heldout, 3, 3, rollout_steps=50)
    # o_j = floor(j * (L - h) / (n - 1)) = floor(j * 5 / 2)
    np.testing.assert_array_equal(b.origins, [0, 2, 5])
    assert (b.horizon, b.start) == (3, 10)
    # the context is S then H[:o]; its last 4 values
    np.testing.assert_array_equal(b.contexts(4), [[6, 7, 8, 9], [8, 9, 100, 101], [101, 102, 103, 104]])
    np.testing.assert_array_equal(b.truths(), [[100, 101, 102], [102, 103, 104], [105, 106, 107]])
    # default horizon min(rollout_steps, L // 2); one origin sits right after the training series
    assert backtest.build(series, heldout, 1, None, rollout_steps=50).horizon == 4
    np.testing.assert_array_equal(backtest.origins(8, 1, 4), [0])
    np.testing.assert_array_equal(backtest.origins(8, 6, 3), [0, 1, 2, 3, 4, 5])  # every origin there is


def test_too_many_origins_are_refused_with_the_numbers():
    with pytest.raises(ValueError, match="7 backtest origins do not fit: the held-out part has 8 values, so with a "
                                         "horizon of 3 there are only 6 distinct origins"):
        backtest.origins(8, 7, 3)
    with pytest.raises(ValueError, match="horizon 9 is longer than the held-out part"):
        backtest.origins(8, 1, 9)
    values = np.sin(np.arange(300) / 5.0)
    with pytest.raises(ValueError, match="100 backtest origins do not fit: the held-out part has 60 values, so with "
                                         "a horizon of 30 there are only 31"):
        Scenario.from_series(values, windows=(1,), backtest_origins=100)
    with pytest.raises(ValueError, match="backtest_origins must be an int >= 0"):
        Scenario.from_series(values, windows=(1,), backtest_origins=-1)


@pytest.fixture(scope="module")
def walk():
    rng = np.random.default_rng(0)
    values = np.cumsum(rng.standard_normal(300))
    # the shapes of tests/test_references.py's scenario: one compiled reference program serves both
    sc = Scenario.from_series(values[:240], heldout=values[240:], name="walk", windows=(1, 3), rollout_steps=60,
                              backtest_origins=5)
    return dataclasses.replace(sc, rollout_modes={"window_3": "stateful"})


def test_a_persistence_model_scores_as_the_persistence_reference(walk):
    b = walk.backtest()
    assert b.horizon == 30 and b.origins.tolist() == [0, 7, 15, 22, 30]  # floor(j * 30 / 4)
    refs = references.evaluate(walk)
    ys = np.repeat(b.contexts(1), b.horizon, axis=1)  # a "model" that repeats its last input
    m = judge_origins(jnp.asarray(ys), jnp.asarray(b.truths()), walk.scale, walk.center)
    np.testing.assert_allclose(m["backtest_rmse"], refs.metrics["persistence"]["backtest_rmse"], rtol=1e-6)
    assert float(m["backtest_valid_horizon"]) == refs.metrics["persistence"]["backtest_valid_horizon"]
    assert float(m["backtest_collapse_rate"]) == 1.0 == refs.metrics["persistence"]["backtest_collapse_rate"]
    # by hand: the mean over origins of each origin's RMSE
    by_hand = np.mean([np.sqrt(np.mean((b.truths()[j] - ys[j]) ** 2)) for j in range(5)])
    np.testing.assert_allclose(m["backtest_rmse"], by_hand, rtol=1e-6)


@pytest.mark.parametrize("variant", ["window_1", "window_3"])
def test_the_model_path_rolls_out_from_every_origin(walk, variant):
    model = walk.variants[variant].model
    mode = walk.rollout_mode(variant)
    params = init_params(jax.random.key(1), model)
    m, _, extras = jax.jit(make_rollout_metrics(walk, variant))(params, program_inputs(walk, variant))
    assert ("map_curve" in extras) == (variant == "window_1")
    if variant == "window_1":  # the learned map at map_grid, for cobweb figures
        grid = map_grid(walk)
        expected = [float(forecast(params, jnp.full((1, 1), x), model)[0]) for x in grid[::9]]
        np.testing.assert_allclose(extras["map_curve"][::9], expected, rtol=1e-5, atol=1e-6)
    b = walk.backtest()
    rmses, horizons = [], []
    for o, truth in zip(b.origins, b.truths()):
        context = b.history[:b.start + o][-model.window:]  # window mode reads these; stateful warms up on them
        ys = np.asarray(rollout(params, context, b.horizon, model, mode=mode))
        rmses.append(np.sqrt(np.mean((ys - truth) ** 2)))
        bad = np.abs(ys - truth) > 0.5 * walk.scale
        horizons.append(np.argmax(bad) if bad.any() else b.horizon)
    np.testing.assert_allclose(m["backtest_rmse"], np.mean(rmses), rtol=1e-5)
    np.testing.assert_allclose(m["backtest_valid_horizon"], np.mean(horizons))


def test_an_origin_beyond_the_divergence_bound_is_diverged_and_the_worst():
    truths = np.zeros((3, 8), np.float32)
    ys = np.stack([np.full(8, 0.1), np.full(8, 0.2), np.r_[np.zeros(7), 1e6]]).astype(np.float32)  # finite, beyond 100
    m = judge_origins(ys, truths, 1.0)
    assert float(m["backtest_rmse"]) == np.inf and float(m["backtest_diverged_rate"]) == np.float32(1 / 3)
    m = judge_origins(ys[:2], truths[:2], 1.0)
    np.testing.assert_allclose(float(m["backtest_rmse"]), 0.15, rtol=1e-6)
    assert float(m["backtest_diverged_rate"]) == 0.0


def test_steps_to_collapse_leaves_diverged_seeds_out():
    from lstm_ar.study.experiment import summarise_metric

    steps = np.r_[np.full(6, 80.0), np.full(4, 3.0)]
    flags = np.r_[np.zeros(6, bool), np.ones(4, bool)]  # diverged rollouts never settle
    s = summarise_metric("steps_to_collapse", steps, flags)
    assert s["n_left_out"] == 4 and s["n_worst"] == 0 and s["median"] == 80.0
    rmse = summarise_metric("rollout_rmse", np.r_[np.full(6, 0.1), np.full(4, 0.01)], flags)
    assert rmse["n_worst"] == 4  # a rollout metric still counts them as the worst


def test_origin_references_from_every_origin(walk):
    """The transfer runs' references (``references.origin_references``) from the walk's origins: persistence as
    the scenario's, the training mean and seasonal naive by hand, AR orders among 1..max_order."""
    b = walk.backtest()
    out = references.origin_references(b, season=7, max_order=5, direct_window=5)
    assert list(out) == ["AR(AIC)", "AR(BIC)", "direct linear", "persistence", "training mean", "seasonal naive (7)"]
    np.testing.assert_allclose(out["persistence"]["backtest_rmse"],
                               references.evaluate(walk).metrics["persistence"]["backtest_rmse"], rtol=1e-6)
    truths = b.truths().astype(np.float64)
    for name, ys in (("training mean", 0.0 * truths), ("seasonal naive (7)", [np.resize(c, 30) for c in b.contexts(7)])):
        np.testing.assert_allclose(out[name]["origin_rmse"], np.sqrt(np.mean((truths - ys) ** 2, axis=1)), rtol=1e-5)
        np.testing.assert_allclose(out[name]["backtest_rmse"], out[name]["origin_rmse"].mean(), rtol=1e-6)
    assert 1 <= out["AR(AIC)"]["order"] <= 5 and 1 <= out["AR(BIC)"]["order"] <= 5
    with pytest.raises(ValueError, match="a context of 300 values is longer than the training part"):
        references.origin_references(b, season=300)
