"""Run a per-seed function over many seeds: sharded over every device, in chunks, streamed, resumable.

``run_seeds(per_seed, n_seeds)`` evaluates ``per_seed(key)`` for seeds 0..n_seeds-1 (key
``fold_in(key(root_seed), i)``). Each device trains ``lanes`` seeds at once (``vmap``), block after block
(``lax.map``): seed i sits in lane ``i % lanes`` of block ``i // lanes``, so its result depends only on
i, the config and ``lanes`` (float32 rounding), never on devices, processes or chunk size. A chunk (a
multiple of lanes x devices) is one ahead-of-time compiled ``shard_map`` call; memory is checked first
(``lstm_ar.runtime.memory``, whose names stay importable here); with a ``ChunkStore`` finished chunks
are saved and a resumed run reuses the ones checked to come from this very run.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from tqdm.auto import tqdm

from lstm_ar.checks import check_int
from lstm_ar.runtime import distributed
from lstm_ar.runtime.chunk_store import ChunkStore, StoreMismatch, chunk_name
from lstm_ar.runtime.memory import INDEX_BYTES_PER_SEED as INDEX_BYTES_PER_SEED
from lstm_ar.runtime.memory import MEMORY_FRACTION as MEMORY_FRACTION
from lstm_ar.runtime.memory import (
    NotEnoughMemory,
    available_host_memory,
    bytes_per_seed,
    check_host_and_devices,
    check_host_memory,
    compiled_bytes,
    devices_on_host,
    memory_budget,
)
from lstm_ar.runtime.memory import host_bytes_needed as host_bytes_needed

DEFAULT_LANES = 256
SEED_LIMIT = 2 ** 32  # root seeds and seed indices are uint32 (jax.random.key / fold_in keep 32 bits)


def check_root_seed(root_seed: Any) -> int:
    """``int(root_seed)``: TypeError unless an integer (not bool), ValueError outside [0, 2**32) (``jax.random.key``
    keeps 32 bits: 2**32 would silently run root seed 0)."""
    return check_int(root_seed, "root_seed", 0, SEED_LIMIT - 1,
                      " (jax.random.key keeps 32 bits: other values would alias a seed in that range)")


def progress_bar(total: int, desc: str = "", *, stream=None, enabled: bool = True, done: int = 0,
                 mininterval: float | None = None) -> tqdm:
    """A ``tqdm.auto`` bar counting seeds on ``stream`` (default ``sys.stderr``), starting at ``done`` (a resumed
    run's). ``mininterval`` (s between redraws): default ``TQDM_MININTERVAL``, or 0.5 on a terminal and 60 elsewhere
    (a log gets one line a minute, not one per chunk; the last state is written on close)."""
    stream = sys.stderr if stream is None else stream
    if mininterval is None:
        tty = hasattr(stream, "isatty") and stream.isatty()
        mininterval = float(os.environ.get("TQDM_MININTERVAL", 0.5 if tty else 60.0))
    return tqdm(total=total, desc=desc or None, initial=done, unit="seeds", file=stream, disable=not enabled,
                mininterval=mininterval, leave=True, dynamic_ncols=True)


class SeedProgram(NamedTuple):
    """A compiled chunk: ``compiled(idx: u32[chunk] sharded[, inputs]) -> pytree of [chunk, ...]``;
    ``inputs``: the arrays every seed reads, on every device (None: the program takes none)."""

    compiled: Any
    root_seed: int
    lanes: int
    chunk: int
    sharding: NamedSharding
    bytes_per_device: int | None  # arguments + outputs + temporaries; None if XLA cannot say
    inputs: Any = None

    def __call__(self, idx: jax.Array):
        """The outputs of the seeds ``idx`` (``seed_indices``)."""
        return self.compiled(idx) if self.inputs is None else self.compiled(idx, self.inputs)


def replicated(inputs: Any, mesh: Mesh) -> Any:
    """``inputs`` (a pytree of arrays) held whole by every device of ``mesh``, each process filling its own."""
    sharding = NamedSharding(mesh, P())

    def put(a):
        host = np.asarray(a)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, inputs)


class Sweep(NamedTuple):
    """results: pytree of numpy [n_seeds, ...] (None on processes other than 0)."""

    results: Any
    lanes: int
    chunk: int
    devices: int
    processes: int
    bytes_per_device: int | None
    budget_per_device: int
    resumed_seeds: int

    def describe(self) -> dict:
        return {k: v for k, v in self._asdict().items() if k != "results"}


def lower_seed_program(per_seed: Callable, *, root_seed: int, lanes: int, chunk: int,
                       mesh: Mesh | None = None, inputs: Any = None) -> tuple[jax.stages.Lowered, NamedSharding]:
    """(``per_seed(key[, inputs])`` lowered for ``chunk`` seed indices ``u32[chunk]`` -> ``[chunk, ...]``, its
    sharding). ``inputs`` are passed at run time, replicated, so programs differing only in them compile once."""
    mesh = distributed.seed_mesh() if mesh is None else mesh
    root = check_root_seed(root_seed)
    if chunk % (lanes * mesh.size):
        raise ValueError(f"chunk {chunk} must be a multiple of lanes x devices = {lanes} x {mesh.size}")

    def device_fn(idx: jax.Array, *args):  # u32[chunk / devices]: this device's seeds, whole blocks
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(root), i))(idx)
        one = per_seed if not args else (lambda key: per_seed(key, args[0]))
        out = jax.lax.map(jax.vmap(one), keys.reshape(-1, lanes))  # [blocks, lanes, ...]
        return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), out)

    spec = P(distributed.SEED_AXIS)
    sharding = NamedSharding(mesh, spec)
    seeds = jax.ShapeDtypeStruct((chunk,), jnp.uint32, sharding=sharding)
    in_specs = spec if inputs is None else (spec, P())
    fn = jax.jit(jax.shard_map(device_fn, mesh=mesh, in_specs=in_specs, out_specs=spec, check_vma=False))
    if inputs is None:
        return fn.lower(seeds), sharding
    whole = NamedSharding(mesh, P())
    shapes = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype, sharding=whole), inputs)
    return fn.lower(seeds, shapes), sharding


def compile_seed_program(per_seed: Callable, *, root_seed: int, lanes: int, chunk: int,
                         mesh: Mesh | None = None, inputs: Any = None) -> SeedProgram:
    """``lower_seed_program``, compiled: a ``SeedProgram`` to call with ``seed_indices``."""
    mesh = distributed.seed_mesh() if mesh is None else mesh
    lowered, sharding = lower_seed_program(per_seed, root_seed=root_seed, lanes=lanes, chunk=chunk, mesh=mesh,
                                           inputs=inputs)
    return _compile(lowered, int(root_seed), lanes, chunk, sharding, inputs, mesh)


def _compile(lowered, root_seed: int, lanes: int, chunk: int, sharding: NamedSharding, inputs: Any, mesh: Mesh):
    inputs = None if inputs is None else replicated(inputs, mesh)
    compiled = lowered.compile()
    return SeedProgram(compiled, root_seed, lanes, chunk, sharding, compiled_bytes(compiled), inputs)


def default_lanes(n_seeds: int, max_lanes: int | None = None) -> int:
    """DEFAULT_LANES, or the next power of two >= n_seeds (less padding), at most ``max_lanes`` (None: no cap)."""
    lanes = min(DEFAULT_LANES, 1 << max(0, math.ceil(math.log2(n_seeds))))
    return lanes if max_lanes is None else max(1, min(lanes, int(max_lanes)))


# Lanes x steps x batch x units per block that keep training in the CPU caches: 256 lanes of the article's
# window-1 models (batch 32, 32 units), never more than SEQUENCE_LANES for a multi-step LSTM. Measured on the
# 2-core CPU (benchmarks/results/tune_lanes.json, CPU time per seed-step): window 5 118 us at 8 lanes vs 179
# at 256; window 20 443 vs 783; window 50 1,140 at 4 lanes vs 2,004.
CACHE_UNIT_STEPS = DEFAULT_LANES * 32 * 32
SEQUENCE_LANES = 8


def cache_lanes(length: int, batch_size: int, units: int, per_seed: int = 1) -> int:
    """The most lanes (a power of two, at most ``SEQUENCE_LANES`` when ``length`` > 1) whose training block fits
    ``CACHE_UNIT_STEPS``: with batch 32 and 32 units 256 at window 1, 8 for windows 2 to 32, 4 for 50, 2 for 100.
    ``length``: LSTM steps per example; ``per_seed``: models per lane (vmapped settings, realisations)."""
    for name, value in (("length", length), ("batch_size", batch_size), ("units", units), ("per_seed", per_seed)):
        check_int(value, name, 1)
    fit = CACHE_UNIT_STEPS // (length * batch_size * units * per_seed)
    lanes = max(1, min(DEFAULT_LANES, 1 << max(0, int(fit).bit_length() - 1)))
    return lanes if length == 1 else min(lanes, SEQUENCE_LANES)


def cpu_cap(max_lanes: int | None, mesh: Mesh) -> int | None:
    """``max_lanes`` on CPU devices; None (no cap) on accelerators, where wider blocks pay."""
    return None if max_lanes is None or mesh.devices.flat[0].platform != "cpu" else max_lanes


def plan_program(per_seed: Callable, n_seeds: int, *, root_seed: int, lanes: int | None, chunk: int | None,
                 budget: int, mesh: Mesh, host_memory: int | None = None, max_lanes: int | None = None,
                 inputs: Any = None) -> SeedProgram:
    """Choose lanes and chunk (None: choose), compile, and check the chunk against ``budget`` bytes per device: a
    default ``lanes`` (at most ``max_lanes``) over budget shrinks, at least halving; explicit ones raise
    ``NotEnoughMemory``, as do outputs over ``host_memory`` (checked before compiling)."""
    auto = lanes is None
    lanes = default_lanes(n_seeds, max_lanes) if auto else int(lanes)
    while True:
        step = lanes * mesh.size
        size = min(-(-(chunk or step) // step), -(-n_seeds // step)) * step
        if -(-n_seeds // size) * size > SEED_LIMIT:
            raise ValueError(f"{n_seeds} seeds padded to chunks of {size} pass seed index 2**32 - 1: run fewer seeds")
        lowered, sharding = lower_seed_program(per_seed, root_seed=root_seed, lanes=lanes, chunk=size, mesh=mesh,
                                               inputs=inputs)
        out_info = lowered.out_info
        if host_memory is not None:  # traced, not compiled yet
            check_host_memory(bytes_per_seed(out_info), n_seeds, size, host_memory)
        program = _compile(lowered, int(root_seed), lanes, size, sharding, inputs, mesh)
        used = program.bytes_per_device
        if used is None or used <= budget:
            if host_memory is not None and used is not None and devices_on_host(mesh):
                check_host_and_devices(bytes_per_seed(out_info), n_seeds, size, used, host_memory)
            return program
        if not auto or chunk is not None or lanes == 1:
            raise NotEnoughMemory(f"a chunk of {size} seeds ({lanes} lanes x {mesh.size} devices) needs "
                                  f"{used / 2**20:.1f} MiB per device, over the budget of {budget / 2**20:.1f} MiB; "
                                  f"pass a smaller --lanes or --chunk")
        lanes = max(1, 1 << int(math.floor(math.log2(max(1.0, lanes * budget / used)))))
        lanes = min(lanes, step // mesh.size // 2)  # strictly fewer than before


def seed_indices(start: int, program: SeedProgram) -> jax.Array:
    """u32[chunk] global array of seeds start..start+chunk-1, each process filling its shards."""
    if not 0 <= start <= start + program.chunk <= SEED_LIMIT:
        raise ValueError(f"seeds {start}..{start + program.chunk - 1} leave the uint32 range of seed indices")
    host = np.arange(start, start + program.chunk, dtype=np.uint32)
    return jax.make_array_from_callback((program.chunk,), program.sharding, lambda index: host[index])


def _resume(store: ChunkStore, program: SeedProgram, results: list, shapes: list, n_seeds: int) -> int:
    """Start (or check) the store, copy its finished chunks (verified to be this run's, with this program's
    outputs) into ``results``: the next seed."""
    store.begin({"root_seed": program.root_seed, "lanes": program.lanes})
    start = 0
    for lo, hi in store.finished():
        if lo >= n_seeds:
            break
        loaded = store.load(lo, hi)
        got = [(a.shape[1:], a.dtype) for a in loaded]
        if got != shapes:
            raise StoreMismatch(f"{store.folder / chunk_name(lo, hi)} holds outputs {got}, not this run's {shapes}; "
                                f"delete it and every later chunk (a resumed run recomputes every seed from {lo} on) "
                                f"or run without --resume to start over")
        for dst, src in zip(results, loaded):
            dst[lo:min(hi, n_seeds)] = src[:min(hi, n_seeds) - lo]
        start = hi
    return min(start, n_seeds)


def check_train_results(results: Any) -> None:
    """``training.validation.check_result`` on every ``TrainResult`` among ``results`` (a ValueError naming a
    hyper-parameter that ``per_seed`` traced from ``inputs`` out of its range: those seeds' numbers are NaN)."""
    from lstm_ar.training.validation import check_result

    marked = lambda node: isinstance(node, tuple) and hasattr(node, "hyper_errors")
    for node in jax.tree.leaves(results, is_leaf=marked):
        if marked(node):
            check_result(node)


def run_seeds(per_seed: Callable[..., Any], n_seeds: int, *, root_seed: int = 0, chunk: int | None = None,
              lanes: int | None = None, desc: str = "", progress: bool = True, store: ChunkStore | None = None,
              budget: int | None = None, host_memory: int | None = None, max_lanes: int | None = None,
              inputs: Any = None) -> Sweep:
    """``per_seed(key)`` for seeds 0..n_seeds-1 (<= 2**32) over all devices: a ``Sweep``, ``results`` numpy
    ``[n_seeds, ...]`` on process 0. Arguments are checked before tracing, host memory before compiling. Lanes
    (``default_lanes``, capped by ``max_lanes`` on CPU devices only) shrink to fit ``budget``; it and ``host_memory``
    default to the smallest free memory over processes. ``store`` saves finished chunks, reused when resuming. A
    ``TrainResult`` among the results is checked (``check_train_results``) before they are returned."""
    n_seeds = check_int(n_seeds, "n_seeds", 1, SEED_LIMIT)
    root_seed = check_root_seed(root_seed)
    chunk, lanes, max_lanes, budget, host_memory = (None if v is None else check_int(v, k, 1) for k, v in (
        ("chunk", chunk), ("lanes", lanes), ("max_lanes", max_lanes), ("budget", budget), ("host_memory", host_memory)))
    if store is not None and not isinstance(store, ChunkStore):
        raise TypeError(f"store must be a ChunkStore or None, got {type(store).__name__}")
    writer = distributed.is_writer()
    early = None
    if store is not None and writer:  # a symlinked store folder is refused before compiling
        try:
            store.check_location()
        except Exception as e:
            early = e
    if distributed.broadcast_int(-1 if early is not None else 0) < 0:
        raise early if early is not None else RuntimeError("process 0 cannot use its chunk store (see its log)")
    mesh = distributed.seed_mesh()
    budget = int(distributed.min_over_processes(memory_budget() if budget is None else budget))
    host_memory = int(distributed.min_over_processes(available_host_memory() if host_memory is None else host_memory))
    max_lanes = cpu_cap(max_lanes, mesh)
    program = plan_program(per_seed, n_seeds, root_seed=root_seed, lanes=lanes, chunk=chunk, budget=budget,
                           mesh=mesh, host_memory=host_memory, max_lanes=max_lanes, inputs=inputs)
    if lanes is None and program.lanes < default_lanes(n_seeds, max_lanes) and writer:
        sys.stderr.write(f"{desc or 'sweep'}: {default_lanes(n_seeds, max_lanes)} lanes exceed the memory budget of "
                         f"{budget / 2**20:.0f} MiB per device; using {program.lanes} (results differ from the "
                         f"default's by float32 rounding)\n")
    treedef = jax.tree.structure(program.compiled.out_info)
    shapes = [(s.shape[1:], s.dtype) for s in jax.tree.leaves(program.compiled.out_info)]
    results = [np.empty((n_seeds, *shape), dtype) for shape, dtype in shapes] if writer else None

    start, error = 0, None
    if store is not None and writer:
        try:
            start = _resume(store, program, results, shapes, n_seeds)
        except Exception as e:  # tell the other processes before raising, so none waits forever
            start, error = -1, e
    start = distributed.broadcast_int(start)
    if start < 0:
        raise error if error is not None else RuntimeError("process 0 could not open its chunk store (see its log)")
    with progress_bar(n_seeds, desc, enabled=progress and writer, done=start) as bar:
        for lo in range(start, n_seeds, program.chunk):
            out = jax.tree.leaves(distributed.gather(program(seed_indices(lo, program))))
            if writer:
                if store is not None:
                    store.save(lo, out)
                hi = min(lo + program.chunk, n_seeds)
                for dst, src in zip(results, out):
                    dst[lo:hi] = src[:hi - lo]
            bar.update(min(program.chunk, n_seeds - lo))
    if writer:
        check_train_results(jax.tree.unflatten(treedef, results))
    return Sweep(results=jax.tree.unflatten(treedef, results) if writer else None, lanes=program.lanes,
                 chunk=program.chunk, devices=mesh.size, processes=jax.process_count(),
                 bytes_per_device=program.bytes_per_device, budget_per_device=budget, resumed_seeds=start)
