import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.model import initializers
from lstm_ar.model.cell import init_lstm_params


def test_glorot_uniform_limit_uses_fused_fan_out():
    w = initializers.glorot_uniform(jax.random.key(0), (1, 4 * 32))
    limit = np.sqrt(6.0 / (1 + 128))
    assert np.max(np.abs(w)) <= limit
    big = initializers.glorot_uniform(jax.random.key(1), (200, 300))
    limit = np.sqrt(6.0 / 500)
    assert np.max(np.abs(big)) <= limit and np.max(np.abs(big)) > 0.99 * limit
    np.testing.assert_allclose(np.var(big), limit ** 2 / 3, rtol=0.02)  # U(-l, l) variance


def test_orthogonal_whole_recurrent_kernel_has_orthonormal_rows():
    u = 16
    w = initializers.orthogonal(jax.random.key(0), (u, 4 * u))
    np.testing.assert_allclose(w @ w.T, np.eye(u), atol=1e-5)
    # Not per-gate orthogonal blocks: the (u, u) gate blocks are not orthogonal themselves.
    block = w[:, :u]
    assert np.max(np.abs(block @ block.T - np.eye(u))) > 0.1


def test_orthogonal_tall_matrix_has_orthonormal_columns():
    w = initializers.orthogonal(jax.random.key(3), (12, 5))
    np.testing.assert_allclose(w.T @ w, np.eye(5), atol=1e-5)


def test_lstm_params_forget_bias_and_shapes():
    p = init_lstm_params(jax.random.key(0), 1, 8)
    assert p["kernel"].shape == (1, 32) and p["recurrent_kernel"].shape == (8, 32)
    np.testing.assert_array_equal(p["bias"], np.r_[np.zeros(8), np.ones(8), np.zeros(16)])
    no_forget = init_lstm_params(jax.random.key(0), 1, 8, unit_forget_bias=False)
    np.testing.assert_array_equal(no_forget["bias"], jnp.zeros(32))


def test_flax_style_bias_initialisers_match_lstm_bias():
    np.testing.assert_array_equal(initializers.unit_forget_bias(None, (12,)), initializers.lstm_bias(3))
    np.testing.assert_array_equal(initializers.zeros(None, (12,)), initializers.lstm_bias(3, unit_forget_bias=False))
