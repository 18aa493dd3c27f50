"""Keras 3's default initialisers for LSTM and Dense, as pure functions of a key.

The LSTM kernel is one fused ``(input_dim, 4u)`` matrix (glorot ``fan_out = 4u``, not ``u`` per
gate); ``orthogonal`` is Keras's QR construction over the *whole* ``(u, 4u)`` recurrent kernel.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lstm_ar.kernels import linalg as host_linalg


def glorot_uniform(key: jax.Array, shape: tuple[int, int], dtype=jnp.float32) -> jax.Array:
    """Glorot/Xavier uniform U(-l, l), ``l = sqrt(6 / (fan_in + fan_out))``, shape ``(fan_in, fan_out)``."""
    fan_in, fan_out = shape
    limit = jnp.sqrt(6.0 / (fan_in + fan_out)).astype(dtype)
    return jax.random.uniform(key, shape, dtype, minval=-limit, maxval=limit)


def orthogonal(key: jax.Array, shape: tuple[int, int], dtype=jnp.float32, gain: float = 1.0) -> jax.Array:
    """Keras 3 ``Orthogonal``: orthonormal rows if rows < cols, else orthonormal columns."""
    num_rows, num_cols = shape
    flat_shape = (max(num_rows, num_cols), min(num_rows, num_cols))
    a = jax.random.normal(key, flat_shape, jnp.float32)
    q, r = host_linalg.qr(a)  # jnp.linalg.qr, one matrix at a time under vmap on CPU
    q = q * jnp.sign(jnp.diag(r))[None, :]
    if num_rows < num_cols:
        q = q.T
    return (gain * q.reshape(shape)).astype(dtype)


def lstm_bias(units: int, dtype=jnp.float32, unit_forget_bias: bool = True) -> jax.Array:
    """Fused LSTM bias ``f32[4u]`` in gate order [i, f, c, o]; forget block is 1 if asked."""
    forget = jnp.ones if unit_forget_bias else jnp.zeros
    return jnp.concatenate([jnp.zeros(units, dtype), forget(units, dtype), jnp.zeros(2 * units, dtype)])


def unit_forget_bias(key: jax.Array | None, shape: tuple[int], dtype=jnp.float32) -> jax.Array:
    """``lstm_bias`` with the forget block at 1, as a flax initialiser; shape (4u,); key unused."""
    (four_u,) = shape
    return lstm_bias(four_u // 4, dtype, unit_forget_bias=True)


def zeros(key: jax.Array | None, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """Zeros as a flax initialiser (Keras's Dense bias; the LSTM bias without unit forget bias)."""
    return jnp.zeros(shape, dtype)
