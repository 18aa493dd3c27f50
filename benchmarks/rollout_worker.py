"""The rollout benchmark's measuring side: groups of (hidden, B) models in a fresh process.

``benchmarks/rollout.py`` runs ``python -m benchmarks.rollout_worker SPEC_JSON OUT_JSON`` once
per group so each group's peak resident memory is its own. ``worker`` splits the CPU into devices
first (before JAX starts), then ``measure_group`` builds B Keras-initialised models and times ours
first (both modes), then each peer (``benchmarks.peers``) on the same weights, checking every
peer's first predictions against ours.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import common

MODES = ("window", "stateful")
X0 = 0.5          # the one-value context every model starts from
CHECK_STEPS = 20  # predictions compared with ours


def distinct_models(u: int, n_models: int) -> int:
    """How many of B models get their own Keras initialisation; the rest are copies (see _weights).

    Args:
      u: hidden units.
      n_models: B.

    Returns:
      min(B, max(1, 2**22 // u**2)).
    """
    return min(n_models, max(1, 2 ** 22 // (u * u)))


def _weights(u: int, n_models: int):
    """B stacked models. The first ``distinct_models`` are Keras-initialised from their own keys
    and tiled to B: every model still has its own copy of the weights in memory (the work and
    traffic of B models), but XLA:CPU's orthogonal initialisation (a QR per model) would take
    minutes at B = 1024, hidden 128 (measured 129 s with the batched QR, before
    ``lstm_ar.kernels.linalg``; ``lax.map`` here was 2.3x faster)."""
    import jax
    import jax.numpy as jnp

    from lstm_ar.config import ModelConfig
    from lstm_ar.model.forecaster import init_params
    model = ModelConfig(units=u, window=1)
    k = distinct_models(u, n_models)
    keys = jax.random.split(jax.random.key(0), k)
    params = jax.jit(lambda ks: jax.lax.map(lambda key: init_params(key, model), ks))(keys)
    reps = -(-n_models // k)
    params = jax.tree.map(lambda a: jnp.tile(a, (reps,) + (1,) * (a.ndim - 1))[:n_models], params)
    return model, jax.block_until_ready(params)


def _numpy_weights(params) -> dict:
    import numpy as np
    lstm, dense = params["lstm"], params["dense"]
    arrays = {"kernel": lstm["kernel"][:, 0, :], "recurrent": lstm["recurrent_kernel"], "bias": lstm["bias"],
              "dense": dense["kernel"][:, :, 0], "dense_bias": dense["bias"][:, 0]}
    return {k: np.array(v, np.float32, copy=True) for k, v in arrays.items()}  # writable copies


def _jax_build(impl: str, params, model, mode: str):
    """n -> (call returning f32[B, n], compile seconds) for ours, ours_vmap and jit_step_loop."""
    import jax
    import jax.numpy as jnp

    from lstm_ar.dynamics.batched_rollout import rollout_batched
    from lstm_ar.dynamics.rollout import rollout
    ctx = jnp.asarray([X0], jnp.float32)

    if impl in ("ours", "ours_vmap"):
        def build(n):
            if impl == "ours":
                fn = lambda p, c: rollout_batched(p, c, n, model, mode=mode)  # noqa: E731
            else:
                fn = lambda p, c: jax.vmap(lambda q: rollout(q, c, n, model, mode=mode))(p)  # noqa: E731
            compiled, compile_s = common.compile_jax(fn, params, ctx)
            # Laid out as the program wants them (split over the devices) once, outside the timing.
            args = jax.block_until_ready(jax.device_put((params, ctx), compiled.input_shardings[0]))
            return (lambda: compiled(*args)), compile_s
        return build

    from benchmarks.peers import jax_loops
    return jax_loops.jit_step_loop(params, model, mode, X0)


def _peer_build(impl: str, weights: dict, mode: str):
    from benchmarks import peers
    peer = peers.rollout_peer(impl, weights, mode, X0)
    return (lambda n: ((lambda: peer.run(n)), None)), peer.note


def _measure(build, steps: int, budget_s: float, reps: int, ours_first=None, min_time_s: float = 0.0) -> dict:
    """Time build(n)'s call (n <= steps chosen so a run takes about budget_s); peak RSS too."""
    import numpy as np
    probe = min(steps, 10)
    with common.PeakRSS() as rss:
        call, compile_s = build(steps if budget_s == math.inf else probe)
        n = steps if budget_s == math.inf else probe
        if n < steps:
            per_step = common.time_call(call, reps=1, warmup=1).median_s / n
            n = steps if per_step * steps <= budget_s else max(probe, min(steps, int(budget_s / per_step)))
            if n != probe:
                call, compile_s = build(n)  # the compile of the program that is timed
        out = np.asarray(call())  # the warm-up run; its predictions are checked below
        timing = common.time_call(call, reps=reps, warmup=0, compile_s=compile_s, min_time_s=min_time_s,
                                  max_reps=50)
    rec = {"steps_measured": n, "extrapolated": n < steps, **timing.as_dict(), **rss.result(),
           "s_per_step": timing.median_s / n, "cpu_s_per_step": timing.cpu_median_s / n}
    if ours_first is not None:
        k = min(CHECK_STEPS, n, ours_first.shape[1])
        rec["max_abs_diff_vs_ours"] = float(np.max(np.abs(out[:, :k] - ours_first[:, :k])))
    return rec, out


def measure_group(u: int, n_models: int, spec: dict) -> list[dict]:
    """All implementations and modes for one (u, B); ours first, torch imported only after.

    Args:
      u: hidden units.
      n_models: B.
      spec: ``worker``'s spec (steps, budget_s, reps, min_time_s, peers, torch_compile_hidden,
        keras_python).

    Returns:
      One record per (mode, implementation): ``status`` ok (with the timing, peak RSS and
      ``max_abs_diff_vs_ours``), skipped or unavailable (with ``reason``).
    """
    from benchmarks.peers import PeerUnavailable
    from benchmarks.peers.torch_rollout import torch_threads
    steps, budget, reps = spec["steps"], spec["budget_s"], spec["reps"]
    model, params = _weights(u, n_models)
    records, ours_out = [], {}
    base = {"hidden": u, "batch": n_models, "steps": steps, "distinct_models": distinct_models(u, n_models)}
    for mode in MODES:
        common.progress(f"u={u} B={n_models} {mode}: ours")
        rec, out = _measure(_jax_build("ours", params, model, mode), steps, math.inf, reps,
                            min_time_s=spec["min_time_s"])
        ours_out[mode] = out[:, :CHECK_STEPS]
        records.append({**base, "mode": mode, "impl": "ours", "status": "ok", **rec})
    weights = _numpy_weights(params)
    for mode in MODES:
        for impl in spec["peers"]:
            row = {**base, "mode": mode, "impl": impl}
            if impl == "torch_compile" and u not in spec["torch_compile_hidden"]:
                records.append({**row, "status": "skipped",
                                "reason": f"torch.compile tried only at hidden {spec['torch_compile_hidden']} "
                                          "(compile time; --torch-compile-hidden)"})
                continue
            common.progress(f"u={u} B={n_models} {mode}: {impl}")
            if impl in ("keras", "keras_jax"):
                records.append({**row, **measure_keras(weights, mode, steps, spec, ours_out[mode], impl)})
                continue
            try:
                if impl in ("ours_vmap", "jit_step_loop"):
                    build, note = _jax_build(impl, params, model, mode), None
                else:
                    build, note = _best_threads(impl, weights, mode)
                rec, _ = _measure(build, steps, budget, reps, ours_out[mode], min_time_s=spec["min_time_s"])
                records.append({**row, "status": "ok", "note": note, **rec,
                                "torch_threads": torch_threads(None) if "torch" in impl else None})
            except PeerUnavailable as e:
                records.append({**row, "status": "unavailable", "reason": str(e)})
    return records


def measure_keras(weights: dict, mode: str, steps: int, spec: dict, ours_first, peer: str = "keras") -> dict:
    """Keras's rollout loop (B = 1), run by ``benchmarks/peers/keras_script.py`` on TensorFlow in a
    Python with TensorFlow (``peer="keras"``) or on JAX in this Python (``"keras_jax"``); the
    fastest of its ways to call the model whose predictions agree with ``model(x)``'s is the
    figure (all are recorded).

    Args:
      weights: the models' numpy weights (``benchmarks.peers.rollout_peer``'s layout).
      mode: ``"window"`` or ``"stateful"``.
      steps: rollout length.
      spec: ``worker``'s spec (``budget_s``, ``keras_python``; ``keras_warmup``, untimed steps per
        way of calling, default 5).
      ours_first: ours' first predictions ``f32[B, k]``, for the agreement check.
      peer: ``"keras"`` or ``"keras_jax"``.

    Returns:
      The record's fields: ``status`` ok with the timing, or skipped/unavailable with ``reason``.
    """
    import numpy as np

    from benchmarks.peers import keras as keras_peer
    if weights["kernel"].shape[0] != 1:
        return {"status": "skipped", "reason": "one Keras model per seed: measured at B = 1 only"}
    python, how = keras_peer.find_python(peer, spec.get("keras_python"))
    if python is None:
        return {"status": "unavailable", "reason": how}
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "weights.npz"
        np.savez(path, **weights)
        try:
            out = keras_peer.run_peer(python, ["rollout", "--weights", str(path), "--mode", mode,
                                               "--steps", str(steps), "--x0", str(X0),
                                               "--warmup", str(spec.get("keras_warmup", 5)),
                                               "--budget-s", str(max(3.0, 3 * spec["budget_s"]))],
                                      backend=keras_peer.BACKENDS[peer])
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            return {"status": "unavailable", "reason": f"the Keras peer failed: {e}"}
    best = out["entries"][out["best"]]
    first = np.asarray(best["first_predictions"], np.float32)[None, :]
    k = min(CHECK_STEPS, first.shape[1], ours_first.shape[1])
    excluded = f" (excluded, predictions differ from model(x)'s: {out['excluded']})" if out.get("excluded") else ""
    return {"status": "ok", "note": f"Keras {out['keras']} ({out['backend']}), best of {sorted(out['entries'])}"
                                    f"{excluded}: {out['best']}; {out['note']}; python: {how}",
            "s_per_step": best["us_per_step"] * 1e-6, "cpu_s_per_step": None,
            "steps_measured": best["steps_measured"], "extrapolated": best["steps_measured"] < steps,
            "median_s": best["seconds"], "compile_s": None, "peak_rss_bytes": None,
            "max_abs_diff_vs_ours": float(np.max(np.abs(first[:, :k] - ours_first[:, :k]))),
            "keras": {name: {kk: vv for kk, vv in e.items() if kk != "first_predictions"}
                      for name, e in out["entries"].items()}}


def _best_threads(impl: str, weights: dict, mode: str):
    """PyTorch peers: pick the faster of 1 thread and all cores on a short probe (shared machine)."""
    from benchmarks.peers.torch_rollout import torch_threads
    build, note = _peer_build(impl, weights, mode)
    if not impl.startswith("torch"):
        return build, note
    call, _ = build(10)
    timings = {}
    from lstm_ar.runtime.distributed import available_cores
    for threads in sorted({1, available_cores()}):
        torch_threads(threads)
        timings[threads] = common.time_call(call, reps=2, warmup=1).median_s
    best = min(timings, key=timings.get)
    torch_threads(best)
    return build, f"{note}; threads probed {timings} -> {best}"


def worker(spec_json: str, out_path: str) -> None:
    """Measure every group of ``spec_json`` and write the records (a JSON list) to ``out_path``.

    Args:
      spec_json: ``benchmarks.rollout.main``'s spec: steps, budget_s, reps, min_time_s, peers,
        torch_compile_hidden, cpu_devices, keras_python, and groups ``[[hidden, B], ...]``.
      out_path: where the records go.
    """
    from lstm_ar.runtime.distributed import use_cpu_cores
    spec = json.loads(spec_json)
    use_cpu_cores(spec["cpu_devices"])  # before JAX starts
    records = [r for u, b in spec["groups"] for r in measure_group(u, b, spec)]
    Path(out_path).write_text(json.dumps(common.jsonable(records)))


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.rollout_worker SPEC_JSON OUT_JSON`` (started by ``benchmarks.rollout``)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m benchmarks.rollout_worker SPEC_JSON OUT_JSON "
                         "(started by python -m benchmarks.rollout)")
    worker(*args)


if __name__ == "__main__":
    main()
