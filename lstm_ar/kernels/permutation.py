"""``jax.random.permutation(key, n)``, bit for bit, without XLA's slow multi-operand sort on CPU.

JAX sorts ``iota(n)`` stably by random ``u32`` keys (``lax.sort_key_val``); XLA:CPU sorts several operands through
a comparator function pointer, but a single primitive operand with ``std::sort``. So each round sorts the keys
alone, ranks every key by binary search, breaks ties in index order as the stable sort does (a ``while_loop``
that runs only on ties) and scatters ``x`` to its rank: about 3x faster (``tests/test_shuffle.py`` checks it).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lstm_ar.kernels import threefry

_EXPONENT = 3  # jax.random._shuffle's static number of rounds: ceil(3 ln n / ln(2^32 - 1))


def rounds(n: int) -> int:
    """Number of sort rounds ``jax.random.permutation`` uses for n elements."""
    return int(np.ceil(_EXPONENT * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))


def stable_argsort(keys: jax.Array) -> jax.Array:
    """``np.argsort(keys, kind="stable")`` for keys: u32[n] (or any sortable 1-D array); i32[n]."""
    if keys.ndim != 1:
        raise ValueError(f"keys must be 1-D, got shape {keys.shape}")
    n, ordered = keys.shape[0], lax.sort(keys)
    index = jnp.arange(n, dtype=jnp.int32)
    rank = jnp.searchsorted(ordered, keys, side="left", method="scan_unrolled").astype(jnp.int32)

    def clashes(rank):
        """True where another element with a smaller index holds the same rank."""
        first = jnp.full((n,), n, jnp.int32).at[rank].min(index)
        return first[rank] != index

    any_equal = jnp.any(ordered[1:] == ordered[:-1]) if n > 1 else jnp.asarray(False)
    # Equal keys share their left rank; move all but the first of each clash one place on,
    # until every rank is taken once (the group [left, left + count) is theirs alone).
    rank = lax.while_loop(lambda r: any_equal & jnp.any(clashes(r)), lambda r: r + clashes(r).astype(jnp.int32), rank)
    return jnp.zeros((n,), jnp.int32).at[rank].set(index, unique_indices=True)


def permutation(key: jax.Array, n: int) -> jax.Array:
    """A random permutation of ``arange(n)``: equal to ``jax.random.permutation(key, n)``."""
    if not (isinstance(n, (int, np.integer)) and n >= 0):
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    x = jnp.arange(n, dtype=jnp.int32)
    for _ in range(rounds(n)):
        key, subkey = threefry.split(key)
        x = x[stable_argsort(threefry.bits(subkey, (n,)))]
    return x
