"""Parity with real Keras 3 (JAX backend, no TensorFlow): the forecaster, the cell, rollouts and
weight conversion checked against Keras's own ``LSTM`` / ``Dense`` layers on Keras's own random
initialisation. The numpy transcription (tests/keras_numpy.py) is checked against the same models
as a second oracle."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_ar.config import ModelConfig  # noqa: E402
from lstm_ar.dynamics.rollout import rollout  # noqa: E402
from lstm_ar.model.cell import LSTMCarry, LSTMCell, lstm_sequence, lstm_step  # noqa: E402
from lstm_ar.model.forecaster import forecast_batch, init_params  # noqa: E402
from lstm_ar.model.keras_io import from_keras, model_config_from_keras, to_keras  # noqa: E402
from tests import keras_numpy  # noqa: E402

# Keras variables' __array__ predates numpy 2's copy keyword (a warning per weight read).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword")

UNITS, BATCH, STEPS = 4, 3, 8
ACTIVATIONS = ("tanh", "relu", "sigmoid")
WINDOWS = (1, 5)
TOL = dict(rtol=2e-5, atol=2e-6)  # float32: different but equally valid summation orders


def keras_side():
    """Keras's own code broadcasts across ranks; ours is tested under rank promotion 'raise'."""
    return jax.numpy_rank_promotion("allow")


def _sequential(window, activation, *, unit_forget_bias=True, dropout=False):
    layers = [keras.Input((window, 1)),
              keras.layers.LSTM(UNITS, activation=activation, recurrent_activation="sigmoid",
                                unit_forget_bias=unit_forget_bias)]
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    return keras.Sequential([*layers, keras.layers.Dense(1)])


@pytest.fixture(scope="module")
def keras_models():
    """One Keras model per (activation, window), each from Keras's own seeded initialisation."""
    assert keras.backend.backend() == "jax", "these tests need KERAS_BACKEND=jax"
    keras.utils.set_random_seed(1234)
    models = {}
    with keras_side():
        for i, (act, window) in enumerate((a, w) for a in ACTIVATIONS for w in WINDOWS):
            model = _sequential(window, act, unit_forget_bias=i % 2 == 0, dropout=act == "relu")
            # Keras's bias init is zeros (+1 forget): perturb it so every gate's bias is exercised.
            weights = model.get_weights()
            weights[2] = weights[2] + np.random.default_rng(i).normal(0.0, 0.3, weights[2].shape).astype(np.float32)
            weights[4] = np.asarray([0.1], np.float32)
            model.set_weights(weights)
            models[act, window] = model
    return models


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    return {w: rng.normal(size=(BATCH, w, 1)).astype(np.float32) for w in WINDOWS}


def _config(act, window):
    return ModelConfig(units=UNITS, window=window, activation=act)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("act", ACTIVATIONS)
def test_forecast_matches_keras(keras_models, inputs, act, window):
    model, x = keras_models[act, window], inputs[window]
    with keras_side():
        want = np.asarray(model(x))
    got = forecast_batch(from_keras(model.get_weights()), jnp.asarray(x), _config(act, window))
    np.testing.assert_allclose(got, want, **TOL)
    # the model object itself is accepted too, and its configuration read back
    np.testing.assert_array_equal(forecast_batch(from_keras(model), jnp.asarray(x), _config(act, window)), got)
    assert model_config_from_keras(model) == ModelConfig(units=UNITS, window=window, activation=act,
                                                         unit_forget_bias=model.layers[0].get_config()["unit_forget_bias"])
    # the numpy transcription agrees with Keras too (second oracle)
    ref = np.stack([keras_numpy.forecaster(w, model.get_weights(), act) for w in x])
    np.testing.assert_allclose(ref, want, **TOL)


def test_predict_matches_forecast_batch(keras_models, inputs):
    model, x = keras_models["tanh", 5], inputs[5]
    got = forecast_batch(from_keras(model), jnp.asarray(x), _config("tanh", 5))
    with keras_side():
        want = model.predict(x, verbose=0)
    np.testing.assert_allclose(got, want, **TOL)


def _jit_keras(fn):
    """A Keras call compiled once (an eager Keras call re-traces its scan: ~0.3 s each)."""
    compiled = jax.jit(fn)

    def call(*args):
        with keras_side():
            return np.asarray(compiled(*args))
    return call


def _keras_window_rollout(model, contexts, window, steps):
    predict = _jit_keras(lambda w: model(w, training=False))
    windows, ys = contexts[:, -window:, None], []
    for _ in range(steps):
        y = predict(windows)  # f32[batch, 1]
        ys.append(y[:, 0])
        windows = np.concatenate([windows[:, 1:], y[:, None, :]], axis=1)
    return np.stack(ys, axis=1)


def _keras_stateful_rollout(model, contexts, steps):
    """Keras's own layers: LSTM(return_state=True) over the context, then one step at a time."""
    lstm, dense = model.layers[0], model.layers[-1]
    with keras_side():
        stepper = keras.layers.LSTM(UNITS, activation=lstm.activation, recurrent_activation=lstm.recurrent_activation,
                                    return_state=True)
        stepper.build((None, None, 1))
        stepper.set_weights(lstm.get_weights())

    def step(x, h, c):  # x: f32[batch, time, 1] -> (y f32[batch, 1], h, c)
        _, h, c = stepper(x, initial_state=[h, c])
        return jnp.concatenate([dense(h), h, c], axis=1)

    step = _jit_keras(step)
    zeros = np.zeros((contexts.shape[0], UNITS), np.float32)
    out, ys = step(contexts[:, :, None], zeros, zeros), []
    for _ in range(steps):
        y, h, c = out[:, :1], out[:, 1:1 + UNITS], out[:, 1 + UNITS:]
        ys.append(y[:, 0])
        out = step(y[:, None, :], h, c)
    return np.stack(ys, axis=1)


@pytest.mark.parametrize("act,window", [("tanh", 1), ("tanh", 5), ("relu", 5), ("sigmoid", 1)])
def test_rollouts_match_keras(keras_models, act, window):
    model = keras_models[act, window]
    contexts = np.random.default_rng(1).normal(size=(BATCH, 6)).astype(np.float32)
    params, config = from_keras(model), _config(act, window)
    ours = jax.jit(jax.vmap(lambda c: jnp.stack([rollout(params, c, STEPS, config, mode=m)
                                                 for m in ("window", "stateful")])))(jnp.asarray(contexts))
    np.testing.assert_allclose(ours[:, 0], _keras_window_rollout(model, contexts, window, STEPS), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[:, 1], _keras_stateful_rollout(model, contexts, STEPS), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_cell_matches_keras_lstm_step_by_step(act):
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(BATCH, 6, 1)).astype(np.float32)
    h0, c0 = (rng.normal(size=(BATCH, UNITS)).astype(np.float32) for _ in range(2))
    with keras_side():
        layer = keras.layers.LSTM(UNITS, activation=act, return_sequences=True, return_state=True)
        seq, h_last, c_last = (np.asarray(a) for a in layer(xs))
        seq0, h0_last, c0_last = (np.asarray(a) for a in layer(xs, initial_state=[h0, c0]))
    kernel, recurrent, bias = layer.get_weights()
    params = {"kernel": jnp.asarray(kernel), "recurrent_kernel": jnp.asarray(recurrent), "bias": jnp.asarray(bias)}
    step = jax.jit(lambda carry, x: lstm_step(params, carry, x, activation=act))
    for start, want_seq, want_h, want_c in ((None, seq, h_last, c_last), ((h0, c0), seq0, h0_last, c0_last)):
        for b in range(BATCH):
            carry = LSTMCarry(jnp.zeros(UNITS), jnp.zeros(UNITS)) if start is None else \
                LSTMCarry(jnp.asarray(start[0][b]), jnp.asarray(start[1][b]))
            for t in range(xs.shape[1]):
                carry, h = step(carry, jnp.asarray(xs[b, t]))
                np.testing.assert_allclose(h, want_seq[b, t], **TOL)
            np.testing.assert_allclose(carry.h, want_h[b], **TOL)
            np.testing.assert_allclose(carry.c, want_c[b], **TOL)
        # the scanned sequence and the Flax module agree with Keras as well
        init = None if start is None else LSTMCarry(jnp.asarray(start[0]), jnp.asarray(start[1]))
        final = jax.vmap(lambda s, c: lstm_sequence(params, s, activation=act, carry=c),
                         in_axes=(0, None if init is None else 0))(jnp.asarray(xs), init)
        np.testing.assert_allclose(final.h, want_h, **TOL)
        np.testing.assert_allclose(final.c, want_c, **TOL)
    cell = LSTMCell(features=UNITS, activation_fn=act)
    carry = LSTMCarry(jnp.asarray(h0), jnp.asarray(c0))
    new, _ = jax.vmap(lambda c, x: cell.apply({"params": params}, c, x))(carry, jnp.asarray(xs[:, 0]))
    np.testing.assert_allclose(new.h, seq0[:, 0], **TOL)


@pytest.mark.parametrize("window", WINDOWS)
def test_to_keras_weights_give_keras_the_same_outputs(keras_models, inputs, window):
    config = _config("sigmoid", window)
    params = init_params(jax.random.key(3), config)  # weights Keras never saw
    params["lstm"]["bias"] = params["lstm"]["bias"] + 0.2 * jax.random.normal(jax.random.key(4), (4 * UNITS,))
    model = keras_models["sigmoid", window]
    before = model.get_weights()
    try:
        x = inputs[window]
        with keras_side():
            model.set_weights(to_keras(params))
            want = np.asarray(model(x))
        np.testing.assert_allclose(want, forecast_batch(params, jnp.asarray(x), config), **TOL)
        for a, b in zip(model.get_weights(), to_keras(from_keras(model))):
            np.testing.assert_array_equal(a, b)
    finally:
        model.set_weights(before)


def test_unsupported_keras_models_are_refused():
    def build(*layers, shape=(2, 1)):
        with keras_side():
            return keras.Sequential([keras.Input(shape), *layers])

    LSTM, Dense = keras.layers.LSTM, keras.layers.Dense
    with pytest.raises(ValueError, match=r"Dense head has units=3, activation='linear'.*supported: a univariate LSTM"):
        from_keras(build(LSTM(2), Dense(3)))
    with pytest.raises(ValueError, match=r"Dense head has units=1, activation='relu'"):
        from_keras(build(LSTM(2), Dense(1, activation="relu")))
    with pytest.raises(ValueError, match=r"Keras model has layers \['LSTM', 'LSTM', 'Dense'\]; supported"):
        from_keras(build(LSTM(2, return_sequences=True), LSTM(2), Dense(1)))
    with pytest.raises(ValueError, match=r"Keras LSTM has \{'return_sequences': True\}"):
        from_keras(build(LSTM(2, return_sequences=True), Dense(1)))
    with pytest.raises(ValueError, match=r"Keras LSTM has \{'use_bias': False\}"):
        from_keras(build(LSTM(2, use_bias=False), Dense(1)))
    with pytest.raises(ValueError, match=r"LSTM kernel has shape \(3, 8\): 3 input features"):
        from_keras(build(LSTM(2), Dense(1), shape=(2, 3)))
    variable = build(LSTM(2, activation="relu"), Dense(1), shape=(None, 1))
    with pytest.raises(ValueError, match=r"no fixed input length .*pass window="):
        model_config_from_keras(variable)
    assert model_config_from_keras(variable, window=4) == ModelConfig(units=2, window=4, activation="relu")
