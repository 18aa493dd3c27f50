"""Training benchmark: the seed suite over N seeds, ours (the library's sweep program) against peers.

    python -m benchmarks.train              # full run (~7 min on 2 cores): writes
                                            # benchmarks/results/train.json and train.png
    python -m benchmarks.train --quick      # ~20 s; what CI runs (1 variant, 1 epoch): checks that it
                                            # runs, cannot judge speed; prints the committed full run
    python -m benchmarks.train --profile    # also: where the time goes (jax.profiler, top ops)

(from the repository root; ``lstm-ar bench train ARGS`` runs the same). The seed suite
(``benchmarks/suite.py``) is the article's five trainings at its settings: 4880 steps of batch 32
per seed.

Implementations, measured in the same run:

* ``ours``: ``lstm_ar.runtime.sweep.compile_seed_program(make_train(config, data))``, what every
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
* ``keras`` / ``keras_jax``: the article's own code (``benchmarks/peers/keras_script.py``), seed
  after seed, on Keras's TensorFlow backend in a Python with TensorFlow (``--keras-python``) and on
  its JAX backend in this Python (``KERAS_BACKEND=jax``, a subprocess); per seed = the median over
  the seeds after the first (the first also pays the backend's start-up). The Keras target is
  judged against the faster of the two measured.

On a GPU, ours vmaps all of a device's seeds at once (one block; ``--lanes`` overrides); on the
CPU, blocks of at most 256 seeds (the experiments' default).

``--quick`` runs tiny sizes to check that everything runs: it says that it cannot judge speed,
prints the headline of the committed full run (``benchmarks/results/train.json``), lists the
peers it skipped with the reason, and never writes over the committed JSON.

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
PEERS = ("ours_1device", "ours_reference", "python_loop", "torch_loop", "torch_vmap", "keras", "keras_jax")
KERAS_PEERS = ("keras", "keras_jax")


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
                   help="a python with TensorFlow (e.g. .venv-keras/bin/python) for the keras peer (keras_jax runs "
                        "in this python with KERAS_BACKEND=jax); default: "
                        "$LSTM_AR_KERAS_PYTHON, else this python if it can import tensorflow")
    p.add_argument("--keras-seeds", type=int, default=None,
                   help="seeds each Keras peer trains, one after another (default 3; the first is not counted)")
    p.add_argument("--lanes", type=int, default=None,
                   help="most seeds ours vmaps at once per device (default 256 on the CPU; all on a GPU)")
    p.add_argument("--profile", action="store_true", help="profile ours (jax.profiler) and record the top ops")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG next to the JSON")


# --------------------------------------------------------------------------- ours

def ours_layout(n: int, devices: int, max_lanes: int | None = None) -> tuple[int, int]:
    """How ours lays n seeds over the devices, so the chunk is exactly n seeds (no padding).

    The most devices (at most ``devices``) that split n evenly, then the widest block of at most
    ``max_lanes`` lanes that splits each device's share evenly.

    Args:
      n: seeds.
      devices: devices available.
      max_lanes: most seeds vmapped at once (default 256, the experiments' default on the CPU).

    Returns:
      (devices used, lanes per block).
    """
    from lstm_ar.runtime.sweep import DEFAULT_LANES

    cap = DEFAULT_LANES if max_lanes is None else max_lanes
    if cap < 1:
        raise ValueError(f"max_lanes must be >= 1, got {max_lanes}")
    used = max(d for d in range(1, min(devices, n) + 1) if n % d == 0)
    share = n // used
    lanes = max(b for b in range(1, min(cap, share) + 1) if share % b == 0)
    return used, lanes


def default_max_lanes(backend: str, lanes: int | None = None) -> int | None:
    """Most seeds ours vmaps at once: ``lanes`` if given, else all of them on a GPU (None: the
    CPU default of ``ours_layout``). A GPU wants one wide block; the CPU wants blocks whose
    working set stays in cache.

    Args:
      backend: ``jax.default_backend()``.
      lanes: ``--lanes``, or None.

    Returns:
      The cap for ``ours_layout``.
    """
    if lanes is not None:
        return lanes
    return 2 ** 31 - 1 if backend == "gpu" else None


def run_ours(variants: list[Variant], n: int, *, plain: bool = False, reps: int = 1,
             devices: int | None = None, max_lanes: int | None = None, warmup: int | None = None) -> dict[str, Any]:
    """Time the library's sweep program training n seeds of each variant.

    ``lstm_ar.runtime.sweep.compile_seed_program``: seeds laid over the devices, ``lanes`` seeds
    vmapped per device, blocks in ``lax.map``; compile timed apart.

    Args:
      variants: the suite.
      n: seeds.
      plain: the plain ``make_train`` (row ``ours_reference``) instead of the fast default.
      reps: timed calls (the median is the figure).
      devices: how many of the CPU devices (one per core, ``distributed.use_cpu_cores``) to use;
        default all.
      max_lanes: most seeds vmapped at once (``ours_layout``; ``default_max_lanes``).
      warmup: untimed calls first (default 1 for n <= 256, else 0: the first call is the measurement).

    Returns:
      One row: ``impl, n_seeds, run_s, compile_s, seeds_per_s, s_per_1000_seeds, per_variant,
      peak_rss_bytes, devices, lanes, ...``.
    """
    import jax
    import numpy as np
    from jax.sharding import Mesh

    from lstm_ar.runtime.distributed import SEED_AXIS
    from lstm_ar.runtime.sweep import compile_seed_program, seed_indices

    used, lanes = ours_layout(n, devices or jax.device_count(),
                              default_max_lanes(jax.default_backend()) if max_lanes is None else max_lanes)
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
            t = common.time_call(call, reps=reps, warmup=(1 if n <= 256 else 0) if warmup is None else warmup,
                                 compile_s=compile_s)
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

def run_keras(variants: list[Variant], args, peer: str = "keras") -> tuple[dict | None, str]:
    """The article's own Keras code (``benchmarks/peers/keras_script.py``), seeds one after another,
    on TensorFlow (``peer="keras"``, a Python with TensorFlow) or on JAX (``"keras_jax"``, this
    Python with ``KERAS_BACKEND=jax``). Only for the full suite: the peer runs the article's
    scripts, which do not come in a --quick size.

    Args:
      variants: the suite (its step counts label the rows).
      args: the namespace (``quick``, ``keras_python``, ``keras_seeds``).
      peer: ``"keras"`` or ``"keras_jax"``.

    Returns:
      (row, how the peer's Python was chosen), or (None, why the peer did not run).
    """
    from benchmarks.peers import keras as keras_peer
    if args.quick:
        return None, "not run with --quick (the peer runs the article's full scripts: 10-30 s per seed)"
    python, how = keras_peer.find_python(peer, args.keras_python)
    if python is None:
        return None, how
    seeds = 3 if args.keras_seeds is None else args.keras_seeds
    backend = keras_peer.BACKENDS[peer]
    common.progress(f"{peer}: the article's code for {seeds} seed(s) on {backend} with {python} ({how})")
    try:
        out = keras_peer.run_peer(python, ["train", "--seeds", str(seeds)], backend=backend)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return None, f"the Keras peer failed: {e}"
    return keras_row(peer, out, variants, how), how


def keras_row(peer: str, out: dict, variants: list[Variant], how: str) -> dict[str, Any]:
    """One row from the Keras script's ``train`` result.

    Per seed in steady state: the median over the seeds after the first (the first also pays the
    backend's one-off start-up in this process; a 1000-seed study in one process pays it once).

    Args:
      peer: ``"keras"`` or ``"keras_jax"`` (the row's ``impl``).
      out: ``keras_script.py train``'s JSON.
      variants: the suite (its step counts).
      how: how the peer's Python was chosen.

    Returns:
      The row: ``run_s`` = steady seconds per seed x seeds; ``per_variant`` with each variant's
      median final training loss (``final_loss_median``), comparable with ours.
    """
    seeds = out["seeds"]
    steps = {v.name: v.steps for v in variants}
    per_variant = [{"variant": name, "steps_per_seed": steps.get(name, rec["steps_full"]), "compile_s": None,
                    "run_s": rec["seconds_median"] * seeds, "final_loss_median": rec.get("final_loss_median"),
                    **{k: v for k, v in rec.items() if k not in ("seconds_median",)}}
                   for name, rec in out["per_variant"].items()]
    totals = [s["seconds_full"] for s in out["per_seed"]]
    steady = statistics.median(totals[1:] if len(totals) > 1 else totals)
    row = _row(peer, seeds, per_variant, {"peak_rss_bytes": None}, keras=out, keras_python=how,
               keras_backend=out.get("backend"), first_seed_s=totals[0], s_per_seed_steady=steady)
    row["run_s"] = steady * seeds  # whole scripts: build, fit and predict
    row["seeds_per_s"], row["s_per_1000_seeds"] = seeds / row["run_s"], row["run_s"] / seeds * 1000
    return row


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
    keras = {r["impl"]: r["run_s"] / r["n_seeds"] for r in rows if r["impl"] in KERAS_PEERS}
    fastest = min(keras, key=keras.get) if keras else None
    keras_s = keras[fastest] if keras else KERAS_S_PER_SEED
    ours_s = big["run_s"] / big["n_seeds"]
    ratio = keras_s / ours_s
    out.append({"target": ">= 1500x Keras, per seed" + (f" (the fastest Keras measured in this run: {fastest})" if keras
                else f" (~{KERAS_S_PER_SEED:g} s per seed assumed: Keras not measured in this run)"),
                "applies": True, "keras_s_per_seed": keras_s, "measured_here": bool(keras), "ratio": ratio,
                "fastest_keras": fastest, "ratio_per_keras": {k: v / ours_s for k, v in keras.items()},
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


def _target_figure(t: dict[str, Any]) -> str:
    """A target's measured figure with its unit (memory in MiB)."""
    if t.get("peak_rss_bytes") is not None:
        return f"{common.mib(t['peak_rss_bytes']):,.0f} MiB"
    if t.get("measured_s_per_1000") is not None:
        return f"{common.figure(t['measured_s_per_1000'])} s per 1000 seeds (N = {t.get('at_n_seeds')})"
    if t.get("ratio") is not None:
        return f"{common.figure(t['ratio'])}x"
    return "not measured" if t.get("measured") is None else f"{common.figure(t['measured'])} s"


def headline(doc: dict[str, Any]) -> list[str]:
    """The headline figures of a full run's document (what ``--quick`` prints of the committed run).

    Args:
      doc: a ``benchmarks/results/train.json`` document.

    Returns:
      Lines: ours at its largest N, each other implementation per seed against ours, each target.
    """
    rows = doc["results"]["rows"]
    ours = {r["n_seeds"]: r for r in rows if r["impl"] == "ours"}
    lines = []
    if ours:
        big = ours.get(1024) or ours[max(ours)]
        lines.append(f"ours: {common.figure(big['s_per_1000_seeds'])} s per 1000 seeds at N = {big['n_seeds']} "
                     f"({common.figure(big['seeds_per_s'])} seeds/s), peak RSS {common.mib(big['peak_rss_bytes']):,.0f} MiB")
    for r in rows:
        if r["impl"] != "ours":
            mem = "" if r.get("peak_rss_bytes") is None else f", peak RSS {common.mib(r['peak_rss_bytes']):,.0f} MiB"
            lines.append(f"{r['impl']} N = {r['n_seeds']}: {common.figure(r['s_per_1000_seeds'])} s per 1000 seeds, "
                         f"{common.figure(r.get('ratio_vs_ours'))}x ours per seed{mem}")
    for t in doc["results"].get("targets", []):
        if t.get("applies", True):
            lines.append(f"target {t['target']}: {_target_figure(t)}: {'met' if t['met'] else 'NOT met'}")
    return lines


def check_args(args) -> None:
    """Refuse bad arguments before anything is measured (``SystemExit`` naming the value)."""
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; valid: {', '.join(PEERS)}")
    if args.seeds is not None and (not args.seeds or min(args.seeds) < 1):
        raise SystemExit(f"--seeds must be positive integers, got {args.seeds}")
    for flag, value in (("--keras-seeds", args.keras_seeds), ("--torch-threads", args.torch_threads),
                        ("--cpu-devices", args.cpu_devices), ("--lanes", args.lanes)):
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

    from lstm_ar.runtime.distributed import use_cpu_cores
    n_devices = use_cpu_cores(args.cpu_devices)  # before JAX starts: one device per core

    import jax
    info = dict(common.machine(), cpu_devices=n_devices)
    on_gpu = jax.default_backend() == "gpu"
    variants = suite.suite(args.quick)
    common.progress(f"train benchmark on {common.machine_name(info)}; suite "
                    f"{', '.join(v.name for v in variants)}; {sum(v.steps for v in variants)} steps per seed")
    limit = hardware.hardware_limit(quick=args.quick)
    rows, skipped = [], []

    max_lanes = default_max_lanes(jax.default_backend(), args.lanes)
    for n in seeds:
        rows.append(run_ours(variants, n, reps=3 if n <= 16 else 1, max_lanes=max_lanes))
    # what the extra cores add (not in --quick: one more compile of the same program, one device)
    if "ours_1device" in args.peers:
        if args.quick or jax.device_count() == 1:
            skipped.append({"impl": "ours_1device", "status": "skipped",
                            "reason": "not run with --quick (one more compile of the same program)" if args.quick
                            else "this run has one device only: ours is already on one device"})
        else:
            for n in (256, 1024):
                rows.append(run_ours(variants, n, devices=1, max_lanes=max_lanes))
    if "ours_reference" in args.peers:
        rows.append(run_ours(variants, 4 if args.quick else 64, plain=True, max_lanes=max_lanes))
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
    for peer in KERAS_PEERS:
        if peer in args.peers:
            row, why = run_keras(variants, args, peer)
            if row is not None:
                rows.append(row)
            else:
                skipped.append({"impl": peer, "status": "unavailable", "reason": why})

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
    common.print_table([dict(r, peak_rss_mib=common.mib(r["peak_rss_bytes"])) for r in rows],
                       ["impl", "n_seeds", "compile_s", "run_s", "seeds_per_s", "s_per_1000_seeds",
                        "ratio_vs_ours", "x_above_floor_ideal", "peak_rss_mib"],
                       ["impl", "N", "compile s", "run s", "seeds/s", "s/1000 seeds", "x ours", "x floor", "peak RSS MiB"])
    for t in results["targets"] or [{"target": "none (--quick runs a shortened suite)", "met": None}]:
        print(f"target: {t['target']}: met={t['met']}", flush=True)
    if args.quick:
        common.quick_report(NAME, headline, skipped)
    if not args.no_plot:
        def draw():
            from benchmarks.plot_train import plot  # matplotlib: the plots extra
            return plot(doc, Path(args.out).with_suffix(".png"))

        common.write_plot(draw)
    common.progress(f"wrote {args.out}")
    return doc


if __name__ == "__main__":
    main()
