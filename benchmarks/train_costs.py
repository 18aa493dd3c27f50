"""Where the training benchmark's time goes: FLOPs and bytes per seed-step, the floor, a profile.

``step_cost`` reads XLA's cost analysis of one compiled training step (what the program does)
next to a by-hand minimum for the window-1 model (what any program must do); ``floors`` turns
both into seconds per 1000 seeds of the suite at the machine's measured limit
(``hardware.hardware_limit``); ``profile_ours`` runs ours once under ``jax.profiler`` and totals
the time per XLA operation.
"""

from __future__ import annotations

from typing import Any

from benchmarks import common, hardware, suite
from benchmarks.suite import Variant


def step_cost(v: Variant, n: int) -> dict[str, Any]:
    """FLOPs / bytes / transcendentals per seed-step of one variant.

    XLA's cost analysis of one compiled training step (ours, vmapped over n seeds; what the
    program does) and a by-hand minimum for the window-1 model (what any program must do).

    Args:
      v: a variant of the seed suite.
      n: seeds the step is vmapped over (the figures are per seed).

    Returns:
      ``variant, n_seeds, xla_flops, xla_bytes, xla_transcendentals, ideal_flops, ideal_bytes,
      trainable_parameters``.
    """
    import jax

    config, hyper = v.config, v.config.hyper
    b = config.batch_size
    program = suite.step_program(config, v.data, n)  # the library's step functions, wrapped in suite.py
    compact = program.layout == "first_step"

    def xla_cost(fn, *args) -> dict:
        cost = jax.jit(fn).lower(*args).compile().cost_analysis()
        return cost[0] if isinstance(cost, (list, tuple)) else cost

    costs = [xla_cost(fn, *args) for fn, args in program.parts]
    cost = {k: sum(c.get(k, 0.0) for c in costs) for k in ("flops", "bytes accessed", "transcendentals")}
    u = config.model.units
    trainable = program.trainable
    # By hand, per example and unit (window 1): forward z (3 gates x mul+add), c = i*g, h = o*act(c),
    # head mul+add: ~11 FLOPs and 4 transcendental-class ops (two sigmoids, two activations);
    # backward about twice that. Adam: ~12 FLOPs per trainable parameter.
    ideal_flops = b * u * 33 + 12 * trainable
    if compact and float(hyper.output_dropout) > 0:
        # JAX's stream: one Threefry-2x32 hash (~120 integer ops) per mask value, and 4 per
        # example for its keys (split into the batch, then into input/recurrent/output)
        ideal_flops += 120 * (b * u + 4 * b)
    # Minimum traffic: read and write the parameters and both Adam moments, read the batch.
    ideal_bytes = 4 * (2 * 3 * trainable + 2 * b)
    return {"variant": v.name, "n_seeds": n,
            "xla_flops": cost.get("flops", 0.0) / n, "xla_bytes": cost.get("bytes accessed", 0.0) / n,
            "xla_transcendentals": cost.get("transcendentals", 0.0) / n,
            "ideal_flops": ideal_flops, "ideal_bytes": ideal_bytes, "trainable_parameters": trainable}


def floors(costs: list[dict], variants: list[Variant], limit: dict) -> dict[str, Any]:
    """Seconds per 1000 seeds of the suite at the machine limit, for XLA's and the ideal counts.

    Args:
      costs: ``step_cost`` of each variant.
      variants: the suite (for the steps per seed).
      limit: ``hardware.hardware_limit()``.

    Returns:
      ``{"xla": ..., "ideal": ...}``, each with ``flops_per_seed, bytes_per_seed,
      floor_s_per_1000, floor_s_per_1000_in_cache``.
    """
    steps = {v.name: v.steps for v in variants}
    out = {}
    for kind in ("xla", "ideal"):
        flops = sum(c[f"{kind}_flops"] * steps[c["variant"]] for c in costs)
        bytes_ = sum(c[f"{kind}_bytes"] * steps[c["variant"]] for c in costs)
        out[kind] = {"flops_per_seed": flops, "bytes_per_seed": bytes_,
                     "floor_s_per_1000": 1000 * hardware.floor_seconds(flops, bytes_, limit),
                     # the same bytes at the in-cache rate (intermediates that stay in L2)
                     "floor_s_per_1000_in_cache": 1000 * max(flops / limit["flops_per_s"],
                                                             bytes_ / limit["cache_bytes_per_s"])}
    return out


def profile_ours(v: Variant, n: int, top: int = 25) -> list[dict[str, Any]]:
    """Run the per-device program of ours (``jax.vmap(train)`` of n seeds, one device) once under
    jax.profiler; total time per XLA op (thunk) name, largest first. With several devices each
    runs this same program on its share of the seeds."""
    import collections
    import glob
    import tempfile

    import jax
    from jax.profiler import ProfileData

    keys = suite.seed_keys(0, 0, n)
    compiled, _ = common.compile_jax(jax.vmap(suite.make_train(v.config, v.data)), keys)
    jax.block_until_ready(compiled(keys))
    with tempfile.TemporaryDirectory() as d:
        with jax.profiler.trace(d):
            jax.block_until_ready(compiled(keys))
        data = ProfileData.from_file(glob.glob(f"{d}/**/*.xplane.pb", recursive=True)[0])
    total, count = collections.Counter(), collections.Counter()
    for plane in data.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_XLA"):
                continue  # XLA's worker threads only (python and client lines nest the same time)
            for ev in line.events:
                total[ev.name] += ev.duration_ns
                count[ev.name] += 1
    skip = ("ThunkExecutor", "while")  # containers: their time is their children's
    rows = [{"op": k, "ms": v_ / 1e6, "calls": count[k]} for k, v_ in total.most_common()
            if not k.startswith(skip)]
    return rows[:top]
