"""Rollouts of many models at once, each with its own weights, blocked so each block stays in cache.

``jax.vmap(rollout)`` over B models streams all B weight sets through the core every step; beyond ~64 models
(hidden 32) they leave the L2 cache and throughput falls (benchmarks/rollout.py: 2.4 M seed-steps/s at B = 64,
0.34 M at B = 16384). ``rollout_batched`` runs all ``steps`` of one block of models before the next (``lax.map``
over blocks) and agrees with ``jax.vmap(rollout)`` to float32 rounding (tests/test_rollout.py). Over several
devices models are split with ``shard_map`` (XLA:CPU otherwise runs the loop on one core). ``params`` has a leading
model axis on every leaf; ``context`` is f32[time] (shared) or f32[B, time]; the result is f32[B, steps].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from lstm_ar.checks import check_int, real_float32
from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.rollout import check_mode, check_steps, check_univariate, rollout
from lstm_ar.model.forecaster import Params

# Weight bytes per step a block may read and stay in a core's L2 cache, and the largest block. Chosen
# with benchmarks/tune_blocking.py (benchmarks/results/tune_blocking.json; hidden 32, B = 1024): blocks
# of 4-64 models ran ~3x the unblocked throughput in both modes, blocks of 128-256 less.
BLOCK_WEIGHT_BYTES = 256 * 1024
MAX_BLOCK = 64


class Blocking(NamedTuple):
    """How ``rollout_batched`` cuts the work: models per block, scan unroll."""

    block: int
    unroll: int


def weight_bytes_per_model(params: Params, mode: str = "stateful") -> int:
    """Bytes of one model's parameters read per step (window mode never reads the recurrent kernel)."""
    check_mode(mode)
    total = sum(math.prod(leaf.shape[1:]) * leaf.dtype.itemsize for leaf in jax.tree.leaves(params))
    if mode == "window":
        rk = params["lstm"]["recurrent_kernel"]
        total -= math.prod(rk.shape[1:]) * rk.dtype.itemsize
    return total


def default_blocking(n_models: int, bytes_per_model: int, backend: str | None = None) -> Blocking:
    """CPU: blocks whose weights fill ``BLOCK_WEIGHT_BYTES``, at most ``MAX_BLOCK`` models; GPU/TPU: one
    block of all models (the widest batch). Unroll 1: 2 was no faster in the same sweeps."""
    backend = jax.default_backend() if backend is None else backend
    if backend != "cpu":
        return Blocking(block=max(n_models, 1), unroll=1)
    block = BLOCK_WEIGHT_BYTES // max(bytes_per_model, 1)
    return Blocking(block=max(1, min(n_models, MAX_BLOCK, block)), unroll=1)


def _n_models(params: Params) -> int:
    sizes = {leaf.shape[0] if leaf.ndim else None for leaf in jax.tree.leaves(params)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError("params must be stacked: every leaf needs the same leading (model) axis, "
                         f"got leading sizes {sorted(map(str, sizes))}")
    return sizes.pop()


def _pad_models(tree, n: int):
    """Pad the leading axis to n by repeating the last model (padding is computed, then dropped)."""
    return jax.tree.map(lambda a: a if a.shape[0] == n else
                        jnp.concatenate([a, jnp.repeat(a[-1:], n - a.shape[0], axis=0)], axis=0), tree)


def rollout_batched(params: Params, context: jax.Array, steps: int, model: ModelConfig, *,
                    mode: str = "window", block: int | None = None, unroll: int | None = None,
                    devices: Sequence[jax.Device] | None = None) -> jax.Array:
    """f32[B, steps]: ``jax.vmap(lambda p, c: rollout(p, c, steps, model, mode=mode))`` to float32 rounding;
    block, unroll default to ``default_blocking``; ``devices`` (default all, at most B) get ``shard_map``."""
    check_mode(mode)
    steps = check_steps(steps)
    block, unroll = (None if v is None else check_int(v, name, 1) for v, name in ((block, "block"), (unroll, "unroll")))
    n = _n_models(params)
    check_univariate(params)
    shape = np.shape(context)
    if len(shape) == 2 and shape[1] == 1:
        raise ValueError(f"context of shape {shape} is ambiguous: a context shared by all models is f32[time] "
                         f"and per-model contexts are f32[{n}, time]; pass context[:, 0] to share it (a column "
                         "f32[time, 1], which rollout accepts, is not read here)")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[0] != n):
        raise ValueError(f"context must be f32[time] or f32[{n}, time], got shape {shape}")
    needed = model.window if mode == "window" else 1
    if shape[-1] < needed:
        raise ValueError(f"context has {shape[-1]} values per model, the model needs {needed}")
    shared = len(shape) == 1
    context = jnp.asarray(real_float32(context, "context"), jnp.float32)
    given = devices is not None
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must not be empty")
    devices = devices[:n]  # never more devices than models (B = 1 runs the plain rollout)
    use_mesh = given or len(devices) > 1
    per_device = math.ceil(n / len(devices))
    chosen = default_blocking(per_device, weight_bytes_per_model(params, mode), devices[0].platform)
    block = min(chosen.block if block is None else block, per_device)
    unroll = chosen.unroll if unroll is None else unroll
    # A shared context is not broadcast to B rows (each block's vmap closes over it). Only a
    # multi-device run pads B to a multiple of the device count (with copies of the last model).
    padded = len(devices) * per_device if use_mesh else n
    tree = _pad_models(params if shared else (params, context), padded)

    def one(q, x):
        return rollout(q, x, steps, model, mode=mode, unroll=unroll)

    def run_block(tree):  # leaves f32[b, ...] -> f32[b, steps], all b models at once
        args = (tree, context) if shared else tree
        if jax.tree.leaves(tree)[0].shape[0] == 1:
            # One model: the plain rollout, not a vmap of one. A batch-1 dot_general compiles to
            # a slower kernel than the matrix-vector product (measured, hidden 32, stateful:
            # 0.70 against 0.34 CPU-us per step).
            q = jax.tree.map(lambda a: a[0], tree if shared else tree[0])
            x = context if shared else tree[1][0]
            return one(q, x)[None]
        return jax.vmap(one, in_axes=(0, None) if shared else (0, 0))(*args)

    def blocked(tree):  # leaves f32[m, ...] -> f32[m, steps], block by block
        m = jax.tree.leaves(tree)[0].shape[0]
        full = (m // block) * block
        if full == m and m == block:
            return run_block(tree)
        # Whole blocks in a lax.map; the m % block models left over run as one smaller block
        # (no padded copy of the stacked weights).
        blocks = jax.tree.map(lambda a: a[:full].reshape((full // block, block) + a.shape[1:]), tree)
        outs = [jax.lax.map(run_block, blocks).reshape(full, steps)]
        if full < m:
            outs.append(run_block(jax.tree.map(lambda a: a[full:], tree)))
        return jnp.concatenate(outs, axis=0) if len(outs) > 1 else outs[0]

    if not use_mesh:
        return blocked(tree)[:n]
    # check_vma=False: the shared context is the same on every device (a replicated value that the window-mode
    # scan carries next to per-model values).
    return jax.shard_map(blocked, mesh=Mesh(np.asarray(devices), ("models",)), in_specs=(P("models"),),
                         out_specs=P("models"), check_vma=False)(tree)[:n]
