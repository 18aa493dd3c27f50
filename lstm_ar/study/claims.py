"""Claims as data, and verdicts computed from per-seed measurements.

A claim is one sentence of the source article tied to a measurement:

* ``RateClaim``: "variant V does X": a per-seed predicate ``metric op value`` must hold for a
  majority of seeds. Verdict from the Wilson 95% interval of the proportion: ``reproduced`` if
  it lies above 50%, ``not reproduced`` if it lies below, else ``inconclusive``. A seed whose
  metric is not finite (diverged) does not satisfy the predicate.
* ``PairedClaim``: "A beats B on metric": the paired probability that A beats B over the same
  seeds must exceed 0.5. Verdict from its bootstrap 95% interval the same way (an interval of
  exactly [0.5, 0.5], no difference at all, is ``not reproduced``). A diverged seed counts as the
  worst possible value of its variant.

Nothing here knows the answer in advance: verdicts are functions of the numbers.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping

import numpy as np

from lstm_ar.study import stats

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
_OPS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}

Metrics = Mapping[str, Mapping[str, np.ndarray]]  # variant -> metric -> f[n_seeds]


@dataclasses.dataclass(frozen=True)
class RateClaim:
    id: str
    text: str
    variant: str
    metric: str
    op: str
    value: float
    meaning: str  # what the predicate says, in words

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}, got {self.op!r}")


@dataclasses.dataclass(frozen=True)
class PairedClaim:
    id: str
    text: str
    a: str
    b: str
    metric: str
    lower_is_better: bool = True


Claim = RateClaim | PairedClaim


def decide(lo: float | None, hi: float | None, *, chance: float = 0.5) -> str:
    """Verdict from a 95% interval on a proportion or probability against ``chance``."""
    if lo is None or hi is None:
        return INCONCLUSIVE
    if lo > chance:
        return REPRODUCED
    if hi < chance or hi == lo == chance:
        return NOT_REPRODUCED
    return INCONCLUSIVE


def diverged_as_worst(x: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """Replace non-finite values by the worst value, so diverged seeds lose comparisons."""
    worst = np.finfo(np.float64).max * (1 if lower_is_better else -1)
    x = np.asarray(x, np.float64)
    return np.where(np.isfinite(x), x, worst)


def evaluate_claim(claim: Claim, metrics: Metrics) -> dict:
    """The claim's verdict and the numbers that decided it (JSON-ready)."""
    if isinstance(claim, RateClaim):
        values = np.asarray(metrics[claim.variant][claim.metric], np.float64)
        flags = np.isfinite(values) & _OPS[claim.op](np.nan_to_num(values, nan=0.0), claim.value)
        r = stats.rate(flags)
        lo, hi = r["ci95"]
        verdict = decide(lo, hi)
        evidence = (f"{r['k']}/{r['n']} seeds ({100 * r['value']:.1f}%, 95% CI {100 * lo:.1f}-{100 * hi:.1f}%) "
                    f"of '{claim.variant}' have {claim.metric} {claim.op} {claim.value:g} "
                    f"({claim.meaning}); the claim needs a majority.")
        return {"id": claim.id, "text": claim.text, "verdict": verdict, "evidence": evidence,
                "kind": "rate", "variant": claim.variant, "metric": claim.metric,
                "predicate": f"{claim.metric} {claim.op} {claim.value:g}", "rate": r}
    a = diverged_as_worst(metrics[claim.a][claim.metric], claim.lower_is_better)
    b = diverged_as_worst(metrics[claim.b][claim.metric], claim.lower_is_better)
    p = stats.prob_better(a, b, lower_is_better=claim.lower_is_better)
    lo, hi = p["ci95"]
    verdict = decide(lo, hi)
    direction = "lower" if claim.lower_is_better else "higher"
    evidence = (f"P('{claim.a}' beats '{claim.b}' on {claim.metric}, {direction} is better) = "
                f"{p['prob_a_better']:.3f} (95% CI {lo:.3f}-{hi:.3f}) over {p['n']} paired seeds; "
                f"the claim needs it above 0.5.")
    return {"id": claim.id, "text": claim.text, "verdict": verdict, "evidence": evidence,
            "kind": "paired", "a": claim.a, "b": claim.b, "metric": claim.metric,
            "lower_is_better": claim.lower_is_better, "prob_a_better": p["prob_a_better"], "ci95": p["ci95"]}
