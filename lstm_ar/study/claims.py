"""Claims as data, and verdicts computed from per-seed measurements.

A claim is one sentence of the source article tied to a measurement:

* ``RateClaim``: "variant V does X": a per-seed predicate ``metric op value`` must hold for a
  majority of seeds. Verdict from the Wilson 95% interval of the proportion: ``reproduced`` if
  it lies above 50%, ``not reproduced`` if it lies below, else ``inconclusive``. A seed whose
  metric is not finite, or that diverged (its ``diverged`` flag: the rollout left the
  divergence bound, ``lstm_ar.dynamics.collapse.DIVERGENCE_BOUND``), does not satisfy the
  predicate (unless the claim is about ``diverged`` itself). For a metric of the trained model
  alone (``lstm_ar.study.metrics.of_model``: its training loss, its map) only a diverged training
  counts: a model whose rollout diverged still has a training loss and a map.
* ``PairedClaim``: "A beats B on metric": the paired probability that A beats B over the same
  seeds must exceed 0.5. Verdict from its bootstrap 95% interval the same way (an interval of
  exactly [0.5, 0.5], no difference at all, is ``not reproduced``). A diverged seed (flagged as
  above, or with a non-finite value) counts as the worst possible value of its variant.

Verdict words depend on where a claim comes from (``source``): a claim of the source article is
``reproduced`` / ``not reproduced`` / ``inconclusive``; a user's own claim about their series
(the default) ``holds`` / ``does not hold`` / ``inconclusive``. The catalogues mark theirs with
``article_claims``.

Nothing here knows the answer in advance: verdicts are functions of the numbers.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping

import numpy as np

from lstm_ar.study import stats
from lstm_ar.study.metrics import worst_flags

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
HOLDS, DOES_NOT_HOLD = "holds", "does not hold"
# source -> (the claim is supported, contradicted, neither)
VERDICTS = {"article": (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE), "user": (HOLDS, DOES_NOT_HOLD, INCONCLUSIVE)}
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
    meaning: str = ""  # what the predicate says, in words
    source: str = "user"  # "article" or "user": which verdict words (VERDICTS)

    def __post_init__(self):
        if self.op not in _OPS:
            raise ValueError(f"claim {self.id!r}: op must be one of {sorted(_OPS)}, got {self.op!r}")
        if not (isinstance(self.value, (int, float, np.integer, np.floating)) and np.isfinite(self.value)):
            raise ValueError(f"claim {self.id!r}: value must be a finite number, got {self.value!r}")
        _check_source(self)

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants the claim names."""
        return (self.variant,)


@dataclasses.dataclass(frozen=True)
class PairedClaim:
    id: str
    text: str
    a: str
    b: str
    metric: str
    lower_is_better: bool = True
    source: str = "user"  # "article" or "user": which verdict words (VERDICTS)

    def __post_init__(self):
        if self.a == self.b:
            raise ValueError(f"claim {self.id!r} compares variant {self.a!r} with itself")
        _check_source(self)

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants the claim names."""
        return (self.a, self.b)


Claim = RateClaim | PairedClaim


def _check_source(claim: Claim) -> None:
    if claim.source not in VERDICTS:
        raise ValueError(f"claim {claim.id!r}: source must be one of {sorted(VERDICTS)}, got {claim.source!r}")


def article_claims(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """The same claims marked as the source article's (verdicts ``reproduced`` / ``not reproduced``).

    Args:
      claims: claims of any source.

    Returns:
      The claims with ``source="article"``, in order.
    """
    return tuple(dataclasses.replace(c, source="article") for c in claims)


def decide(lo: float | None, hi: float | None, *, chance: float = 0.5, source: str = "user") -> str:
    """Verdict from a 95% interval on a proportion or probability against ``chance``.

    Args:
      lo, hi: the interval (None: no data).
      chance: the value the interval must lie above.
      source: "user" (holds / does not hold; the default, as for ``RateClaim`` / ``PairedClaim``)
        or "article" (reproduced / not reproduced).

    Returns:
      The verdict in the source's words; ``inconclusive`` when the interval straddles chance.
    """
    supported, contradicted, neither = VERDICTS[source]
    if lo is None or hi is None:
        return neither
    if lo > chance:
        return supported
    if hi < chance or hi == lo == chance:
        return contradicted
    return neither


def diverged_as_worst(x: np.ndarray, lower_is_better: bool, diverged: np.ndarray | None = None) -> np.ndarray:
    """Replace non-finite values (and the values of diverged seeds) by the worst value, so
    diverged seeds lose comparisons.

    Args:
      x: f[n_seeds] per-seed values.
      lower_is_better: which side is better.
      diverged: bool[n_seeds] (or 0/1) flags of seeds that diverged, or None (non-finite values only).

    Returns:
      f64[n_seeds] with NaN, inf and flagged seeds replaced by the largest (or most negative) float64.
    """
    worst = np.finfo(np.float64).max * (1 if lower_is_better else -1)
    x = np.asarray(x, np.float64)
    keep = np.isfinite(x)
    if diverged is not None:
        keep &= ~(np.asarray(diverged) > 0)
    return np.where(keep, x, worst)


def _diverged(metrics: Metrics, variant: str, metric: str) -> np.ndarray | None:
    """The variant's seeds whose ``metric`` counts as the worst value (``lstm_ar.study.metrics.worst_flags``:
    a diverged rollout for a rollout metric, a diverged training for a model metric)."""
    return worst_flags(metrics.get(variant, {}), metric)


def evaluate_claim(claim: Claim, metrics: Metrics) -> dict:
    """The claim's verdict and the numbers that decided it (JSON-ready).

    Args:
      claim: a ``RateClaim`` or ``PairedClaim``.
      metrics: variant -> metric -> f[n_seeds] per-seed values.

    Returns:
      A dict with id, text, source, verdict (in the claim's source's words), evidence and the numbers.
    """
    if isinstance(claim, RateClaim):
        values = np.asarray(_lookup(metrics, claim.variant, claim), np.float64)
        flags = np.isfinite(values) & _OPS[claim.op](np.nan_to_num(values, nan=0.0), claim.value)
        diverged = _diverged(metrics, claim.variant, claim.metric)
        if diverged is not None and claim.metric != "diverged":
            flags &= ~diverged
        r = stats.rate(flags)
        lo, hi = r["ci95"]
        verdict = decide(lo, hi, source=claim.source)
        evidence = (f"{r['k']}/{r['n']} seeds ({100 * r['value']:.1f}%, 95% CI {100 * lo:.1f}-{100 * hi:.1f}%) "
                    f"of '{claim.variant}' have {claim.metric} {claim.op} {claim.value:g}"
                    + (f" ({claim.meaning})" if claim.meaning else "") + "; the claim needs a majority.")
        return {"id": claim.id, "text": claim.text, "verdict": verdict, "evidence": evidence,
                "kind": "rate", "variant": claim.variant, "metric": claim.metric,
                "predicate": f"{claim.metric} {claim.op} {claim.value:g}", "rate": r, "source": claim.source}
    a = diverged_as_worst(_lookup(metrics, claim.a, claim), claim.lower_is_better,
                          _diverged(metrics, claim.a, claim.metric))
    b = diverged_as_worst(_lookup(metrics, claim.b, claim), claim.lower_is_better,
                          _diverged(metrics, claim.b, claim.metric))
    p = stats.prob_better(a, b, lower_is_better=claim.lower_is_better)
    lo, hi = p["ci95"]
    verdict = decide(lo, hi, source=claim.source)
    direction = "lower" if claim.lower_is_better else "higher"
    evidence = (f"P('{claim.a}' beats '{claim.b}' on {claim.metric}, {direction} is better) = "
                f"{p['prob_a_better']:.3f} (95% CI {lo:.3f}-{hi:.3f}) over {p['n']} paired seeds; "
                f"the claim needs it above 0.5.")
    return {"id": claim.id, "text": claim.text, "verdict": verdict, "evidence": evidence,
            "kind": "paired", "a": claim.a, "b": claim.b, "metric": claim.metric,
            "lower_is_better": claim.lower_is_better, "prob_a_better": p["prob_a_better"], "ci95": p["ci95"],
            "source": claim.source}


def _lookup(metrics: Metrics, variant: str, claim: Claim) -> np.ndarray:
    """metrics[variant][claim.metric], or a ValueError listing the valid names (scenarios check
    this when built; this guards direct calls)."""
    if variant not in metrics:
        raise ValueError(f"claim {claim.id!r} names variant {variant!r}; valid: {', '.join(metrics)}")
    if claim.metric not in metrics[variant]:
        raise ValueError(f"claim {claim.id!r} names metric {claim.metric!r}, which variant {variant!r} does not have; "
                         f"valid: {', '.join(sorted(metrics[variant]))}")
    return metrics[variant][claim.metric]
