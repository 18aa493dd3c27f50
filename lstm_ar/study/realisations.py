"""Claims over model seeds crossed with noise realisations of the data (``run_scenario`` given the scenario on
each draw): ``pool`` makes the (realisation, seed) pairs one set of seeds, so every claim is judged over both
axes; ``claim_table`` shows which verdicts depend on the draw of the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstm_ar.config import TrainConfig
from lstm_ar.data.realisations import Realisations
from lstm_ar.study.claims import VERDICTS, evaluate_claim
from lstm_ar.study.experiment import ScenarioResult, VariantResult
from lstm_ar.study.scenario import Scenario


def sine_draws(name: str, variants: dict[str, TrainConfig], data: Realisations, **fields) -> list[Scenario]:
    """One scenario per noise realisation of the sine, each judged against the noiseless continuation on the
    realisation's own scale (``lstm_ar.data.realisations``); ``fields``: more ``Scenario`` fields."""
    return [Scenario(name=name, variants=variants, series=data.series[r], truth=data.truth[r],
                     context=data.context[r], scale=float(data.scale[r]), center=0.0, **fields)
            for r in range(data.series.shape[0])]


def pool(results: Sequence[ScenarioResult]) -> ScenarioResult:
    """Stack per-realisation results: metrics f[R * S] (realisation-major), rollouts and epoch losses likewise;
    map curves, scenario and references of the first. ValueError if variants or seed counts differ."""
    if not results:
        raise ValueError("pool needs at least one result")
    first = results[0]
    for res in results[1:]:
        if list(res.variants) != list(first.variants) or res.seeds != first.seeds:
            raise ValueError("results to pool must have the same variants and seed count")
    variants = {}
    for name, v in first.variants.items():
        parts = [res.variants[name] for res in results]
        variants[name] = VariantResult(metrics={k: np.concatenate([p.metrics[k] for p in parts]) for k in v.metrics},
                                       rollouts=np.concatenate([p.rollouts for p in parts]),
                                       epoch_loss=np.concatenate([p.epoch_loss for p in parts]), map_curve=v.map_curve)
    return first._replace(seeds=first.seeds * len(results), variants=variants,
                          runtime_s=sum(r.runtime_s for r in results))


def claim_table(results: Sequence[ScenarioResult]) -> list[dict]:
    """Per claim (JSON-ready): id, text, pooled (verdict over all pairs), per_realisation (verdicts), agree
    (realisations matching pooled), opposite (decided the other way: the draw changes the verdict), undecided
    (too few seeds alone to decide: sample size, not a change)."""
    pooled = pool(results)
    rows = []
    for claim in pooled.scenario.claims:
        overall = evaluate_claim(claim, {name: v.metrics for name, v in pooled.variants.items()})
        each = [evaluate_claim(claim, {n: v.metrics for n, v in r.variants.items()})["verdict"] for r in results]
        supported, contradicted, undecided = VERDICTS[claim.source]
        opposite = {supported: contradicted, contradicted: supported}.get(overall["verdict"])
        rows.append({"id": claim.id, "text": claim.text, "pooled": overall, "per_realisation": each,
                     "agree": sum(v == overall["verdict"] for v in each),
                     "opposite": sum(v == opposite for v in each) if opposite else 0,
                     "undecided": sum(v == undecided for v in each)})
    return rows
