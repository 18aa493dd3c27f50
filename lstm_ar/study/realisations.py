"""Claims over model seeds crossed with noise realisations of the data (``run_scenario`` given the scenario on
each draw): ``claim_table`` judges every claim over both axes, with intervals that resample both
(``lstm_ar.study.stats``), and on each draw alone, so it shows which verdicts depend on the draw of the data.
"""

from __future__ import annotations

from lstm_ar.config import TrainConfig
from lstm_ar.data.realisations import Realisations
from lstm_ar.study.claims import VERDICTS, evaluate_claim
from lstm_ar.study.experiment import ScenarioResult
from lstm_ar.study.scenario import Scenario


def sine_draws(name: str, variants: dict[str, TrainConfig], data: Realisations, **fields) -> list[Scenario]:
    """One scenario per noise realisation of the sine, each judged against the noiseless continuation on the
    realisation's own scale (``lstm_ar.data.realisations``); ``fields``: more ``Scenario`` fields."""
    return [Scenario(name=name, variants=variants, series=data.series[r], truth=data.truth[r],
                     context=data.context[r], scale=float(data.scale[r]), center=0.0, **fields)
            for r in range(data.series.shape[0])]


def claim_table(result: ScenarioResult) -> list[dict]:
    """Per claim of a run over draws (per-seed values f[n_seeds, n_draws]; JSON-ready): id, text, pooled (the
    verdict over seeds x draws, with crossed intervals and the per-draw shares), per_realisation (verdicts),
    per_verdict (how many draws reach each verdict: supported, contradicted, undecided), flips (draws decided the
    minority way, the smaller of the supported and contradicted counts: on how many draws the verdict turns with
    the draw of the data, whatever the pooled verdict), agree (realisations matching pooled), opposite (decided
    against a decided pooled verdict; 0 where pooled is undecided, which ``flips`` does not hide), undecided (too
    few seeds alone to decide: sample size, not a change)."""
    rows = []
    for claim in result.scenario.claims:
        overall = evaluate_claim(claim, {name: v.metrics for name, v in result.variants.items()})
        each = [evaluate_claim(claim, {n: v.metrics for n, v in result.draw(r).variants.items()})["verdict"]
                for r in range(result.draws)]
        supported, contradicted, undecided = VERDICTS[claim.source]
        opposite = {supported: contradicted, contradicted: supported}.get(overall["verdict"])
        per_verdict = {v: each.count(v) for v in (supported, contradicted, undecided)}
        rows.append({"id": claim.id, "text": claim.text, "pooled": overall, "per_realisation": each,
                     "per_verdict": per_verdict, "flips": min(per_verdict[supported], per_verdict[contradicted]),
                     "agree": sum(v == overall["verdict"] for v in each),
                     "opposite": sum(v == opposite for v in each) if opposite else 0,
                     "undecided": sum(v == undecided for v in each)})
    return rows
