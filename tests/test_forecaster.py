import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig
from lstm_ar.model.forecaster import draw_batch_masks, draw_masks, dropout_mask, forecast, forecast_batch, init_params
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
    masks = draw_masks(jax.random.key(7), hyper, units=5, sites=("input", "output", "recurrent"))
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
    shared = draw_masks(jax.random.key(0), Hyper(dropout=0.5), units=64, input_dim=64, sites=("input",))
    assert all(np.array_equal(shared.input[0], shared.input[k]) for k in range(4))
    # with a recurrent site the choice follows the (numeric) rate: zero -> shared
    zero_rate = draw_masks(jax.random.key(0), Hyper(dropout=0.5), units=64, input_dim=64, sites=("input", "recurrent"))
    np.testing.assert_array_equal(zero_rate.input, shared.input)
    per_gate = draw_masks(jax.random.key(0), Hyper(dropout=0.5, recurrent_dropout=0.2), units=64, input_dim=64,
                          sites=("input", "recurrent"))
    assert not np.array_equal(per_gate.input[0], per_gate.input[1])
    assert not np.array_equal(per_gate.recurrent[0], per_gate.recurrent[1])


def test_dropout_only_in_training_and_each_example_gets_its_own_mask():
    params = init_params(jax.random.key(0), MODEL)
    x = jnp.ones((64, 3, 1))
    hyper = Hyper(dropout=0.5, recurrent_dropout=0.5, output_dropout=0.5)
    inference = forecast_batch(params, x, MODEL)
    np.testing.assert_allclose(inference, inference[:1].repeat(64, 0))  # same input, same output
    masks = draw_batch_masks(jax.random.key(1), hyper, 64, 5, sites=("input", "output", "recurrent"))
    assert masks.input.shape == (64, 4, 1) and masks.recurrent.shape == (64, 4, 5) and masks.output.shape == (64, 5)
    training = forecast_batch(params, x, MODEL, masks)
    assert len(np.unique(np.asarray(training))) > 10
    no_sites = draw_batch_masks(jax.random.key(1), hyper, 64, 5, sites=())
    np.testing.assert_array_equal(forecast_batch(params, x, MODEL, no_sites), inference)


def test_bad_input_rank_and_window_raise():
    params = init_params(jax.random.key(0), MODEL)
    with pytest.raises(ValueError, match="rank 3"):
        forecast_batch(params, jnp.ones((4, 3)), MODEL)
    with pytest.raises(ValueError, match=r"\[batch, 3, 1\]"):
        forecast_batch(params, jnp.ones((4, 2, 1)), MODEL)


def test_the_documented_parameter_layout_names_every_parameter():
    import re

    from lstm_ar.model import forecaster
    layout = forecaster.__doc__.split("::", 1)[1].split("\n\n", 2)[1]  # the literal block
    documented = set(re.findall(r'"(\w+)"', layout))
    params = init_params(jax.random.key(0), ModelConfig(units=3, layer_norm=True))
    actual = set(params) | {name for group in params.values() for name in group}
    assert actual <= documented, f"undocumented: {sorted(actual - documented)}"


@pytest.mark.parametrize("head", ["next", "direct"])
def test_window_scaling_reads_each_window_by_its_own_level_and_scale(head):
    """RevIN-like: the model sees ``(w - mean) / std``; a shifted and stretched window gives the forecast shifted and
    stretched; without it the same params forecast otherwise; the Flax module agrees."""
    from lstm_ar.model.forecaster import Forecaster, forecast_batch, window_statistics

    model = ModelConfig(units=4, window=6, head=head, horizon=3 if head == "direct" else 1, window_scaling=True)
    params = init_params(jax.random.key(3), model)
    x = jax.random.normal(jax.random.key(4), (5, 6, 1))
    y = forecast_batch(params, x, model)
    np.testing.assert_allclose(forecast_batch(params, 7.0 + 3.0 * x, model), 7.0 + 3.0 * y, rtol=1e-4, atol=1e-4)
    level, scale = jax.vmap(window_statistics)(x)
    plain = dataclasses.replace(model, window_scaling=False)
    scaled_x = (x - level[:, None, None]) / scale[:, None, None]
    np.testing.assert_allclose(y, level[:, None] + scale[:, None] * forecast_batch(params, scaled_x, plain), rtol=1e-5)
    assert not np.allclose(y, forecast_batch(params, x, plain), atol=1e-3)
    np.testing.assert_allclose(Forecaster(model=model).apply({"params": params}, x), y, rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(forecast_batch(params, jnp.ones((1, 6, 1)), model)))  # a constant window: the floor


def test_window_scaling_is_a_remedy_trained_on_the_plain_path_and_checked():
    from lstm_ar.config import TrainConfig
    from lstm_ar.training import fast

    config = TrainConfig(model=ModelConfig(units=4, window=6, window_scaling=True), epochs=1)
    assert "window scaling" in config.remedies and not fast.supports(config) and "window-scaled" in config.describe()
    with pytest.raises(ValueError, match="window_scaling scales a point forecast"):
        ModelConfig(head="gaussian", window_scaling=True)
    for flag in ("window_scaling", "linear_skip"):
        with pytest.raises(ValueError, match="linear_skip read each input window whole"):
            TrainConfig(model=ModelConfig(window=6, **{flag: True}), regime="free_running", horizon=4)


@pytest.mark.parametrize("scaled", [False, True])
def test_linear_skip_adds_a_linear_forecast_of_the_window_to_the_head(scaled):
    """The hybrid: outputs = Dense(LSTM(window)) + window @ skip. It starts at zero (the plain model's forecast, the
    plain model's keys); with the LSTM's Dense at zero it is exactly the direct linear forecast (of the scaled window,
    scaled back); the Flax module agrees; training moves the skip kernel."""
    from lstm_ar.config import TrainConfig
    from lstm_ar.data.series import windows
    from lstm_ar.model.forecaster import Forecaster, forecast_batch, window_statistics
    from lstm_ar.training import make_train

    model = ModelConfig(units=4, window=6, head="direct", horizon=3, window_scaling=scaled, linear_skip=True)
    plain = dataclasses.replace(model, linear_skip=False)
    params = init_params(jax.random.key(3), model)
    assert params["skip"]["kernel"].shape == (6, 3) and not np.any(params["skip"]["kernel"])
    x = jax.random.normal(jax.random.key(4), (5, 6, 1))
    same = {k: v for k, v in params.items() if k != "skip"}
    np.testing.assert_array_equal(forecast_batch(params, x, model), forecast_batch(same, x, plain))
    skip = jax.random.normal(jax.random.key(5), (6, 3))
    linear = {**params, "skip": {"kernel": skip},
              "dense": jax.tree.map(jnp.zeros_like, params["dense"])}
    level, scale = jax.vmap(window_statistics)(x) if scaled else (jnp.zeros(5), jnp.ones(5))
    z = (x[:, :, 0] - level[:, None]) / scale[:, None]
    np.testing.assert_allclose(forecast_batch(linear, x, model), level[:, None] + scale[:, None] * (z @ skip),
                               rtol=1e-5, atol=1e-5)
    with_skip = {**params, "skip": {"kernel": skip}}
    np.testing.assert_allclose(Forecaster(model=model).apply({"params": with_skip}, x),
                               forecast_batch(with_skip, x, model), rtol=1e-5, atol=1e-6)
    assert jax.tree.structure(Forecaster(model=model).init(jax.random.key(0), x)["params"]) == jax.tree.structure(params)
    series = np.sin(np.arange(60) / 3.0).astype(np.float32)
    config = TrainConfig(model=dataclasses.replace(model, horizon=1, head="next"), epochs=2)
    data = windows(series, 6)
    trained = make_train(config, data)(jax.random.key(0), data)
    assert "linear skip" in config.remedies and np.any(np.asarray(trained.params["skip"]["kernel"]) != 0)
    with pytest.raises(ValueError, match="linear_skip adds a linear forecast"):
        ModelConfig(head="gaussian", linear_skip=True)
