"""Print (and save) this machine's measured hardware limit: f32 GEMM FLOP/s and memory-copy bytes/s.

    python benchmarks/hardware.py            # writes benchmarks/results/hardware.json
    python benchmarks/hardware.py --quick    # small sizes, a second or two

The rollout and train benchmarks measure the same limit in their own run; this script is for
looking at it alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402


def main(argv=None) -> dict:
    args = common.parse_args("hardware", __doc__.splitlines()[0], argv)
    info = common.machine(with_torch=False)
    common.progress(f"measuring the hardware limit on {common.machine_name(info)}")
    limit = common.hardware_limit(quick=args.quick)
    rows = [{"library": lib, "GEMM GFLOP/s": limit[lib]["matmul_flops_per_s"] / 1e9,
             "copy GB/s": limit[lib]["copy_bytes_per_s"] / 1e9} for lib in ("jax", "numpy")]
    common.print_table(rows, ["library", "GEMM GFLOP/s", "copy GB/s"])
    common.write_json(args.out, "hardware", args, limit, info=info)
    common.progress(f"wrote {args.out}")
    return limit


if __name__ == "__main__":
    main()
