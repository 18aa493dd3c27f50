"""This machine's measured hardware limit (f32 GEMM FLOP/s, memory-copy and in-cache bytes/s) and the roofline floor.

``hardware_limit(quick)`` -> dict: float32 matrix-product FLOP/s and memory-copy bytes/s, each
measured with JAX on the default device and with numpy (``flops_per_s``, ``bytes_per_s``: the
better of the two), and an in-cache copy rate (``cache_bytes_per_s``: one core's L2 copy rate
times the cores). ``floor_seconds(flops, bytes_, limit)``: max(flops / FLOP/s, bytes / B/s).
As a script it prints (and saves) the limit:

    python -m benchmarks.hardware            # writes benchmarks/results/hardware.json
    python -m benchmarks.hardware --quick    # small sizes, a second or two

The rollout and train benchmarks measure the same limit in their own run (``hardware_limit``)
and state each benchmark's floor against it (``floor_seconds``); this script is for looking at
it alone.
"""

from __future__ import annotations

from typing import Any

from benchmarks import common


def _numpy_limit(n: int, copy_bytes: int, reps: int) -> dict[str, float]:
    import numpy as np
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    mm = common.time_call(lambda: a @ b, reps=reps, block=lambda x: x)
    src = np.ones(copy_bytes // 4, np.float32)
    dst = np.empty_like(src)
    cp = common.time_call(lambda: np.copyto(dst, src), reps=reps, block=lambda x: x)
    return {"matmul_flops_per_s": 2 * n ** 3 / mm.min_s,
            "copy_bytes_per_s": 2 * src.nbytes / cp.min_s}


def _jax_limit(n: int, copy_bytes: int, reps: int) -> dict[str, float]:
    import jax
    import jax.numpy as jnp
    ka, kb = jax.random.split(jax.random.key(0))
    a = jax.random.normal(ka, (n, n), jnp.float32)
    b = jax.random.normal(kb, (n, n), jnp.float32)
    mm = common.time_jax(lambda a, b: a @ b, a, b, reps=reps)
    # Read once, write once (2 x nbytes moved). The input is donated and the result fed back,
    # so every call writes into an already-touched buffer (no page faults of a fresh allocation).
    compiled, compile_s = common.compile_jax(lambda x: x + 1.0, jnp.ones((copy_bytes // 4,), jnp.float32),
                                      donate_argnums=0)
    state = [jnp.ones((copy_bytes // 4,), jnp.float32)]
    nbytes = state[0].nbytes

    def step():
        state[0] = compiled(state[0])
        return state[0]

    cp = common.time_call(step, reps=reps, compile_s=compile_s)
    return {"matmul_flops_per_s": 2 * n ** 3 / mm.min_s, "copy_bytes_per_s": 2 * nbytes / cp.min_s}


def _cache_copy_bytes_per_s(nbytes: int, reps: int, inner: int = 200) -> float:
    """One core's copy bandwidth for a buffer pair that fits in its L2 cache (numpy, best of reps)."""
    import numpy as np
    src = np.ones(nbytes // 4, np.float32)
    dst = np.empty_like(src)

    def copies():
        for _ in range(inner):
            np.copyto(dst, src)

    t = common.time_call(copies, reps=reps, block=lambda x: x)
    return 2 * src.nbytes * inner / t.min_s


def hardware_limit(quick: bool = False) -> dict[str, Any]:
    """Measured float32 GEMM FLOP/s and memory-copy bytes/s (best of reps), with JAX and numpy.

    Also ``cache_bytes_per_s``: copy bandwidth of a buffer that stays in L2 (one core's, times
    the usable cores).

    GEMM: an n x n x n product (2 n^3 FLOPs). Copy: a buffer far larger than the last-level cache,
    read once and written once (2 x its size in bytes). ``flops_per_s`` / ``bytes_per_s`` are the
    larger of the JAX and numpy figures: the limit any implementation on this machine could reach.

    Args:
      quick: small sizes and few reps (a second or two).

    Returns:
      ``flops_per_s, bytes_per_s, cache_bytes_per_s``, the JAX and numpy figures apart, the sizes.
    """
    n = 512 if quick else 2048
    copy_bytes = (32 if quick else 512) * 2 ** 20
    reps = 2 if quick else 5
    out = {"matmul_n": n, "copy_bytes": copy_bytes,
           "jax": _jax_limit(n, copy_bytes, reps), "numpy": _numpy_limit(n, copy_bytes, reps)}
    out["flops_per_s"] = max(out["jax"]["matmul_flops_per_s"], out["numpy"]["matmul_flops_per_s"])
    out["bytes_per_s"] = max(out["jax"]["copy_bytes_per_s"], out["numpy"]["copy_bytes_per_s"])
    # In-cache bandwidth: one core copying 2 x 128 KiB (fits L2), times the usable cores (an
    # estimate of the aggregate; every core has its own L2).
    from lstm_ar.runtime.distributed import available_cores
    cores = available_cores()
    out["cache_copy_bytes"] = 128 * 1024
    out["cache_bytes_per_s_per_core"] = _cache_copy_bytes_per_s(128 * 1024, reps)
    out["cache_bytes_per_s"] = out["cache_bytes_per_s_per_core"] * cores
    return out


def floor_seconds(flops: float, bytes_: float, limit: dict[str, Any]) -> float:
    """Roofline floor: the time the FLOPs or the bytes need at the measured limit, whichever is more.

    Args:
      flops: floating-point operations.
      bytes_: bytes moved to or from memory.
      limit: ``hardware_limit()``.

    Returns:
      Seconds.
    """
    return max(flops / limit["flops_per_s"], bytes_ / limit["bytes_per_s"])


def main(argv=None) -> dict:
    """``python -m benchmarks.hardware [--quick] [--out PATH]``: measure, print and save the limit."""
    args = common.parse_args("hardware", __doc__.splitlines()[0], argv)
    info = common.machine(with_torch=False)
    common.progress(f"measuring the hardware limit on {common.machine_name(info)}")
    limit = hardware_limit(quick=args.quick)
    rows = [{"library": lib, "GEMM GFLOP/s": limit[lib]["matmul_flops_per_s"] / 1e9,
             "copy GB/s": limit[lib]["copy_bytes_per_s"] / 1e9} for lib in ("jax", "numpy")]
    common.print_table(rows, ["library", "GEMM GFLOP/s", "copy GB/s"])
    common.write_json(args.out, "hardware", args, limit, info=info)
    common.progress(f"wrote {args.out}")
    return limit


if __name__ == "__main__":
    main()
