"""The training entry points: ``make_train(config, data, *, fast=True)``, ``train_many`` and ``seed_keys``.

``make_train`` picks one of three implementations with the same inputs, keys and outputs to float32 rounding
(``tests/test_train.py``): ``lstm_ar.training.plain``, the reference (``fast=False``) and every config with a
remedy; ``lstm_ar.training.fast``, ``jax.random``'s bits from ``lstm_ar.kernels``, for Keras's plain model;
``lstm_ar.training.first_step``, where only the 7u + 1 parameters a step from the zero state can change go through
Adam (window-1 one-step models without layer norm). The fast variants are the default; the study's results come
from them.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.config import Hyper, TrainConfig, is_concrete, validate_hyper
from lstm_ar.data.series import Dataset
from lstm_ar.training import fast as fast_path
from lstm_ar.training import first_step, plain
from lstm_ar.training.plain import TrainResult
from lstm_ar.training.validation import check_result, checked_in_program

__all__ = ["TrainResult", "make_train", "seed_keys", "train_many"]

SEED_LIMIT = 2 ** 32  # root seeds and seed indices are uint32


def make_train(config: TrainConfig, data: Dataset, *, fast: bool = True) -> Callable[..., TrainResult]:
    """Check data (x: [n, window, 1], y: [n, horizon]) and config; return the pure ``train(key, data, hyper=None)``
    for data of those shapes (numpy, jax or traced), its result NaN where a traced hyper-parameter is out of range
    (``validation.checked_in_program``). fast: ``first_step``, else ``fast``, else ``plain`` where each applies;
    False: ``plain``."""
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    # first_step: the forecaster has one input feature (checked with the data)
    implementation = next((m for m in (first_step, fast_path) if fast and m.supports(config)), plain)
    return checked_in_program(implementation.make_train(config, data), config)


def train_many(config: TrainConfig, data: Dataset, keys: jax.Array, hyper: Hyper | None = None, *,
               fast: bool = True) -> TrainResult:
    """``TrainResult`` [n_keys] or [n_keys, n_settings]: one model per key, and per setting when ``hyper``
    leaves are 1-D arrays (checked before ``jax.jit``); each equals ``train(key, data, setting)`` alone. What comes
    back passes ``validation.check_result`` (a ValueError naming a hyper-parameter out of range inside the program)."""
    train = make_train(config, data, fast=fast)
    hyper = config.hyper if hyper is None else hyper
    if not isinstance(hyper, Hyper):
        raise TypeError(f"hyper must be a Hyper, got {type(hyper).__name__}")
    if traced := [name for name in Hyper._fields if not is_concrete(getattr(hyper, name))]:
        raise TypeError(f"train_many needs concrete hyper-parameters to check them; {traced} are traced: "
                        f"call it outside jit/vmap")
    validate_hyper(hyper, dropout_sites=config.dropout_sites, noisy_inputs=config.noisy_inputs)
    shapes = {name: np.shape(getattr(hyper, name)) for name in Hyper._fields}
    stacked = {name: shape for name, shape in shapes.items() if shape != ()}
    if bad := {name: shape for name, shape in stacked.items() if len(shape) != 1}:
        raise ValueError(f"hyper leaves must be numbers or 1-D arrays (one setting per index), got shapes {bad}")
    if len(set(stacked.values())) > 1 or any(shape == (0,) for shape in stacked.values()):
        raise ValueError(f"the 1-D hyper leaves must share one nonzero length n_settings, got shapes {stacked}")
    if not (isinstance(keys, jax.Array) and jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
            and keys.ndim == 1 and keys.shape[0] > 0):
        raise TypeError(f"keys must be a non-empty 1-D array of jax.random keys (e.g. seed_keys(root, 0, n)), "
                        f"got {getattr(keys, 'dtype', type(keys).__name__)} of shape {np.shape(keys)}")
    if not stacked:
        return check_result(jax.jit(jax.vmap(lambda key: train(key, data, hyper)))(keys))
    shared = {name: getattr(hyper, name) for name in Hyper._fields if name not in stacked}
    stack = {name: jnp.asarray(getattr(hyper, name)) for name in stacked}

    def per_key(key, stack):
        return jax.vmap(lambda setting: train(key, data, Hyper(**shared, **setting)))(stack)

    return check_result(jax.jit(jax.vmap(per_key, in_axes=(0, None)))(keys, stack))


def seed_keys(root: jax.Array | int, start: int, stop: int) -> jax.Array:
    """key[stop - start]: ``fold_in(root, i)`` for seeds i in start..stop-1, so seed i never depends on
    how many run. root: a key or an int seed in [0, 2**32); out-of-range ints are refused (no wrap)."""
    if not isinstance(root, jax.Array):
        root = jax.random.key(check_int(root, "root seed", 0, SEED_LIMIT - 1))
    start = check_int(start, "start", 0, SEED_LIMIT)
    stop = check_int(stop, "stop", start, SEED_LIMIT)
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(jnp.arange(start, stop, dtype=jnp.uint32))
