import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.kernels.permutation import permutation, rounds, stable_argsort

SIZES = [0, 1, 2, 20, 999, 1700]


@pytest.fixture(scope="module")
def permutations():
    """Ours (jitted) and jax's (eager) permutations of each size in SIZES, ours in one compiled program."""
    keys = jax.random.split(jax.random.key(3), 16)
    ours = jax.jit(lambda ks: {n: jax.vmap(lambda k, n=n: permutation(k, n))(ks) for n in SIZES})(keys)
    theirs = {n: jax.vmap(lambda k, n=n: jax.random.permutation(k, n))(keys) for n in SIZES}
    return ours, theirs


@pytest.mark.parametrize("n", SIZES)
def test_permutation_is_bit_identical_to_jax(n, permutations):
    ours, theirs = permutations[0][n], permutations[1][n]
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_two_rounds_from_1626_elements_as_jax():
    assert rounds(999) == 1 and rounds(1625) == 1 and rounds(1626) == 2


def test_permutation_follows_the_key_implementation():
    key = jax.random.key(0, impl="rbg")
    np.testing.assert_array_equal(permutation(key, 50), jax.random.permutation(key, 50))


def test_stable_argsort_breaks_ties_by_index_like_numpy():
    rng = np.random.default_rng(0)
    # few distinct values: many ties, groups of up to ~20 equal keys
    keys = rng.integers(0, 4, size=(40, 60)).astype(np.uint32)
    ours = jax.jit(jax.vmap(stable_argsort))(jnp.asarray(keys))
    np.testing.assert_array_equal(ours, np.argsort(keys, axis=1, kind="stable"))
    # mixed: one member of the batch has ties, the others not (vmapped while_loop)
    mixed = np.stack([rng.permutation(60).astype(np.uint32), keys[0]])
    np.testing.assert_array_equal(jax.vmap(stable_argsort)(jnp.asarray(mixed)),
                                  np.argsort(mixed, axis=1, kind="stable"))


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="1-D"):
        stable_argsort(jnp.zeros((2, 3), jnp.uint32))
    with pytest.raises(ValueError, match="non-negative"):
        permutation(jax.random.key(0), -1)
