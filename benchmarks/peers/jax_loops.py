"""JAX peers that keep the loop in Python: what a JAX user writes before batching everything.

* ``jit_step_loop`` (rollout): a Python loop over one jitted step of all B models (the library's
  cell and head, ``jax.vmap`` over the models), one dispatch per time step.
* ``python_loop`` (training): a Python loop over single-seed runs of the jitted ``make_train``,
  one compile per variant, then one call per seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks import common, suite


def jit_step_loop(params: Any, model: Any, mode: str, x0: float) -> Callable[[int], tuple[Callable[[], Any], float]]:
    """The rollout of B models as a Python loop over one jitted, vmapped step.

    Args:
      params: the forecasters' parameters with a leading model axis B.
      model: their ``ModelConfig`` (window 1).
      mode: ``"window"`` (zero state every step) or ``"stateful"`` (state carried).
      x0: the start value.

    Returns:
      ``build(n) -> (call, compile seconds)``; ``call()`` returns the predictions ``f32[B, n]``.
    """
    import jax
    import jax.numpy as jnp

    from lstm_ar.model.cell import lstm_first_step, lstm_step
    from lstm_ar.model.forecaster import head

    kw = dict(activation=model.activation, recurrent_activation=model.recurrent_activation)

    def first(p, y):  # -> (carry, prediction) of one model
        carry, h = lstm_first_step(p["lstm"], y[None], **kw)
        return carry, head(p, h)[0]

    def one_step(p, carry, y):
        if mode == "window":
            return first(p, y)
        carry, h = lstm_step(p["lstm"], carry, y[None], **kw)
        return carry, head(p, h)[0]

    n_models = jax.tree.leaves(params)[0].shape[0]
    start = jax.jit(jax.vmap(first))
    stepper, compile_s = common.compile_jax(jax.vmap(one_step), params, *start(params, jnp.full((n_models,), x0)))

    def build(n: int):
        def run():
            carry, y = start(params, jnp.full((n_models,), x0, jnp.float32))
            ys = []
            for _ in range(n):
                ys.append(y)
                carry, y = stepper(params, carry, y)
            return jnp.stack(ys, axis=1)
        return run, compile_s
    return build


def python_loop(variants: Sequence[suite.Variant], ns: Sequence[int]) -> tuple[dict[int, list[dict]], dict]:
    """Train seeds one after another with a jitted single-seed ``make_train``, timing as it goes.

    One compile per variant, then ``max(ns)`` calls one after another; the time after the first
    n calls gives the figure for each n.

    Args:
      variants: the suite's variants.
      ns: seed counts to report.

    Returns:
      (n -> per-variant records: ``variant, steps_per_seed, compile_s, run_s, final_loss_median``;
      peak resident memory of the whole loop, ``common.PeakRSS.result()``).
    """
    import jax
    import numpy as np

    ns = tuple(sorted(ns))
    keys = suite.seed_keys(0, 0, ns[-1])
    per_n: dict[int, list] = {n: [] for n in ns}
    with common.PeakRSS() as mem:
        for v in variants:
            compiled, compile_s = common.compile_jax(suite.make_train(v.config, v.data), keys[0])
            jax.block_until_ready(compiled(keys[0]))  # warm-up
            losses, start = [], time.perf_counter()
            for i in range(ns[-1]):
                losses.append(float(jax.block_until_ready(compiled(keys[i])).epoch_loss[-1]))
                if i + 1 in per_n:
                    per_n[i + 1].append({"variant": v.name, "steps_per_seed": v.steps, "compile_s": compile_s,
                                         "run_s": time.perf_counter() - start,
                                         "final_loss_median": float(np.median(losses))})
            common.progress(f"python_loop N={ns[-1]} {v.name}: run {time.perf_counter() - start:.2f}s")
    return per_n, mem.result()
