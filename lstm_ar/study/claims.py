"""Claims as data, and verdicts computed from per-seed measurements.

``RateClaim``: ``metric op value`` must hold for a majority of seeds (Wilson 95% interval against 50%).
``PairedClaim``: P(A beats B) over the same seeds must exceed 0.5 (bootstrap 95% interval; [0.5, 0.5]
is contradicted). A seed that diverged (or a non-finite value) fails a rate predicate and counts as its
variant's worst value in a pair; for a model metric (``lstm_ar.study.metrics.of_model``) only a diverged
training counts. Verdict words follow ``source`` (``VERDICTS``): the article's claims are reproduced or
not, a user's hold or not; inconclusive when the interval straddles the line.
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
        return (self.a, self.b)


Claim = RateClaim | PairedClaim


def _check_source(claim: Claim) -> None:
    if claim.source not in VERDICTS:
        raise ValueError(f"claim {claim.id!r}: source must be one of {sorted(VERDICTS)}, got {claim.source!r}")


def article_claims(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """The same claims with ``source="article"`` (verdicts ``reproduced`` / ``not reproduced``)."""
    return tuple(dataclasses.replace(c, source="article") for c in claims)


def decide(lo: float | None, hi: float | None, *, chance: float = 0.5, source: str = "user") -> str:
    """The verdict, in ``source``'s words (``VERDICTS``), of a 95% interval (None: no data) on a proportion or
    probability that must lie above ``chance``; inconclusive when it straddles chance."""
    supported, contradicted, neither = VERDICTS[source]
    if lo is None or hi is None:
        return neither
    if lo > chance:
        return supported
    if hi < chance or hi == lo == chance:
        return contradicted
    return neither


def diverged_as_worst(x: np.ndarray, lower_is_better: bool, diverged: np.ndarray | None = None) -> np.ndarray:
    """f64[n_seeds]: ``x`` with non-finite values and ``diverged`` seeds (flags, or None) replaced by the worst
    float64 (the largest, or most negative), so diverged seeds lose comparisons."""
    worst = np.finfo(np.float64).max * (1 if lower_is_better else -1)
    x = np.asarray(x, np.float64)
    keep = np.isfinite(x)
    if diverged is not None:
        keep &= ~(np.asarray(diverged) > 0)
    return np.where(keep, x, worst)


def evaluate_claim(claim: Claim, metrics: Metrics) -> dict:
    """The claim's verdict, evidence and deciding numbers (JSON-ready) from ``metrics`` (variant -> metric ->
    f[n_seeds], or f[n_seeds, n_draws] over draws of the data: crossed intervals); the seeds counted as worst:
    ``lstm_ar.study.metrics.worst_flags``."""
    if isinstance(claim, RateClaim):
        values = np.asarray(_lookup(metrics, claim.variant, claim), np.float64)
        flags = np.isfinite(values) & _OPS[claim.op](np.nan_to_num(values, nan=0.0), claim.value)
        diverged = worst_flags(metrics.get(claim.variant, {}), claim.metric)
        if diverged is not None and claim.metric != "diverged":
            flags &= ~diverged
        r = stats.rate(flags)
        lo, hi = r["ci95"]
        evidence = (f"{r['k']}/{r['n']} {_units(r)} ({100 * r['value']:.1f}%, 95% CI {100 * lo:.1f}-{100 * hi:.1f}%"
                    f"{_per_draw(r, 'a majority')}) of '{claim.variant}' have {claim.metric} {claim.op} {claim.value:g}"
                    + (f" ({claim.meaning})" if claim.meaning else "") + "; the claim needs a majority.")
        return {"id": claim.id, "text": claim.text, "verdict": decide(lo, hi, source=claim.source),
                "evidence": evidence, "kind": "rate", "variant": claim.variant, "metric": claim.metric,
                "predicate": f"{claim.metric} {claim.op} {claim.value:g}", "rate": r, "source": claim.source}
    a, b = (diverged_as_worst(_lookup(metrics, v, claim), claim.lower_is_better,
                              worst_flags(metrics.get(v, {}), claim.metric)) for v in claim.variants)
    p = stats.prob_better(a, b, lower_is_better=claim.lower_is_better)
    lo, hi = p["ci95"]
    direction = "lower" if claim.lower_is_better else "higher"
    evidence = (f"P('{claim.a}' beats '{claim.b}' on {claim.metric}, {direction} is better) = "
                f"{p['prob_a_better']:.3f} (95% CI {lo:.3f}-{hi:.3f}{_per_draw(p, 'above 0.5')}) over {p['n']} paired "
                f"{_units(p)}; the claim needs it above 0.5.")
    return {"id": claim.id, "text": claim.text, "verdict": decide(lo, hi, source=claim.source), "evidence": evidence,
            "kind": "paired", "a": claim.a, "b": claim.b, "metric": claim.metric,
            "lower_is_better": claim.lower_is_better, "prob_a_better": p["prob_a_better"], "ci95": p["ci95"],
            "source": claim.source, **{k: p[k] for k in ("seeds", "draws", "by_draw", "draws_above_half") if k in p}}


def _units(entry: dict) -> str:
    """What ``stats.rate`` / ``stats.prob_better`` counted: seeds, or (seed, draw) pairs over crossed draws."""
    return f"(seed, draw) pairs of {entry['seeds']} seeds x {entry['draws']} draws" if "by_draw" in entry else "seeds"


def _per_draw(entry: dict, what: str) -> str:
    """The per-draw spread of a crossed entry (``stats._by_draw``), or nothing for one draw."""
    if "by_draw" not in entry:
        return ""
    return f", crossed bootstrap; {what} on {entry['draws_above_half']} of {entry['draws']} draws"


def _lookup(metrics: Metrics, variant: str, claim: Claim) -> np.ndarray:
    """metrics[variant][claim.metric], or a ValueError listing the valid names (scenarios check this when built)."""
    if variant not in metrics:
        raise ValueError(f"claim {claim.id!r} names variant {variant!r}; valid: {', '.join(metrics)}")
    if claim.metric not in metrics[variant]:
        raise ValueError(f"claim {claim.id!r} names metric {claim.metric!r}, which variant {variant!r} does not have; "
                         f"valid: {', '.join(sorted(metrics[variant]))}")
    return metrics[variant][claim.metric]
