import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.model.forecaster import forecast_batch, init_params
from lstm_ar.training import first_step, plain
from lstm_ar.training.plain import Batch

MODEL = ModelConfig(units=5, activation="relu")
CONFIG = TrainConfig(model=MODEL)


@pytest.fixture(scope="module")
def params():
    p = init_params(jax.random.key(0), MODEL)
    # perturb every entry so no block can hide behind zeros or ones
    return jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(a.size), a.shape), p)


def test_split_and_merge_round_trip_exactly(params):
    theta, frozen = first_step.split(params)
    assert theta.shape == (7 * 5 + 1,)
    assert frozen.recurrent_kernel.shape == (5, 20) and frozen.forget_kernel.shape == (1, 5)
    jax.tree.map(np.testing.assert_array_equal, first_step.merge(theta, frozen), params)


def test_supports_only_one_step_window_one_without_layer_norm():
    assert first_step.supports(CONFIG)
    assert not first_step.supports(TrainConfig(model=ModelConfig(window=2)))
    assert not first_step.supports(TrainConfig(model=ModelConfig(layer_norm=True)))
    assert not first_step.supports(TrainConfig(regime="free_running", horizon=3))
    assert not first_step.supports(CONFIG, input_dim=2)
    with pytest.raises(ValueError, match="window-1 layout needs"):
        first_step.make_train(TrainConfig(model=ModelConfig(window=2)), None)


def test_predict_equals_the_forecaster(params):
    x = jnp.linspace(-2.0, 2.0, 9)
    theta, _ = first_step.split(params)
    got = first_step.predict(first_step.unpack(theta, 5), x, MODEL)
    np.testing.assert_allclose(got, forecast_batch(params, x[:, None, None], MODEL)[:, 0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("hyper", [Hyper(), Hyper(dropout=0.4, recurrent_dropout=0.3, output_dropout=0.5)])
def test_loss_and_gradient_equal_autodiff_of_the_plain_loss(params, hyper):
    config = TrainConfig(model=MODEL, hyper=hyper)
    batch = Batch(x=jnp.linspace(-1.0, 1.0, 8)[:, None, None], y=jnp.cos(jnp.arange(8.0))[:, None],
                  mask=jnp.asarray([1.0] * 6 + [0.0] * 2))
    key = jax.random.key(3)
    masks, coin_keys = plain.draw_batch(key, 8, config, hyper)
    ref_loss, ref_grad = jax.value_and_grad(plain.batch_loss)(params, batch, masks, coin_keys, 1.0, MODEL)
    theta, _ = first_step.split(params)
    layout_masks = first_step.batch_masks(key, 8, config, hyper)
    assert (layout_masks is None) == (hyper == Hyper())
    loss, grad = first_step.value_and_grad(theta, batch._replace(x=batch.x[:, 0, 0]), layout_masks, MODEL)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)  # same masks, or this would differ
    ref_theta, ref_frozen = first_step.split(ref_grad)
    np.testing.assert_allclose(grad, ref_theta, rtol=1e-5, atol=1e-7)
    for leaf in ref_frozen:  # the parameters left out of training have exactly zero gradient
        np.testing.assert_array_equal(leaf, 0.0)


def test_decay_is_keras_adam_on_a_zero_gradient(params):
    from lstm_ar.training.keras_adam import keras_adam
    _, frozen = first_step.split(params)
    tx = keras_adam(3e-2, weight_decay=0.1)
    state = tx.init(frozen)
    zero = jax.tree.map(jnp.zeros_like, frozen)
    want = frozen
    for _ in range(3):
        updates, state = tx.update(zero, state, want)
        want = jax.tree.map(lambda p, u: p + u, want, updates)
    got = frozen
    for _ in range(3):
        got = first_step.decay(got, 3e-2, 0.1)
    jax.tree.map(np.testing.assert_array_equal, got, want)
    # decay_if_any: the same where the decay is nonzero, untouched (bit for bit) where it is zero
    jax.tree.map(np.testing.assert_array_equal, first_step.decay_if_any(frozen, 3e-2, 0.1), first_step.decay(frozen, 3e-2, 0.1))
    jax.tree.map(np.testing.assert_array_equal, first_step.decay_if_any(frozen, 3e-2, 0.0), frozen)
    both = jax.vmap(lambda wd: first_step.decay_if_any(frozen, 3e-2, wd))(jnp.asarray([0.0, 0.1]))
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(lambda a: a[0], both), frozen)
