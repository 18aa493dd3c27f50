"""The Flax modules and the pure functions share one parameter tree and compute the same thing."""

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import windows
from lstm_ar.model.cell import LSTMCell, init_lstm_params, lstm_sequence, lstm_step
from lstm_ar.model.forecaster import Forecaster, draw_batch_masks, forecast_batch, init_params
from lstm_ar.model.keras_io import from_keras
from lstm_ar.training import make_train, seed_keys
from tests import keras_numpy

MODEL = ModelConfig(units=5, window=3, activation="relu")
X = jax.random.normal(jax.random.key(0), (6, 3, 1))


def _layout(tree):
    return jax.tree.map(lambda a: (a.shape, a.dtype), tree)


@pytest.mark.parametrize("model", [MODEL, ModelConfig(units=4, window=1, layer_norm=True, unit_forget_bias=False)])
def test_init_has_the_layout_of_init_params(model):
    x = X[:, :model.window]
    params = Forecaster(model=model).init(jax.random.key(1), x)["params"]
    want = init_params(jax.random.key(1), model)
    assert jax.tree.structure(params) == jax.tree.structure(want)  # no extra level of names
    assert _layout(params) == _layout(want)
    np.testing.assert_array_equal(params["lstm"]["bias"], want["lstm"]["bias"])  # Keras's (forget) bias
    # the same maths; nn.scan and lax.scan may fuse the layer norm differently: equal to float32 rounding
    np.testing.assert_allclose(Forecaster(model=model).apply({"params": want}, x), forecast_batch(want, x, model),
                               rtol=1e-6, atol=1e-7)


def test_apply_equals_the_pure_function_and_dropout_is_training_only():
    module = Forecaster(model=MODEL, hyper=Hyper(output_dropout=0.5, dropout=0.3))
    variables = module.init(jax.random.key(1), X)
    np.testing.assert_array_equal(module.apply(variables, X), forecast_batch(variables["params"], X, MODEL))
    train = lambda k: module.apply(variables, X, deterministic=False, rngs={"dropout": k})  # noqa: E731
    np.testing.assert_array_equal(train(jax.random.key(2)), train(jax.random.key(2)))
    assert not np.allclose(train(jax.random.key(2)), train(jax.random.key(3)))
    assert not np.allclose(train(jax.random.key(2)), module.apply(variables, X))
    with pytest.raises(flax.errors.InvalidRngError):
        module.apply(variables, X, deterministic=False)
    # no site, no dropout; an unknown site is a clear error
    off = Forecaster(model=MODEL, dropout_sites=())
    np.testing.assert_array_equal(off.apply(variables, X, deterministic=False, rngs={"dropout": jax.random.key(2)}),
                                  module.apply(variables, X))
    with pytest.raises(ValueError, match="'output' is not among dropout_sites"):
        Forecaster(model=MODEL, hyper=Hyper(output_dropout=0.5), dropout_sites=("input",)).apply(
            variables, X, deterministic=False, rngs={"dropout": jax.random.key(2)})
    with pytest.raises(ValueError, match="valid: input, recurrent, output"):
        Forecaster(model=MODEL, dropout_sites=("Output",)).apply(variables, X, deterministic=False,
                                                                 rngs={"dropout": jax.random.key(2)})


class _DropoutKey(nn.Module):
    """The key ``make_rng("dropout")`` gives the first time it is called at the root module."""

    @nn.compact
    def __call__(self):
        return self.make_rng("dropout")


@pytest.mark.parametrize("hyper", [Hyper(output_dropout=0.5, dropout=0.3),
                                   Hyper(dropout=0.2, recurrent_dropout=0.4, output_dropout=0.3)])
def test_training_mode_values_equal_the_pure_function_with_the_drawn_masks(hyper):
    module = Forecaster(model=MODEL, hyper=hyper)
    params = module.init(jax.random.key(1), X)["params"]
    rngs = {"dropout": jax.random.key(7)}
    got = module.apply({"params": params}, X, deterministic=False, rngs=rngs)
    key = _DropoutKey().apply({}, rngs=rngs)
    sites = tuple(site for site, rate in (("input", hyper.dropout), ("output", hyper.output_dropout),
                                          ("recurrent", hyper.recurrent_dropout)) if rate)
    masks = draw_batch_masks(key, hyper, X.shape[0], MODEL.units, 1, sites=sites)
    want = forecast_batch(params, X, MODEL, masks)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert not np.allclose(got, forecast_batch(params, X, MODEL))  # the masks did something


def test_trained_params_run_through_the_module():
    config = TrainConfig(model=MODEL, epochs=1, batch_size=8, hyper=Hyper(output_dropout=0.2))
    data = windows(np.sin(np.linspace(0, 6, 20)).astype(np.float32), 3)
    result = jax.jit(make_train(config, data))(seed_keys(0, 0, 1)[0], data)
    x = jnp.asarray(data.x)
    np.testing.assert_array_equal(Forecaster(model=MODEL).apply({"params": result.params}, x),
                                  forecast_batch(result.params, x, MODEL))


def test_from_keras_weights_run_through_the_module():
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(1, 20)).astype(np.float32) * 0.5, rng.normal(size=(5, 20)).astype(np.float32) * 0.5,
               rng.normal(size=(20,)).astype(np.float32) * 0.1, rng.normal(size=(5, 1)).astype(np.float32),
               rng.normal(size=(1,)).astype(np.float32)]
    params = from_keras(weights)
    got = Forecaster(model=MODEL).apply({"params": params}, X)
    np.testing.assert_array_equal(got, forecast_batch(params, X, MODEL))
    want = np.stack([keras_numpy.forecaster(np.asarray(w), weights, "relu") for w in X])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_cell_has_init_lstm_params_layout_and_runs_batched_under_nn_rnn():
    cell = LSTMCell(features=5, activation_fn="relu")
    xs = jax.random.normal(jax.random.key(4), (3, 4, 2))  # [batch, time, d]
    params = cell.init(jax.random.key(0), cell.initialize_carry(None, xs[:, 0].shape), xs[:, 0])["params"]
    assert _layout(params) == _layout(init_lstm_params(jax.random.key(0), 2, 5))
    assert cell.initialize_carry(None, (3, 2)).h.shape == (3, 5)
    # a step on a batch equals the pure step per example
    carry = cell.initialize_carry(None, xs[:, 0].shape)
    got = cell.apply({"params": params}, carry, xs[:, 0])
    want = jax.vmap(lambda x: lstm_step(params, jax.tree.map(lambda a: a[0], carry), x, activation="relu"))(xs[:, 0])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), got, want)
    # flax's RNN (a lax.scan over the cell) equals the pure sequence function
    rnn = nn.RNN(cell, return_carry=True)
    final, _ = rnn.apply({"params": {"cell": params}}, xs)
    ref = jax.vmap(lambda s: lstm_sequence(params, s, activation="relu"))(xs)
    np.testing.assert_allclose(final.h, ref.h, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(final.c, ref.c, rtol=1e-6, atol=1e-7)
