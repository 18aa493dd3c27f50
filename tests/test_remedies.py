"""The remedies harness: every remedy at its neutral setting is the plain Keras training, each
remedy changes the model when switched on, the divergence bound, realisations and the crossed
seed x realisation design."""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import ModelConfig
from lstm_ar.data.series import noisy_sine, sequences, windows
from lstm_ar.model.forecaster import encode
from lstm_ar.remedies.model import dense, predict
from lstm_ar.remedies.realisations import sine_realisations
from lstm_ar.remedies.recipe import Recipe, RemedyHyper, check_remedy_hyper
from lstm_ar.remedies.rollout import DIVERGENCE_BOUND, path_metrics, rollouts
from lstm_ar.remedies.train import curriculum_weights, dad_pairs, example_loss, k_step_loss, make_train
from lstm_ar.training import plain

MODEL = ModelConfig(units=4, window=3, activation="tanh")
BASE = Recipe(model=MODEL, epochs=2, batch_size=8)
SERIES = np.sin(np.linspace(0, 6 * np.pi, 60)).astype(np.float32) + 0.1 * np.random.RandomState(0).randn(60).astype(
    np.float32)
KEY = jax.random.key(3)


@pytest.fixture(scope="module")
def neutral():
    return jax.jit(make_train(BASE, SERIES.shape[0]))(KEY, SERIES, RemedyHyper())


def _close(a, b, atol=2e-6):
    chex.assert_trees_all_close(a, b, atol=atol, rtol=2e-5)


def test_neutral_recipe_is_plain_keras_training(neutral):
    ref = jax.jit(plain.make_train(BASE.train_config(), windows(SERIES, 3)))(KEY)
    _close(neutral.params, ref.params)
    _close(neutral.epoch_loss, ref.epoch_loss)


def test_direct_head_of_one_value_is_plain_training(neutral):
    direct = dataclasses.replace(BASE, head="direct", horizon=1)
    out = jax.jit(make_train(direct, SERIES.shape[0]))(KEY, SERIES, RemedyHyper())
    _close(out.params, neutral.params)


def test_fixed_horizon_is_the_free_running_regime():
    recipe = dataclasses.replace(BASE, horizon=4)
    out = jax.jit(make_train(recipe, SERIES.shape[0]))(KEY, SERIES, RemedyHyper())
    ref = jax.jit(plain.make_train(recipe.train_config(), sequences(SERIES, 3, 4)))(KEY)
    _close(out.params, ref.params)
    _close(out.epoch_loss, ref.epoch_loss)


@pytest.mark.parametrize("change", [
    dict(hyper=RemedyHyper(input_noise=0.2)),
    dict(recipe=dict(residual=True)),
    dict(recipe=dict(dad_rounds=1, dad_starts=2, dad_length=4)),
    dict(recipe=dict(head="gaussian")),
])
def test_each_remedy_changes_the_model(neutral, change):
    recipe = dataclasses.replace(BASE, **change.get("recipe", {}))
    out = jax.jit(make_train(recipe, SERIES.shape[0]))(KEY, SERIES, change.get("hyper", RemedyHyper()))
    if recipe.head == "gaussian":
        assert out.params["dense"]["kernel"].shape == (4, 2)
    else:
        assert not np.allclose(out.params["lstm"]["kernel"], neutral.params["lstm"]["kernel"])


def test_dad_pairs_are_the_models_own_windows_and_the_true_next_value(neutral):
    recipe = dataclasses.replace(BASE, dad_rounds=1, dad_starts=2, dad_length=4)
    params = jax.tree.map(jnp.zeros_like, neutral.params)
    params["dense"]["bias"] = jnp.full((1,), 7.0)  # predicts 7 whatever it reads
    xs, ys = dad_pairs(params, jnp.asarray(SERIES), jax.random.key(0), recipe)
    xs, ys = np.asarray(xs).reshape(2, 4, 3), np.asarray(ys).reshape(2, 4)
    for start in range(2):
        p = int(np.flatnonzero(SERIES == xs[start, 0, 0])[0]) - 1  # after one prediction: [x_p+1, x_p+2, 7]
        np.testing.assert_array_equal(xs[start, 0], [SERIES[p + 1], SERIES[p + 2], 7.0])
        for j in range(4):
            assert xs[start, j, -1] == 7.0  # the window ends with the model's own prediction
            assert ys[start, j] == SERIES[p + 3 + j + 1]  # the value after the one it estimated


def test_gaussian_loss_is_the_negative_log_likelihood(neutral):
    from scipy.stats import norm

    from lstm_ar.remedies.model import gaussian
    recipe = dataclasses.replace(BASE, head="gaussian")
    params = jax.jit(make_train(recipe, 60))(KEY, SERIES, RemedyHyper()).params
    x, y = jnp.asarray(SERIES[:3, None]), jnp.asarray(SERIES[3:4])
    mean, std = gaussian(dense(params, encode(params, x, recipe.model).h))
    loss = example_loss(params, x, y, jnp.ones(1), recipe)
    np.testing.assert_allclose(loss, -norm.logpdf(float(y[0]), float(mean), float(std)), rtol=1e-5)


def test_curriculum_weights_reach_the_loss(neutral):
    recipe = dataclasses.replace(BASE, horizon=4)
    x, y = jnp.asarray(SERIES[:3, None]), jnp.asarray(SERIES[3:7])
    first_only = k_step_loss(neutral.params, x, y, jnp.asarray([1.0, 0, 0, 0]), recipe)
    one_step = (predict(neutral.params, x, BASE)[0] - y[0]) ** 2
    np.testing.assert_allclose(first_only, one_step, rtol=1e-6)
    assert not np.isclose(k_step_loss(neutral.params, x, y, jnp.ones(4), recipe), first_only)


def test_the_rollouts_are_the_projects_and_the_data_is_the_sine_scenarios(neutral):
    from lstm_ar.dynamics.rollout import rollout
    from lstm_ar.scenarios.reproduce import activation

    context = jnp.asarray(SERIES)
    np.testing.assert_allclose(rollouts(neutral.params, context, 9, BASE, KEY)["point"],
                               rollout(neutral.params, context, 9, MODEL), rtol=1e-6)
    stateful = dataclasses.replace(BASE, horizon=4)
    np.testing.assert_allclose(rollouts(neutral.params, context, 9, stateful, KEY)["point"],
                               rollout(neutral.params, context[-3:], 9, MODEL, mode="stateful"), rtol=1e-6)
    data, article = sine_realisations(1, steps=200), activation(True)
    np.testing.assert_array_equal(data.context[0], article.context)
    np.testing.assert_allclose(data.truth[0], article.truth, rtol=1e-6)
    np.testing.assert_allclose(data.scale[0], article.scale, rtol=1e-6)


def test_curriculum_grows_the_counted_horizon():
    recipe = dataclasses.replace(BASE, horizon=5, curriculum=True)
    counted = [int(curriculum_weights(recipe, jnp.float32(p)).sum()) for p in (0.0, 0.25, 0.5, 0.9)]
    assert counted == [1, 3, 5, 5]
    assert int(curriculum_weights(dataclasses.replace(recipe, curriculum=False), jnp.float32(0)).sum()) == 5


def test_rollout_built_to_blow_up_counts_as_diverged():
    truth = jnp.zeros(60)
    blow = jnp.float32(1.2) ** jnp.arange(60, dtype=jnp.float32)  # reaches 5e4: finite, far out
    m = path_metrics(blow, truth, 1.0)
    assert bool(m["diverged"]) and not bool(m["collapsed"]) and np.isinf(m["rollout_rmse"])
    stay = jnp.full(60, 0.5 * DIVERGENCE_BOUND)  # far, flat, inside the bound: collapsed, not diverged
    m = path_metrics(stay, truth, 1.0)
    assert not bool(m["diverged"]) and bool(m["collapsed"]) and np.isfinite(m["rollout_rmse"])
    m = path_metrics(jnp.full(60, jnp.nan), truth, 1.0)
    assert bool(m["diverged"]) and np.isinf(m["max_abs_deviation"])


def test_realisation_zero_is_the_articles_series_and_others_differ():
    data = sine_realisations(3, steps=10)
    np.testing.assert_array_equal(data.series[0], noisy_sine().values)
    assert not np.allclose(data.series[1], data.series[2])
    clean = sine_realisations(2, steps=10, noise=0.0)
    np.testing.assert_allclose(clean.series[0], clean.series[1])
    with pytest.raises(ValueError, match="noise"):
        sine_realisations(1, noise=-0.1)


def test_rollout_modes_have_the_requested_length(neutral):
    context = jnp.asarray(SERIES)
    for recipe in (BASE, dataclasses.replace(BASE, horizon=4)):
        assert rollouts(neutral.params, context, 7, recipe, KEY)["point"].shape == (7,)
    direct = dataclasses.replace(BASE, head="direct", horizon=3)
    params = jax.jit(make_train(direct, 60))(KEY, SERIES, RemedyHyper()).params
    assert rollouts(params, context, 7, direct, KEY)["point"].shape == (7,)


def test_bad_recipes_and_settings_are_refused():
    with pytest.raises(ValueError, match="head"):
        Recipe(head="mlp")
    with pytest.raises(ValueError, match="curriculum"):
        Recipe(curriculum=True)
    with pytest.raises(ValueError, match="Data as Demonstrator"):
        Recipe(head="direct", horizon=10, dad_rounds=1)
    with pytest.raises(ValueError, match="input_noise"):
        check_remedy_hyper(RemedyHyper(input_noise=-1.0))
    with pytest.raises(ValueError, match="no example"):
        make_train(Recipe(model=ModelConfig(window=50)), 40)


def test_realisations_in_cache_sized_blocks_equal_one_vmap(monkeypatch):
    from lstm_ar.remedies.search import cache_layout, map_realisations, realisation_block

    w50 = dataclasses.replace(BASE, model=dataclasses.replace(MODEL, window=50, units=32), batch_size=32)
    assert cache_layout(w50, 16) == (4, 1) and cache_layout(BASE, 16) == (8, 1)
    stateful = dataclasses.replace(w50, horizon=40)
    assert stateful.lstm_steps == 90 and cache_layout(stateful, 16) == (2, 1)
    assert [realisation_block(12, f) for f in (1, 5, 6, 100)] == [1, 4, 6, 12]
    with monkeypatch.context() as m:  # an accelerator has no cache to fit: one block
        m.setattr(jax, "default_backend", lambda: "gpu")
        assert cache_layout(w50, 16)[0] == 16
    series = jnp.stack([jnp.asarray(SERIES) + 0.05 * k for k in range(4)])

    def one(s, shift):  # a pytree of outputs per realisation
        return {"path": jnp.cumsum(jnp.tanh(s)) * shift, "total": jnp.sum(s) + shift}

    shifts = jnp.arange(4, dtype=jnp.float32)
    whole = jax.vmap(one)(series, shifts)
    blocks = jax.jit(lambda a, b: map_realisations(one, (a, b), 2))(series, shifts)
    chex.assert_trees_all_equal_shapes(whole, blocks)
    _close(whole, blocks, atol=1e-6)
    assert map_realisations(one, (series, shifts), 4)["path"].shape == (4, SERIES.shape[0])
