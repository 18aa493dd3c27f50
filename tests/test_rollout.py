import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.rollout import rollout, rollout_stateful, rollout_window
from lstm_ar.model.cell import lstm_step
from lstm_ar.model.forecaster import encode, forecast, head, init_params

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


# --------------------------------------------------------------------------- batched (blocked) rollout

from lstm_ar.dynamics.batched_rollout import (  # noqa: E402
    BLOCK_WEIGHT_BYTES,
    MAX_BLOCK,
    Blocking,
    default_blocking,
    rollout_batched,
    weight_bytes_per_model,
)

N_MODELS = 5  # not a multiple of the block: exercises the padding


@pytest.fixture(scope="module")
def stacked():
    keys = jax.random.split(jax.random.key(7), N_MODELS)
    return jax.jit(jax.vmap(lambda k: init_params(k, MODEL)))(keys)


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_blocked_rollout_equals_vmapped_plain_rollout(stacked, mode):
    contexts = jax.random.normal(jax.random.key(3), (N_MODELS, CONTEXT.shape[0]))
    plain = jax.jit(jax.vmap(lambda p, c: rollout(p, c, STEPS, MODEL, mode=mode)))
    # 5 models in blocks of 2 (padded to 6, lax.map over 3 blocks), scan unrolled by 3.
    blocked = jax.jit(lambda p, c: rollout_batched(p, c, STEPS, MODEL, mode=mode, block=2,
                                                   unroll=3))(stacked, contexts)
    assert blocked.shape == (N_MODELS, STEPS)
    np.testing.assert_allclose(blocked, plain(stacked, contexts), rtol=1e-6, atol=1e-7)
    # The default blocking, one context shared by all models, through shard_map on a 1-device mesh.
    shared = jax.jit(lambda p: rollout_batched(p, CONTEXT, STEPS, MODEL, mode=mode,
                                               devices=jax.devices()[:1]))(stacked)
    ref = plain(stacked, jnp.broadcast_to(CONTEXT, contexts.shape))
    np.testing.assert_allclose(shared, ref, rtol=1e-6, atol=1e-7)


def test_default_blocking_fits_the_cache_budget():
    per_model = 4 * (32 * 128 + 160 + 33)  # hidden 32, stateful
    cpu = default_blocking(16384, per_model, backend="cpu")
    assert cpu.block * per_model <= BLOCK_WEIGHT_BYTES < (cpu.block + 1) * per_model
    assert default_blocking(16384, 100, backend="cpu").block == MAX_BLOCK
    assert default_blocking(3, 100, backend="cpu").block == 3
    assert default_blocking(16384, 4 * 512 * 2048, backend="cpu").block == 1  # hidden 512
    assert default_blocking(16384, per_model, backend="gpu") == Blocking(block=16384, unroll=1)


def test_weight_bytes_per_model(stacked):
    u = MODEL.units
    assert weight_bytes_per_model(stacked, "stateful") == 4 * (1 * 4 * u + u * 4 * u + 4 * u + u + 1)
    assert weight_bytes_per_model(stacked, "window") == 4 * (1 * 4 * u + 4 * u + u + 1)


def test_batched_rollout_bad_input(stacked):
    with pytest.raises(ValueError, match="unknown rollout mode"):
        rollout_batched(stacked, CONTEXT, 3, MODEL, mode="teacher")
    with pytest.raises(ValueError, match="context must be"):
        rollout_batched(stacked, jnp.ones((N_MODELS + 1, 4)), 3, MODEL)
    with pytest.raises(ValueError, match="stacked"):
        rollout_batched(init_params(jax.random.key(0), ModelConfig(units=6, window=3)) | {"x": jnp.ones(2)},
                        CONTEXT, 3, MODEL)
    with pytest.raises(ValueError, match="steps must be"):
        rollout_batched(stacked, CONTEXT, -1, MODEL)
    with pytest.raises(ValueError, match="block must be an int >= 1, got 0"):
        rollout_batched(stacked, CONTEXT, 3, MODEL, block=0)
