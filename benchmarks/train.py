"""Training benchmark: the seed suite over N seeds, ours (the library's sweep program) against peers.

    python -m benchmarks.train              # full run (~6 min on 2 cores): writes
                                            # benchmarks/results/train.json and train.png
    python -m benchmarks.train --quick      # ~20 s; what CI runs (1 variant, 1 epoch)
    python -m benchmarks.train --profile    # also: where the time goes (jax.profiler, top ops)

(from the repository root; ``lstm-ar bench train ARGS`` runs the same). The seed suite
(``benchmarks/suite.py``) is the article's five trainings at its settings: 4880 steps of batch 32
per seed.

Implementations, measured in the same run:

* ``ours``: ``lstm_ar.study.sweep.compile_seed_program(make_train(config, data))``, what every
  experiment script runs: the CPU split into one JAX device per core (``--cpu-devices``), the N
  seeds laid over them (``shard_map``), a block of ``lanes`` seeds vmapped per device
  (``ours_layout``); per variant, AOT compiled (compile time reported apart), timed with
  ``block_until_ready``. ``ours_1device``: the same on one device (one core).
* ``ours_reference``: the same with the plain ``make_train`` (``benchmarks.suite.make_train(...,
  plain=True)``), the implementation that the fast path is tested against.

Peers (``benchmarks/peers/``; a peer whose package is missing is recorded as unavailable, with
the reason):

* ``python_loop``: a Python loop over single-seed runs of ``jax.jit(make_train(...))``.
* ``torch_loop`` / ``torch_vmap``: the same model and Keras training in PyTorch, per seed /
  ``torch.func.vmap`` over stacked states. They are slow, so each runs whole epochs until
  ``--peer-budget-s`` per variant is spent and the time per step is extrapolated to the full
  suite (``extrapolated: true``, with the epochs measured).
* ``keras``: the article's own code (``benchmarks/peers/keras_script.py``), seed after seed, in a
  Python with TensorFlow (``--keras-python``); per seed = the median over the seeds after the
  first (the first also pays TensorFlow's start-up).

Per row: seconds for the suite (compile apart), seeds per second, seconds per 1000 seeds, peak
resident memory (Linux high-water mark reset before the row), the ratio to ours at the same N
(or ours at the nearest N measured), and the hardware floor: FLOPs and bytes per seed-step
(XLA's cost analysis of one compiled training step: what the program does; and a by-hand
minimum: what any program must do), the measured machine limit (``benchmarks/hardware.py``) and
how far above the floor the measurement is.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks import common, hardware, suite, train_costs
from benchmarks.suite import Variant

NAME = "train"
# Seconds per seed assumed for the article's Keras code when this run does not measure it (an
# estimate for a 2-core CPU; the committed results/train.json measured 21 s per seed).
KERAS_S_PER_SEED = 30.0
CPU_TARGET_S_PER_1000 = 20.0
GPU_TARGET_S_PER_10000 = 10.0
MEMORY_TARGET_BYTES = 4 * 2 ** 30
PEERS = ("ours_1device", "ours_reference", "python_loop", "torch_loop", "torch_vmap", "keras")


def _extra_args(p) -> None:
    p.add_argument("--seeds", type=common.ints, default=None, help="seed counts N for ours (default 1,16,256,1024,4096)")
    p.add_argument("--peers", type=lambda s: tuple(x for x in s.split(",") if x), default=PEERS,
                   help=f"comma-separated subset of {','.join(PEERS)}")
    p.add_argument("--peer-budget-s", type=float, default=None,
                   help="seconds per variant a slow peer runs before its time per step is extrapolated")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch.set_num_threads for the PyTorch peers (1: small ops, shared machine)")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="JAX devices the CPU is split into (default one per core; ours lays seeds over them)")
    p.add_argument("--keras-python", default=None,
                   help="a python with TensorFlow (e.g. .venv-keras/bin/python) for the Keras peer; default: "
                        "$LSTM_AR_KERAS_PYTHON, else this python if it can import tensorflow")
    p.add_argument("--keras-seeds", type=int, default=None,
                   help="seeds the Keras peer trains, one after another (default 3; the first is not counted)")
    p.add_argument("--profile", action="store_true", help="profile ours (jax.profiler) and record the top ops")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG next to the JSON")


# --------------------------------------------------------------------------- ours

def ours_layout(n: int, devices: int) -> tuple[int, int]:
    """How ours lays n seeds over the devices, so the chunk is exactly n seeds (no padding).

    The most devices (at most ``devices``) that split n evenly, then the widest block of at most
    256 lanes (the experiments' default) that splits each device's share evenly.

    Args:
      n: seeds.
      devices: CPU devices available.

    Returns:
      (devices used, lanes per block).
    """
    from lstm_ar.study.sweep import DEFAULT_LANES

    used = max(d for d in range(1, min(devices, n) + 1) if n % d == 0)
    share = n // used
    lanes = max(b for b in range(1, min(DEFAULT_LANES, share) + 1) if share % b == 0)
    return used, lanes


def run_ours(variants: list[Variant], n: int, *, plain: bool = False, reps: int = 1,
             devices: int | None = None) -> dict[str, Any]:
    """Time the library's sweep program training n seeds of each variant.

    ``lstm_ar.study.sweep.compile_seed_program``: seeds laid over the devices, ``lanes`` seeds
    vmapped per device, blocks in ``lax.map``; compile timed apart.

    Args:
      variants: the suite.
      n: seeds.
      plain: the plain ``make_train`` (row ``ours_reference``) instead of the fast default.
      reps: timed calls (the median is the figure).
      devices: how many of the CPU devices (one per core, ``distributed.use_cpu_cores``) to use;
        default all.

    Returns:
      One row: ``impl, n_seeds, run_s, compile_s, seeds_per_s, s_per_1000_seeds, per_variant,
      peak_rss_bytes, devices, lanes, ...``.
    """
    import jax
    import numpy as np
    from jax.sharding import Mesh

    from lstm_ar.study.distributed import SEED_AXIS
    from lstm_ar.study.sweep import compile_seed_program, seed_indices

    used, lanes = ours_layout(n, devices or jax.device_count())
    mesh = Mesh(np.asarray(jax.devices()[:used]), (SEED_AXIS,))
    impl = "ours_reference" if plain else ("ours" if devices is None else f"ours_{used}device")
    per_variant = []
    with common.PeakRSS() as mem:
        for v in variants:
            train = suite.make_train(v.config, v.data, plain=plain)
            start = time.perf_counter()
            program = compile_seed_program(lambda key: train(key).epoch_loss, root_seed=0, lanes=lanes, chunk=n,
                                           mesh=mesh)
            compile_s = time.perf_counter() - start
            idx = seed_indices(0, program)
            result = [None]

            def call():
                result[0] = program.compiled(idx)
                return result[0]

            # Large N: the first call is the measurement (a warm-up would double the run time).
            t = common.time_call(call, reps=reps, warmup=1 if n <= 256 else 0, compile_s=compile_s)
            loss = np.asarray(result[0][:, -1])
            per_variant.append({"variant": v.name, "steps_per_seed": v.steps, "compile_s": compile_s,
                                "run_s": t.median_s, "run_min_s": t.min_s, "reps": len(t.reps_s),
                                "cpu_s": t.cpu_median_s, "final_loss_median": float(np.median(loss)),
                                "finite_fraction": float(np.mean(np.isfinite(loss)))})
            common.progress(f"{impl} N={n} {v.name}: compile {compile_s:.1f}s run {t.median_s:.2f}s")
    return _row(impl, n, per_variant, mem.result(), devices=used, lanes=lanes)


def run_python_loop(variants: list[Variant], ns: tuple[int, ...]) -> list[dict[str, Any]]:
    """The ``python_loop`` peer (``benchmarks.peers.jax_loops``): one row per n in ``ns``."""
    from benchmarks.peers import jax_loops

    per_n, mem = jax_loops.python_loop(variants, ns)
    return [_row("python_loop", n, per_n[n], mem) for n in sorted(per_n)]


def _row(impl: str, n: int, per_variant: list[dict], mem: dict, **extra) -> dict[str, Any]:
    run_s = sum(p["run_s"] for p in per_variant)
    compile_s = sum(p.get("compile_s") or 0.0 for p in per_variant) if any(
        p.get("compile_s") is not None for p in per_variant) else None
    return {"impl": impl, "n_seeds": n, "run_s": run_s, "compile_s": compile_s,
            "seeds_per_s": n / run_s, "s_per_1000_seeds": run_s / n * 1000,
            "steps_per_seed": sum(p["steps_per_seed"] for p in per_variant),
            "per_variant": per_variant, **mem, **extra}


# --------------------------------------------------------------------------- peers

def run_keras(variants: list[Variant], args) -> tuple[dict | None, str]:
    """The article's own Keras code (``benchmarks/peers/keras_script.py``) in a Python with
    TensorFlow, seeds one after another: (row, how it ran) or (None, why not). Only for the full
    suite: the peer runs the article's scripts, which do not come in a --quick size."""
    from benchmarks.peers import keras as keras_peer
    if args.quick:
        return None, "not run with --quick (the peer runs the article's full scripts)"
    python, how = keras_peer.keras_python(args.keras_python)
    if python is None:
        return None, how
    seeds = 3 if args.keras_seeds is None else args.keras_seeds
    common.progress(f"keras: the article's code for {seeds} seed(s) with {python} ({how})")
    try:
        out = keras_peer.run_peer(python, ["train", "--seeds", str(seeds)])
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return None, f"the Keras peer failed: {e}"
    steps = {v.name: v.steps for v in variants}
    per_variant = [{"variant": name, "steps_per_seed": steps.get(name), "compile_s": None,
                    "run_s": rec["seconds_median"] * seeds, "final_loss_median": rec.get("final_loss_median"),
                    **{k: v for k, v in rec.items() if k not in ("seconds_median",)}}
                   for name, rec in out["per_variant"].items()]
    # Per seed in steady state: the median over the seeds after the first (the first also pays
    # TensorFlow's one-off start-up in this process; a 1000-seed study in one process pays it once).
    totals = [s["seconds_full"] for s in out["per_seed"]]
    steady = statistics.median(totals[1:] if len(totals) > 1 else totals)
    row = _row("keras", seeds, per_variant, {"peak_rss_bytes": None}, keras=out, keras_python=how,
               first_seed_s=totals[0], s_per_seed_steady=steady)
    row["run_s"] = steady * seeds  # whole scripts: build, fit and predict
    row["seeds_per_s"], row["s_per_1000_seeds"] = seeds / row["run_s"], row["run_s"] / seeds * 1000
    return row, how


def run_torch(kind: str, variants: list[Variant], n: int, budget_s: float) -> dict[str, Any]:
    """torch_loop (n seeds one after another) or torch_vmap (n seeds at once), extrapolated.

    Per variant: one epoch as a probe, then one training run of as many epochs as fit in
    ``budget_s`` (all of them when they fit); its time per epoch gives the full variant's time.

    Args:
      kind: ``"torch_loop"`` or ``"torch_vmap"``.
      variants: the suite.
      n: seeds.
      budget_s: seconds per variant before the run is cut short and extrapolated.

    Returns:
      One row, ``extrapolated`` when any variant was.

    Raises:
      benchmarks.peers.PeerUnavailable: torch is missing.
    """
    import numpy as np

    from benchmarks.peers import torch_train

    def train(spec, epochs):
        one = dict(spec, epochs=epochs)
        start = time.perf_counter()
        losses = ([torch_train.torch_loop(one, seed) for seed in range(n)] if kind == "torch_loop"
                  else list(torch_train.torch_vmap(one, n)))
        return time.perf_counter() - start, float(np.median(losses))

    per_variant = []
    with common.PeakRSS() as mem:
        for v in variants:
            spec = suite.peer_spec(v)
            probe_s, _ = train(spec, 1)
            epochs = int(min(v.config.epochs, max(1, budget_s // max(probe_s, 1e-9))))
            spent, loss = train(spec, epochs)
            per_variant.append({"variant": v.name, "steps_per_seed": v.steps, "compile_s": None,
                                "run_s": spent * v.config.epochs / epochs, "measured_s": spent,
                                "probe_s": probe_s, "epochs_measured": epochs, "epochs": v.config.epochs,
                                "extrapolated": epochs < v.config.epochs,
                                # median final loss of the measured run (after epochs_measured epochs)
                                "final_loss_median": loss,
                                "steps_measured_per_seed": epochs * -(-v.data.n // v.config.batch_size)})
            common.progress(f"{kind} N={n} {v.name}: {spent:.1f}s for {epochs}/{v.config.epochs} epochs")
    extrapolated = any(p["extrapolated"] for p in per_variant)
    return _row(kind, n, per_variant, mem.result(), extrapolated=extrapolated)


# --------------------------------------------------------------------------- main

def targets(rows: list[dict], info: dict, on_gpu: bool) -> list[dict[str, Any]]:
    """The training targets, each with the measured figure (the full suite only).

    Args:
      rows: the measured rows (``ours`` at least one N).
      info: ``common.machine()``.
      on_gpu: whether JAX ran on a GPU (the CPU and GPU targets apply to one each).

    Returns:
      ``{"target", "applies", "met", ...}`` per target.
    """
    ours = {r["n_seeds"]: r for r in rows if r["impl"] == "ours"}
    out = []
    big = ours.get(1024) or ours[max(ours)]
    out.append({"target": "CPU: 1000 seeds of the seed suite in <= 20 s", "applies": not on_gpu,
                "measured_s_per_1000": big["s_per_1000_seeds"], "at_n_seeds": big["n_seeds"],
                "met": (not on_gpu) and big["s_per_1000_seeds"] <= CPU_TARGET_S_PER_1000})
    keras = [r for r in rows if r["impl"] == "keras"]
    keras_s = keras[0]["run_s"] / keras[0]["n_seeds"] if keras else KERAS_S_PER_SEED
    ratio = keras_s / (big["run_s"] / big["n_seeds"])
    out.append({"target": ">= 1500x Keras, per seed" + (" (Keras measured in this run)" if keras else
                f" (~{KERAS_S_PER_SEED:g} s per seed assumed: Keras not measured in this run)"),
                "applies": True, "keras_s_per_seed": keras_s, "measured_here": bool(keras), "ratio": ratio,
                "met": ratio >= 1500})
    torch_loop = [r for r in rows if r["impl"] == "torch_loop"]
    if torch_loop:
        per_seed = torch_loop[0]["run_s"] / torch_loop[0]["n_seeds"]
        ratio = per_seed / (big["run_s"] / big["n_seeds"])
        out.append({"target": ">= 10x a PyTorch per-seed loop, per seed", "applies": True,
                    "ratio": ratio, "met": ratio >= 10})
    gpu_s = big["s_per_1000_seeds"] * 10 if on_gpu else None
    out.append({"target": f"GPU: 10,000 seeds in <= {GPU_TARGET_S_PER_10000:g} s", "applies": on_gpu,
                "measured": gpu_s, "met": None if gpu_s is None else gpu_s <= GPU_TARGET_S_PER_10000,
                "note": "not measured: no GPU in this run" if not on_gpu else
                "extrapolated from the largest N measured"})
    mem_rows = [r for r in rows if r["impl"] == "ours" and r["n_seeds"] == 4096]
    if mem_rows:
        out.append({"target": "4096-seed training peak resident memory < 4 GiB (CPU)", "applies": not on_gpu,
                    "peak_rss_bytes": mem_rows[0]["peak_rss_bytes"],
                    "met": mem_rows[0]["peak_rss_bytes"] < MEMORY_TARGET_BYTES})
    return out


def check_args(args) -> None:
    """Refuse bad arguments before anything is measured (``SystemExit`` naming the value)."""
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; valid: {', '.join(PEERS)}")
    if args.seeds is not None and (not args.seeds or min(args.seeds) < 1):
        raise SystemExit(f"--seeds must be positive integers, got {args.seeds}")
    for flag, value in (("--keras-seeds", args.keras_seeds), ("--torch-threads", args.torch_threads),
                        ("--cpu-devices", args.cpu_devices)):
        if value is not None and value < 1:
            raise SystemExit(f"{flag} must be >= 1, got {value}")
    if args.peer_budget_s is not None and not args.peer_budget_s > 0:  # (also refuses nan)
        raise SystemExit(f"--peer-budget-s must be > 0, got {args.peer_budget_s}")


def main(argv=None) -> dict[str, Any]:
    """Run the training benchmark (arguments as ``--help`` lists); returns the JSON document written."""
    args = common.parse_args(NAME, __doc__.splitlines()[0], argv, extra=_extra_args)
    check_args(args)
    seeds = args.seeds or ((4,) if args.quick else (1, 16, 256, 1024, 4096))
    budget = args.peer_budget_s if args.peer_budget_s is not None else (1.0 if args.quick else 6.0)

    from lstm_ar.study.distributed import use_cpu_cores
    n_devices = use_cpu_cores(args.cpu_devices)  # before JAX starts: one device per core

    import jax
    info = dict(common.machine(), cpu_devices=n_devices)
    on_gpu = jax.default_backend() == "gpu"
    variants = suite.suite(args.quick)
    common.progress(f"train benchmark on {common.machine_name(info)}; suite "
                    f"{', '.join(v.name for v in variants)}; {sum(v.steps for v in variants)} steps per seed")
    limit = hardware.hardware_limit(quick=args.quick)
    rows, skipped = [], []

    for n in seeds:
        rows.append(run_ours(variants, n, reps=3 if n <= 16 else 1))
    # what the extra cores add (not in --quick: one more compile of the same program, one device)
    if "ours_1device" in args.peers and jax.device_count() > 1 and not args.quick:
        for n in (256, 1024):
            rows.append(run_ours(variants, n, devices=1))
    if "ours_reference" in args.peers:
        rows.append(run_ours(variants, 4 if args.quick else 64, plain=True))
    if "python_loop" in args.peers:
        rows.extend(run_python_loop(variants, (1, 2) if args.quick else (1, 16, 256)))
    for kind, ns in (("torch_loop", (1,) if args.quick else (2,)),
                     ("torch_vmap", (4,) if args.quick else (16, 256))):
        if kind not in args.peers:
            continue
        from benchmarks.peers import PeerUnavailable, import_torch
        try:
            torch = import_torch()
            torch.set_num_threads(args.torch_threads)
            info = dict(info, torch_threads=torch.get_num_threads())
            for n in ns:
                rows.append(run_torch(kind, variants, n, budget))
        except PeerUnavailable as e:
            skipped.append({"impl": kind, "status": "unavailable", "reason": str(e)})
    if "keras" in args.peers:
        row, why = run_keras(variants, args)
        if row is not None:
            rows.append(row)
        else:
            skipped.append({"impl": "keras", "status": "unavailable", "reason": why})

    # ratios, per seed: against ours at the same N, else at the nearest N measured (log scale)
    ours = {r["n_seeds"]: r for r in rows if r["impl"] == "ours"}
    for r in rows:
        ref = ours[min(ours, key=lambda m: (abs(math.log(m / r["n_seeds"])), m))]
        r["ratio_vs_ours"] = (r["run_s"] / r["n_seeds"]) / (ref["run_s"] / ref["n_seeds"])
        r["ratio_vs_ours_at_n"] = ref["n_seeds"]

    n_cost = 4 if args.quick else 256
    costs = [train_costs.step_cost(v, n_cost) for v in variants]
    floor = train_costs.floors(costs, variants, limit)
    for r in rows:
        r["x_above_floor_xla"] = r["s_per_1000_seeds"] / floor["xla"]["floor_s_per_1000"]
        r["x_above_floor_ideal"] = r["s_per_1000_seeds"] / floor["ideal"]["floor_s_per_1000"]
    profile = None
    if args.profile:
        v = variants[-1]
        profile = {"variant": v.name, "n_seeds": n_cost, "top_ops": train_costs.profile_ours(v, n_cost)}

    results = {"suite": [{"variant": v.name, "epochs": v.config.epochs, "examples": v.data.n,
                          "batch_size": v.config.batch_size, "steps_per_seed": v.steps,
                          "units": v.config.model.units, "activation": v.config.model.activation,
                          "output_dropout": float(v.config.hyper.output_dropout)} for v in variants],
               "rows": rows, "skipped": skipped, "step_cost": costs, "floor": floor,
               # the targets are for the full seed suite; --quick trains one epoch of one variant
               "targets": [] if args.quick else targets(rows, info, on_gpu), "profile": profile,
               "notes": ["wall-clock times on a machine shared with other jobs: see loadavg_start/end",
                         "ours at N <= 16: median of 3 calls after a warm-up; N >= 256: one call, no warm-up",
                         "peers marked extrapolated ran the first epochs_measured epochs of each variant; "
                         "their final_loss_median is after those epochs (comparable with ours only when "
                         "epochs_measured == epochs)"]}
    doc = common.write_json(args.out, NAME, args, results, info=info, hardware_limit=limit,
                            seeds=list(seeds))
    common.print_table(rows, ["impl", "n_seeds", "compile_s", "run_s", "seeds_per_s", "s_per_1000_seeds",
                              "ratio_vs_ours", "x_above_floor_ideal", "peak_rss_bytes"])
    for t in results["targets"] or [{"target": "none (--quick runs a shortened suite)", "met": None}]:
        print(f"target: {t['target']}: met={t['met']}", flush=True)
    if not args.no_plot:
        try:
            from benchmarks.plot_train import plot
            png = plot(doc, Path(args.out).with_suffix(".png"))
            common.progress(f"wrote {png}")
        except ImportError as e:  # matplotlib missing
            common.progress(f"no plot: {e}")
    common.progress(f"wrote {args.out}")
    return doc


if __name__ == "__main__":
    main()
