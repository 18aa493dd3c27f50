import numpy as np
import pytest

from lstm_ar.study.claims import (
    DOES_NOT_HOLD,
    HOLDS,
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    PairedClaim,
    RateClaim,
    article_claims,
    decide,
    evaluate_claim,
)

RATE, PAIRED = article_claims((RateClaim("r", "A collapses", "A", "collapsed", ">", 0.5, "collapses"),
                               PairedClaim("p", "A beats B", "A", "B", "err")))


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
    assert decide(None, None, source="article") == INCONCLUSIVE
    assert decide(0.51, 0.9, source="article") == REPRODUCED
    assert decide(0.1, 0.49, source="article") == NOT_REPRODUCED
    with pytest.raises(ValueError, match="op"):
        RateClaim("x", "t", "A", "m", "==", 1.0, "")


def test_a_users_claim_holds_or_does_not_hold():
    user_rate = RateClaim("r", "A collapses", "A", "collapsed", ">", 0.5)  # default source: the user's
    user_paired = PairedClaim("p", "A beats B", "A", "B", "err")
    assert user_rate.source == user_paired.source == "user" and RATE.source == PAIRED.source == "article"
    n = 200
    for flags, verdict in ((np.ones(n), HOLDS), (np.zeros(n), DOES_NOT_HOLD),
                           (np.r_[np.ones(n // 2), np.zeros(n // 2)], INCONCLUSIVE)):
        out = evaluate_claim(user_rate, {"A": {"collapsed": flags}})
        assert out["verdict"] == verdict and out["source"] == "user"
        article = evaluate_claim(RATE, {"A": {"collapsed": flags}})  # same numbers, the article's words
        assert article["verdict"] == {HOLDS: REPRODUCED, DOES_NOT_HOLD: NOT_REPRODUCED}.get(verdict, INCONCLUSIVE)
        assert article["source"] == "article"
    base = np.random.default_rng(1).normal(size=300)
    assert evaluate_claim(user_paired, {"A": {"err": base - 1}, "B": {"err": base}})["verdict"] == HOLDS
    assert evaluate_claim(user_paired, {"A": {"err": base + 1}, "B": {"err": base}})["verdict"] == DOES_NOT_HOLD
    assert decide(0.6, 0.9, source="user") == HOLDS and decide(None, None, source="user") == INCONCLUSIVE


def test_a_misnamed_variant_or_metric_is_a_clear_error():
    with pytest.raises(ValueError, match="names metric 'er'.*valid: err, rmse"):
        evaluate_claim(PairedClaim("p", "t", "A", "B", "er"), {"A": {"err": np.ones(3), "rmse": np.ones(3)},
                                                               "B": {"err": np.ones(3)}})
    with pytest.raises(ValueError, match="names variant 'C'; valid: A, B"):
        evaluate_claim(PairedClaim("p", "t", "A", "C", "err"), {"A": {"err": np.ones(3)}, "B": {"err": np.ones(3)}})


def test_claims_refuse_bad_fields():
    with pytest.raises(ValueError, match="source must be one of"):
        RateClaim("x", "t", "A", "m", ">", 1.0, source="paper")
    with pytest.raises(ValueError, match="value must be a finite number"):
        RateClaim("x", "t", "A", "m", ">", float("nan"))
    with pytest.raises(ValueError, match="with itself"):
        PairedClaim("x", "t", "A", "A", "m")


def test_decide_defaults_to_the_users_words_like_the_claims():
    """decide() used to default to the article's words while RateClaim / PairedClaim default to the user's."""
    assert decide(0.51, 0.9) == HOLDS and decide(0.1, 0.49) == DOES_NOT_HOLD
    assert RateClaim("r", "t", "A", "m", ">", 1.0).source == "user"


def test_the_article_catalogue_claims_keep_the_article_words():
    from lstm_ar.scenarios.reproduce import SCENARIOS

    claims = [c for factory in SCENARIOS.values() for c in factory(True).claims]
    assert claims and all(c.source == "article" for c in claims)
    flags = np.ones(100)
    verdicts = {evaluate_claim(c, {v: {c.metric: flags} for v in c.variants})["verdict"] for c in claims}
    assert verdicts <= {REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE}


def test_seeds_flagged_diverged_lose_even_with_finite_values():
    """A rollout at 1e20 is finite: only the diverged flag (the divergence bound) makes it lose."""
    n = 40
    runaway = np.r_[np.full(30, 1e-3), np.full(10, 1e-6)]  # the 10 runaway seeds have the "best" values
    flags = np.r_[np.zeros(30), np.ones(10)]
    metrics = {"A": {"err": runaway, "diverged": flags, "tail": np.full(n, 1.0)},
               "B": {"err": np.full(n, 1e-4), "diverged": np.zeros(n), "tail": np.full(n, 1.0)}}
    paired = evaluate_claim(PAIRED, metrics)
    assert paired["prob_a_better"] == 0.0  # before: the 10 runaway seeds won, 0.25
    unflagged = {k: {m: v for m, v in d.items() if m != "diverged"} for k, d in metrics.items()}
    assert evaluate_claim(PAIRED, unflagged)["prob_a_better"] == 0.25
    rate = RateClaim("t", "A keeps moving", "A", "tail", ">", 0.5)
    assert evaluate_claim(rate, metrics)["rate"]["k"] == 30  # diverged seeds do not satisfy the predicate
    about_divergence = RateClaim("d", "A diverges", "A", "diverged", ">", 0.5)
    assert evaluate_claim(about_divergence, metrics)["rate"]["k"] == 10  # ... unless the claim is about diverging


def test_a_diverged_rollout_does_not_spoil_the_models_own_metrics():
    """A model whose rollout diverged still has a training loss and a map: model metrics count only
    a diverged training as the worst value; rollout metrics count the diverged rollout."""
    from lstm_ar.study.metrics import of_model, worst_flags

    n = 40
    rollout_flags = np.r_[np.zeros(30), np.ones(10)]
    loss = np.r_[np.full(39, 1e-3), np.inf]  # seed 39 also diverged in training
    slope = np.r_[np.full(30, 0.3), np.full(10, 0.1)]  # the diverged-rollout seeds have the best maps
    metrics = {"A": {"slope_error": slope, "valid_horizon": np.full(n, 50.0), "diverged": rollout_flags,
                     "final_train_loss": loss},
               "B": {"slope_error": np.full(n, 0.5), "valid_horizon": np.full(n, 40.0), "diverged": np.zeros(n),
                     "final_train_loss": np.full(n, 1e-3)}}
    assert of_model("slope_error") and of_model("f(0.6)") and of_model("grad_k3") and not of_model("valid_horizon")
    np.testing.assert_array_equal(worst_flags(metrics["A"], "slope_error"), np.arange(n) == 39)
    np.testing.assert_array_equal(worst_flags(metrics["A"], "valid_horizon"), rollout_flags > 0)
    on_map = PairedClaim("m", "A has the less flat map", "A", "B", "slope_error")
    assert evaluate_claim(on_map, metrics)["prob_a_better"] == 39 / 40  # only the diverged training loses
    on_rollout = PairedClaim("r", "A stays valid longer", "A", "B", "valid_horizon", lower_is_better=False)
    assert evaluate_claim(on_rollout, metrics)["prob_a_better"] == 30 / 40  # the diverged rollouts lose
    flat = RateClaim("f", "A's map is steep", "A", "slope_error", "<", 0.4)
    assert evaluate_claim(flat, metrics)["rate"]["k"] == 39
