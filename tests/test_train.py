import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Dataset, windows
from lstm_ar.model.forecaster import forecast_batch, init_params
from lstm_ar.training.keras_adam import keras_adam
from lstm_ar.training.train import Batch, batch_indices, loss_fn, make_train, masked_mse, seed_keys

MODEL = ModelConfig(units=4, window=2)
CONFIG = TrainConfig(model=MODEL, epochs=3, batch_size=8, hyper=Hyper(learning_rate=1e-2, output_dropout=0.2))
DATA = windows(np.sin(np.linspace(0, 6, 22)).astype(np.float32), 2)  # n = 20: batches of 8, 8, 4


@pytest.fixture(scope="module")
def train():
    return make_train(CONFIG, DATA)


@pytest.fixture(scope="module")
def vmapped(train):
    return jax.jit(jax.vmap(train))(seed_keys(0, 0, 3))


def test_vmap_over_seeds_equals_per_seed_runs(train, vmapped):
    keys = seed_keys(0, 0, 3)
    single = jax.jit(train)
    for i in range(3):
        one = single(keys[i])
        chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], vmapped), one, rtol=1e-5, atol=1e-6)
    # different seeds really differ
    assert not np.allclose(vmapped.params["dense"]["kernel"][0], vmapped.params["dense"]["kernel"][1])


def test_no_retrace_on_second_call(train):
    counted = jax.jit(chex.assert_max_traces(train, n=1))
    jax.block_until_ready(counted(jax.random.key(0)))
    jax.block_until_ready(counted(jax.random.key(1)))


def test_loss_decreases_and_is_finite(vmapped):
    loss = np.asarray(vmapped.epoch_loss)
    assert loss.shape == (3, 3) and np.all(np.isfinite(loss))
    assert np.all(loss[:, -1] < loss[:, 0])


def test_batch_indices_cover_each_example_once_with_padding_masked():
    idx, mask = batch_indices(jax.random.key(0), 20, 8, True)
    assert idx.shape == (3, 8)
    real = np.asarray(idx)[np.asarray(mask) == 1]
    np.testing.assert_array_equal(np.sort(real), np.arange(20))
    np.testing.assert_array_equal(np.asarray(mask).sum(axis=1), [8, 8, 4])
    idx2, _ = batch_indices(jax.random.key(1), 20, 8, True)
    assert not np.array_equal(idx, idx2)  # reshuffled with a new key


def test_masked_mse_ignores_padding():
    pred, y = jnp.asarray([[1.0], [2.0], [100.0]]), jnp.asarray([[0.0], [0.0], [0.0]])
    np.testing.assert_allclose(masked_mse(pred, y, jnp.asarray([1.0, 1.0, 0.0])), 2.5)


def test_partial_last_batch_is_used_as_keras_does():
    # One epoch, no shuffle, no dropout: Keras takes a step on examples 0..7, 8..15 and then a
    # step on the 4 leftovers, each on that batch's own mean loss. Reproduce it by hand.
    config = TrainConfig(model=MODEL, epochs=1, batch_size=8, shuffle=False)
    key = jax.random.key(5)
    result = jax.jit(make_train(config, DATA))(key)
    init_key, _, _ = jax.random.split(key, 3)
    params = init_params(init_key, MODEL)
    tx = keras_adam()
    state = tx.init(params)
    losses = []

    @jax.jit
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch, None, config, Hyper())
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    for lo, hi in ((0, 8), (8, 16), (16, 20)):
        batch = Batch(jnp.asarray(DATA.x[lo:hi]), jnp.asarray(DATA.y[lo:hi]), jnp.ones(hi - lo))
        params, state, loss = step(params, state, batch)
        losses.append(float(loss) * (hi - lo))
    chex.assert_trees_all_close(result.params, params, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.epoch_loss[0], sum(losses) / 20, rtol=1e-5)
    # Dropping the partial batch would give different parameters.
    trimmed = jax.jit(make_train(config, Dataset(DATA.x[:16], DATA.y[:16])))(key)
    assert not np.allclose(trimmed.params["dense"]["bias"], result.params["dense"]["bias"])


def test_hyper_can_be_vmapped(train):
    lrs = jnp.asarray([1e-4, 1e-2])
    hyper = Hyper(learning_rate=lrs, output_dropout=jnp.asarray([0.0, 0.3]))
    out = jax.jit(jax.vmap(train, in_axes=(None, Hyper(0, None, None, 0, None, None))))(
        jax.random.key(0), hyper._replace(dropout=0.0, recurrent_dropout=0.0, weight_decay=0.0,
                                          global_clipnorm=jnp.inf))
    assert out.epoch_loss.shape == (2, 3)
    assert out.epoch_loss[1, -1] < out.epoch_loss[0, -1]  # 100x the learning rate learns faster


@pytest.mark.parametrize("bad", [dict(dropout=-0.1), dict(output_dropout=1.0), dict(recurrent_dropout=1.5),
                                 dict(learning_rate=0.0)])
def test_bad_hyper_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="must be"):
        TrainConfig(hyper=Hyper(**bad))
    with pytest.raises(ValueError, match="must be"):
        make_train(CONFIG, DATA)(jax.random.key(0), Hyper(**bad))


def test_bad_config_and_data_are_clear_errors():
    with pytest.raises(ValueError, match="units"):
        ModelConfig(units=0)
    with pytest.raises(ValueError, match="unknown activation"):
        ModelConfig(activation="sigmoidal")
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match=r"\[batch, 2, 1\]"):
        make_train(CONFIG, windows(np.arange(10.0), 3))
    with pytest.raises(ValueError, match="targets"):
        make_train(CONFIG, Dataset(DATA.x, DATA.y[:, 0]))


def test_seed_keys_do_not_depend_on_how_many_run():
    a = jax.random.key_data(seed_keys(0, 0, 10))
    b = jax.random.key_data(seed_keys(0, 5, 7))
    np.testing.assert_array_equal(a[5:7], b)


def test_trained_model_forecasts_better_than_init(vmapped):
    params0 = jax.tree.map(lambda a: a[0], vmapped.params)
    pred = forecast_batch(params0, jnp.asarray(DATA.x), MODEL)
    assert float(jnp.mean((pred - DATA.y) ** 2)) < float(np.var(DATA.y))


# --- the fast default against the plain implementation (make_train(..., reference=True)) ---

DATA1 = windows(np.sin(np.linspace(0, 6, 21)).astype(np.float32), 1)  # window 1: first_step layout
WINDOW1 = {
    "relu_output_dropout": TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=3, batch_size=8,
                                       hyper=Hyper(learning_rate=1e-2, output_dropout=0.2)),
    "sigmoid_every_option": TrainConfig(
        model=ModelConfig(units=4, activation="sigmoid"), epochs=3, batch_size=8,
        hyper=Hyper(learning_rate=1e-2, dropout=0.3, recurrent_dropout=0.2, output_dropout=0.1,
                    weight_decay=0.05, global_clipnorm=0.5)),
}


def _fast_and_reference(config, data, keys, hyper=None, in_axes=0):
    run = lambda ref: jax.jit(jax.vmap(make_train(config, data, reference=ref), in_axes=in_axes))(keys, hyper)  # noqa: E731
    return run(False), run(True)


@pytest.mark.parametrize("name", list(WINDOW1))
def test_window1_fast_path_equals_reference_within_float32_rounding(name):
    config = WINDOW1[name]
    keys = seed_keys(0, 0, 3)
    fast, ref = _fast_and_reference(config, DATA1, keys)
    # same shuffles and masks (else these would differ at O(1e-2)); only rounding differs
    chex.assert_trees_all_close(fast, ref, rtol=1e-5, atol=1e-6)
    # parameters with an always-zero gradient: without weight decay left exactly as initialised
    # (as Adam leaves them: bit-identical); with it, decayed as Adam decays them (to rounding:
    # XLA may fuse p - p * wd * lr into one multiply-add in one program and not the other)
    u = config.model.units
    init = jax.vmap(lambda k: init_params(jax.random.split(k, 3)[0], config.model))(keys)
    for got, want, start in ((fast.params["lstm"]["recurrent_kernel"], ref.params["lstm"]["recurrent_kernel"],
                              init["lstm"]["recurrent_kernel"]),
                             (fast.params["lstm"]["bias"][:, u:2 * u], ref.params["lstm"]["bias"][:, u:2 * u],
                              init["lstm"]["bias"][:, u:2 * u])):
        if config.hyper.weight_decay == 0.0:
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(got, start)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
            assert not np.allclose(got, start, rtol=1e-4)


def test_window1_fast_path_with_vmapped_hyper_equals_reference():
    # traced rates: the masks must be drawn and the frozen part decayed (weight decay traced)
    config = WINDOW1["relu_output_dropout"]
    hyper = Hyper(learning_rate=jnp.asarray([1e-2, 3e-2]), output_dropout=jnp.asarray([0.0, 0.3]),
                  weight_decay=jnp.asarray([0.0, 0.1]))
    axes = (None, Hyper(0, None, None, 0, 0, None))
    fast, ref = _fast_and_reference(config, DATA1, jax.random.key(4), hyper, axes)
    chex.assert_trees_all_close(fast, ref, rtol=1e-5, atol=1e-6)
    kernel = fast.params["lstm"]["recurrent_kernel"]
    np.testing.assert_array_equal(kernel[0], ref.params["lstm"]["recurrent_kernel"][0])  # no decay: exact
    assert not np.allclose(kernel[1], kernel[0], rtol=1e-4)  # decayed


def test_generic_path_equals_reference(vmapped):
    # window 2 (no first_step layout): fast shuffles, unrolled threefry, zero-rate masks skipped
    ref = jax.jit(jax.vmap(make_train(CONFIG, DATA, reference=True)))(seed_keys(0, 0, 3))
    chex.assert_trees_all_close(vmapped, ref, rtol=1e-5, atol=1e-6)


def test_fast_shuffle_is_the_reference_shuffle():
    key = jax.random.key(9)
    for n, bs in ((20, 8), (999, 32)):
        fast = batch_indices(key, n, bs, True)
        ref = batch_indices(key, n, bs, True, reference=True)
        jax.tree.map(np.testing.assert_array_equal, fast, ref)
