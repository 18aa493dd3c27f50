import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.model.cell import (
    LSTMCarry,
    LSTMCell,
    init_lstm_params,
    lstm_first_step,
    lstm_sequence,
    lstm_step,
    zero_carry,
)
from tests.keras_numpy import lstm_cell

U, D = 6, 2


@pytest.fixture(scope="module")
def params():
    p = init_lstm_params(jax.random.key(0), D, U)
    p["bias"] = p["bias"] + 0.3 * jax.random.normal(jax.random.key(1), p["bias"].shape)
    return p


def _np(p):
    return [np.asarray(p[k], np.float64) for k in ("kernel", "recurrent_kernel", "bias")]


@pytest.mark.parametrize("act,rec_act", [("tanh", "sigmoid"), ("relu", "sigmoid"), ("sigmoid", "sigmoid"),
                                         ("linear", "hard_sigmoid"), ("gelu", "sigmoid")])
def test_step_matches_numpy_keras(params, act, rec_act):
    rng = np.random.default_rng(0)
    x, h, c = rng.normal(size=D), rng.normal(size=U), rng.normal(size=U)
    carry, y = lstm_step(params, LSTMCarry(jnp.asarray(h, jnp.float32), jnp.asarray(c, jnp.float32)),
                         jnp.asarray(x, jnp.float32), activation=act, recurrent_activation=rec_act)
    h_ref, c_ref = lstm_cell(x, h, c, *_np(params), act, rec_act)
    np.testing.assert_allclose(carry.h, h_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carry.c, c_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, carry.h)


def test_step_with_per_gate_masks_matches_keras_implementation_1(params):
    rng = np.random.default_rng(1)
    x, h, c = rng.normal(size=D), rng.normal(size=U), rng.normal(size=U)
    dp = rng.integers(0, 2, size=(4, D)) / 0.5
    rdp = rng.integers(0, 2, size=(4, U)) / 0.5
    carry, _ = lstm_step(params, LSTMCarry(jnp.asarray(h, jnp.float32), jnp.asarray(c, jnp.float32)),
                         jnp.asarray(x, jnp.float32), input_mask=jnp.asarray(dp, jnp.float32),
                         recurrent_mask=jnp.asarray(rdp, jnp.float32))
    h_ref, c_ref = lstm_cell(x, h, c, *_np(params), dp=dp, rdp=rdp)
    np.testing.assert_allclose(carry.h, h_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(carry.c, c_ref, rtol=1e-5, atol=1e-6)


def test_first_step_from_zero_state_is_bit_identical(params):
    x = jnp.asarray([0.7, -0.2])
    full, _ = lstm_step(params, zero_carry(U), x)
    fast, _ = lstm_first_step(params, x)
    np.testing.assert_array_equal(full.h, fast.h)
    np.testing.assert_array_equal(full.c, fast.c)


def test_sequence_scan_equals_python_loop_with_masks_reused(params):
    rng = np.random.default_rng(2)
    xs = jnp.asarray(rng.normal(size=(5, D)), jnp.float32)
    dp = jnp.asarray(rng.integers(0, 2, size=(4, D)) * 2.0, jnp.float32)
    rdp = jnp.asarray(rng.integers(0, 2, size=(4, U)) * 2.0, jnp.float32)
    out = jax.jit(lambda xs: lstm_sequence(params, xs, input_mask=dp, recurrent_mask=rdp))(xs)
    carry = zero_carry(U)
    for x in xs:  # the same masks at every timestep
        carry, _ = lstm_step(params, carry, x, input_mask=dp, recurrent_mask=rdp)
    np.testing.assert_allclose(out.h, carry.h, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out.c, carry.c, rtol=1e-6, atol=1e-6)


def test_flax_cell_equals_pure_step():
    cell = LSTMCell(features=U, activation_fn="relu")
    x = jnp.asarray([0.3, -1.0])
    carry = cell.initialize_carry(None, x.shape)
    variables = cell.init(jax.random.key(0), carry, x)
    p = variables["params"]
    assert p["kernel"].shape == (D, 4 * U) and p["recurrent_kernel"].shape == (U, 4 * U)
    carry = LSTMCarry(jnp.full(U, 0.1), jnp.full(U, -0.2))
    got = cell.apply(variables, carry, x)
    want = lstm_step(dict(p), carry, x, activation="relu")
    jax.tree.map(np.testing.assert_array_equal, got, want)


def test_layer_norm_first_step_bit_identical_and_sees_input_scale():
    p = init_lstm_params(jax.random.key(0), 1, U, layer_norm=True)
    assert p["ln_scale"].shape == (4 * U,) and p["ln_cell_scale"].shape == (U,)
    p["ln_bias"] = p["ln_bias"] + 0.1
    x = jnp.asarray([0.5])
    full, _ = lstm_step(p, zero_carry(U), x)
    fast, _ = lstm_first_step(p, x)
    np.testing.assert_array_equal(full.h, fast.h)
    # The input term is not normalised, so the model still sees the input's magnitude.
    big, _ = lstm_first_step(p, jnp.asarray([2.0]))
    assert np.max(np.abs(big.h - fast.h)) > 1e-3
    # The output uses LN(c'): h' = o * tanh(LN(c')) with the carried c' un-normalised.
    rng = np.random.default_rng(3)
    h, c = jnp.asarray(rng.normal(size=U), jnp.float32), jnp.asarray(rng.normal(size=U), jnp.float32)
    new, _ = lstm_step(p, LSTMCarry(h, c), x)
    r = h @ p["recurrent_kernel"]
    r = (r - r.mean()) / jnp.sqrt(r.var() + 1e-3) + 0.1
    z = x @ p["kernel"] + r + p["bias"]
    sig = jax.nn.sigmoid
    c_ref = sig(z[U:2 * U]) * c + sig(z[:U]) * jnp.tanh(z[2 * U:3 * U])
    c_ln = (c_ref - c_ref.mean()) / jnp.sqrt(c_ref.var() + 1e-3)
    np.testing.assert_allclose(new.c, c_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.h, sig(z[3 * U:]) * jnp.tanh(c_ln), rtol=1e-5, atol=1e-6)
