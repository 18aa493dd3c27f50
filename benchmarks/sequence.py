"""Sequence benchmark: the experiments' sequence models over N seeds, ours (the library's sweep program) against peers.

    python -m benchmarks.sequence               # full run (about 10 min on 2 cores): writes
                                                # benchmarks/results/sequence.json
    python -m benchmarks.sequence --quick       # a smoke run: tiny models (LSTM(8), windows of 5), N = 1
                                                # and 4, XLA optimisation level 0; cannot judge speed
    python -m benchmarks.sequence --seeds 1024 --out DIR/sequence.json     # one N (the GPU check)

(from the repository root). Workloads (``benchmarks/sequence_suite.py``): the ``context``
experiment's one-step LSTM(32, relu) at windows 20 and 50, the ``regime`` experiment's stateful
k = 40 training (teacher forcing, free running), and the cure search's best recipe
(``direct_w50``: window 50, a direct 200-value head), at N = 1, 16, 256 and 1,024 seeds.

What is timed: ``ours`` is ``lstm_ar.runtime.sweep.compile_seed_program`` of the library's training
of one seed (what the experiments run: the CPU split into one JAX device per core, N seeds laid
over them, ``lanes`` seeds vmapped per device), compiled ahead of time (compile time reported
apart), on each workload's first ``TIMED_EXAMPLES`` examples for one epoch (16 Adam steps of
batch 32 per seed; 2 with ``--quick``). Per row: us per seed-step (run time / (N x steps)), and
the full training's seeds/s **extrapolated** from it (full training = the experiment's epochs x
its steps per epoch; ``extrapolated_from`` in the JSON says so). Peak resident memory in MiB.

FLOPs per seed-step: counted by hand (``sequence_suite.flops_per_seed_step``: the LSTM's products
and elementwise work over the time steps the loss needs, forward + backward = 3 x forward, Adam)
and XLA's cost analysis of one compiled training step (vmapped over a few seeds; XLA counts each
``while`` loop body once, not once per iteration, so over a time-step scan its figure is a lower
bound: recorded as such). The hand count per second over the float32 GEMM rate measured in the
same run (``benchmarks/hardware.py``) is ours' fraction of the GEMM limit.

Peers, measured in the same run (``benchmarks/peers/``; a peer that cannot run is recorded as
skipped with the reason):

* ``torch_loop``: one seed in PyTorch (``nn.LSTM`` + ``nn.Linear`` for tanh models, the cell
  written with tensor ops for relu and free running), Keras initialisers and Adam; timed per Adam
  step for ``--peer-budget-s`` seconds or ``PEER_MAX_STEPS`` steps and extrapolated; a per-seed
  loop takes N times one seed's time.
* ``torch_nn_lstm``: the relu workloads again with ``nn.LSTM`` and tanh in place of relu (the
  same shapes and products, not the same model: PyTorch's fused LSTM has tanh only), the cost a
  PyTorch user would pay with the library's fastest LSTM; the ratio target is against the faster
  of the two loops.
* ``torch_vmap``: ``torch.func.vmap`` over stacked weights of 16 and 256 seeds (4 with --quick),
  timed the same way.
* ``keras``: Keras 3 on the JAX backend, ``model.fit`` per seed (one seed), in a subprocess with
  ``KERAS_BACKEND=jax``; the median epoch after the first (which compiles), per step.

Ratios (per seed-step, > 1: ours is faster): each peer against ours at the largest N measured and
at the same N. Targets: window-50 training >= 10x the PyTorch per-seed loop; >= 0.5 of the
measured float32 GEMM rate.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from benchmarks import common, hardware, sequence_suite
from benchmarks.sequence_suite import Workload

NAME = "sequence"
PEERS = ("torch_loop", "torch_nn_lstm", "torch_vmap", "keras")
SEEDS = (1, 16, 256, 1024)
QUICK_SEEDS = (1, 4)
TIMED_EPOCHS = 1
TIMED_EXAMPLES = 512          # 16 Adam steps of batch 32 per seed
QUICK_TIMED_EXAMPLES = 64     # 2 steps
PEER_MAX_STEPS = 200
VMAP_SEEDS, QUICK_VMAP_SEEDS = (16, 256), (4,)
QUICK_XLA_FLAG = "--xla_backend_optimization_level=0"  # --quick: compile about 3x faster (speed is not judged)
COST_SEEDS = 4
RATIO_TARGET = 10.0
GEMM_FRACTION_TARGET = 0.5
HEADLINE_WORKLOAD = "context_w50"
MIB = 2 ** 20
PROFILE_SEEDS = 64


def _extra_args(p) -> None:
    p.add_argument("--seeds", type=common.ints, default=None,
                   help=f"seed counts N for ours (default {','.join(map(str, SEEDS))}; --quick "
                        f"{','.join(map(str, QUICK_SEEDS))})")
    p.add_argument("--peers", type=lambda s: tuple(x for x in s.split(",") if x), default=PEERS,
                   help=f"comma-separated subset of {','.join(PEERS)} (empty: none)")
    p.add_argument("--workloads", type=lambda s: tuple(x for x in s.split(",") if x), default=None,
                   help=f"comma-separated subset of {','.join(sequence_suite.NAMES)} (default all)")
    p.add_argument("--peer-budget-s", type=float, default=None,
                   help="seconds each peer is timed per workload before it is extrapolated (default 4; --quick 0.3)")
    p.add_argument("--torch-threads", type=int, default=1, help="torch.set_num_threads for the PyTorch peers")
    p.add_argument("--cpu-devices", type=int, default=None,
                   help="JAX devices the CPU is split into (default one per core; ours lays seeds over them)")
    p.add_argument("--lanes", type=int, default=None,
                   help="most seeds ours vmaps at once per device (default 256 on the CPU, all on a GPU)")
    p.add_argument("--keras-python", default=None,
                   help="the Python that runs the Keras peer (default this one, with KERAS_BACKEND=jax)")
    p.add_argument("--profile", action="store_true",
                   help=f"profile ours on {HEADLINE_WORKLOAD} (jax.profiler, {PROFILE_SEEDS} seeds on one device) "
                        "and record the top XLA ops")
    p.add_argument("--no-plot", action="store_true", help="do not write the PNG next to the JSON")


def check_args(args) -> None:
    """Refuse bad arguments before anything is measured.

    Args:
      args: ``common.parse_args``' namespace with this benchmark's arguments.

    Raises:
      SystemExit: naming the bad value and what is valid.
    """
    unknown = set(args.peers) - set(PEERS)
    if unknown:
        raise SystemExit(f"unknown peers {sorted(unknown)}; valid: {', '.join(PEERS)}")
    if args.workloads is not None:
        bad = set(args.workloads) - set(sequence_suite.NAMES)
        if bad or not args.workloads:
            raise SystemExit(f"unknown workloads {sorted(bad)}; valid: {', '.join(sequence_suite.NAMES)}")
    if args.seeds is not None and (not args.seeds or min(args.seeds) < 1):
        raise SystemExit(f"--seeds must be positive integers, got {args.seeds}")
    for flag, value in (("--torch-threads", args.torch_threads), ("--cpu-devices", args.cpu_devices),
                        ("--lanes", args.lanes)):
        if value is not None and value < 1:
            raise SystemExit(f"{flag} must be >= 1, got {value}")
    if args.peer_budget_s is not None and not args.peer_budget_s > 0:
        raise SystemExit(f"--peer-budget-s must be > 0, got {args.peer_budget_s}")


# --------------------------------------------------------------------------- the committed run

def headline_lines(doc: dict) -> list[str]:
    """The headline of a full run's document (for ``common.quick_report``).

    Args:
      doc: a sequence.json document.

    Returns:
      Lines: per workload ours at its largest N and the peers' ratios, the targets, the largest
      peak memory (MiB).
    """
    lines = []
    for h in doc.get("results", {}).get("headline") or []:
        ratios = ", ".join(f"{k.removeprefix('x_')} {common.figure(v)}x" for k, v in h.items() if k.startswith("x_"))
        lines.append(f"{h['workload']}: N = {h['n_seeds']}: {common.figure(h['us_per_seed_step'])} us per seed-step, "
                     f"{common.figure(h['seeds_per_s_full'])} seeds/s for the full training, "
                     f"{common.figure(h['gemm_fraction'])} of the GEMM rate" + (f"; ours faster than {ratios}" if ratios else ""))
    for t in doc.get("results", {}).get("targets") or []:
        lines.append(f"target: {t['target']}: met={t['met']}")
    peak = doc.get("results", {}).get("peak_rss_mib")
    if peak is not None:
        lines.append(f"peak resident memory: {common.figure(peak)} MiB")
    return lines


# --------------------------------------------------------------------------- ours

def library_lanes(w: Workload, max_lanes: int | None) -> int | None:
    """The lanes cap ours runs with: ``--lanes`` (or a GPU's one wide block) if set, else on the CPU
    the experiments' own default for this model (``lstm_ar.runtime.sweep.cache_lanes``: blocks whose
    training stays in cache, at most 8 lanes for a sequence model, 4 for window 50)."""
    if max_lanes is not None:
        return max_lanes
    from lstm_ar.runtime.sweep import cache_lanes

    # the steps the library's program runs per example (``TrainConfig.lstm_steps``: a k-step regime's
    # k fed steps), not ``sequence_suite.lstm_steps``'s count of the steps the loss needs (k - 1)
    steps = w.window + (w.horizon if w.kind in ("teacher_forcing", "free_running") else 0)
    return cache_lanes(steps, w.batch_size, w.units)


def run_ours(w: Workload, n: int, examples: int, flops: dict, limit: dict, max_lanes: int | None = None) -> dict[str, Any]:
    """Time the library's sweep program training n seeds of one workload (one epoch on ``examples``).

    Args:
      w: the workload.
      n: seeds.
      examples: training examples of the timed run (its first ones).
      flops: ``sequence_suite.workload_flops(w)``.
      limit: ``hardware.hardware_limit()``.
      max_lanes: most seeds vmapped at once per device (``benchmarks.train.ours_layout``).

    Returns:
      One row (see the module docstring).
    """
    import jax
    import numpy as np
    from jax.sharding import Mesh

    from benchmarks.train import ours_layout
    from lstm_ar.runtime.distributed import SEED_AXIS, available_cores
    from lstm_ar.runtime.sweep import compile_seed_program, seed_indices

    used, lanes = ours_layout(n, jax.device_count(), max_lanes)
    mesh = Mesh(np.asarray(jax.devices()[:used]), (SEED_AXIS,))
    examples = min(examples, w.examples)
    steps = TIMED_EPOCHS * w.steps_per_epoch(examples)
    with common.PeakRSS() as mem:
        per_seed = w.build(TIMED_EPOCHS, examples)
        start = time.perf_counter()
        program = compile_seed_program(per_seed, root_seed=0, lanes=lanes, chunk=n, mesh=mesh)
        compile_s = time.perf_counter() - start
        idx = seed_indices(0, program)
        result = [None]

        def call():
            result[0] = program.compiled(idx)
            return result[0]

        reps, warmup = (5, 1) if n <= 16 else (2, 1) if n <= 256 else (1, 0)
        on_cpu = jax.default_backend() == "cpu"
        if not on_cpu:  # an accelerator's first call pays set-up beyond compiling: never time it
            warmup = max(warmup, 1)
        t = common.time_call(call, reps=reps, warmup=warmup, compile_s=compile_s)
    loss = np.asarray(result[0])[:, -1]
    # of the devices the GEMM limit was measured on: all CPU cores, or every accelerator
    share = used / (max(available_cores(), used) if on_cpu else max(jax.device_count(), used))
    rate = flops["total"] / (t.median_s / (n * steps))
    return _row("ours", w, n, t.median_s, steps, flops, limit, compile_s=compile_s, devices=used, lanes=lanes,
                reps=len(t.reps_s), run_min_s=t.min_s, cpu_s=t.cpu_median_s, timed_examples=examples,
                timed_epochs=TIMED_EPOCHS, bytes_per_device_mib=None if program.bytes_per_device is None
                else program.bytes_per_device / MIB, final_loss_median=float(np.median(loss)),
                finite_fraction=float(np.mean(np.isfinite(loss))), cores_used=used,
                gemm_fraction_of_cores_used=rate / (limit["flops_per_s"] * share), **_mib(mem.result()))


def _mib(mem: dict) -> dict:
    out = dict(mem)
    for key in ("peak_rss_bytes", "baseline_rss_bytes"):
        if mem.get(key) is not None:
            out[key.replace("_bytes", "_mib")] = mem[key] / MIB
    return out


def _row(impl: str, w: Workload, n: int, seconds: float, steps: int, flops: dict, limit: dict, **extra) -> dict:
    """A row: ``seconds`` for ``steps`` Adam steps of each of ``n`` seeds (all n at once)."""
    s_per_seed_step = seconds / (n * steps)
    full_s_per_seed = s_per_seed_step * w.full_steps
    rate = flops["total"] / s_per_seed_step
    return {"workload": w.name, "impl": impl, "n_seeds": n, "run_s": seconds, "timed_steps_per_seed": steps,
            "us_per_seed_step": s_per_seed_step * 1e6, "seed_steps_per_s": 1 / s_per_seed_step,
            "full_steps_per_seed": w.full_steps, "seeds_per_s_full": 1 / full_s_per_seed,
            "s_per_1000_seeds_full": 1000 * full_s_per_seed,
            "extrapolated_from": f"{steps} timed Adam step(s) per seed -> {w.full_steps} "
                                 f"({w.epochs} epochs x {w.steps_per_epoch()} steps)",
            "gflops_per_s": rate / 1e9, "gemm_fraction": rate / limit["flops_per_s"], **extra}


# --------------------------------------------------------------------------- costs

def xla_step_cost(w: Workload, n: int) -> dict[str, Any]:
    """XLA's cost analysis of one compiled training step of n seeds (vmapped), per seed-step.

    XLA's ``HloCostAnalysis`` counts the body of a ``while`` loop once (not per iteration), so
    for the scan over time steps the figure is a lower bound.

    Args:
      w: the workload (``Workload.step_parts``).
      n: seeds the step is vmapped over.

    Returns:
      ``xla_flops, xla_bytes, xla_transcendentals`` per seed-step, ``n_seeds``, ``note``.
    """
    import jax

    totals = {"flops": 0.0, "bytes accessed": 0.0, "transcendentals": 0.0}
    for fn, args in w.step_parts(n):
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        for k in totals:
            totals[k] += float(cost.get(k, 0.0))
    return {"n_seeds": n, "xla_flops": totals["flops"] / n, "xla_bytes": totals["bytes accessed"] / n,
            "xla_transcendentals": totals["transcendentals"] / n,
            "note": "XLA counts each while-loop body once (not per iteration): a lower bound for the time-step scan"}


_ELEMENTWISE = frozenset({"add", "sub", "mul", "div", "max", "min", "neg", "exp", "exp2", "log", "log1p", "expm1",
                          "tanh", "logistic", "sqrt", "rsqrt", "pow", "integer_pow", "square", "abs", "sign",
                          "reduce_sum", "reduce_max", "erf", "sin", "cos"})


def jaxpr_flops(fn, *args) -> dict[str, Any]:
    """Floating-point operations of ``fn(*args)`` counted on its jaxpr, loops times their trip counts.

    ``dot_general``: 2 x (output elements) x (contracted size); elementwise arithmetic and
    reductions (``_ELEMENTWISE``) on floats: one per element (reductions: per input element);
    ``scan``: its body times its length; ``cond``: the largest branch; ``while``: its body once
    (trip count unknown: ``while_loops`` counts them); other calls (jit, custom derivatives,
    checkpoints, shard_map): their inner jaxpr. Integer work (random bits, indices) is not counted.

    Args:
      fn: the function.
      *args: its example arguments.

    Returns:
      ``dot`` and ``elementwise`` FLOPs, ``total``, ``while_loops``.
    """
    import jax
    import numpy as np

    def float_size(v) -> int:
        aval = v.aval
        return int(np.prod(aval.shape)) if hasattr(aval, "dtype") and np.issubdtype(aval.dtype, np.floating) else 0

    def count(jaxpr) -> np.ndarray:  # [dot, elementwise, while loops]
        total = np.zeros(3)
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            if name == "dot_general":
                (lhs_contract, _), _ = eqn.params["dimension_numbers"]
                k = int(np.prod([eqn.invars[0].aval.shape[d] for d in lhs_contract]))
                total[0] += 2 * float_size(eqn.outvars[0]) * k
            elif name in _ELEMENTWISE:
                total[1] += float_size(eqn.invars[0] if name.startswith("reduce") else eqn.outvars[0])
            elif name == "scan":
                total += eqn.params["length"] * count(eqn.params["jaxpr"].jaxpr)
            elif name == "cond":
                total += max((count(b.jaxpr) for b in eqn.params["branches"]), key=lambda c: c[0] + c[1])
            elif name == "while":
                total += count(eqn.params["body_jaxpr"].jaxpr) + np.array([0, 0, 1])
            else:
                for value in eqn.params.values():
                    inner = getattr(value, "jaxpr", value)
                    if hasattr(inner, "eqns"):
                        total += count(inner)
        return total

    dot, elementwise, loops = count(jax.make_jaxpr(fn)(*args).jaxpr)
    return {"dot": dot, "elementwise": elementwise, "total": dot + elementwise, "while_loops": int(loops)}


def program_step_cost(w: Workload, n: int) -> dict[str, Any]:
    """``jaxpr_flops`` of one training step of n seeds, per seed-step.

    Args:
      w: the workload (``Workload.step_parts``).
      n: seeds the step is vmapped over.

    Returns:
      ``jaxpr_dot, jaxpr_elementwise, jaxpr_total`` per seed-step, ``jaxpr_while_loops``.
    """
    totals = {"dot": 0.0, "elementwise": 0.0, "total": 0.0, "while_loops": 0}
    for fn, args in w.step_parts(n):
        for k, v in jaxpr_flops(fn, *args).items():
            totals[k] += v
    return {f"jaxpr_{k}": (v / n if k != "while_loops" else v) for k, v in totals.items()}


def run_profile(candidates: list[Workload], examples: int, n: int) -> dict[str, Any] | None:
    """``benchmarks.train_costs.profile_ours`` of the headline workload (else the first one that
    has a ``variant``): one epoch on ``examples`` examples, ``n`` seeds vmapped on one device.

    Args:
      candidates: workloads with a ``variant``.
      examples: training examples of the profiled epoch.
      n: seeds.

    Returns:
      ``workload, n_seeds, devices, timed_examples, top_ops``, or None without a candidate.
    """
    from benchmarks import train_costs

    if not candidates:
        return None
    w = next((c for c in candidates if c.name == HEADLINE_WORKLOAD), candidates[0])
    v = w.variant(TIMED_EPOCHS, min(examples, w.examples))
    common.progress(f"profiling ours on {w.name}, {n} seeds on one device")
    return {"workload": w.name, "n_seeds": n, "devices": 1, "timed_examples": min(examples, w.examples),
            "top_ops": train_costs.profile_ours(v, n)}


# --------------------------------------------------------------------------- peers

def run_torch_peers(workloads: list[Workload], peers: tuple[str, ...], args, flops: dict, limit: dict,
                    budget: float) -> tuple[list, list, dict]:
    """The PyTorch peers on every workload: torch_loop and torch_nn_lstm (one seed), torch_vmap (``VMAP_SEEDS``).

    Args:
      workloads: the suite.
      peers: the PyTorch peers asked for.
      args: the namespace (``quick``, ``torch_threads``).
      flops: workload name -> ``workload_flops``.
      limit: ``hardware.hardware_limit()``.
      budget: seconds each peer is timed per workload.

    Returns:
      (rows, skipped records with reasons, torch version and threads).
    """
    from benchmarks.peers import PeerUnavailable, import_torch, torch_sequence

    rows, skipped = [], []
    try:
        torch = import_torch()
    except PeerUnavailable as e:
        return [], [{"impl": p, "status": "unavailable", "reason": str(e)} for p in peers if p.startswith("torch")], {}
    torch.set_num_threads(args.torch_threads)
    info = {"torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    n_vmap = QUICK_VMAP_SEEDS if args.quick else VMAP_SEEDS
    for w in workloads:
        spec = sequence_suite.peer_spec(w)
        for kind, n in [("torch_loop", 1), ("torch_nn_lstm", 1)] + [("torch_vmap", n) for n in n_vmap]:
            if kind not in peers:
                continue
            if kind == "torch_nn_lstm" and (spec["kind"] == "free_running" or torch_sequence.uses_nn_lstm(spec)):
                why = (f"{w.name}: nn.LSTM does not feed predictions back" if spec["kind"] == "free_running" else
                       f"{w.name}: torch_loop already uses nn.LSTM for this tanh model")
                skipped.append({"impl": kind, "workload": w.name, "status": "not applicable", "reason": why})
                continue
            with common.PeakRSS() as mem:
                try:
                    if kind in ("torch_loop", "torch_nn_lstm"):
                        out = torch_sequence.torch_loop(spec, 0, max_steps=PEER_MAX_STEPS, budget_s=budget,
                                                        impl="auto" if kind == "torch_loop" else "nn_lstm_tanh")
                    else:
                        out = torch_sequence.torch_vmap(spec, n, max_steps=PEER_MAX_STEPS, budget_s=budget)
                except PeerUnavailable as e:
                    skipped.append({"impl": kind, "workload": w.name, "status": "unavailable", "reason": str(e)})
                    continue
            steps = out["steps_timed"]
            same = kind != "torch_nn_lstm"
            rows.append(_row(kind, w, n, out["seconds"], steps, flops[w.name], limit, compile_s=None,
                             peer=out, torch_threads=info["torch_threads"], same_model=same,
                             **({} if same else {"model_note": f"tanh in place of {w.activation}: nn.LSTM has tanh "
                                                 "only; the same shapes and products, not the same model"}),
                             **_mib(mem.result())))
            common.progress(f"{kind} {w.name} N={n}: {out['s_per_step'] * 1e3:.2f} ms per step "
                            f"({steps} steps timed, {out['impl']})")
    return rows, skipped, info


def run_keras_peer(workloads: list[Workload], args, flops: dict, limit: dict) -> tuple[list, list, dict]:
    """Keras on the JAX backend, one seed per workload, in a subprocess.

    Args:
      workloads: the suite.
      args: the namespace (``quick``, ``keras_python``).
      flops: workload name -> ``workload_flops``.
      limit: ``hardware.hardware_limit()``.

    Returns:
      (rows, skipped records with reasons, Keras version and backend).
    """
    from benchmarks.peers import PeerUnavailable, keras_sequence

    specs = [sequence_suite.peer_spec(w) for w in workloads]
    common.progress("keras (JAX backend, subprocess): model.fit per workload")
    try:
        out = keras_sequence.run(specs, python=args.keras_python, timed_epochs=1 if args.quick else 2)
    except PeerUnavailable as e:
        return [], [{"impl": "keras", "status": "unavailable", "reason": str(e)}], {}
    rows = []
    for w in workloads:
        rec = out["workloads"][w.name]
        timed = rec["epoch_s"][1:]
        steps = rec["steps_per_epoch"] * len(timed)
        seconds = rec["s_per_step"] * steps  # the median epoch, per step, times the steps timed
        rows.append(_row("keras", w, 1, seconds, steps, flops[w.name], limit, compile_s=rec["first_epoch_s"],
                         compile_note="the first epoch (trace, compile and one epoch)", peer=rec,
                         peak_rss_bytes=None))
    return rows, [], {"keras": out.get("keras"), "keras_backend": out.get("backend")}


# --------------------------------------------------------------------------- ratios, targets, headline

def add_ratios(rows: list[dict]) -> None:
    """Add each row's ratio to ours per seed-step (> 1: ours faster), in place.

    Args:
      rows: all rows; each gets ``ratio_vs_ours_best`` (ours at its largest N) and
        ``ratio_vs_ours_same_n`` (ours at the nearest N), with the N they refer to.
    """
    ours = {}
    for r in rows:
        if r["impl"] == "ours":
            ours.setdefault(r["workload"], {})[r["n_seeds"]] = r
    for r in rows:
        mine = ours.get(r["workload"])
        if not mine:
            continue
        best = mine[max(mine)]
        near = mine[min(mine, key=lambda m: (abs(math.log(m / r["n_seeds"])), m))]
        r["ratio_vs_ours_best"] = r["us_per_seed_step"] / best["us_per_seed_step"]
        r["ratio_vs_ours_best_at_n"] = best["n_seeds"]
        r["ratio_vs_ours_same_n"] = r["us_per_seed_step"] / near["us_per_seed_step"]
        r["ratio_vs_ours_same_n_at"] = near["n_seeds"]


def targets(rows: list[dict]) -> list[dict]:
    """The targets with the measured figures (full runs only).

    Args:
      rows: all rows, with ratios (``add_ratios``).

    Returns:
      ``{"target", "met", ...}`` per target that was measured.
    """
    out = []
    ours = [r for r in rows if r["impl"] == "ours" and r["workload"] == HEADLINE_WORKLOAD]
    loops = [r for r in rows if r["impl"] in ("torch_loop", "torch_nn_lstm") and r["workload"] == HEADLINE_WORKLOAD]
    if ours and loops:  # against the fastest per-seed PyTorch loop measured (nn.LSTM with tanh, where it ran)
        fastest = min(loops, key=lambda r: r["us_per_seed_step"])
        out.append({"target": f">= {RATIO_TARGET:g}x a PyTorch per-seed loop per seed ({HEADLINE_WORKLOAD}; the "
                              f"fastest of {', '.join(r['impl'] for r in loops)})",
                    "peer": fastest["impl"], "ratio": fastest["ratio_vs_ours_best"],
                    "ratios": {r["impl"]: r["ratio_vs_ours_best"] for r in loops},
                    "at_n_seeds": fastest["ratio_vs_ours_best_at_n"], "met": fastest["ratio_vs_ours_best"] >= RATIO_TARGET})
    if ours:
        best = max(ours, key=lambda r: r["gemm_fraction"])
        out.append({"target": f">= {GEMM_FRACTION_TARGET:g} of the measured float32 GEMM rate ({HEADLINE_WORKLOAD})",
                    "gemm_fraction": best["gemm_fraction"], "gflops_per_s": best["gflops_per_s"],
                    "at_n_seeds": best["n_seeds"], "met": best["gemm_fraction"] >= GEMM_FRACTION_TARGET})
    return out


def headline(rows: list[dict]) -> list[dict]:
    """The headline figures.

    Args:
      rows: all rows, with ratios.

    Returns:
      Per workload: ours at its largest N (us per seed-step, seeds/s for the full training, GEMM
      fraction) and ``x_<peer>``: each peer's ratio.
    """
    out = []
    for name in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == name and r["impl"] == "ours"]
        if not mine:
            continue
        best = max(mine, key=lambda r: r["n_seeds"])
        h = {"workload": name, "n_seeds": best["n_seeds"], "us_per_seed_step": best["us_per_seed_step"],
             "seeds_per_s_full": best["seeds_per_s_full"], "gemm_fraction": best["gemm_fraction"]}
        for r in rows:
            if r["workload"] == name and r["impl"] != "ours" and "ratio_vs_ours_best" in r:
                h[f"x_{r['impl']}" + (f"_n{r['n_seeds']}" if r["impl"] == "torch_vmap" else "")] = r["ratio_vs_ours_best"]
        out.append(h)
    return out


# --------------------------------------------------------------------------- plot

def plot(doc: dict[str, Any], out: Path) -> Path:
    """Draw a sequence.json document: per workload, seed-steps per second against N (log-log), ours
    and the peers (each peer at the N it ran). Needs matplotlib.

    Args:
      doc: the document.
      out: the PNG path.

    Returns:
      ``out``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = doc["results"]["rows"]
    names = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.6), sharey=True, squeeze=False)
    handles = {}
    for ax, name in zip(axes[0], names):
        for i, impl in enumerate(dict.fromkeys(r["impl"] for r in rows)):
            pts = sorted((r["n_seeds"], r["seed_steps_per_s"]) for r in rows if r["workload"] == name and r["impl"] == impl)
            if pts:
                (handles[impl],) = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="os^vD*"[i % 6],
                                           color=f"C{i}", label=impl)
        ax.set(xscale="log", yscale="log", title=name, xlabel="seeds N")
    axes[0][0].set_ylabel("seed-steps per second")
    axes[0][-1].legend(list(handles.values()), list(handles), fontsize=7)
    fig.suptitle(f"{doc['machine_name']}, {doc['timestamp']}" + (" (--quick: not a speed measurement)" if doc["quick"] else ""),
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


# --------------------------------------------------------------------------- main

COLUMNS = ["workload", "impl", "n_seeds", "compile_s", "us_per_seed_step", "seeds_per_s_full", "gflops_per_s",
           "gemm_fraction", "ratio_vs_ours_best", "peak_rss_mib"]


def main(argv=None) -> dict[str, Any]:
    """Run the sequence benchmark.

    Args:
      argv: the arguments (``--help`` lists them; default ``sys.argv[1:]``).

    Returns:
      The JSON document written.
    """
    args = common.parse_args(NAME, __doc__.splitlines()[0], argv, extra=_extra_args)
    check_args(args)
    seeds = args.seeds or (QUICK_SEEDS if args.quick else SEEDS)
    budget = args.peer_budget_s if args.peer_budget_s is not None else (0.3 if args.quick else 4.0)
    examples = QUICK_TIMED_EXAMPLES if args.quick else TIMED_EXAMPLES

    if args.quick and "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + QUICK_XLA_FLAG).strip()
    from lstm_ar.runtime.distributed import use_cpu_cores
    n_devices = use_cpu_cores(args.cpu_devices)  # before JAX starts: one device per core

    import jax

    from benchmarks.train import default_max_lanes
    max_lanes = default_max_lanes(jax.default_backend(), args.lanes)
    started = time.perf_counter()
    info = dict(common.machine(), cpu_devices=n_devices, keras_installed=common.package_version("keras"))
    workloads = sequence_suite.workloads(args.quick, args.workloads)
    common.progress(f"sequence benchmark on {common.machine_name(info)}; workloads "
                    f"{', '.join(w.name for w in workloads)}; N = {', '.join(map(str, seeds))}")
    limit = hardware.hardware_limit(quick=args.quick)
    flops = {w.name: sequence_suite.workload_flops(w) for w in workloads}
    costs = {}
    for w in workloads:
        costs[w.name] = dict(hand=flops[w.name], **xla_step_cost(w, COST_SEEDS), **program_step_cost(w, COST_SEEDS))

    rows, skipped = [], []
    for w in workloads:
        for n in seeds:
            rows.append(run_ours(w, n, examples, flops[w.name], limit, library_lanes(w, max_lanes)))
            r = rows[-1]
            common.progress(f"ours {w.name} N={n}: compile {r['compile_s']:.1f}s, {r['us_per_seed_step']:.1f} us "
                            f"per seed-step, {r['gflops_per_s']:.1f} GFLOP/s, peak {r.get('peak_rss_mib', 0):.0f} MiB")
    torch_peers = tuple(p for p in args.peers if p.startswith("torch"))
    if torch_peers:
        more, why, torch_info = run_torch_peers(workloads, torch_peers, args, flops, limit, budget)
        rows += more
        skipped += why
        info.update(torch_info)
    if "keras" in args.peers:
        more, why, keras_info = run_keras_peer(workloads, args, flops, limit)
        rows += more
        skipped += why
        info.update(keras_info)
    for p in PEERS:
        if p not in args.peers:
            skipped.append({"impl": p, "status": "not run", "reason": "not in --peers"})

    add_ratios(rows)
    profile = None
    if args.profile:
        profile = run_profile([w for w in workloads if w.variant is not None], examples, 4 if args.quick else PROFILE_SEEDS)
    results = {
        "workloads": [w.describe() | {"timed_examples": min(examples, w.examples),
                                      "timed_steps_per_seed": TIMED_EPOCHS * w.steps_per_epoch(min(examples, w.examples))}
                      for w in workloads],
        "rows": rows, "skipped": skipped, "step_cost": costs, "profile": profile,
        "headline": headline(rows),
        "targets": [] if args.quick else targets(rows),
        "notes": ["times are per Adam step of batch 32 (a seed-step); seeds_per_s_full and s_per_1000_seeds_full are "
                  "extrapolated from the timed steps to the full training's steps per seed (extrapolated_from)",
                  "ours: the timed run is one epoch on the first timed_examples examples (the same compiled program "
                  "as the full training but for the epoch and example counts), seed initialisation included",
                  "ours at N <= 16: median of 5 calls after a warm-up; N = 256: median of 2 after a warm-up; "
                  "N >= 1024: one call, no warm-up",
                  "peers: torch_loop is one seed (a per-seed loop of N seeds takes N times as long); torch_vmap "
                  "trains its N seeds at once; keras is one seed per workload, model.fit, the median epoch after "
                  "the first (compile) epoch; their times per step are over the steps they ran within the budget "
                  "(peer.steps_timed / keras epoch_s)",
                  "gemm_fraction: the hand-counted FLOPs (step_cost.hand.total) per second over hardware_limit.flops_per_s "
                  "(the better of JAX's and numpy's float32 GEMM on all cores, measured in this run); "
                  "gemm_fraction_of_cores_used: the same over the limit scaled to the cores ours used (one per device)",
                  "step_cost: hand (sequence_suite.flops_per_seed_step), xla_* (XLA's cost analysis, while-loop bodies "
                  "counted once: a lower bound), jaxpr_* (the step's jaxpr, scans times their lengths, before XLA removes "
                  "dead code: the k-step kinds' last, unused step is run; the direct head's traced loss also holds one "
                  "unused forward pass that XLA removes)",
                  "wall-clock times on a machine that may be shared: see machine.loadavg_start / loadavg_end"],
        "wall_s": time.perf_counter() - started,
        "peak_rss_mib": max((r["peak_rss_mib"] for r in rows if r.get("peak_rss_mib") is not None), default=None),
    }
    peak = results["peak_rss_mib"]
    doc = common.write_json(args.out, NAME, args, results, info=info, hardware_limit=limit, seeds=list(seeds),
                            timed_examples=examples, timed_epochs=TIMED_EPOCHS, peer_budget_s=budget)
    common.print_table(rows, COLUMNS)
    print(f"peak resident memory: {peak:.0f} MiB (largest row, whole process)" if peak is not None else
          "peak resident memory: not measured", flush=True)
    if args.quick:
        common.quick_report(NAME, headline_lines, skipped)
    else:
        for t in results["targets"]:
            print(f"target: {t['target']}: met={t['met']}", flush=True)
    if not args.no_plot:
        common.write_plot(lambda: plot(doc, Path(args.out).with_suffix(".png")))
    common.progress(f"wrote {args.out} ({results['wall_s']:.0f} s)")
    return doc


if __name__ == "__main__":
    main()
