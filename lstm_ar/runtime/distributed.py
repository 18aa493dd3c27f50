"""Many devices and processes: join the processes, lay seeds over a mesh, gather results.

``initialize_distributed`` joins one process per host or GPU (arguments, ``JAX_*`` variables, or
SLURM / Open MPI / TPU-pod detection); ``seed_mesh`` lays a one-axis "seeds" mesh over every device;
``gather`` brings seed-sharded results to every process; only ``is_writer()`` (process 0) writes.
``use_cpu_cores`` makes one device per CPU core (XLA:CPU runs a program on one core). Results do not
depend on the device count. Both set-up calls must come before any JAX computation.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh

SEED_AXIS = "seeds"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
FORCE_DEVICES_FLAG = "xla_force_host_platform_device_count"


def _env_int(name: str) -> int | None:
    if (value := os.environ.get(name)) in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def initialize_distributed(coordinator: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None, *, auto: bool = False,
                           shutdown_timeout_s: int = 3600) -> bool:
    """Join this process to a multi-process run; True if it did, False if single-process. Arguments left None
    come from ``JAX_COORDINATOR_ADDRESS`` (host:port of process 0), ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``;
    none set and not ``auto``: one process. ``auto`` lets JAX detect the cluster (srun, mpirun, a TPU pod). Must
    run before any JAX computation."""
    coordinator = coordinator or os.environ.get(ENV_COORDINATOR) or None
    num_processes = num_processes if num_processes is not None else _env_int(ENV_NUM_PROCESSES)
    process_id = process_id if process_id is not None else _env_int(ENV_PROCESS_ID)
    given = [v is not None for v in (coordinator, num_processes, process_id)]
    if not any(given) and not auto:
        return False
    if any(given) and not all(given) and not auto:
        raise ValueError("a multi-process run needs all of --coordinator host:port, --num-processes and "
                         "--process-id (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID); "
                         "or --distributed to detect them on SLURM, Open MPI or a TPU pod")
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}")
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}), got {process_id}")
    if coordinator is not None and ":" not in coordinator:
        raise ValueError(f"coordinator must be host:port, got {coordinator!r}")
    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id, shutdown_timeout_seconds=shutdown_timeout_s)
    return True


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def use_cpu_cores(n: int | None = None, *, warn: bool = True) -> int:
    """Make the CPU backend ``n`` devices (default: one per available core); returns the count in force. Only
    before the first JAX computation, and never over an explicit choice (``XLA_FLAGS``, or ``jax_num_cpu_devices``
    set); otherwise the count in force (0 without a CPU backend) is returned, with a warning (unless not ``warn``)
    where an explicit ``n`` differs."""
    if n is not None and n < 1:
        raise ValueError(f"the number of CPU devices must be >= 1, got {n}")
    if forced := re.findall(rf"--{FORCE_DEVICES_FLAG}=(\d+)", os.environ.get("XLA_FLAGS", "")):
        count = int(forced[-1])  # XLA takes the last occurrence
        if warn and n is not None and count != n:
            warnings.warn(f"XLA_FLAGS sets {count} CPU device(s); asked for {n}: XLA_FLAGS wins", stacklevel=2)
        return count
    if n is None and (current := jax.config.jax_num_cpu_devices) >= 0:
        return current
    want = available_cores() if n is None else int(n)
    try:
        jax.config.update("jax_num_cpu_devices", want)
    except RuntimeError:  # the backend already runs: keep what it has
        try:
            count = len(jax.devices("cpu"))
        except RuntimeError:  # no CPU backend in this process (e.g. JAX_PLATFORMS=cuda)
            return 0
        if warn and n is not None and count != n:
            warnings.warn(f"JAX is already running with {count} CPU device(s); asked for {n}: call "
                          f"use_cpu_cores before the first JAX computation", stacklevel=2)
        return count
    return want


def is_writer() -> bool:
    """True in exactly one process (process 0): the one that writes files and prints verdicts."""
    return jax.process_index() == 0


def seed_mesh() -> Mesh:
    """A one-axis mesh ("seeds") over every device of every process, in process order."""
    return Mesh(np.asarray(jax.devices()), (SEED_AXIS,))


def gather(tree: Any) -> Any:
    """A pytree of seed-sharded ``jax.Array`` -> the same pytree of full numpy arrays, on every process."""
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, jax.device_get(tree))
    return multihost_utils.process_allgather(tree, tiled=True)


def _int_to_words(value: int) -> np.ndarray:
    """A 64-bit signed int as two int32 words (high, low): collectives run without x64."""
    value = int(value)
    if not -2 ** 63 <= value < 2 ** 63:
        raise ValueError(f"{value} does not fit in 64 bits")
    return np.asarray([value >> 32, value & 0xFFFFFFFF], np.int64).astype(np.uint32).view(np.int32)


def _words_to_int(words: np.ndarray) -> int:
    high, low = (int(w) for w in np.asarray(words, np.int32))
    return (high << 32) | (low & 0xFFFFFFFF)


def broadcast_int(value: int) -> int:
    """Process 0's ``value`` (any 64-bit int, e.g. a seed index past 2**31) on every process."""
    return int(value) if jax.process_count() == 1 else _words_to_int(
        multihost_utils.broadcast_one_to_all(_int_to_words(value)))


def min_over_processes(value: float) -> float:
    """The smallest ``value`` over all processes (a no-op with one process)."""
    return float(value if jax.process_count() == 1 else
                 np.min(multihost_utils.process_allgather(np.asarray([value], np.float32))))


def finish() -> None:
    """Leave the multi-process run (a barrier): after the last collective, before writing reports."""
    if jax.process_count() > 1:
        jax.distributed.shutdown()
