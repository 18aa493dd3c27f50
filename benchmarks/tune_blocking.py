"""Sweep ``rollout_batched``'s blocking (models per block, scan unroll).

    python -m benchmarks.tune_blocking --hidden 32 --batch 1024 --mode stateful
    python -m benchmarks.tune_blocking --quick

Prints seed-steps per second (wall and per CPU-second) for each (block, unroll) and the library's
default choice;
writes benchmarks/results/tune_blocking.json. ``lstm_ar.dynamics.batched_rollout.default_blocking`` was
chosen from these sweeps.
"""

from __future__ import annotations

from benchmarks import common


def _extra(p):
    p.add_argument("--hidden", type=common.ints, default=(32,))
    p.add_argument("--batch", type=common.ints, default=(1024,))
    p.add_argument("--mode", default="stateful,window")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--blocks", type=common.ints, default=(4, 8, 16, 32, 64, 128, 256, 1024))
    p.add_argument("--unroll", type=common.ints, default=(1, 2))
    p.add_argument("--reps", type=int, default=5)


def main(argv=None) -> list[dict]:
    """``python -m benchmarks.tune_blocking [...]``: one row per (hidden, B, mode, block, unroll)."""
    args = common.parse_args("tune_blocking", __doc__.splitlines()[0], argv, extra=_extra)
    import jax
    import jax.numpy as jnp

    from lstm_ar.config import ModelConfig
    from lstm_ar.dynamics.batched_rollout import default_blocking, rollout_batched, weight_bytes_per_model
    from lstm_ar.model.forecaster import init_params
    if args.quick:
        args.hidden, args.batch, args.steps, args.blocks, args.unroll = (4,), (8,), 10, (2, 8), (1,)
    info = common.machine(with_torch=False)
    ctx = jnp.asarray([0.5], jnp.float32)
    rows = []
    for u in args.hidden:
        model = ModelConfig(units=u, window=1)
        for b in args.batch:
            params = jax.block_until_ready(
                jax.jit(jax.vmap(lambda k: init_params(k, model)))(jax.random.split(jax.random.key(0), b)))
            for mode in args.mode.split(","):
                default = default_blocking(b, weight_bytes_per_model(params, mode))
                configs = sorted({(min(bl, b), un) for bl in args.blocks for un in args.unroll} | {tuple(default)})
                for bl, un in configs:
                    fn = lambda p, c: rollout_batched(p, c, args.steps, model, mode=mode,  # noqa: E731
                                                      block=bl, unroll=un)
                    compiled, compile_s = common.compile_jax(fn, params, ctx)
                    wall, cpu = common.time_wall_and_cpu(lambda: compiled(params, ctx), reps=args.reps)
                    seed_steps = b * args.steps
                    rows.append({"hidden": u, "batch": b, "mode": mode, "block": bl, "unroll": un,
                                 "default": (bl, un) == tuple(default), "compile_s": compile_s,
                                 "seed_steps_per_s": seed_steps / wall, "seed_steps_per_cpu_s": seed_steps / cpu,
                                 "cores_busy": cpu / wall})
                    common.progress(f"u={u} B={b} {mode} block={bl} unroll={un}: "
                                    f"{rows[-1]['seed_steps_per_s'] / 1e6:.2f} M seed-steps/s, "
                                    f"{rows[-1]['seed_steps_per_cpu_s'] / 1e6:.2f} M per CPU-second")
    common.print_table(rows, ["hidden", "batch", "mode", "block", "unroll", "default", "seed_steps_per_s",
                              "seed_steps_per_cpu_s", "cores_busy"])
    common.write_json(args.out, "tune_blocking", args, rows, info=info, steps=args.steps)
    return rows


if __name__ == "__main__":
    main()
