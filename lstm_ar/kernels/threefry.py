"""``jax.random``'s split, fold_in, bits and bernoulli for threefry keys, bit for bit, unrolled.

On CPU JAX runs the Threefry-2x32 hash as a five-trip ``while`` loop of tiny kernels, which cost more than the LSTM
step when drawing dropout masks; here the 20 rounds are written out so XLA fuses them into one kernel. The bits
equal ``jax.random``'s (``tests/test_threefry.py``) with ``jax_threefry_partitionable`` and ``threefry2x32`` keys
(JAX's defaults); otherwise each function calls ``jax.random``. Keys are typed, as in ``jax.random``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def hash2x32(k1: jax.Array, k2: jax.Array, x1: jax.Array, x2: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), as ``jax.random``. All u32."""
    ks = (k1, k2, k1 ^ k2 ^ _PARITY)
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for block in range(5):
        for rot in _ROTATIONS[block % 2]:
            x1 = x1 + x2
            x2 = (x2 << np.uint32(rot)) | (x2 >> np.uint32(32 - rot))
            x2 = x1 ^ x2
        x1 = x1 + ks[(block + 1) % 3]
        x2 = x2 + ks[(block + 2) % 3] + np.uint32(block + 1)
    return x1, x2


def is_fast(key: jax.Array) -> bool:
    """True when the unrolled functions reproduce ``jax.random`` for this key."""
    try:
        impl = str(jax.random.key_impl(key))
    except TypeError:  # raw uint32 keys: leave them to jax.random
        return False
    return "threefry2x32" in impl and bool(jax.config.jax_threefry_partitionable)


def _halves(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    data = jax.random.key_data(key)
    return data[..., 0], data[..., 1]


def _counters(shape: Sequence[int]) -> tuple[jax.Array, jax.Array]:
    if (size := math.prod(shape)) >= 2 ** 32:
        raise NotImplementedError("more than 2^32 random values from one key")
    return jnp.zeros(shape, jnp.uint32), jax.lax.iota(jnp.uint32, size).reshape(shape)


def split(key: jax.Array, num: int = 2) -> jax.Array:
    """``jax.random.split(key, num)`` for a single key."""
    if not is_fast(key) or key.shape:
        return jax.random.split(key, num)
    y1, y2 = hash2x32(*_halves(key), *_counters((num,)))
    return jax.random.wrap_key_data(jnp.stack([y1, y2], axis=-1), impl=jax.random.key_impl(key))


def fold_in(key: jax.Array, data) -> jax.Array:
    """``jax.random.fold_in(key, data)`` for a single key and a scalar integer."""
    if not is_fast(key) or key.shape:
        return jax.random.fold_in(key, data)
    y1, y2 = hash2x32(*_halves(key), jnp.zeros((), jnp.uint32), jnp.asarray(data).astype(jnp.uint32))
    return jax.random.wrap_key_data(jnp.stack([y1, y2]), impl=jax.random.key_impl(key))


def bits(key: jax.Array, shape: Sequence[int] = ()) -> jax.Array:
    """``jax.random.bits(key, shape, jnp.uint32)`` for a single key."""
    shape = tuple(shape)
    if not is_fast(key) or key.shape:
        return jax.random.bits(key, shape, jnp.uint32)
    y1, y2 = hash2x32(*_halves(key), *_counters(shape))
    return y1 ^ y2


def uniform(key: jax.Array, shape: Sequence[int] = ()) -> jax.Array:
    """``jax.random.uniform(key, shape)`` (float32 in [0, 1)) for a single key."""
    if not is_fast(key) or key.shape:
        return jax.random.uniform(key, tuple(shape), jnp.float32)
    mantissa = (bits(key, shape) >> np.uint32(32 - 23)) | np.float32(1.0).view(np.uint32)
    return jnp.maximum(0.0, jax.lax.bitcast_convert_type(mantissa, jnp.float32) - 1.0)


def bernoulli(key: jax.Array, p, shape: Sequence[int] = ()) -> jax.Array:
    """``jax.random.bernoulli(key, p, shape)`` for a single key and a float32 p."""
    p = jnp.asarray(p, jnp.float32)
    if not is_fast(key) or key.shape:
        return jax.random.bernoulli(key, p, tuple(shape))
    return uniform(key, shape) < p
