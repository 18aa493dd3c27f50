"""Will a sweep fit in memory? Checked before it runs, from the lowered and compiled program.

Two budgets, both checked by ``lstm_ar.runtime.sweep.plan_program`` before any seed is trained:

* per device, per chunk: a working set fixed by ``lanes`` (``lanes`` seeds training at once;
  about 81 MiB at 256 lanes for the article's LSTM(32)) plus, for each of the chunk's seeds on the
  device, its outputs and ``INDEX_BYTES_PER_SEED``. It is read from the compiled program
  (``compiled_bytes``: XLA's ``memory_analysis``) and compared with ``memory_budget()``,
  ``MEMORY_FRACTION`` of what the device has free.
* host: process 0 keeps every seed's outputs. Their size per seed (``bytes_per_seed``, from the
  lowered program) times the seed count plus two chunks (``host_bytes_needed``) is compared with
  the host's available memory (``available_host_memory``) before compiling
  (``check_host_memory``); on a CPU, where device memory is host memory, the compiled chunk's
  working set is added (``check_host_and_devices``).

A run that cannot fit is refused with ``NotEnoughMemory`` (a ``MemoryError`` and a
``ValueError``) naming the seed count, the estimate and the memory available.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
from jax.sharding import Mesh

INDEX_BYTES_PER_SEED = 12  # a chunk's u32 seed index and its key (2 x u32), besides the outputs
MEMORY_FRACTION = 0.5  # of the memory free per device (host RAM / local devices on CPU)


class NotEnoughMemory(MemoryError, ValueError):
    """A sweep whose results or chunk cannot fit in memory, refused before it runs."""


def available_host_memory() -> int:
    """Bytes of host memory available to new allocations.

    Returns:
        ``MemAvailable`` of /proc/meminfo, else the free pages from ``os.sysconf``.
    """
    return _meminfo_available()


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

    Args:
        device: the device (default: this process's first).
        fraction: the share of the free memory a chunk may use.

    Returns:
        The budget in bytes.
    """
    device = jax.local_devices()[0] if device is None else device
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        free = int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    else:
        free = _meminfo_available() // jax.local_device_count()
    return int(fraction * free)


def compiled_bytes(compiled) -> int | None:
    """Per-device bytes of a compiled program: arguments + outputs + temporaries - aliased.

    Args:
        compiled: a ``jax.stages.Compiled``.

    Returns:
        The bytes, or None where the backend does not report them.
    """
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def bytes_per_seed(out_info: Any) -> int:
    """Bytes of one seed's outputs.

    Args:
        out_info: a pytree of ``ShapeDtypeStruct`` ``[chunk, ...]`` (a lowered program's ``out_info``).

    Returns:
        The bytes of one row of every leaf.
    """
    total = 0
    for leaf in jax.tree.leaves(out_info):
        itemsize = getattr(leaf.dtype, "itemsize", None) or 8
        total += math.prod(leaf.shape[1:]) * int(itemsize)
    return total


def host_bytes_needed(per_seed_bytes: int, n_seeds: int, chunk: int) -> int:
    """Host memory a sweep needs for its outputs: every seed's results (kept by process 0) plus two
    chunks (the device's output buffers, host memory on a CPU, and the gathered copy).

    Args:
        per_seed_bytes: bytes of one seed's outputs (``bytes_per_seed``).
        n_seeds: seeds the run keeps.
        chunk: seeds per call.

    Returns:
        The bytes.
    """
    return per_seed_bytes * (n_seeds + 2 * chunk)


def check_host_memory(per_seed_bytes: int, n_seeds: int, chunk: int, available: int) -> None:
    """Refuse a sweep whose outputs cannot fit in ``available`` bytes of host memory.

    Args:
        per_seed_bytes: bytes of one seed's outputs (``bytes_per_seed``).
        n_seeds: seeds the run keeps.
        chunk: seeds per call.
        available: host memory available (``available_host_memory``).

    Raises:
        NotEnoughMemory: ``host_bytes_needed(...) > available``, naming the seed count, the
            estimate and the memory available.
    """
    need = host_bytes_needed(per_seed_bytes, n_seeds, chunk)
    if need > available:
        fit = max(0, available // max(per_seed_bytes, 1) - 2 * chunk)
        raise NotEnoughMemory(
            f"{n_seeds} seeds need about {need / 2**30:.2f} GiB of host memory for their outputs "
            f"({per_seed_bytes} bytes per seed x ({n_seeds} seeds + 2 x a chunk of {chunk})), more than the "
            f"{available / 2**30:.2f} GiB available; run fewer seeds (at most about {fit} fit), or a smaller --chunk")


def devices_on_host(mesh: Mesh) -> bool:
    """Whether this process's devices in ``mesh`` are CPU devices, whose memory is the host's.

    Args:
        mesh: the seed mesh.

    Returns:
        True if any of this process's devices is a CPU device.
    """
    return any(d.platform == "cpu" for d in mesh.devices.flat if d.process_index == jax.process_index())


def check_host_and_devices(per_seed_bytes: int, n_seeds: int, chunk: int, used: int, available: int) -> None:
    """Refuse a CPU sweep whose outputs and chunk working sets together exceed the host's memory
    (on a CPU the compiled chunk's working set, ``used`` per local device, is host memory too).

    Args:
        per_seed_bytes: bytes of one seed's outputs (``bytes_per_seed``).
        n_seeds: seeds the run keeps.
        chunk: seeds per call.
        used: bytes per device of the compiled chunk (``compiled_bytes``).
        available: host memory available (``available_host_memory``).

    Raises:
        NotEnoughMemory: the sum exceeds ``available``, naming both parts and the memory available.
    """
    devices = jax.local_device_count()
    need = host_bytes_needed(per_seed_bytes, n_seeds, chunk) + used * devices
    if need > available:
        raise NotEnoughMemory(
            f"{n_seeds} seeds need about {need / 2**30:.2f} GiB of host memory: their outputs "
            f"({host_bytes_needed(per_seed_bytes, n_seeds, chunk) / 2**30:.2f} GiB) and a chunk's working set on "
            f"{devices} CPU device(s) ({used * devices / 2**30:.2f} GiB), more than the {available / 2**30:.2f} GiB "
            f"available; run fewer seeds, or a smaller --lanes or --chunk")
