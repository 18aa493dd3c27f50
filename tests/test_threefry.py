import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.kernels import threefry

KEYS = jax.random.split(jax.random.key(7), 5)


def _same(ours, theirs):
    if jnp.issubdtype(ours.dtype, jax.dtypes.prng_key):
        ours, theirs = jax.random.key_data(ours), jax.random.key_data(theirs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name,ours,theirs", [
    ("split", lambda k: threefry.split(k, 3), lambda k: jax.random.split(k, 3)),
    ("fold_in", lambda k: threefry.fold_in(k, 12345), lambda k: jax.random.fold_in(k, 12345)),
    ("bits", lambda k: threefry.bits(k, (3, 7)), lambda k: jax.random.bits(k, (3, 7), jnp.uint32)),
    ("uniform", lambda k: threefry.uniform(k, (33,)), lambda k: jax.random.uniform(k, (33,))),
    ("bernoulli", lambda k: threefry.bernoulli(k, 0.8, (4, 32)), lambda k: jax.random.bernoulli(k, 0.8, (4, 32))),
])
def test_bit_identical_to_jax_random_under_jit_and_vmap(name, ours, theirs):
    _same(jax.jit(jax.vmap(ours))(KEYS), jax.vmap(theirs)(KEYS))
    _same(ours(KEYS[0]), theirs(KEYS[0]))


def test_traced_fold_in_data_and_the_hash_is_unrolled():
    fold = jax.jit(jax.vmap(threefry.fold_in, in_axes=(None, 0)))
    _same(fold(KEYS[0], jnp.arange(5)), jax.vmap(jax.random.fold_in, in_axes=(None, 0))(KEYS[0], jnp.arange(5)))
    jaxpr = jax.make_jaxpr(lambda k: threefry.bits(k, (8,)))(KEYS[0])
    assert "while" not in str(jaxpr) and "threefry2x32" not in str(jaxpr)


def test_other_key_implementations_fall_back_to_jax_random():
    key = jax.random.key(1, impl="rbg")
    assert not threefry.is_fast(key)
    _same(threefry.split(key, 2), jax.random.split(key, 2))
    _same(threefry.bernoulli(key, 0.5, (6,)), jax.random.bernoulli(key, 0.5, (6,)))
