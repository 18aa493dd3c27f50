import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig
from lstm_ar.model.forecaster import Forecaster, draw_masks, dropout_mask, forecast, forecast_batch, init_params
from lstm_ar.model.keras_io import from_keras, to_keras
from tests import keras_numpy

MODEL = ModelConfig(units=5, window=3, activation="relu")


def _keras_weights(rng, units=5, d=1):
    return [rng.normal(size=(d, 4 * units)).astype(np.float32) * 0.5,
            rng.normal(size=(units, 4 * units)).astype(np.float32) * 0.5,
            rng.normal(size=(4 * units,)).astype(np.float32) * 0.1,
            rng.normal(size=(units, 1)).astype(np.float32),
            rng.normal(size=(1,)).astype(np.float32)]


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid"])
def test_from_keras_forward_matches_numpy_keras(act):
    rng = np.random.default_rng(0)
    weights = _keras_weights(rng)
    model = ModelConfig(units=5, window=3, activation=act)
    x = rng.normal(size=(4, 3, 1)).astype(np.float32)
    got = forecast_batch(from_keras(weights), jnp.asarray(x), model)
    want = np.stack([keras_numpy.forecaster(w, weights, act) for w in x])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_keras_round_trip_is_exact():
    weights = _keras_weights(np.random.default_rng(1))
    back = to_keras(from_keras(weights))
    for a, b in zip(weights, back):
        np.testing.assert_array_equal(a, b)


def test_from_keras_rejects_wrong_weights():
    weights = _keras_weights(np.random.default_rng(1))
    with pytest.raises(ValueError, match="expected 5 arrays"):
        from_keras(weights[:4])
    weights[2] = weights[2][:-1]
    with pytest.raises(ValueError, match="bias has shape"):
        from_keras(weights)


def test_training_forward_with_masks_matches_numpy_keras():
    rng = np.random.default_rng(2)
    weights = _keras_weights(rng)
    params = from_keras(weights)
    hyper = Hyper(dropout=0.3, recurrent_dropout=0.4, output_dropout=0.5)
    masks = draw_masks(jax.random.key(7), hyper, units=5)
    window = rng.normal(size=(3, 1)).astype(np.float32)
    got = forecast(params, jnp.asarray(window), MODEL, masks)
    want = keras_numpy.forecaster(window, weights, "relu",
                                  masks=tuple(np.asarray(m, np.float64) for m in masks))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_dropout_mask_is_inverted_with_the_right_rate():
    mask = np.asarray(dropout_mask(jax.random.key(0), 0.25, (200_000,)))
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.75)}
    assert abs(np.mean(mask == 0) - 0.25) < 0.005
    assert abs(np.mean(mask) - 1.0) < 0.01
    np.testing.assert_array_equal(dropout_mask(jax.random.key(0), 0.0, (100,)), np.ones(100))


def test_input_masks_shared_across_gates_unless_recurrent_dropout():
    shared = draw_masks(jax.random.key(0), Hyper(dropout=0.5), units=64, input_dim=64)
    assert all(np.array_equal(shared.input[0], shared.input[k]) for k in range(4))
    per_gate = draw_masks(jax.random.key(0), Hyper(dropout=0.5, recurrent_dropout=0.2), units=64, input_dim=64)
    assert not np.array_equal(per_gate.input[0], per_gate.input[1])
    assert not np.array_equal(per_gate.recurrent[0], per_gate.recurrent[1])


def test_dropout_only_in_training_and_each_example_gets_its_own_mask():
    params = init_params(jax.random.key(0), MODEL)
    x = jnp.ones((64, 3, 1))
    hyper = Hyper(dropout=0.5, recurrent_dropout=0.5, output_dropout=0.5)
    inference = forecast_batch(params, x, MODEL, hyper=hyper)
    np.testing.assert_allclose(inference, inference[:1].repeat(64, 0))  # same input, same output
    training = forecast_batch(params, x, MODEL, hyper=hyper, key=jax.random.key(1))
    assert len(np.unique(np.asarray(training))) > 10
    no_rate = forecast_batch(params, x, MODEL, hyper=Hyper(), key=jax.random.key(1))
    np.testing.assert_allclose(no_rate, inference, rtol=1e-6)


def test_flax_module_equals_pure_function():
    module = Forecaster(model=MODEL, hyper=Hyper(output_dropout=0.5))
    x = jax.random.normal(jax.random.key(0), (8, 3, 1))
    variables = module.init(jax.random.key(1), x)
    params = variables["params"]["params_tree"]
    np.testing.assert_array_equal(module.apply(variables, x), forecast_batch(params, x, MODEL))
    train = lambda k: module.apply(variables, x, deterministic=False, rngs={"dropout": k})  # noqa: E731
    np.testing.assert_array_equal(train(jax.random.key(2)), train(jax.random.key(2)))
    assert not np.allclose(train(jax.random.key(2)), module.apply(variables, x))


def test_bad_input_rank_and_window_raise():
    params = init_params(jax.random.key(0), MODEL)
    with pytest.raises(ValueError, match="rank 3"):
        forecast_batch(params, jnp.ones((4, 3)), MODEL)
    with pytest.raises(ValueError, match=r"\[batch, 3, 1\]"):
        forecast_batch(params, jnp.ones((4, 2, 1)), MODEL)
