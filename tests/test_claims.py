import numpy as np
import pytest

from lstm_ar.study.claims import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    PairedClaim,
    RateClaim,
    decide,
    evaluate_claim,
)

RATE = RateClaim("r", "A collapses", "A", "collapsed", ">", 0.5, "collapses")
PAIRED = PairedClaim("p", "A beats B", "A", "B", "err")


def test_rate_verdict_flips_with_the_data():
    n = 200
    yes = {"A": {"collapsed": np.ones(n)}}
    no = {"A": {"collapsed": np.zeros(n)}}
    half = {"A": {"collapsed": np.r_[np.ones(n // 2), np.zeros(n // 2)]}}
    assert evaluate_claim(RATE, yes)["verdict"] == REPRODUCED
    assert evaluate_claim(RATE, no)["verdict"] == NOT_REPRODUCED
    assert evaluate_claim(RATE, half)["verdict"] == INCONCLUSIVE


def test_paired_verdict_flips_with_the_data():
    rng = np.random.default_rng(0)
    base = rng.normal(size=300)
    better = {"A": {"err": base - 1.0}, "B": {"err": base}}
    worse = {"A": {"err": base + 1.0}, "B": {"err": base}}
    same = {"A": {"err": base}, "B": {"err": base}}
    assert evaluate_claim(PAIRED, better)["verdict"] == REPRODUCED
    assert evaluate_claim(PAIRED, worse)["verdict"] == NOT_REPRODUCED
    assert evaluate_claim(PAIRED, same)["verdict"] == NOT_REPRODUCED  # exactly no difference
    noisy = {"A": {"err": rng.normal(size=20)}, "B": {"err": rng.normal(size=20)}}
    assert evaluate_claim(PAIRED, noisy)["verdict"] == INCONCLUSIVE


def test_diverged_seeds_count_against_their_variant():
    a = np.r_[np.full(50, np.nan), np.zeros(10)]  # A diverged on most seeds
    b = np.ones(60)
    out = evaluate_claim(PAIRED, {"A": {"err": a}, "B": {"err": b}})
    assert out["verdict"] == NOT_REPRODUCED and out["prob_a_better"] == pytest.approx(10 / 60)
    rate = evaluate_claim(RATE, {"A": {"collapsed": np.r_[np.full(40, np.nan), np.ones(20)]}})
    assert rate["rate"]["k"] == 20 and rate["verdict"] == NOT_REPRODUCED


def test_decide_edges():
    assert decide(None, None) == INCONCLUSIVE
    assert decide(0.51, 0.9) == REPRODUCED
    assert decide(0.1, 0.49) == NOT_REPRODUCED
    with pytest.raises(ValueError, match="op"):
        RateClaim("x", "t", "A", "m", "==", 1.0, "")
