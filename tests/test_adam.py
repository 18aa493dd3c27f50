import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lstm_ar.training.keras_adam import keras_adam
from tests import keras_numpy


def _run(tx, params, grads_seq):
    state = tx.init(params)
    history = []
    for grads in grads_seq:
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        history.append(params)
    return history


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)]
    # Small gradients early (where eps placement matters most), larger later.
    grads = [[(1e-4 * 10 ** (t / 50)) * rng.normal(size=p.shape).astype(np.float32) for p in params]
             for t in range(100)]
    return params, grads


@pytest.mark.parametrize("kwargs,ref_kwargs", [
    ({}, {}),
    (dict(learning_rate=3e-3, weight_decay=0.05), dict(lr=3e-3, weight_decay=0.05)),
    (dict(global_clipnorm=1e-3), dict(clipnorm=1e-3)),
])
def test_keras_adam_matches_numpy_over_100_steps(problem, kwargs, ref_kwargs):
    params, grads = problem
    step = jax.jit(lambda p, s, g: keras_adam(**kwargs).update(g, s, p))
    tx = keras_adam(**kwargs)
    state, p = tx.init(params), [jnp.asarray(a) for a in params]
    ours = []
    for g in grads:
        updates, state = step(p, state, [jnp.asarray(a) for a in g])
        p = optax.apply_updates(p, updates)
        ours.append(p)
    ref = keras_numpy.adam(params, grads, **ref_kwargs)
    for t in (0, 9, 99):
        for a, b in zip(ours[t], ref[t]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=5e-7)


def test_eps_placement_differs_from_optax_adam(problem):
    # optax.adam puts eps on sqrt(v_hat); Keras on sqrt(v). Same formulas otherwise.
    params, grads = problem
    ours = _run(keras_adam(), params, grads[:5])
    theirs = _run(optax.adam(1e-3, b1=0.9, b2=0.999, eps=1e-7), params, grads[:5])
    ref = keras_numpy.adam(params, grads[:5])
    np.testing.assert_allclose(ours[0][0], ref[0][0], rtol=2e-6, atol=1e-8)
    assert np.max(np.abs(np.asarray(theirs[0][0]) - ref[0][0])) > 10 * np.max(np.abs(np.asarray(ours[0][0]) - ref[0][0]))


def test_update_without_params_is_a_clear_error():
    tx = keras_adam()
    with pytest.raises(ValueError, match="needs params"):
        tx.update([jnp.ones(2)], tx.init([jnp.ones(2)]))
