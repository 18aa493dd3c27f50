"""Shared test set-up: strict rank promotion, float32, a cheaper XLA backend, small shared fixtures.

Almost all of the suite's time is XLA compilation of small programs, so the tests compile with
the backend's optimisation level 0 (about three times faster to compile). Every equality the tests
prove compares programs compiled at the same level; the committed results are checked against the
default level by running the main job (``lstm-ar reproduce``), not by the tests. Subprocesses the
tests start inherit the flag through ``XLA_FLAGS``; set ``LSTM_AR_TEST_XLA_OPT=default`` to test at
the shipped level instead.
"""

import os

# Subprocesses that must compute exactly what this process computes pass these on (they drop the
# rest of XLA_FLAGS, e.g. device counts).
TEST_XLA_FLAGS = "" if os.environ.get("LSTM_AR_TEST_XLA_OPT", "0") == "default" else "--xla_backend_optimization_level=0"
os.environ["LSTM_AR_TEST_XLA_FLAGS"] = TEST_XLA_FLAGS
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + TEST_XLA_FLAGS).strip()
# Commands run in-process enable JAX's persistent compilation cache: keep it in a folder of this
# run, never in the user's cache folder (tests that test the cache set their own).
if "LSTM_AR_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["LSTM_AR_CACHE_DIR"] = tempfile.mkdtemp(prefix="lstm_ar_test_jax_cache_")

import contextlib  # noqa: E402

import jax  # noqa: E402  (after XLA_FLAGS: the backend reads it when it starts)
import numpy as np  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


@contextlib.contextmanager
def compilation_cache(folder):
    """JAX's persistent compilation cache in ``folder`` while the block runs (then as before): a
    program another run in the block already compiled is loaded instead of compiled again (the same
    executable, so the same bytes either way). Uses JAX's private ``reset_cache`` (JAX is pinned)."""
    from jax._src import compilation_cache as cache

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
             "jax_persistent_cache_min_entry_size_bytes")
    before = {name: getattr(jax.config, name) for name in names}
    for name, value in zip(names, (str(folder), 0.0, 0)):
        jax.config.update(name, value)
    cache.reset_cache()
    try:
        yield
    finally:
        for name, value in before.items():
            jax.config.update(name, value)
        cache.reset_cache()
