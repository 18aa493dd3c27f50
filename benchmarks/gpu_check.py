"""The prepared check for a lent GPU machine: one run, at most 8 minutes, one JSON naming the device.

    bash benchmarks/gpu_check.sh                   # on the GPU machine (installs the cuda extra if
                                                   # JAX has no GPU), -> benchmarks/results/gpu_check.json
    python -m benchmarks.gpu_check [--out PATH]    # the same without the install step
    python -m benchmarks.gpu_check --quick         # every part tiny, on the CPU, well under a minute
                                                   # (what the tests run; JSON in the temp dir)

Parts, each in its own process with its own time box (a part that fails or runs out of time is
recorded with the reason; the others still run), in this order:

* ``device``: ``jax.devices()``, the backend, ``nvidia-smi``'s GPU name, the machine.
* ``equality``: GPU and CPU results of the same programs in the same process, to float32
  tolerance: a few seeds of the suite's trainings (final parameters and every epoch's loss) and
  B models' rollouts (``rollout_batched``, both modes). Run at JAX's default matmul precision
  (what the benchmarks and experiments run; on a GPU it may use TF32) and at ``"highest"``.
* ``train``: the seed suite at 10,000 seeds (``benchmarks.train.run_ours``: compile apart, all
  of a device's seeds in one vmapped block on a GPU); target <= 10 s.
* ``rollout``: hidden 32, B = 16,384, both modes, ours and ``ours_vmap``
  (``benchmarks.rollout_worker.measure_group``).
* ``sequence``: ``python -m benchmarks.sequence --seeds 1024 --peers "" --no-plot --out PATH``
  (ours only: the peers run on the CPU, which the CPU run measures; ``not available`` when that
  module is not in the checkout).

With ``--quick`` the parts are tiny, run one after another in this process (no time boxes), and
the "GPU" is whatever JAX's default device is (the CPU here), so the equality part compares the
CPU with itself, at the default precision only: it checks the plumbing, not a GPU. The sequence
suite is not run with ``--quick`` (its own quick run is tested apart); its CLI must answer
``--help``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import common

NAME = "gpu_check"
ROOT = Path(__file__).resolve().parents[1]
PARTS = ("device", "equality", "train", "rollout", "sequence")
# seconds each part may take at most (the whole run is also capped by --budget-s)
PART_LIMIT_S = {"device": 60, "equality": 120, "train": 150, "rollout": 120, "sequence": 150}
BUDGET_S = 450.0          # the whole run: inside 8 minutes with the shell script's install step apart
TRAIN_SEEDS, TRAIN_TARGET_S = 10_000, 10.0
ROLLOUT_HIDDEN, ROLLOUT_B = 32, 16_384
SEQUENCE_SEEDS = 1024
# float32 tolerance of the equality part (max |gpu - cpu| <= ATOL + RTOL * |cpu|)
RTOL, ATOL = 1e-4, 1e-5
EQ_SEEDS, EQ_EPOCHS, EQ_MODELS, EQ_STEPS = 4, 2, 8, 200


def _args(argv):
    p = argparse.ArgumentParser(prog=f"python -m benchmarks.{NAME}", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny parts on the CPU (seconds); JSON in the temp dir")
    p.add_argument("--out", type=Path, default=None,
                   help=f"JSON path (default benchmarks/results/{NAME}.json; with --quick {NAME}_quick.json in the temp dir)")
    p.add_argument("--budget-s", type=float, default=None, help=f"seconds for all parts (default {BUDGET_S:g})")
    p.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    p.add_argument("--install-note", default="", help="what the shell script did to get a GPU JAX (recorded)")
    p.add_argument("--part", choices=PARTS, default=None, help=argparse.SUPPRESS)  # internal: run one part
    p.add_argument("--part-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.parts = tuple(x for x in args.parts.split(",") if x)
    unknown = set(args.parts) - set(PARTS)
    if unknown or not args.parts:
        raise SystemExit(f"--parts must be a subset of {','.join(PARTS)}, got {','.join(args.parts) or 'nothing'}")
    if args.budget_s is not None and not args.budget_s > 0:
        raise SystemExit(f"--budget-s must be > 0, got {args.budget_s}")
    if args.out is None:
        args.out = (Path(tempfile.gettempdir()) / f"{NAME}_quick.json" if args.quick
                    else common.RESULTS_DIR / f"{NAME}.json")
    if args.quick and args.part is None:
        common.check_quick_out(args.out, NAME)
    return args


# --------------------------------------------------------------------------- parts (each in its own process)

def _no_save(partial: dict[str, Any]) -> None:
    """``save`` for a part run without a file (``--quick``): progress is not kept."""


def part_device(quick: bool, save=_no_save) -> dict[str, Any]:
    """The device: JAX's backend and devices, nvidia-smi's GPU names, the machine.

    Args:
      quick: unused (the part is the same).
      save: unused (the part is short).

    Returns:
      ``{"backend", "on_gpu", "devices", "nvidia_smi", "machine"}``.
    """
    import jax
    info = common.machine(with_torch=False)
    smi = None
    if shutil.which("nvidia-smi"):
        try:
            done = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=30)
            smi = done.stdout.strip().splitlines() if done.returncode == 0 else f"exit {done.returncode}: {done.stderr[-300:]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            smi = f"nvidia-smi failed: {e}"
    devices = [{"id": d.id, "platform": d.platform, "kind": getattr(d, "device_kind", ""), "str": str(d)}
               for d in jax.devices()]
    return {"backend": jax.default_backend(), "on_gpu": jax.default_backend() == "gpu", "devices": devices,
            "nvidia_smi": smi or "nvidia-smi not found", "machine": info}


def _compare(got, want) -> dict[str, Any]:
    """max |got - want|, the largest relative difference, and whether all are within RTOL/ATOL."""
    import numpy as np
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    diff = np.abs(got - want)
    return {"max_abs_diff": float(diff.max()) if diff.size else 0.0,
            "max_rel_diff": float((diff / np.maximum(np.abs(want), 1e-30)).max()) if diff.size else 0.0,
            "finite": bool(np.isfinite(got).all() and np.isfinite(want).all()),
            "within_tolerance": bool(np.isfinite(got).all() and np.isfinite(want).all()
                                     and np.all(diff <= ATOL + RTOL * np.abs(want)))}


def part_equality(quick: bool, save=_no_save) -> dict[str, Any]:
    """GPU against CPU on the same programs and inputs, at the default and at the highest matmul precision.

    Training: ``EQ_SEEDS`` seeds (2 with --quick) of Example 2 relu and Example 3 with dropout for
    ``EQ_EPOCHS`` epochs (Example 2 relu, 1 epoch with --quick): final parameters and every
    epoch's loss. Rollouts: ``rollout_batched`` of ``EQ_MODELS`` models, hidden 32, ``EQ_STEPS``
    steps, both modes (hidden 4, 3 models, 20 steps with --quick). Precisions: JAX's default and
    ``"highest"`` (the default only with --quick); the CPU's result, the reference, is computed
    once (float32 products are exact-precision on the CPU at either setting).

    Args:
      quick: tiny sizes.
      save: ``save(partial_result)`` after each check (kept if the part runs out of time).

    Returns:
      ``{"accelerator", "cpu", "checks": [...], "passed", "passed_highest", "tolerance"}``; each
      check names its program and precision and holds ``_compare``'s fields.
    """
    import dataclasses

    import jax
    import jax.numpy as jnp
    import numpy as np

    from benchmarks import suite
    from benchmarks.rollout_worker import X0, _weights
    from lstm_ar.dynamics.batched_rollout import rollout_batched

    acc, cpu = jax.devices()[0], jax.devices("cpu")[0]
    variants = [v._replace(config=dataclasses.replace(v.config, epochs=EQ_EPOCHS))
                for v in suite.suite(False) if v.name in ("activation/relu", "dropout/dropout")]
    variants = [_quick_variant()] if quick else variants
    seeds = 2 if quick else EQ_SEEDS
    u, n_models, steps = (4, 3, 20) if quick else (32, EQ_MODELS, EQ_STEPS)
    model, params = _weights(u, n_models)
    params = jax.device_get(params)
    keys = suite.seed_keys(0, 0, seeds)
    flat = lambda r: np.concatenate([np.ravel(x) for x in jax.tree.leaves(r.params)])  # noqa: E731

    programs = {}  # name -> (device -> f32 numpy results)
    for v in variants:
        train = jax.jit(jax.vmap(suite.make_train(v.config, v.data)))
        def run_train(d, train=train):
            r = jax.device_get(train(jax.device_put(keys, d)))
            return {"final params": flat(r), "every epoch's loss": np.asarray(r.epoch_loss)}
        programs[f"train {v.name}, {seeds} seeds, {v.config.epochs} epoch(s)"] = run_train
    for mode in ("window", "stateful"):
        def run_rollout(d, mode=mode):
            p, ctx = jax.device_put((params, jnp.asarray([X0], jnp.float32)), d)
            out = jax.jit(lambda p, c: rollout_batched(p, c, steps, model, mode=mode, devices=[d]))(p, ctx)
            return {"predictions": np.asarray(out)}
        programs[f"rollout_batched hidden {u}, {n_models} models, {steps} steps, {mode}"] = run_rollout

    precisions = ("default",) if quick else ("default", "highest")
    checks, reference = [], {}

    def result(done: bool) -> dict[str, Any]:
        by = {p: (all(c["within_tolerance"] for c in checks if c["precision"] == p) if done else None)
              if p in precisions else None for p in ("default", "highest")}
        return {"accelerator": str(acc), "cpu": str(cpu), "same_device": acc == cpu,
                "tolerance": {"rtol": RTOL, "atol": ATOL, "rule": "|gpu - cpu| <= atol + rtol |cpu|, elementwise"},
                "checks": checks, "passed": by["default"], "passed_highest": by["highest"], "complete": done,
                "note": "default = JAX's default matmul precision (what the benchmarks and experiments run); "
                        "highest = jax.default_matmul_precision('highest')"}

    for precision in precisions:
        for name, run in programs.items():
            if name not in reference:
                reference[name] = run(cpu)
            with jax.default_matmul_precision(None if precision == "default" else "highest"):
                got = run(acc)
            for what, want in reference[name].items():
                checks.append({"program": f"{name}: {what}", "precision": precision, **_compare(got[what], want)})
            save(result(False))
    return result(True)


def _quick_variant():
    """--quick's training: Example 2 relu for one epoch (the suite's quickest program to compile)."""
    import dataclasses

    from benchmarks import suite
    v = next(v for v in suite.suite(False) if v.name == "activation/relu")
    return v._replace(config=dataclasses.replace(v.config, epochs=1))


def part_train(quick: bool, save=_no_save) -> dict[str, Any]:
    """The seed suite at ``TRAIN_SEEDS`` seeds (with --quick 4 seeds of Example 2 relu, 1 epoch),
    as ``benchmarks.train`` times ours, one variant after another.

    Args:
      quick: tiny sizes.
      save: ``save(partial_result)`` after each variant (kept if the part runs out of time).

    Returns:
      ``{"row", "run_s", "s_per_10000_seeds", "target", "met"}``.
    """
    import jax

    from benchmarks import suite
    from benchmarks.train import default_max_lanes, run_ours
    n = 4 if quick else TRAIN_SEEDS
    variants = [_quick_variant()] if quick else suite.suite(False)
    rows = []
    for v in variants:
        # on a GPU one untimed call first (the first call on a device pays one-off set-up)
        rows.append(run_ours([v], n, max_lanes=default_max_lanes(jax.default_backend()),
                             warmup=1 if jax.default_backend() == "gpu" else 0))
        run_s = sum(r["run_s"] for r in rows)
        done = len(rows) == len(variants)
        per_10000 = run_s / n * 10_000
        result = {"n_seeds": n, "run_s": run_s, "compile_s": sum(r["compile_s"] for r in rows),
                  "s_per_10000_seeds": per_10000 if done else None, "complete": done,
                  "variants_done": [r["per_variant"][0]["variant"] for r in rows],
                  "lanes": rows[0]["lanes"], "devices": rows[0]["devices"],
                  "peak_rss_mib": common.mib(max(r["peak_rss_bytes"] for r in rows)),
                  "target": f"GPU: 10,000 seeds of the seed suite in <= {TRAIN_TARGET_S:g} s (compile apart)",
                  "met": done and (not quick) and jax.default_backend() == "gpu" and per_10000 <= TRAIN_TARGET_S,
                  "suite": "Example 2 relu, 1 epoch (--quick)" if quick else "the article's five trainings",
                  "per_variant": [r["per_variant"][0] for r in rows]}
        save(result)
    return result


def part_rollout(quick: bool, save=_no_save) -> dict[str, Any]:
    """Hidden ``ROLLOUT_HIDDEN``, B = ``ROLLOUT_B`` (hidden 4, B = 3, 20 steps with --quick), both
    modes, T = 1000: ours (``rollout_batched``) and ``ours_vmap``.

    Args:
      quick: tiny sizes.
      save: unused (one group).

    Returns:
      ``{"hidden", "batch", "records", "summary"}``: per mode and implementation, us per step and
      seed-steps per second.
    """
    from benchmarks.rollout_worker import measure_group
    u, b, steps = (4, 3, 20) if quick else (ROLLOUT_HIDDEN, ROLLOUT_B, 1000)
    spec = {"steps": steps, "budget_s": 0.01 if quick else 5.0, "reps": 3, "min_time_s": 0.0 if quick else 0.5,
            "peers": ["ours_vmap"], "torch_compile_hidden": [], "keras_python": None}
    records = measure_group(u, b, spec)
    summary = [{"impl": r["impl"], "mode": r["mode"], "status": r["status"],
                "us_per_step": r["s_per_step"] * 1e6 if r["status"] == "ok" else None,
                "seed_steps_per_s": b / r["s_per_step"] if r["status"] == "ok" else None,
                "compile_s": r.get("compile_s"), "max_abs_diff_vs_ours": r.get("max_abs_diff_vs_ours")}
               for r in records]
    return {"hidden": u, "batch": b, "steps": steps, "summary": summary, "records": records}


PART_FUNCTIONS = {"device": part_device, "equality": part_equality, "train": part_train, "rollout": part_rollout}


def run_part(name: str, quick: bool, out: Path | None = None) -> dict[str, Any]:
    """Run one part in this process: ``{"status": "ok", "seconds", **result}``, or ``failed`` with the error.

    Args:
      name: one of ``PARTS`` but ``sequence``.
      quick: tiny sizes.
      out: where the result goes; the part's progress is written there as it goes (``status``
        ``partial``), so a part stopped by its time box leaves what it measured.

    Returns:
      The record (also written to ``out``).
    """
    from lstm_ar.runtime.distributed import use_cpu_cores
    use_cpu_cores(1 if quick else None, warn=False)  # before JAX starts; GPUs are untouched
    start = time.perf_counter()

    def write(rec: dict[str, Any]) -> dict[str, Any]:
        rec = common.jsonable({**rec, "seconds": time.perf_counter() - start})
        if out is not None:
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps(rec))
            tmp.replace(out)
        return rec

    save = (lambda partial: write({"status": "partial", **partial})) if out is not None else _no_save
    try:
        result = {"status": "ok", **PART_FUNCTIONS[name](quick, save)}
    except Exception as e:  # recorded, not fatal: the other parts still run
        result = {"status": "failed", "reason": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-3000:]}
    return write(result)


# --------------------------------------------------------------------------- the driver (no JAX here)

def _tail(text: str | bytes | None, n: int = 2000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-n:]


def _subprocess_part(cmd: list[str], out: Path, limit_s: float) -> dict[str, Any]:
    """Run one part's command with a time box; its JSON, or why there is none."""
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired as e:
        partial = {}
        try:  # what the part measured before its time ran out
            partial = json.loads(out.read_text()) if out.is_file() else {}
        except ValueError:
            pass
        return {**partial, "status": "timed_out", "limit_s": limit_s, "seconds": time.perf_counter() - start,
                "stderr_tail": _tail(e.stderr)}
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not out.is_file():
        return {"status": "failed", "returncode": done.returncode, "seconds": seconds, "limit_s": limit_s,
                "stderr_tail": _tail(done.stderr)}
    try:
        result = json.loads(out.read_text())
    except ValueError as e:
        return {"status": "failed", "reason": f"its JSON does not parse: {e}", "seconds": seconds}
    return {"wall_s": seconds, "limit_s": limit_s, **result}


def _sequence(quick: bool, tmp: Path, limit_s: float, module: str = "benchmarks.sequence") -> dict[str, Any]:
    """The sequence suite through its CLI, or ``not available`` when the module is missing.

    Args:
      quick: only check that the CLI answers ``--help`` (the suite's own quick run is tested apart).
      tmp: a folder for its JSON.
      limit_s: its time box.
      module: the module to run (tests name a missing one).

    Returns:
      The part's record: ``ok`` with the sequence benchmark's document, ``skipped`` (--quick),
      ``not available``, ``failed`` or ``timed_out``, each with the reason.
    """
    if importlib.util.find_spec(module) is None:
        return {"status": "not available", "reason": f"{module.replace('.', '/')}.py is not in this checkout"}
    out = tmp / "sequence.json"
    if quick:
        cmd = [sys.executable, "-m", module, "--help"]
        try:
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit_s)
        except subprocess.TimeoutExpired:
            return {"status": "failed", "reason": f"python -m {module} --help took over {limit_s:.0f} s"}
        if done.returncode != 0 or "--seeds" not in done.stdout:
            return {"status": "failed", "reason": f"python -m {module} --help: exit {done.returncode}, "
                                                  f"no --seeds option", "stderr_tail": _tail(done.stderr)}
        return {"status": "skipped", "reason": "--quick does not run the sequence suite (its own --quick run is "
                                               "tested apart); its CLI answers --help with --seeds"}
    cmd = [sys.executable, "-m", module, "--seeds", str(SEQUENCE_SEEDS), "--peers", "", "--no-plot", "--out", str(out)]
    rec = _subprocess_part(cmd, out, limit_s)
    rec["command"] = f'python -m {module} --seeds {SEQUENCE_SEEDS} --peers "" --no-plot --out PATH'
    if rec.get("status") not in ("failed", "timed_out"):
        rec = {"status": "ok", **rec}
    return rec


def _fallback_machine() -> dict[str, Any]:
    """The machine without JAX (when the device part did not answer)."""
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "cores_usable": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "jax": "unknown",
            "jax_backend": "unknown", "loadavg_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def summarise(parts: dict[str, dict]) -> dict[str, Any]:
    """One line per part: its status and headline figure.

    Args:
      parts: part name -> its record.

    Returns:
      ``{"device", "on_gpu", "train_s_per_10000", "train_target_met", "rollout", "equality_passed",
      "equality_passed_highest", "statuses"}``.
    """
    dev, tr, ro, eq = (parts.get(k, {}) for k in ("device", "train", "rollout", "equality"))
    smi = dev.get("nvidia_smi")
    return {"device": (smi[0] if isinstance(smi, list) and smi else None) or
            ", ".join(d["str"] for d in dev.get("devices", [])) or "unknown",
            "on_gpu": dev.get("on_gpu"),
            "train_s_per_10000": tr.get("s_per_10000_seeds"), "train_target_met": tr.get("met"),
            "rollout": {f"{r['impl']} {r['mode']}": r["seed_steps_per_s"] for r in ro.get("summary", [])
                        if r["status"] == "ok"},
            "equality_passed": eq.get("passed"), "equality_passed_highest": eq.get("passed_highest"),
            "statuses": {k: v.get("status") for k, v in parts.items()}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the parts (or, with the internal ``--part``, one of them); returns the document written."""
    args = _args(argv)
    if args.part is not None:
        run_part(args.part, args.quick, args.part_out)
        return {}
    start = time.perf_counter()
    budget = args.budget_s or BUDGET_S
    parts: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name in args.parts:
            left = budget - (time.perf_counter() - start)
            limit = min(PART_LIMIT_S[name], left)
            if limit < 5:
                parts[name] = {"status": "skipped", "reason": f"the run's budget of {budget:g} s is spent"}
                continue
            common.progress(f"{NAME}: {name} (at most {limit:.0f} s)")
            if name == "sequence":
                parts[name] = _sequence(args.quick, tmp, limit)
            elif args.quick:  # tiny: one after another in this process, no time box
                parts[name] = run_part(name, True)
            else:
                out = tmp / f"{name}.json"
                cmd = [sys.executable, "-m", f"benchmarks.{NAME}", "--part", name, "--part-out", str(out),
                       *(["--quick"] if args.quick else [])]
                parts[name] = _subprocess_part(cmd, out, limit)
            common.progress(f"{NAME}: {name}: {parts[name].get('status')} in {time.perf_counter() - start:.1f} s")
    info = parts.get("device", {}).get("machine") or _fallback_machine()
    info = dict(info, loadavg_end=list(os.getloadavg()) if hasattr(os, "getloadavg") else None)
    command = " ".join(["python", "-m", f"benchmarks.{NAME}", *(sys.argv[1:] if argv is None else argv)])
    doc = {"benchmark": NAME, "schema": common.SCHEMA_VERSION, "quick": bool(args.quick), "command": command,
           "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": info, "install_note": args.install_note, "budget_s": budget,
           "wall_s": time.perf_counter() - start, "summary": summarise(parts), "parts": parts}
    doc = common.jsonable(doc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp_out.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    tmp_out.replace(args.out)
    print(json.dumps(doc["summary"], indent=1))
    if args.quick:
        print("--quick: tiny parts on the CPU: this checks that the GPU check runs; it CANNOT JUDGE SPEED "
              "and compares the CPU with itself")
    common.progress(f"wrote {args.out} in {doc['wall_s']:.0f} s")
    return doc


if __name__ == "__main__":
    main()
