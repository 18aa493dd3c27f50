"""Run a per-seed function over many seeds: sharded over every device, in chunks, streamed, resumable.

``run_seeds(per_seed, n_seeds)`` evaluates ``per_seed(key)`` (one seed, unbatched; e.g. train +
evaluate) for seeds 0..n_seeds-1, where seed i's key is ``fold_in(key(root_seed), i)``
(``lstm_ar.training.train.seed_keys``). How the work is laid out:

* lanes: each device trains ``lanes`` seeds at once (``vmap``), block after block
  (``lax.map``). Seed i always sits in lane ``i % lanes`` of block ``i // lanes``, computed by
  the same compiled block, so its result depends only on i, the config and ``lanes``: never on
  the number of devices, processes, or the chunk size (tests/test_sweep.py, tests/test_distributed.py).
  Default 256 (the old chunk default, so earlier results are reproduced bit for bit), fewer for
  runs of fewer seeds (the next power of two), fewer on a CPU for sequence models
  (``max_lanes``, from ``cache_lanes``: a block of lanes whose training steps fit the CPU caches
  runs faster per seed), and fewer again if one block does not fit the memory budget. Changing
  ``lanes`` changes results only by float32 rounding.
* chunks: one call trains ``chunk`` seeds (a multiple of lanes x devices; default lanes x
  devices, one block per device), laid over ``distributed.seed_mesh()`` with
  ``NamedSharding(mesh, P("seeds"))`` through ``shard_map``, and gathered to every process.
  The program is compiled once (ahead of time); the last chunk is padded with real seeds.
* memory: a chunk's working set per device and every seed's outputs on the host are checked
  before anything runs (``lstm_ar.runtime.memory``); a default ``lanes`` over the device budget
  shrinks until it fits, a run that cannot fit is refused with ``NotEnoughMemory`` naming the
  seed count, the estimate and the memory available. (Its names stay importable from here.)
* streaming and resume: with a ``ChunkStore``, process 0 writes each finished chunk to disk, and
  a resumed run loads the finished chunks instead of recomputing them, each checked to come from
  this very run (identity, run id, seed range, output shapes) before it is used.

Progress is a ``tqdm.auto`` bar on stderr (a widget in a notebook), counted in seeds, from process 0
only; a resumed run's bar starts at the seeds already done.
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


def _check_int(name: str, value: Any, low: int, high: int | None = None, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if value < low or (high is not None and value >= high):
        valid = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{name} must be {valid}{why}, got {value}")
    return value


def check_root_seed(root_seed: Any) -> int:
    """The root seed as an int, if it is an integer in [0, 2**32).

    ``jax.random.key`` keeps 32 bits, so 2**32 would silently run root seed 0 and -1 root seed
    2**32 - 1; both are refused instead.

    Args:
      root_seed: the value to check (Python or numpy integer; not bool, not float).

    Returns:
      ``int(root_seed)``.

    Raises:
      TypeError: not an integer. ValueError: outside [0, 2**32).
    """
    return _check_int("root_seed", root_seed, 0, SEED_LIMIT,
                      " (jax.random.key keeps 32 bits: other values would alias a seed in that range)")


def progress_bar(total: int, desc: str = "", *, stream=None, enabled: bool = True, done: int = 0,
                 mininterval: float | None = None) -> tqdm:
    """A ``tqdm.auto`` bar counting seeds: a widget in a notebook, a one-line bar in a terminal.

    Args:
      total: seeds in the run.
      desc: the label in front of the bar.
      stream: where it is written (default: ``sys.stderr`` at the time of the call).
      enabled: False makes the bar silent (``--no-progress``, processes other than 0).
      done: seeds already finished (a resumed run): the bar starts there, and the rate and the
        time left count only the seeds this run computes.
      mininterval: fewest seconds between redraws; default 0.5 on a terminal and 60 elsewhere
        (a log file gets a redraw a minute rather than one per chunk; the last state is always
        written when the bar closes); ``TQDM_MININTERVAL`` in the environment replaces the default.

    Returns:
      The bar: ``update(n)`` after each chunk, ``close()`` (or a ``with`` block) at the end.
    """
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
    """``inputs`` (a pytree of arrays) as global arrays held whole by every device of ``mesh``
    (every process fills its own devices), to pass to a seed program."""
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
    """Trace and lower ``per_seed`` for chunks of ``chunk`` seed indices over ``mesh`` (not compiled).

    Args:
      per_seed: one seed's key -> pytree of arrays; with ``inputs``, ``per_seed(key, inputs)``.
      inputs: None, or a pytree of arrays every seed reads, given to the program when it runs
        (replicated on every device) rather than built into it: programs that differ only in
        these arrays (e.g. noise realisations of a series) are one program, compiled once.
      root_seed: seed i's key is ``fold_in(key(root_seed), i)``; in [0, 2**32).
      lanes: seeds vmapped at once per device.
      chunk: seeds per call, a multiple of lanes x devices.
      mesh: the seed mesh (default: every device, ``distributed.seed_mesh()``).

    Returns:
      (the lowered program: ``u32[chunk]`` seed indices -> pytree of ``[chunk, ...]``, its input sharding).
    """
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
    if inputs is None:
        fn = jax.jit(jax.shard_map(device_fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False))
        return fn.lower(seeds), sharding
    fn = jax.jit(jax.shard_map(device_fn, mesh=mesh, in_specs=(spec, P()), out_specs=spec, check_vma=False))
    whole = NamedSharding(mesh, P())
    shapes = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype, sharding=whole), inputs)
    return fn.lower(seeds, shapes), sharding


def compile_seed_program(per_seed: Callable, *, root_seed: int, lanes: int, chunk: int,
                         mesh: Mesh | None = None, inputs: Any = None) -> SeedProgram:
    """Compile ``per_seed`` for chunks of ``chunk`` seed indices laid over ``mesh`` (default: all devices).

    Args: as ``lower_seed_program``.

    Returns:
      The ``SeedProgram`` (call it with ``seed_indices``).
    """
    mesh = distributed.seed_mesh() if mesh is None else mesh
    lowered, sharding = lower_seed_program(per_seed, root_seed=root_seed, lanes=lanes, chunk=chunk, mesh=mesh,
                                           inputs=inputs)
    return _compile(lowered, int(root_seed), lanes, chunk, sharding, None if inputs is None else replicated(inputs, mesh))


def _compile(lowered, root_seed: int, lanes: int, chunk: int, sharding: NamedSharding, inputs: Any = None) -> SeedProgram:
    compiled = lowered.compile()
    return SeedProgram(compiled, root_seed, lanes, chunk, sharding, compiled_bytes(compiled), inputs)


def default_lanes(n_seeds: int, max_lanes: int | None = None) -> int:
    """DEFAULT_LANES, or the next power of two >= n_seeds for smaller runs (less padding), at most
    ``max_lanes`` (None: no cap)."""
    lanes = min(DEFAULT_LANES, 1 << max(0, math.ceil(math.log2(n_seeds))))
    return lanes if max_lanes is None else max(1, min(lanes, int(max_lanes)))


# Lanes x time steps x batch x units per block that keep a sequence model's training in the CPU
# caches: 256 lanes of the article's window-1 models (batch 32, 32 units), and never more than
# SEQUENCE_LANES lanes of a model that runs the LSTM over more than one step. Measured on the
# 2-core CPU (``python -m benchmarks.tune_lanes``, benchmarks/results/tune_lanes.json: CPU time per
# seed-step of one-step training, one device): window 5 118 us at 8 lanes vs 179 at 256; window
# 20 443 vs 783; window 50 1,140 at 4 lanes vs 2,004. Results change with lanes by float32
# rounding only (one epoch: identical for window 50 up to 64 lanes, not for window 20).
CACHE_UNIT_STEPS = DEFAULT_LANES * 32 * 32
SEQUENCE_LANES = 8


def cache_lanes(length: int, batch_size: int, units: int, per_seed: int = 1) -> int:
    """The largest power of two of lanes whose training block fits ``CACHE_UNIT_STEPS`` (at most
    ``SEQUENCE_LANES`` when ``length`` > 1).

    Args:
      length: time steps each training example runs the LSTM over (the window, plus the
        stateful steps of a k-step loss).
      batch_size: examples per Adam step.
      units: LSTM units.
      per_seed: models trained per seed inside one lane (vmapped settings, realisations).

    Returns:
      An int in [1, DEFAULT_LANES]: 256 for the article's window-1 models, 8 for windows 2 to 32,
      4 for window 50, 2 for window 100 (batch 32, 32 units).
    """
    for name, value in (("length", length), ("batch_size", batch_size), ("units", units), ("per_seed", per_seed)):
        _check_int(name, value, 1)
    fit = CACHE_UNIT_STEPS // (length * batch_size * units * per_seed)
    lanes = max(1, min(DEFAULT_LANES, 1 << max(0, int(fit).bit_length() - 1)))
    return lanes if length == 1 else min(lanes, SEQUENCE_LANES)


def cpu_cap(max_lanes: int | None, mesh: Mesh) -> int | None:
    """``max_lanes`` on CPU devices; None (no cap) on accelerators, where wider blocks pay."""
    if max_lanes is None or mesh.devices.flat[0].platform != "cpu":
        return None
    return max_lanes


def plan_program(per_seed: Callable, n_seeds: int, *, root_seed: int, lanes: int | None, chunk: int | None,
                 budget: int, mesh: Mesh, host_memory: int | None = None, max_lanes: int | None = None,
                 inputs: Any = None) -> SeedProgram:
    """Choose lanes and chunk, compile, and check the chunk's memory against ``budget`` per device.

    A default ``lanes`` over budget shrinks (to the power of two the measured bytes allow, at
    least halving) until it fits; an explicit ``lanes`` or ``chunk`` over budget raises
    ``NotEnoughMemory`` (a ``MemoryError``). With ``host_memory``, the outputs of all seeds are
    first checked against it (``check_host_memory``), after tracing and before compiling.

    Args:
      per_seed, root_seed, inputs: as ``lower_seed_program``.
      n_seeds: seeds to run.
      lanes, chunk: as asked (None: choose).
      budget: bytes per device a chunk may use.
      mesh: the seed mesh.
      host_memory: host bytes available for the outputs (None: not checked).
      max_lanes: the most lanes a default ``lanes`` may have (None: no cap).

    Returns:
      The compiled ``SeedProgram``.
    """
    auto = lanes is None
    lanes = default_lanes(n_seeds, max_lanes) if auto else int(lanes)
    while True:
        step = lanes * mesh.size
        size = min(-(-(chunk or step) // step), -(-n_seeds // step)) * step
        if -(-n_seeds // size) * size > SEED_LIMIT:
            raise ValueError(f"{n_seeds} seeds padded to chunks of {size} pass seed index 2**32 - 1: run fewer seeds")
        lowered, sharding = lower_seed_program(per_seed, root_seed=root_seed, lanes=lanes, chunk=size, mesh=mesh,
                                               inputs=inputs)
        if host_memory is not None:
            check_host_memory(bytes_per_seed(lowered.out_info), n_seeds, size, host_memory)
        program = _compile(lowered, int(root_seed), lanes, size, sharding,
                           None if inputs is None else replicated(inputs, mesh))
        used = program.bytes_per_device
        if used is None or used <= budget:
            if host_memory is not None and used is not None and devices_on_host(mesh):
                check_host_and_devices(bytes_per_seed(lowered.out_info), n_seeds, size, used, host_memory)
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
    """Start (or check) the store; copy its finished chunks into ``results``, each verified to come
    from this run (``ChunkStore.load``) and to hold this program's outputs; return the next seed."""
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


def run_seeds(per_seed: Callable[..., Any], n_seeds: int, *, root_seed: int = 0,
              chunk: int | None = None, lanes: int | None = None, desc: str = "", progress: bool = True,
              store: ChunkStore | None = None, budget: int | None = None,
              host_memory: int | None = None, max_lanes: int | None = None, inputs: Any = None) -> Sweep:
    """``per_seed(key)`` for seeds 0..n_seeds-1 over all devices; see the module docstring.

    Every argument is checked before anything is traced, and the outputs' host memory before
    anything is compiled.

    Args:
      per_seed: one seed's key -> pytree of arrays (traced once, vmapped over lanes).
      n_seeds: seeds to run, an integer in [1, 2**32].
      root_seed: seed i's key is ``fold_in(key(root_seed), i)``; an integer in [0, 2**32).
      chunk: seeds per call (rounded up to a multiple of lanes x devices); default lanes x devices.
      lanes: seeds trained at once per device; default ``default_lanes(n_seeds, max_lanes)``,
        reduced to fit.
      desc: the progress bar's label.
      progress: show a progress bar (process 0 only).
      store: stream finished chunks there (process 0) and, if it resumes, reuse the verified ones.
      budget: bytes per device a chunk may use (default ``memory_budget()``, smallest over processes).
      host_memory: host bytes the outputs may use (default ``available_host_memory()``, smallest
        over processes).
      max_lanes: on CPU devices, the most lanes a default ``lanes`` may have (``cache_lanes``);
        ignored on accelerators and when ``lanes`` is given.
      inputs: None, or arrays every seed reads, passed to ``per_seed(key, inputs)`` when the
        program runs (``lower_seed_program``): the same program then serves other arrays of the
        same shapes, compiled once (or loaded from the persistent compilation cache).

    Returns:
      A ``Sweep``; its ``results`` leaves are numpy arrays ``[n_seeds, ...]`` on process 0.

    Raises:
      TypeError / ValueError: a bad argument. NotEnoughMemory: the outputs or a chunk cannot fit.
      StoreMismatch / CorruptChunk: a stored chunk of another run, or unreadable (with ``store``).
    """
    n_seeds = _check_int("n_seeds", n_seeds, 1, SEED_LIMIT + 1)
    root_seed = check_root_seed(root_seed)
    chunk = None if chunk is None else _check_int("chunk", chunk, 1)
    lanes = None if lanes is None else _check_int("lanes", lanes, 1)
    max_lanes = None if max_lanes is None else _check_int("max_lanes", max_lanes, 1)
    budget = None if budget is None else _check_int("budget", budget, 1)
    host_memory = None if host_memory is None else _check_int("host_memory", host_memory, 1)
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
    return Sweep(results=jax.tree.unflatten(treedef, results) if writer else None, lanes=program.lanes,
                 chunk=program.chunk, devices=mesh.size, processes=jax.process_count(),
                 bytes_per_device=program.bytes_per_device, budget_per_device=budget, resumed_seeds=start)
