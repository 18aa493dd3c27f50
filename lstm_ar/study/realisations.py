"""Claims over two sources of randomness: model seeds crossed with noise realisations of the data.

A scenario's seeds vary the initialisation, the shuffling and the dropout masks, but its data is
one draw. ``run_realisations`` builds the scenario once per noise realisation (``build(r)``), runs
the same seeds on each, and ``pool`` stacks the per-seed results into one ``ScenarioResult`` whose
"seeds" are the (realisation, seed) pairs, realisation-major, so that ``summarise`` judges every
claim over both axes. ``claim_table`` sets each claim's verdict on every single realisation beside
the pooled one, to show which verdicts depend on the draw of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lstm_ar.study.claims import VERDICTS, evaluate_claim
from lstm_ar.study.experiment import ScenarioResult, VariantResult, run_scenario
from lstm_ar.study.scenario import Scenario


def run_realisations(build: Callable[[int], Scenario], realisations: int, n_seeds: int, *, progress: bool = True,
                     **run_kwargs) -> list[ScenarioResult]:
    """``run_scenario(build(r), n_seeds)`` for r = 0..realisations-1 (same seeds each time).

    Args:
      build: realisation index -> the scenario on that draw of the data (same variants and claims).
      realisations: how many (>= 1).
      n_seeds: model seeds per realisation.
      progress, run_kwargs: passed to ``run_scenario``.

    Returns:
      One ``ScenarioResult`` per realisation.
    """
    if isinstance(realisations, bool) or not isinstance(realisations, int) or realisations < 1:
        raise ValueError(f"realisations must be an int >= 1, got {realisations!r}")
    return [run_scenario(build(r), n_seeds, progress=progress, **run_kwargs) for r in range(realisations)]


def pool(results: Sequence[ScenarioResult]) -> ScenarioResult:
    """Stack per-realisation results of one scenario: per variant, metrics f[R * S] (realisation-major),
    rollouts and epoch losses likewise, map curves of the first realisation. The scenario (and its
    references) are the first realisation's.

    Raises:
      ValueError: the results differ in variants or seed counts (they would not pair).
    """
    if not results:
        raise ValueError("pool needs at least one result")
    first = results[0]
    for res in results[1:]:
        if list(res.variants) != list(first.variants) or res.seeds != first.seeds:
            raise ValueError("results to pool must have the same variants and seed count")
    variants = {}
    for name, v in first.variants.items():
        parts = [res.variants[name] for res in results]
        variants[name] = VariantResult(
            metrics={k: np.concatenate([p.metrics[k] for p in parts]) for k in v.metrics},
            rollouts=np.concatenate([p.rollouts for p in parts]),
            epoch_loss=np.concatenate([p.epoch_loss for p in parts]),
            map_curve=v.map_curve)
    return first._replace(seeds=first.seeds * len(results), variants=variants,
                          runtime_s=sum(r.runtime_s for r in results))


def claim_table(results: Sequence[ScenarioResult]) -> list[dict]:
    """Per claim: its verdict on each realisation alone and over all pairs (JSON-ready).

    Returns:
      [{id, text, pooled (the verdict dict over all pairs), per_realisation [verdict words],
        agree (realisations whose verdict equals the pooled one), opposite (realisations decided
        the other way: the draw of the data changes the verdict), undecided (realisations whose
        own seeds were too few to decide: a sample-size effect, not a change)}].
    """
    pooled = pool(results)
    metrics = {name: v.metrics for name, v in pooled.variants.items()}
    rows = []
    for claim in pooled.scenario.claims:
        overall = evaluate_claim(claim, metrics)
        each = [evaluate_claim(claim, {n: v.metrics for n, v in r.variants.items()})["verdict"] for r in results]
        supported, contradicted, undecided = VERDICTS[claim.source]
        opposite = {supported: contradicted, contradicted: supported}.get(overall["verdict"])
        rows.append({"id": claim.id, "text": claim.text, "pooled": overall, "per_realisation": each,
                     "agree": sum(v == overall["verdict"] for v in each),
                     "opposite": sum(v == opposite for v in each) if opposite else 0,
                     "undecided": sum(v == undecided for v in each)})
    return rows
