"""Run a per-seed function over many seeds: sharded over every device, in chunks, streamed, resumable.

``run_seeds(per_seed, n_seeds)`` evaluates ``per_seed(key)`` (one seed, unbatched; e.g. train +
evaluate) for seeds 0..n_seeds-1, where seed i's key is ``fold_in(key(root_seed), i)``
(``lstm_ar.training.train.seed_keys``). How the work is laid out:

* lanes: each device trains ``lanes`` seeds at once (``vmap``), block after block
  (``lax.map``). Seed i always sits in lane ``i % lanes`` of block ``i // lanes``, computed by
  the same compiled block, so its result depends only on i, the config and ``lanes``: never on
  the number of devices, processes, or the chunk size (tests/test_sweep.py, tests/test_distributed.py).
  Default 256 (the old chunk default, so earlier results are reproduced bit for bit), fewer for
  runs of fewer seeds (the next power of two), and fewer again if one block does not fit the
  memory budget. Changing ``lanes`` changes results only by float32 rounding.
* chunks: one call trains ``chunk`` seeds (a multiple of lanes x devices; default lanes x
  devices, one block per device), laid over ``distributed.seed_mesh()`` with
  ``NamedSharding(mesh, P("seeds"))`` through ``shard_map``, and gathered to every process.
  The program is compiled once (ahead of time); the last chunk is padded with real seeds.
* memory per chunk, per device: a working set fixed by ``lanes`` (``lanes`` seeds training at
  once; about 81 MiB at 256 lanes for the article's LSTM(32)) plus, for each of the chunk's seeds
  on the device, its outputs and ``INDEX_BYTES_PER_SEED`` (tests/test_sweep.py). It is read from
  the compiled program (``memory_analysis``) and checked against ``memory_budget()`` before
  anything runs. On the host, process 0 keeps every seed's outputs (n_seeds x outputs) and one chunk.
* streaming and resume: with a ``ChunkStore``, process 0 writes each finished chunk to disk, and
  a resumed run loads the finished chunks instead of recomputing them.

Progress goes to stderr, one line per chunk, from process 0 only.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from lstm_ar.study import distributed
from lstm_ar.study.chunk_store import ChunkStore

DEFAULT_LANES = 256
INDEX_BYTES_PER_SEED = 12  # a chunk's u32 seed index and its key (2 x u32), besides the outputs
MEMORY_FRACTION = 0.5  # of the memory free per device (host RAM / local devices on CPU)


class Progress:
    """A one-line progress bar on stderr (a line per update when stderr is not a terminal)."""

    def __init__(self, total: int, desc: str = "", stream=None, enabled: bool = True, done: int = 0):
        self.total, self.desc, self.done, self.first = total, desc, done, done
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.start = time.perf_counter()
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        rate = (self.done - self.first) / max(elapsed, 1e-9)
        eta = f"  eta {(self.total - self.done) / rate:6.0f}s" if 0 < rate and self.done < self.total else ""
        line = f"{self.desc:<28} [{bar}] {self.done}/{self.total} seeds  {elapsed:6.1f}s{eta}"
        end = "\r" if self._tty and self.done < self.total else "\n"
        self.stream.write(line + end)
        self.stream.flush()


class SeedProgram(NamedTuple):
    """A compiled chunk: ``compiled(idx: u32[chunk] sharded) -> pytree of [chunk, ...]``."""

    compiled: Any
    root_seed: int
    lanes: int
    chunk: int
    sharding: NamedSharding
    bytes_per_device: int | None  # arguments + outputs + temporaries; None if XLA cannot say


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


def _meminfo_available() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def memory_budget(device: jax.Device | None = None, fraction: float = MEMORY_FRACTION) -> int:
    """Bytes one chunk may use per device: ``fraction`` of what is free on it.

    GPU / TPU: ``device.memory_stats()`` (bytes_limit - bytes_in_use). CPU (no stats): the
    host's MemAvailable divided by the local devices, which share it.
    """
    device = jax.local_devices()[0] if device is None else device
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        free = int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    else:
        free = _meminfo_available() // jax.local_device_count()
    return int(fraction * free)


def compiled_bytes(compiled) -> int | None:
    """Per-device bytes of a compiled program: arguments + outputs + temporaries - aliased."""
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def compile_seed_program(per_seed: Callable, *, root_seed: int, lanes: int, chunk: int,
                         mesh: Mesh | None = None) -> SeedProgram:
    """Compile ``per_seed`` for chunks of ``chunk`` seed indices laid over ``mesh`` (default: all devices)."""
    mesh = distributed.seed_mesh() if mesh is None else mesh
    if chunk % (lanes * mesh.size):
        raise ValueError(f"chunk {chunk} must be a multiple of lanes x devices = {lanes} x {mesh.size}")
    root = int(root_seed)

    def device_fn(idx: jax.Array):  # u32[chunk / devices]: this device's seeds, whole blocks
        keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(root), i))(idx)
        out = jax.lax.map(jax.vmap(per_seed), keys.reshape(-1, lanes))  # [blocks, lanes, ...]
        return jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), out)

    spec = P(distributed.SEED_AXIS)
    sharding = NamedSharding(mesh, spec)
    fn = jax.jit(jax.shard_map(device_fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False))
    compiled = fn.lower(jax.ShapeDtypeStruct((chunk,), jnp.uint32, sharding=sharding)).compile()
    return SeedProgram(compiled, root, lanes, chunk, sharding, compiled_bytes(compiled))


def default_lanes(n_seeds: int) -> int:
    """DEFAULT_LANES, or the next power of two >= n_seeds for smaller runs (less padding)."""
    return min(DEFAULT_LANES, 1 << max(0, math.ceil(math.log2(n_seeds))))


def plan_program(per_seed: Callable, n_seeds: int, *, root_seed: int, lanes: int | None, chunk: int | None,
                 budget: int, mesh: Mesh) -> SeedProgram:
    """Choose lanes and chunk, compile, and check the chunk's memory against ``budget`` per device.

    A default ``lanes`` over budget shrinks (to the power of two the measured bytes allow, at
    least halving) until it fits; an explicit ``lanes`` or ``chunk`` over budget raises
    ``MemoryError``.
    """
    auto = lanes is None
    lanes = default_lanes(n_seeds) if auto else int(lanes)
    while True:
        step = lanes * mesh.size
        size = min(-(-(chunk or step) // step), -(-n_seeds // step)) * step
        program = compile_seed_program(per_seed, root_seed=root_seed, lanes=lanes, chunk=size, mesh=mesh)
        used = program.bytes_per_device
        if used is None or used <= budget:
            return program
        if not auto or chunk is not None or lanes == 1:
            raise MemoryError(f"a chunk of {size} seeds ({lanes} lanes x {mesh.size} devices) needs "
                              f"{used / 2**20:.1f} MiB per device, over the budget of {budget / 2**20:.1f} MiB; "
                              f"pass a smaller --lanes or --chunk")
        lanes = max(1, 1 << int(math.floor(math.log2(max(1.0, lanes * budget / used)))))
        lanes = min(lanes, step // mesh.size // 2)  # strictly fewer than before


def seed_indices(start: int, program: SeedProgram) -> jax.Array:
    """u32[chunk] global array of seeds start..start+chunk-1, each process filling its shards."""
    host = np.arange(start, start + program.chunk, dtype=np.uint32)
    return jax.make_array_from_callback((program.chunk,), program.sharding, lambda index: host[index])


def _resume(store: ChunkStore, program: SeedProgram, results: list, shapes: list, n_seeds: int) -> int:
    """Start (or check) the store; copy its finished chunks into ``results``; return the next seed."""
    store.begin({"root_seed": program.root_seed, "lanes": program.lanes})
    start = 0
    for lo, hi in store.finished():
        if lo >= n_seeds:
            break
        loaded = store.load(lo, hi)
        if [(a.shape[1:], a.dtype) for a in loaded] != shapes:
            raise ValueError(f"{store.folder}: chunk {lo}-{hi} does not match this run's outputs")
        for dst, src in zip(results, loaded):
            dst[lo:min(hi, n_seeds)] = src[:min(hi, n_seeds) - lo]
        start = hi
    return min(start, n_seeds)


def run_seeds(per_seed: Callable[[jax.Array], Any], n_seeds: int, *, root_seed: int = 0,
              chunk: int | None = None, lanes: int | None = None, desc: str = "", progress: bool = True,
              store: ChunkStore | None = None, budget: int | None = None) -> Sweep:
    """``per_seed(key)`` for seeds 0..n_seeds-1 over all devices; see the module docstring.

    per_seed: one seed's key -> pytree of arrays (traced once, vmapped over lanes).
    chunk: seeds per call (rounded up to a multiple of lanes x devices); default lanes x devices.
    lanes: seeds trained at once per device; default ``default_lanes(n_seeds)``, reduced to fit.
    store: stream finished chunks there (process 0) and, if it resumes, skip finished ones.
    budget: bytes per device a chunk may use (default ``memory_budget()``, smallest over processes).
    Returns a ``Sweep``; its ``results`` leaves are numpy arrays [n_seeds, ...] on process 0.
    """
    if n_seeds < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n_seeds}")
    if chunk is not None and chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    if lanes is not None and lanes < 1:
        raise ValueError(f"lanes must be >= 1, got {lanes}")
    mesh = distributed.seed_mesh()
    budget = int(distributed.min_over_processes(memory_budget() if budget is None else budget))
    program = plan_program(per_seed, n_seeds, root_seed=root_seed, lanes=lanes, chunk=chunk, budget=budget,
                           mesh=mesh)
    writer = distributed.is_writer()
    if lanes is None and program.lanes < default_lanes(n_seeds) and writer:
        sys.stderr.write(f"{desc or 'sweep'}: {default_lanes(n_seeds)} lanes exceed the memory budget of "
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
    bar = Progress(n_seeds, desc, enabled=progress and writer, done=start)
    for lo in range(start, n_seeds, program.chunk):
        out = jax.tree.leaves(distributed.gather(program.compiled(seed_indices(lo, program))))
        if writer:
            if store is not None:
                store.save(lo, out)
            hi = min(lo + program.chunk, n_seeds)
            for dst, src in zip(results, out):
                dst[lo:hi] = src[:hi - lo]
        bar.update(min(program.chunk, n_seeds - lo))
    return Sweep(results=jax.tree.unflatten(treedef, results) if writer else None, lanes=program.lanes,
                 chunk=program.chunk, devices=mesh.size, processes=jax.process_count(),
                 bytes_per_device=program.bytes_per_device, budget_per_device=budget, resumed_seeds=start)
