"""Shared test set-up: strict rank promotion, float32, and small shared fixtures."""

import jax
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)
