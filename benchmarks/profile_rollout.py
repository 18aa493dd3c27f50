"""What one rollout step compiles to: the operations in the innermost loop body of our rollout.

    python -m benchmarks.profile_rollout                       # hidden 32, B = 1024, both modes
    python -m benchmarks.profile_rollout --hidden 32 --batch 1 --impl ours_vmap

Prints, for each mode, the optimized HLO's innermost ``while`` body (one time step): its
instructions by kind (dots, loop fusions, reduce fusions, ...), each fusion's root, and the
shapes of the dots. Each instruction is one kernel launched by XLA:CPU per step, so the count is
the step's fixed overhead and the dot shapes are its arithmetic. Writes
benchmarks/results/profile_rollout.json.
"""

from __future__ import annotations

import re
from collections import Counter

from benchmarks import common

_COMPUTATION = re.compile(r"^(ENTRY )?%?([\w.-]+) .*\{\s*$")
_INSTR = re.compile(r"^\s*(ROOT )?%?([\w.-]+) = (\S+) (\w[\w-]*)\(")
_WHILE_BODY = re.compile(r"body=%?([\w.-]+)")


def computations(hlo: str) -> dict[str, list[str]]:
    """Computation name -> its instruction lines, from HLO text."""
    comps, name = {}, None
    for line in hlo.splitlines():
        m = _COMPUTATION.match(line)
        if m and not line[:1].isspace():
            name = m.group(2)
            comps[name] = []
        elif name and line.strip() == "}":
            name = None
        elif name:
            comps[name].append(line)
    return comps


def innermost_body(hlo: str) -> tuple[str, list[str]]:
    """The while body that contains no further while loop (the per-step body)."""
    comps = computations(hlo)
    bodies = [m.group(1) for lines in comps.values() for line in lines
              if " while(" in line and (m := _WHILE_BODY.search(line))]
    inner = [b for b in bodies if b in comps and not any(" while(" in line for line in comps[b])]
    if not inner:
        raise ValueError("no while loop in the compiled program")
    return inner[0], comps[inner[0]]


def step_ops(lines: list[str]) -> dict:
    """Count one step's kernels by kind.

    Args:
      lines: the instruction lines of the per-step while body (``innermost_body``).

    Returns:
      ``kernels_per_step``, ``by_kind`` (op or fusion kind -> count) and ``dots`` (the dot and
      output-fusion instructions, shortened).
    """
    kinds, dots = Counter(), []
    for line in lines:
        m = _INSTR.match(line)
        if not m:
            continue
        op = m.group(4)
        if op in ("parameter", "get-tuple-element", "tuple", "constant", "bitcast"):
            continue  # free: no kernel
        if op == "fusion":
            kind = re.search(r"kind=(\w+)", line)
            op = f"fusion:{kind.group(1) if kind else '?'}"
        kinds[op] += 1
        if op in ("dot", "custom-call") or op.startswith("fusion:kOutput"):
            dots.append(line.strip().split(", metadata")[0][:200])
    return {"kernels_per_step": sum(kinds.values()), "by_kind": dict(kinds), "dots": dots}


def main(argv=None) -> dict:
    """``python -m benchmarks.profile_rollout [--hidden U --batch B --impl I --steps T]``: per mode, the step's ops."""
    def extra(p):
        p.add_argument("--hidden", type=int, default=32)
        p.add_argument("--batch", type=int, default=1024)
        p.add_argument("--impl", choices=("ours", "ours_vmap"), default="ours")
        p.add_argument("--steps", type=int, default=100)
    args = common.parse_args("profile_rollout", __doc__.splitlines()[0], argv, extra=extra)
    import jax
    import jax.numpy as jnp

    from lstm_ar.config import ModelConfig
    from lstm_ar.dynamics.batched_rollout import default_blocking, rollout_batched, weight_bytes_per_model
    from lstm_ar.dynamics.rollout import rollout
    from lstm_ar.model.forecaster import init_params
    if args.quick:
        args.hidden, args.batch, args.steps = 4, 8, 5
    model = ModelConfig(units=args.hidden, window=1)
    params = jax.jit(jax.vmap(lambda k: init_params(k, model)))(jax.random.split(jax.random.key(0), args.batch))
    ctx = jnp.asarray([0.5], jnp.float32)
    out = {}
    for mode in ("window", "stateful"):
        if args.impl == "ours":
            fn = lambda p: rollout_batched(p, ctx, args.steps, model, mode=mode)  # noqa: E731
        else:
            fn = lambda p: jax.vmap(lambda q: rollout(q, ctx, args.steps, model, mode=mode))(p)  # noqa: E731
        compiled, compile_s = common.compile_jax(fn, params)
        name, lines = innermost_body(compiled.as_text())
        ops = step_ops(lines)
        ops.update(body=name, compile_s=compile_s,
                   blocking=default_blocking(args.batch, weight_bytes_per_model(params, mode))._asdict())
        out[mode] = ops
        print(f"{mode}: {args.impl}, hidden {args.hidden}, B = {args.batch}, blocking {ops['blocking']}")
        print(f"  {ops['kernels_per_step']} kernels per step: {ops['by_kind']}")
        for d in ops["dots"]:
            print(f"  {d}")
    common.write_json(args.out, "profile_rollout", args, out, info=common.machine(with_torch=False),
                      hidden=args.hidden, batch=args.batch, impl=args.impl)
    return out


if __name__ == "__main__":
    main()
