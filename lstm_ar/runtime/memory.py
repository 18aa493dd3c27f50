"""Will a sweep fit in memory? Checked by ``lstm_ar.runtime.sweep.plan_program`` before any seed is trained.

Per device: the compiled chunk's working set (``compiled_bytes``) against ``memory_budget()``. Host:
every seed's outputs plus two chunks (``host_bytes_needed``) against ``available_host_memory``, plus the
chunk's working set on a CPU. A run that cannot fit is refused with ``NotEnoughMemory`` (a
``MemoryError`` and a ``ValueError``) naming the seed count, the estimate and the memory available.
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
    """Bytes of host memory available: /proc/meminfo's ``MemAvailable``, else ``os.sysconf``'s free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def memory_budget(device: jax.Device | None = None, fraction: float = MEMORY_FRACTION) -> int:
    """Bytes one chunk may use on ``device`` (default: this process's first): ``fraction`` of its free memory,
    on GPU / TPU bytes_limit - bytes_in_use of ``memory_stats()``, on CPU MemAvailable / local devices."""
    device = jax.local_devices()[0] if device is None else device
    if (stats := device.memory_stats() if hasattr(device, "memory_stats") else None) and "bytes_limit" in stats:
        return int(fraction * (int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))))
    return int(fraction * (available_host_memory() // jax.local_device_count()))


def compiled_bytes(compiled) -> int | None:
    """Per-device bytes of a ``jax.stages.Compiled``: arguments + outputs + temporaries - aliased (None: unknown)."""
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    return None if m is None else int(
        m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes - m.alias_size_in_bytes)


def bytes_per_seed(out_info: Any) -> int:
    """Bytes of one seed's outputs: one row of every leaf of ``out_info`` (``ShapeDtypeStruct`` ``[chunk, ...]``)."""
    return sum(math.prod(leaf.shape[1:]) * int(getattr(leaf.dtype, "itemsize", None) or 8)
               for leaf in jax.tree.leaves(out_info))


def host_bytes_needed(per_seed_bytes: int, n_seeds: int, chunk: int) -> int:
    """Host bytes for a sweep's outputs: every seed's (kept by process 0) plus two chunks (the device's
    output buffers, host memory on a CPU, and the gathered copy)."""
    return per_seed_bytes * (n_seeds + 2 * chunk)


def check_host_memory(per_seed_bytes: int, n_seeds: int, chunk: int, available: int) -> None:
    """Raise ``NotEnoughMemory`` where ``host_bytes_needed(...)`` exceeds ``available`` bytes."""
    if (need := host_bytes_needed(per_seed_bytes, n_seeds, chunk)) > available:
        fit = max(0, available // max(per_seed_bytes, 1) - 2 * chunk)
        raise NotEnoughMemory(
            f"{n_seeds} seeds need about {need / 2**30:.2f} GiB of host memory for their outputs "
            f"({per_seed_bytes} bytes per seed x ({n_seeds} seeds + 2 x a chunk of {chunk})), more than the "
            f"{available / 2**30:.2f} GiB available; run fewer seeds (at most about {fit} fit), or fewer per chunk "
            "(--chunk, --lanes)")


def devices_on_host(mesh: Mesh) -> bool:
    """True if any of this process's devices in ``mesh`` is a CPU device (whose memory is the host's)."""
    return any(d.platform == "cpu" for d in mesh.devices.flat if d.process_index == jax.process_index())


def check_host_and_devices(per_seed_bytes: int, n_seeds: int, chunk: int, used: int, available: int) -> None:
    """Raise ``NotEnoughMemory`` where a CPU sweep's outputs plus its chunk's working set (``used`` bytes per
    local device, host memory on a CPU) exceed ``available``."""
    devices, outputs = jax.local_device_count(), host_bytes_needed(per_seed_bytes, n_seeds, chunk)
    if (need := outputs + used * devices) > available:
        raise NotEnoughMemory(
            f"{n_seeds} seeds need about {need / 2**30:.2f} GiB of host memory: their outputs "
            f"({outputs / 2**30:.2f} GiB) and a chunk's working set on "
            f"{devices} CPU device(s) ({used * devices / 2**30:.2f} GiB), more than the {available / 2**30:.2f} GiB "
            f"available; run fewer seeds, or a smaller --lanes or --chunk")
