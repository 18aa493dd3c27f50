"""The training entry points: ``make_train(config, data, *, fast=True)``, ``train_many`` and ``seed_keys``.

``make_train`` returns a pure ``train(key, data, hyper=None) -> TrainResult`` (the data is an
argument: one compiled program per shape trains every series of that shape); run many seeds with
``jax.jit(jax.vmap(train, in_axes=(0, None)))(seed_keys(root, 0, n), data)``, or seeds and stacked
hyper-parameter settings, checked first, with ``train_many(config, data, keys, hyper)``. Every
remedy is a field of the config (``lstm_ar.config``). It chooses one of three implementations
with the same inputs, keys and outputs, tested equal to float32 rounding (``tests/test_train.py``):

* ``lstm_ar.training.plain``: the reference, written to be read (``fast=False``), and the path
  of every config with a remedy (``TrainConfig.remedies``);
* ``lstm_ar.training.fast``: the same with ``jax.random``'s bits from unrolled-Threefry and
  key-sort-permutation kernels (``lstm_ar.kernels``), for Keras's plain model (any regime);
* ``lstm_ar.training.first_step``: the window-1 layout (only the 7u + 1 parameters a step from
  the zero state can change go through Adam), for window-1 one-step models without layer norm.

The fast variants are the default; their results are the ones the study's stored results come from.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import Hyper, TrainConfig, is_concrete, validate_hyper
from lstm_ar.data.series import Dataset
from lstm_ar.training import fast as fast_path
from lstm_ar.training import first_step, plain
from lstm_ar.training.plain import TrainResult

__all__ = ["TrainResult", "make_train", "seed_keys", "stack_settings", "train_many"]

SEED_LIMIT = 2 ** 32  # root seeds and seed indices are uint32


def make_train(config: TrainConfig, data: Dataset, *, fast: bool = True) -> Callable[..., TrainResult]:
    """Check the data and config; return ``train(key, data, hyper=None) -> TrainResult``.

    Args:
      config: the static configuration; ``config.hyper`` is the default of ``train``'s hyper.
      data: ``Dataset`` with x: [n, window, 1] and y: [n, horizon], real and finite; the program
        is built for its shapes.
      fast: True (default): ``first_step`` where it applies, else ``fast`` where it applies, else
        ``plain``; False: ``plain``.

    Returns:
      ``train(key, data, hyper=None)``: key a ``jax.random`` key; data a ``Dataset`` of the same
      shapes (numpy, jax, or traced: e.g. ``lstm_ar.data.series.gather_sequences`` of a vmapped
      series); hyper a ``Hyper`` of numbers or of arrays to vmap over (concrete values are
      validated at the call). Pure: ``jit``/``vmap`` it.

    Raises:
      TypeError: config is not a TrainConfig.
      ValueError: bad data (empty, complex, NaN/inf, shapes), before anything is compiled (each
        variant's ``make_train`` checks it, once).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not fast:
        return plain.make_train(config, data)
    if first_step.supports(config):  # the forecaster has one input feature (checked with the data)
        return first_step.make_train(config, data)
    if fast_path.supports(config):
        return fast_path.make_train(config, data)
    return plain.make_train(config, data)


def train_many(config: TrainConfig, data: Dataset, keys: jax.Array, hyper: Hyper | None = None, *,
               fast: bool = True) -> TrainResult:
    """Train one model per key, and per hyper-parameter setting when ``hyper`` is a stack.

    The stack is checked (``validate_hyper`` with ``config.dropout_sites``) on its concrete values
    before ``jax.jit`` of the vmapped ``train`` runs. Each member equals ``train(key, data, setting)``
    run alone.

    Args:
      config: the static configuration (its ``dropout_sites`` must hold every site given a rate).
      data: ``Dataset`` with x: [n, window, 1] and y: [n, horizon].
      keys: key[n_keys] (e.g. ``seed_keys(root, 0, n_keys)``).
      hyper: None (``config.hyper``), or a ``Hyper`` whose leaves are numbers (shared by every run)
        or 1-D arrays of one common length n_settings (one setting per index).
      fast: as for ``make_train``.

    Returns:
      ``TrainResult`` with leading axes [n_keys] (no 1-D leaf) or [n_keys, n_settings].

    Raises:
      TypeError: ``hyper`` is not a Hyper or holds tracers, ``keys`` is not a 1-D key array.
      ValueError: a leaf of rank > 1, 1-D leaves of different lengths or length 0, a value out of
        range, a rate at a site not in ``config.dropout_sites``; bad data (as ``make_train``).
    """
    train = make_train(config, data, fast=fast)
    hyper = config.hyper if hyper is None else hyper
    if not isinstance(hyper, Hyper):
        raise TypeError(f"hyper must be a Hyper, got {type(hyper).__name__}")
    traced = [name for name in Hyper._fields if not is_concrete(getattr(hyper, name))]
    if traced:
        raise TypeError(f"train_many needs concrete hyper-parameters to check them; {traced} are traced: "
                        f"call it outside jit/vmap")
    validate_hyper(hyper, dropout_sites=config.dropout_sites, noisy_inputs=config.noisy_inputs)
    shapes = {name: np.shape(getattr(hyper, name)) for name in Hyper._fields}
    stacked = {name: shape for name, shape in shapes.items() if shape != ()}
    bad = {name: shape for name, shape in stacked.items() if len(shape) != 1}
    if bad:
        raise ValueError(f"hyper leaves must be numbers or 1-D arrays (one setting per index), got shapes {bad}")
    if len(set(stacked.values())) > 1 or any(shape == (0,) for shape in stacked.values()):
        raise ValueError(f"the 1-D hyper leaves must share one nonzero length n_settings, got shapes {stacked}")
    if not (isinstance(keys, jax.Array) and jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
            and keys.ndim == 1 and keys.shape[0] > 0):
        raise TypeError(f"keys must be a non-empty 1-D array of jax.random keys (e.g. seed_keys(root, 0, n)), "
                        f"got {getattr(keys, 'dtype', type(keys).__name__)} of shape {np.shape(keys)}")
    if not stacked:
        return jax.jit(jax.vmap(lambda key: train(key, data, hyper)))(keys)
    shared = {name: getattr(hyper, name) for name in Hyper._fields if name not in stacked}
    stack = {name: jnp.asarray(getattr(hyper, name)) for name in stacked}

    def per_key(key, stack):
        return jax.vmap(lambda setting: train(key, data, Hyper(**shared, **setting)))(stack)

    return jax.jit(jax.vmap(per_key, in_axes=(0, None)))(keys, stack)


def stack_settings(settings) -> tuple[dict, dict]:
    """Several ``Hyper`` settings as one program's inputs: (the fields every setting shares, as
    concrete numbers; the fields that differ, as f32[n_settings] arrays to vmap over). Only what
    differs is traced, so a rate at a site the program lacks stays a concrete 0.

    Args:
      settings: a non-empty sequence of ``Hyper`` of numbers.

    Returns:
      (shared {field: number}, stacked {field: f32[n]}); setting i is
      ``Hyper(**shared, **{k: v[i] for k, v in stacked.items()})``.
    """
    settings = list(settings)
    if not settings or not all(isinstance(h, Hyper) for h in settings):
        raise TypeError("settings must be a non-empty sequence of Hyper")
    values = {name: np.asarray([float(getattr(h, name)) for h in settings], np.float32) for name in Hyper._fields}
    shared = {name: getattr(settings[0], name) for name, v in values.items() if np.all(v == v[0])}
    return shared, {name: v for name, v in values.items() if name not in shared}


def _seed_int(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def seed_keys(root: jax.Array | int, start: int, stop: int) -> jax.Array:
    """Keys for seeds start..stop-1: ``fold_in(root, i)``, so seed i never depends on how many run.

    Args:
      root: an int in [0, 2**32) (the root seed, ``jax.random.key(root)``) or a key.
      start, stop: seed indices, ``0 <= start <= stop <= 2**32``.

    Returns:
      keys: key[stop - start].

    Raises:
      ValueError: a root seed or index outside its range (it would otherwise wrap modulo 2**32).
      TypeError: a root or index that is not an int (or key).
    """
    if not isinstance(root, jax.Array):
        root = jax.random.key(_seed_int("root seed", root, 0, SEED_LIMIT - 1))
    start = _seed_int("start", start, 0, SEED_LIMIT)
    stop = _seed_int("stop", stop, start, SEED_LIMIT)
    return jax.vmap(lambda i: jax.random.fold_in(root, i))(jnp.arange(start, stop, dtype=jnp.uint32))
