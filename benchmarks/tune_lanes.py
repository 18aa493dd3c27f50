"""Sweep the lanes (seeds vmapped at once on one device) of sequence-model training.

    python -m benchmarks.tune_lanes                      # windows 5, 20, 50; lanes 1..256
    python -m benchmarks.tune_lanes --quick

One-step training of the ``context`` experiment's LSTM(32, relu) on windows of its noisy sine
(``benchmarks.suite.make_train``: the library's fast ``make_train``, one epoch), ``vmap`` over ``lanes``
seeds on one CPU device. Prints microseconds per seed-step (wall and per CPU-second: on a shared
machine the CPU time ranks fairly), marks the library's default (``lstm_ar.runtime.sweep.cache_lanes``)
and checks that every lane count gives the first seeds the same parameters, bit for bit.
Writes benchmarks/results/tune_lanes.json: the evidence behind ``cache_lanes``.
"""

from __future__ import annotations

from benchmarks import common
from benchmarks.sequence_suite import context_training
from benchmarks.suite import make_train


def _extra(p):
    p.add_argument("--windows", type=common.ints, default=(5, 20, 50))
    p.add_argument("--lanes", type=common.ints, default=(1, 2, 4, 8, 16, 64, 256))
    p.add_argument("--reps", type=int, default=2)


def main(argv=None) -> list[dict]:
    """``python -m benchmarks.tune_lanes [...]``: one row per (window, lanes)."""
    args = common.parse_args("tune_lanes", __doc__.splitlines()[0], argv, extra=_extra)
    import jax
    import numpy as np

    from lstm_ar.runtime.sweep import cache_lanes

    units = 4 if args.quick else 32
    if args.quick:
        args.windows, args.lanes, args.reps = (3,), (1, 2), 1
    info = common.machine(with_torch=False)
    rows = []
    for w in args.windows:
        config, data = context_training(w, units=units, quick=args.quick)
        train = make_train(config, data)
        steps = -(-data.x.shape[0] // config.batch_size)
        first = None
        default = min(cache_lanes(w, config.batch_size, units), max(args.lanes))
        for lanes in sorted(set(args.lanes) | {default}):
            keys = jax.random.split(jax.random.key(0), lanes)
            fn = jax.vmap(lambda k: train(k).params)
            compiled, compile_s = common.compile_jax(fn, keys)
            wall, cpu = common.time_wall_and_cpu(lambda: compiled(keys), reps=args.reps)
            params = jax.tree.map(np.asarray, compiled(keys))
            head = jax.tree.map(lambda a: a[:min(args.lanes)], params)
            first = head if first is None else first
            same = all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(head), jax.tree.leaves(first)))
            seed_steps = lanes * steps
            rows.append({"window": w, "lanes": lanes, "default": lanes == default, "compile_s": compile_s,
                         "us_per_seed_step_wall": 1e6 * wall / seed_steps, "us_per_seed_step_cpu": 1e6 * cpu / seed_steps,
                         "cores_busy": cpu / wall, "same_params_as_fewest_lanes": same})
            common.progress(f"window {w} lanes {lanes}: {rows[-1]['us_per_seed_step_cpu']:.0f} us CPU per seed-step"
                            f"{' (default)' if lanes == default else ''}{'' if same else ' PARAMETERS DIFFER'}")
    common.print_table(rows, ["window", "lanes", "default", "us_per_seed_step_wall", "us_per_seed_step_cpu",
                              "cores_busy", "same_params_as_fewest_lanes"])
    if args.quick:
        print("quick mode: tiny shapes, cannot judge speed; the full run is benchmarks/results/tune_lanes.json")
    common.write_json(args.out, "tune_lanes", args, rows, info=info, units=units, epochs=1)
    return rows


if __name__ == "__main__":
    main()
