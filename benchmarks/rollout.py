"""Rollout benchmark: free-running rollouts of B forecasters (own weights each), ours against peers.

    python -m benchmarks.rollout           # full run (8 CPU-minutes; 14 min wall on a loaded 2-core
                                           # box), writes benchmarks/results/rollout.json, prints a table
    python -m benchmarks.rollout --quick   # seconds; what CI runs (tiny sizes, temp-dir JSON): checks
                                           # that it runs, cannot judge speed; prints the committed run

(from the repository root; ``lstm-ar bench rollout ARGS`` runs the same).

For hidden u in {32, 128, 512} and B in {1, 64, 1024, 16384} models (skipped where B models'
weights alone exceed ``--max-weight-gib``), both rollout modes (window mode with window 1, the
seed's models; stateful mode), T = 1000 steps. Implementations, measured in the same run:

* ``ours``: ``lstm_ar.dynamics.batched_rollout.rollout_batched`` (blocked lax.scan rollout, models split
  over the CPU devices, one per core by default; AOT-compiled, compile time reported apart,
  median of reps with block_until_ready);
* ``ours_vmap``: ``jax.vmap`` of the plain ``lstm_ar.dynamics.rollout.rollout`` (one lax.scan);
* peers from ``benchmarks/peers/``: ``jit_step_loop`` (a Python loop over a jitted step of all B
  models), numpy loop, PyTorch eager (baddbmm over stacked weights), nn.LSTMCell (B = 1),
  torch.compile; Keras's rollout loop at B = 1 (``benchmarks/peers/keras_script.py``; the fastest
  of ``model(x)``, ``predict_on_batch`` and a compiled step) on TensorFlow in a Python with
  TensorFlow (``keras``, ``--keras-python``) and on JAX in this Python (``keras_jax``,
  ``KERAS_BACKEND=jax``, a subprocess). A peer whose package is missing is recorded as
  ``unavailable`` with the reason. ``ratio_vs_fastest_keras``: against the faster Keras measured.

``--quick`` (tiny sizes) leaves out the slow peers (torch.compile, both Keras peers) unless
``--peers`` names them, says that it cannot judge speed, prints the headline of the committed full
run (``benchmarks/results/rollout.json``), lists every skipped peer with the reason, and never
writes over the committed JSON.

Peers slower than ``--budget-s`` per measurement run fewer steps and are extrapolated per step
(``steps_measured`` < ``steps`` in the JSON). Each (u, B) group runs in a fresh subprocess
(``benchmarks/rollout_worker.py``), ours first, so its peak resident memory is its own (Linux
high-water mark reset per measurement). Every measurement's first predictions are compared with
ours (``max_abs_diff_vs_ours``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import common, hardware
from benchmarks.rollout_worker import MODES

ROOT = Path(__file__).resolve().parents[1]  # the checkout: the worker runs as python -m from here

NAME = "rollout"
IMPLS = ("ours", "ours_vmap", "jit_step_loop", "numpy_loop", "torch_eager", "torch_lstmcell",
         "torch_compile", "keras", "keras_jax")
PEERS = IMPLS[1:]
KERAS_PEERS = ("keras", "keras_jax")
# left out of --quick unless --peers names them: seconds of compile or start-up each
QUICK_LEFT_OUT = {"torch_compile": "torch.compile compiles for ~30 s",
                  "keras": "Keras starts a subprocess and runs eager model(x) calls (seconds per mode)",
                  "keras_jax": "Keras starts a subprocess and runs eager model(x) calls (seconds per mode)"}


def _extra_args(p) -> None:
    p.add_argument("--hidden", type=common.ints, default=None, help="hidden sizes (default 32,128,512)")
    p.add_argument("--batch", type=common.ints, default=None, help="model counts B (default 1,64,1024,16384)")
    p.add_argument("--steps", type=int, default=None, help="rollout length T (default 1000)")
    p.add_argument("--peers", type=lambda s: tuple(s.split(",")), default=PEERS,
                   help=f"comma-separated subset of {','.join(PEERS)}")
    p.add_argument("--budget-s", type=float, default=None,
                   help="seconds per timed peer run before it is cut short and extrapolated")
    p.add_argument("--max-weight-gib", type=float, default=1.0,
                   help="skip (u, B) whose B weight sets exceed this many GiB")
    p.add_argument("--torch-compile-hidden", type=common.ints, default=(32,),
                   help="hidden sizes at which torch.compile is tried (its compile takes ~30 s each)")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="JAX devices the CPU is split into in the workers (default one per core: "
                        "lstm_ar.runtime.distributed.use_cpu_cores); ours shards the models over them")
    p.add_argument("--keras-python", default=None,
                   help="a python with TensorFlow for the keras peer (keras_jax runs in this python); default: "
                        "$LSTM_AR_KERAS_PYTHON, else this python if it can import tensorflow")


# --------------------------------------------------------------------------- work counts

def counts(u: int, n_models: int, mode: str) -> dict:
    """FLOPs (mul/add), transcendentals and bytes touched per step for all B models (float32).

    window (zero state, no recurrent product): x*W + b (8u), c = i*g, h = o*tanh(c) (2u),
    head (2u); exp/tanh: 4u. Weights read per step: W, b (8u), dense (u + 1); state: y in/out.
    stateful adds h @ U (8u^2), f*c + (2u); exp/tanh: 5u; U (4u^2) read; h, c in/out (4u).

    Args:
      u: hidden units.
      n_models: B.
      mode: ``"window"`` or ``"stateful"``.

    Returns:
      ``flops, transcendentals, weight_bytes, bytes`` per step, for all B models.
    """
    if mode == "window":
        flops, trans, weights, state = 12 * u, 4 * u, 9 * u + 1, 2
    else:
        flops, trans, weights, state = 8 * u * u + 14 * u, 5 * u, 4 * u * u + 9 * u + 1, 4 * u + 2
    return {"flops": n_models * flops, "transcendentals": n_models * trans,
            "weight_bytes": n_models * 4 * weights, "bytes": n_models * 4 * (weights + state + 1)}


def floors(c: dict, limit: dict) -> dict:
    """Per-step floors (s): compute (GEMM rate), bytes from DRAM (copy rate), bytes from cache.

    Args:
      c: ``counts(...)``.
      limit: ``hardware.hardware_limit()``.

    Returns:
      ``compute_s, dram_s, cache_s``, ``floor_s`` (compute or cache, whichever is slower: the
      weights stay in cache when blocked) and ``floor_streaming_s`` (compute or DRAM).
    """
    compute = c["flops"] / limit["flops_per_s"]
    dram = c["bytes"] / limit["bytes_per_s"]
    cache = c["bytes"] / limit["cache_bytes_per_s"]
    # Weights that fit in the last-level cache need not come from DRAM every step (blocking).
    return {"compute_s": compute, "dram_s": dram, "cache_s": cache,
            "floor_s": max(compute, cache), "floor_streaming_s": max(compute, dram)}


# --------------------------------------------------------------------------- orchestration (parent)

def _run_worker(spec: dict, groups: list) -> list[dict]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, "-m", "benchmarks.rollout_worker", json.dumps({**spec, "groups": groups}), out]
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"worker for {groups} failed with exit code {proc.returncode}")
    records = json.loads(Path(out).read_text())
    Path(out).unlink()
    return records


def summarise(records: list[dict], limit: dict) -> list[dict]:
    """One row per (u, B, mode): ours per step, seed-steps/s, ratios, floors, peak RSS.

    Args:
      records: the workers' measurements (one per implementation, mode and group).
      limit: ``hardware.hardware_limit()``.

    Returns:
      The rows; ``ratio_vs[peer]`` is peer seconds per step / ours (> 1: ours faster).
    """
    rows = []
    for r in records:
        if r["impl"] != "ours":
            continue
        u, b, mode = r["hidden"], r["batch"], r["mode"]
        c = counts(u, b, mode)
        fl = floors(c, limit)
        row = {"hidden": u, "batch": b, "mode": mode, "us_per_step": r["s_per_step"] * 1e6,
               "seed_steps_per_s": b / r["s_per_step"], "compile_s": r["compile_s"],
               "peak_rss_bytes": r["peak_rss_bytes"], **c,
               **{f"floor_{k}": v for k, v in fl.items()},
               "fraction_of_limit": fl["floor_s"] / r["s_per_step"],
               "fraction_of_streaming_limit": fl["floor_streaming_s"] / r["s_per_step"],
               "achieved_flops_per_s": c["flops"] / r["s_per_step"],
               "seed_steps_per_cpu_s": b / r["cpu_s_per_step"], "cores_busy": r["cpu_s_per_step"] / r["s_per_step"],
               "ratio_vs": {}, "ratio_vs_cpu": {}}
        for p in records:
            if (p["hidden"], p["batch"], p["mode"]) == (u, b, mode) and p["impl"] != "ours" \
                    and p["status"] == "ok":
                row["ratio_vs"][p["impl"]] = p["s_per_step"] / r["s_per_step"]
                if p.get("cpu_s_per_step"):  # (not for the Keras subprocess: wall time only)
                    row["ratio_vs_cpu"][p["impl"]] = p["cpu_s_per_step"] / r["cpu_s_per_step"]
        keras = {k: v for k, v in row["ratio_vs"].items() if k in KERAS_PEERS}
        if keras:  # the headline Keras ratio: against the fastest Keras a user can run
            fastest = min(keras, key=keras.get)
            row["ratio_vs_fastest_keras"] = {"impl": fastest, "ratio": keras[fastest]}
        rows.append(row)
    return rows


def check_targets(rows: list[dict], quick: bool) -> list[dict]:
    """The rollout targets, each with the measured figure (meaningful only for the full run).

    Args:
      rows: ``summarise(...)``.
      quick: adds a note that the sizes are not the targets' configuration.

    Returns:
      ``{"target", "measured", "met", ...}`` per target that the rows can judge.
    """
    out = []
    h32 = [r for r in rows if r["hidden"] == 32]
    for r in (r for r in h32 if r["batch"] == 1):
        out.append({"target": f"hidden 32, B = 1, {r['mode']}: <= 0.3 us/step", "measured": r["us_per_step"],
                    "met": r["us_per_step"] <= 0.3})
        for peer in ("torch_lstmcell", "torch_eager"):
            if peer in r["ratio_vs"]:
                out.append({"target": f"hidden 32, B = 1, {r['mode']}: >= 100x {peer}",
                            "measured": r["ratio_vs"][peer], "met": r["ratio_vs"][peer] >= 100})
    for mode in MODES:
        many = sorted((r for r in h32 if r["mode"] == mode and r["batch"] >= 64), key=lambda r: r["batch"])
        if many:
            worst = min(many, key=lambda r: r["seed_steps_per_s"])
            out.append({"target": f"hidden 32, {mode}, B = 64..16384: >= 1e7 seed-steps/s",
                        "measured": worst["seed_steps_per_s"], "at_batch": worst["batch"],
                        "met": worst["seed_steps_per_s"] >= 1e7})
            best = max(r["seed_steps_per_s"] for r in many)
            out.append({"target": f"hidden 32, {mode}: throughput does not fall as B grows (largest B "
                                  ">= 0.8 x best)", "measured": many[-1]["seed_steps_per_s"] / best,
                        "met": many[-1]["seed_steps_per_s"] >= 0.8 * best})
    for r in (r for r in h32 if r["batch"] == 16384):
        out.append({"target": f"hidden 32, B = 16384, {r['mode']}: peak RSS < 4 GiB",
                    "measured": r["peak_rss_bytes"], "met": r["peak_rss_bytes"] < 4 * 2 ** 30})
    if quick:
        for t in out:
            t["note"] = "--quick sizes: not the targets' configuration"
    return out


def headline(doc: dict) -> list[str]:
    """The headline figures of a full run's document (what ``--quick`` prints of the committed run).

    Args:
      doc: a ``benchmarks/results/rollout.json`` document.

    Returns:
      Lines: hidden 32 per B and mode (us per step, seed-steps/s, peak RSS in MiB, the ratio to the
      fastest Keras where measured), then each target with its measured figure.
    """
    fig = common.figure
    lines = []
    for r in doc["results"]["rows"]:
        if r["hidden"] != 32:
            continue
        keras = r.get("ratio_vs_fastest_keras") or (
            {"impl": "keras", "ratio": r["ratio_vs"]["keras"]} if "keras" in r.get("ratio_vs", {}) else None)
        k = f", {fig(keras['ratio'])}x {keras['impl']}" if keras else ""
        lines.append(f"hidden 32, B = {r['batch']}, {r['mode']}: {fig(r['us_per_step'])} us/step, "
                     f"{fig(r['seed_steps_per_s'] / 1e6)} M seed-steps/s, peak RSS {fig(common.mib(r['peak_rss_bytes']))} MiB{k}")
    for t in doc["results"].get("targets", []):
        name, m = t["target"], t["measured"]
        value = (f"{fig(common.mib(m))} MiB" if "RSS" in name else f"{fig(m)} us/step" if "us/step" in name
                 else f"{fig(m / 1e6)} M seed-steps/s" if "seed-steps/s" in name
                 else f"{fig(m)}x" if "x torch" in name or "x keras" in name else fig(m))
        lines.append(f"target {t['target']}: {value}: {'met' if t['met'] else 'NOT met'}")
    return lines


def check_args(args) -> None:
    """Refuse bad arguments before anything is measured (``SystemExit`` naming the value)."""
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; valid: {','.join(PEERS)}")
    for flag, values in (("--hidden", args.hidden), ("--batch", args.batch),
                         ("--torch-compile-hidden", args.torch_compile_hidden)):
        if values is not None and (not values or min(values) < 1):
            raise SystemExit(f"{flag} must be positive integers, got {values}")
    for flag, value in (("--steps", args.steps), ("--cpu-devices", args.cpu_devices)):
        if value is not None and value < 1:
            raise SystemExit(f"{flag} must be >= 1, got {value}")
    for flag, value in (("--budget-s", args.budget_s), ("--max-weight-gib", args.max_weight_gib)):
        if value is not None and not value > 0:  # (also refuses nan)
            raise SystemExit(f"{flag} must be > 0, got {value}")


def main(argv=None) -> dict:
    """Run the rollout benchmark (arguments as ``--help`` lists); returns ``{"rows", "targets"}``."""
    args = common.parse_args(NAME, __doc__.splitlines()[0], argv, extra=_extra_args)
    check_args(args)
    hidden = args.hidden or ((4,) if args.quick else (32, 128, 512))
    batch = args.batch or ((1, 3) if args.quick else (1, 64, 1024, 16384))
    steps = args.steps or (20 if args.quick else 1000)
    budget = args.budget_s or (0.01 if args.quick else 1.0)
    left_out = [{"impl": p, "status": "skipped", "reason": f"not run with --quick ({QUICK_LEFT_OUT[p]}); "
                 f"name it in --peers to run it"}
                for p in args.peers if args.quick and args.peers is PEERS and p in QUICK_LEFT_OUT]
    peers = tuple(p for p in args.peers if p not in {r["impl"] for r in left_out})
    spec = {"steps": steps, "budget_s": budget, "reps": 3, "min_time_s": 0.0 if args.quick else 0.5,
            "peers": list(peers),
            "torch_compile_hidden": list(args.torch_compile_hidden), "cpu_devices": args.cpu_devices,
            "keras_python": args.keras_python, "keras_warmup": 1 if args.quick else 5}
    from lstm_ar.runtime.distributed import available_cores
    spec["cpu_devices"] = args.cpu_devices or available_cores()
    info = common.machine()
    common.progress(f"{NAME}: {common.machine_name(info)}; load {info['loadavg_start']}; "
                    f"ours on {spec['cpu_devices']} CPU device(s)")
    start = time.perf_counter()
    limit = hardware.hardware_limit(quick=args.quick)
    common.progress(f"hardware limit: {limit['flops_per_s'] / 1e9:.0f} GFLOP/s, "
                    f"{limit['bytes_per_s'] / 1e9:.1f} GB/s DRAM, {limit['cache_bytes_per_s'] / 1e9:.0f} GB/s cache")
    groups, skipped = [], []
    for u in hidden:
        for b in batch:
            gib = counts(u, b, "stateful")["weight_bytes"] / 2 ** 30
            if gib > args.max_weight_gib:
                skipped.append({"hidden": u, "batch": b, "status": "skipped",
                                "reason": f"{b} weight sets take {gib:.1f} GiB > --max-weight-gib "
                                          f"{args.max_weight_gib}"})
            else:
                groups.append((u, b))
    # One fresh process per (u, B) so each peak RSS is that group's; --quick shares one.
    records = []
    for chunk in ([groups] if args.quick else [[g] for g in groups]):
        records += _run_worker(spec, chunk)
    rows = summarise(records, limit)
    targets = check_targets(rows, args.quick)
    table = [{"u": r["hidden"], "B": r["batch"], "mode": r["mode"], "us/step": r["us_per_step"],
              "Mseed-steps/s": r["seed_steps_per_s"] / 1e6, "M/cpu-s": r["seed_steps_per_cpu_s"] / 1e6,
              "%limit": 100 * r["fraction_of_limit"],
              "RSS MiB": common.mib(r["peak_rss_bytes"]),
              **{f"x{p}": r["ratio_vs"].get(p) for p in peers}} for r in rows]
    common.print_table(table, list(table[0]) if table else [])
    for t in targets:
        print(f"{'MET    ' if t['met'] else 'NOT MET'}  {t['target']}: {common.fmt(t['measured'])}")
    if args.quick:
        common.quick_report(NAME, headline, left_out + skipped + [r for r in records if r["status"] != "ok"])
    common.write_json(args.out, NAME, args, {"rows": rows, "records": records + skipped + left_out, "targets": targets},
                      info=info, hardware_limit=limit, steps=steps, hidden=list(hidden), batch=list(batch),
                      peers=list(peers), budget_s=budget, cpu_devices=spec["cpu_devices"], wall_s=time.perf_counter() - start,
                      window_mode="window 1 (x_{t+1} = f(x_t) from a zero state each step), the seed's models",
                      ratio_definition="peer seconds per step / ours seconds per step (> 1: ours faster); "
                                       "ratio_vs_cpu: the same with process CPU seconds (all threads)")
    common.progress(f"wrote {args.out} in {time.perf_counter() - start:.0f} s")
    return {"rows": rows, "targets": targets}


if __name__ == "__main__":
    main()
