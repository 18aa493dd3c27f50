import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.cell import lstm_step
from lstm_ar.config import ModelConfig
from lstm_ar.forecaster import encode, forecast, head, init_params
from lstm_ar.rollout import rollout, rollout_stateful, rollout_window

MODEL = ModelConfig(units=6, window=3, activation="tanh")
STEPS = 12


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0), MODEL)


CONTEXT = jnp.asarray([0.1, -0.4, 0.8, 0.3, -0.2])


def test_window_rollout_equals_python_loop(params):
    ys = jax.jit(lambda p: rollout_window(p, CONTEXT, STEPS, MODEL))(params)
    window, ref = list(np.asarray(CONTEXT[-3:])), []
    for _ in range(STEPS):
        y = float(forecast(params, jnp.asarray(window)[:, None], MODEL)[0])
        ref.append(y)
        window = window[1:] + [y]
    np.testing.assert_allclose(ys, ref, rtol=1e-5, atol=1e-6)


def test_stateful_rollout_equals_python_loop(params):
    ys = jax.jit(lambda p: rollout_stateful(p, CONTEXT, STEPS, MODEL))(params)
    carry = encode(params, CONTEXT[:, None], MODEL)
    y, ref = head(params, carry.h), []
    for _ in range(STEPS):
        ref.append(float(y[0]))
        carry, h = lstm_step(params["lstm"], carry, y)
        y = head(params, h)
    np.testing.assert_allclose(ys, ref, rtol=1e-5, atol=1e-6)


def test_window_one_rollout_iterates_the_map(params):
    model = ModelConfig(units=6, window=1)
    p = init_params(jax.random.key(1), model)
    ys = rollout_window(p, jnp.asarray([0.5]), 5, model)
    x = 0.5
    for t in range(5):
        x = float(forecast(p, jnp.asarray([[x]]), model)[0])
        np.testing.assert_allclose(ys[t], x, rtol=1e-6)


def test_rollout_vmaps_over_seeds_and_unroll_is_exact(params):
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *[init_params(jax.random.key(i), MODEL) for i in range(3)])
    for mode in ("window", "stateful"):
        batched = jax.jit(jax.vmap(lambda p: rollout(p, CONTEXT, STEPS, MODEL, mode=mode)))(stacked)
        for i in range(3):
            one = rollout(jax.tree.map(lambda a: a[i], stacked), CONTEXT, STEPS, MODEL, mode=mode)
            np.testing.assert_allclose(batched[i], one, rtol=1e-5, atol=1e-6)
        unrolled = rollout(params, CONTEXT, STEPS, MODEL, mode=mode, unroll=4)
        np.testing.assert_allclose(unrolled, rollout(params, CONTEXT, STEPS, MODEL, mode=mode), rtol=1e-6, atol=1e-7)


def test_rollout_bad_input(params):
    with pytest.raises(ValueError, match="unknown rollout mode"):
        rollout(params, CONTEXT, 3, MODEL, mode="teacher")
    with pytest.raises(ValueError, match="needs 3"):
        rollout_window(params, CONTEXT[:2], 3, MODEL)
    with pytest.raises(ValueError, match="context must be"):
        rollout_window(params, jnp.ones((2, 3, 1)), 3, MODEL)
