"""lstm_ar.study.stats against independent oracles: scipy (trim_mean, bootstrap with the percentile
method), statsmodels (Wilson intervals) and direct numpy computations."""

import json
import math

import numpy as np
import pytest
import scipy.stats
from statsmodels.stats.proportion import proportion_confint

from lstm_ar.study import stats

EXACT = dict(rtol=1e-12, atol=1e-15)  # same numbers up to float64 summation order


def scipy_percentile_ci(x, statistic, *, n_boot, seed, level=0.95):
    """scipy's percentile bootstrap fed the generator ``bootstrap_ci`` uses: the same resamples."""
    res = scipy.stats.bootstrap((np.asarray(x, np.float64),), statistic, n_resamples=n_boot, method="percentile",
                                confidence_level=level, rng=np.random.default_rng(seed), vectorized=True)
    return res.confidence_interval.low, res.confidence_interval.high


def scipy_iqm(x, axis=-1):
    return scipy.stats.trim_mean(x, 0.25, axis=axis)


def test_finite_drops_nan_and_inf():
    out = stats.finite(np.array([1, np.nan, 2, np.inf, -np.inf, 3]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 13, 100, 101])
def test_iqm_equals_scipy_trim_mean(n):
    x = np.random.default_rng(n).standard_cauchy(n)
    np.testing.assert_allclose(stats.iqm(x), scipy.stats.trim_mean(x, 0.25), **EXACT)


def test_iqm_hand_values_and_empty():
    assert stats.iqm(np.arange(100)) == 49.5  # mean of 25..74
    assert stats.iqm([1.0, 2.0, 3.0, 1000.0]) == 2.5  # drops one value at each end
    assert math.isnan(stats.iqm([]))


@pytest.mark.parametrize("level", [0.95, 0.8])
@pytest.mark.parametrize("ours,theirs", [(stats.iqm, scipy_iqm), (np.median, np.median), (np.mean, np.mean),
                                         (lambda s: float(np.std(s)), np.std)])
def test_bootstrap_ci_equals_scipy_percentile_bootstrap(ours, theirs, level):
    x = np.random.default_rng(3).lognormal(size=41)
    got = stats.bootstrap_ci(x, ours, n_boot=999, seed=11, level=level)
    np.testing.assert_allclose(got, scipy_percentile_ci(x, theirs, n_boot=999, seed=11, level=level), **EXACT)


def test_bootstrap_ci_drops_non_finite_seeds_first():
    x = np.random.default_rng(4).normal(size=30)
    dirty = np.concatenate([x[:10], [np.nan, np.inf], x[10:], [-np.inf]])
    np.testing.assert_allclose(stats.bootstrap_ci(dirty, n_boot=500, seed=2),
                               scipy_percentile_ci(x, scipy_iqm, n_boot=500, seed=2), **EXACT)


def test_bootstrap_ci_of_mean_has_the_normal_theory_width():
    # independent of the resampling stream: Monte-Carlo error of a 2000-resample interval << 10%
    x = np.random.default_rng(123).standard_normal(2000)
    lo, hi = stats.bootstrap_ci(x, np.mean, n_boot=2000, seed=1)
    half = scipy.stats.norm.ppf(0.975) * x.std(ddof=1) / math.sqrt(x.size)
    np.testing.assert_allclose([lo, hi], [x.mean() - half, x.mean() + half], atol=0.1 * half)


def test_bootstrap_ci_deterministic_and_seed_dependent():
    x = np.random.default_rng(0).exponential(size=50)
    a = stats.bootstrap_ci(x, seed=7)
    assert a == stats.bootstrap_ci(x, seed=7)
    assert a != stats.bootstrap_ci(x, seed=8)


def test_bootstrap_ci_degenerate_inputs():
    assert stats.bootstrap_ci([4.0]) == (4.0, 4.0)
    assert stats.bootstrap_ci([4.0, np.nan]) == (4.0, 4.0)
    lo, hi = stats.bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)


@pytest.mark.parametrize("statistic", [stats.iqm, np.median])
def test_bootstrap_in_blocks_equals_one_draw(monkeypatch, statistic):
    """Blocked resampling (bounded memory) gives exactly the one-matrix bootstrap (scipy draws one matrix)."""
    x = np.random.default_rng(3).normal(size=101)
    theirs = {stats.iqm: scipy_iqm, np.median: np.median}[statistic]
    monkeypatch.setattr(stats, "BOOT_BLOCK", 7 * x.size + 3)  # 7 rows a block, 500 = 71 * 7 + 3
    np.testing.assert_allclose(stats.bootstrap_ci(x, statistic, n_boot=500, seed=0),
                               scipy_percentile_ci(x, theirs, n_boot=500, seed=0), **EXACT)


@pytest.mark.parametrize("level", [0.95, 0.8, 0.99])
@pytest.mark.parametrize("k,n", [(0, 1), (1, 1), (0, 10), (1, 10), (5, 10), (9, 10), (10, 10), (3, 1000),
                                 (999, 1000), (128, 256)])
def test_wilson_ci_equals_statsmodels(k, n, level):
    got = stats.wilson_ci(k, n, level=level)
    np.testing.assert_allclose(got, proportion_confint(k, n, alpha=1 - level, method="wilson"), rtol=1e-12, atol=1e-14)
    assert (got[0] == 0.0) == (k == 0) and (got[1] == 1.0) == (k == n)  # closed ends exact


def test_wilson_ci_no_trials_is_uninformative():
    assert stats.wilson_ci(0, 0) == (0.0, 1.0)


def test_rate_equals_statsmodels_and_counts_directly():
    flags = np.random.default_rng(5).random(37) < 0.3
    r = stats.rate(flags)
    k = int(np.count_nonzero(flags))
    assert (r["k"], r["n"], r["value"]) == (k, 37, k / 37)
    np.testing.assert_allclose(r["ci95"], proportion_confint(k, 37, alpha=0.05, method="wilson"), rtol=1e-12)
    assert stats.rate(flags.astype(np.int64)) == r == stats.rate(flags.astype(np.float32))
    json.dumps(r)
    assert stats.rate(np.zeros(0, bool)) == {"value": None, "k": 0, "n": 0, "ci95": [0.0, 1.0]}


def test_rate_refuses_flags_that_are_not_booleans():
    # before: astype(bool) counted a nan (or 0.3) as True
    with pytest.raises(ValueError, match=r"flags must be booleans .*1 other value\(s\), e\.g\. nan"):
        stats.rate(np.asarray([1.0, 0.0, np.nan]))
    with pytest.raises(ValueError, match=r"e\.g\. 0\.3"):
        stats.rate([0.3, 1.0])
    with pytest.raises(TypeError, match="dtype <U"):
        stats.rate(["yes", "no"])


def direct_prob_better(a, b, lower_is_better=True):
    """P(A beats B) per seed pair, written out: win 1, tie 1/2, loss 0; non-finite pairs dropped."""
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    wins = (a < b) if lower_is_better else (a > b)
    return (wins.sum() + 0.5 * (a == b).sum()) / ok.sum(), wins + 0.5 * (a == b)


@pytest.mark.parametrize("lower_is_better", [True, False])
def test_prob_better_equals_direct_count_and_scipy_bootstrap(lower_is_better):
    rng = np.random.default_rng(6)
    a, b = rng.integers(0, 4, 60).astype(float), rng.integers(0, 5, 60).astype(float)  # many ties
    a[[3, 17]], b[[8]] = np.nan, np.inf
    p, scores = direct_prob_better(a, b, lower_is_better)
    r = stats.prob_better(a, b, lower_is_better=lower_is_better, n_boot=800, seed=9)
    assert (r["n"], r["n_dropped"]) == (57, 3)
    np.testing.assert_allclose(r["prob_a_better"], p, **EXACT)
    np.testing.assert_allclose(r["ci95"], scipy_percentile_ci(scores, np.mean, n_boot=800, seed=9), **EXACT)
    json.dumps(r)


def test_prob_better_hand_cases():
    x = np.random.default_rng(0).standard_normal(20)
    assert stats.prob_better(x, x.copy()) | {"ci95": None} == {"prob_a_better": 0.5, "ci95": None, "n": 20, "n_dropped": 0}
    assert stats.prob_better(x - 1, x)["prob_a_better"] == 1.0
    assert stats.prob_better(x - 1, x, lower_is_better=False)["prob_a_better"] == 0.0
    r = stats.prob_better([np.nan], [1.0])
    assert r["prob_a_better"] is None and r["ci95"] == [None, None]



@pytest.mark.parametrize("shape", [(32,), (8, 4)])
def test_p_beats_where_every_pair_agrees_is_an_interval_not_a_point(shape):
    """A never (or always) better: every bootstrap resample agrees, so the bootstrap's [0, 0] would read as
    certainty; the interval is Wilson's for 0 (or n) of the n pairs, one draw or several."""
    x = np.random.default_rng(1).standard_normal(shape)
    never, always, ties = stats.prob_better(x + 1, x), stats.prob_better(x - 1, x), stats.prob_better(x, x.copy())
    upper = proportion_confint(0, 32, alpha=0.05, method="wilson")[1]  # 0.107: 3.7 / n, the rule of three's reach
    assert never["prob_a_better"] == 0.0 and never["ci95"] == [0.0, pytest.approx(upper, rel=1e-12)]
    assert always["prob_a_better"] == 1.0 and always["ci95"] == [pytest.approx(1 - upper, rel=1e-12), 1.0]
    assert ties["prob_a_better"] == 0.5 and ties["ci95"] == [0.5, 0.5]  # equal on every pair: no difference, measured
    x_one = x.reshape(-1).copy()
    x_one[0] -= 10  # one pair disagrees: the bootstrap's own interval again
    one = stats.prob_better(x_one + 1, x.reshape(-1))
    assert one["ci95"] == list(stats.bootstrap_ci(np.r_[1.0, np.zeros(31)], np.mean))

def test_summarize_equals_numpy_and_scipy():
    x = np.random.default_rng(7).standard_cauchy(53)
    dirty = np.concatenate([x, [np.nan, np.inf]])
    s = stats.summarize(dirty, n_boot=300, seed=4)
    assert (s["n"], s["n_nonfinite"]) == (53, 2)
    np.testing.assert_allclose([s["median"], s["iqm"], s["mean"], s["q25"], s["q75"]],
                               [np.median(x), scipy.stats.trim_mean(x, 0.25), np.mean(x),
                                np.percentile(x, 25), np.percentile(x, 75)], **EXACT)
    np.testing.assert_allclose(s["ci95"], scipy_percentile_ci(x, scipy_iqm, n_boot=300, seed=4), **EXACT)
    json.loads(json.dumps(s, allow_nan=False))


def test_summarize_all_nan_is_json_null():
    s = stats.summarize([np.nan, np.nan])
    assert s["n"] == 0 and s["n_nonfinite"] == 2
    for key in ("median", "iqm", "mean", "q25", "q75"):
        assert s[key] is None
    assert s["ci95"] == [None, None]
    assert "NaN" not in json.dumps(s, allow_nan=False)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        stats.iqm(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1-D"):
        stats.summarize(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="level"):
        stats.bootstrap_ci([1.0, 2.0], level=1.0)
    with pytest.raises(ValueError, match="level"):
        stats.wilson_ci(1, 2, level=0.0)
    with pytest.raises(ValueError, match="same seeds"):
        stats.prob_better([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="need 0 <= k <= n, got k=3, n=2"):
        stats.wilson_ci(3, 2)
    with pytest.raises(ValueError, match="n must be an int >= 0, got -1"):
        stats.wilson_ci(0, -1)
    # before: a float count was used as is (k=2.5 of n=10 gave an interval)
    with pytest.raises(TypeError, match="k must be an int >= 0, got 2.5"):
        stats.wilson_ci(2.5, 10)
    with pytest.raises(TypeError, match="n must be an int"):
        stats.wilson_ci(1, True)
    with pytest.raises(TypeError, match="n_boot must be an int >= 1, got 10.5"):
        stats.bootstrap_ci([1.0, 2.0], n_boot=10.5)
    with pytest.raises(ValueError, match="n_boot must be an int >= 1, got 0"):
        stats.bootstrap_ci([1.0, 2.0], n_boot=0)


# --- diverged seeds counted as the worst value ---------------------------------------------------

def _regime_like(seed=0):
    """128 per-seed rollout RMSEs as the committed tf_k10 runs have them: most ordinary, 46 finite
    but beyond the divergence bound (1e6 to 1e20), 9 infinite; shuffled."""
    rng = np.random.default_rng(seed)
    values = np.concatenate([rng.uniform(0.1, 3.0, 73), 10.0 ** rng.uniform(6, 20, 46), np.full(9, np.inf)])
    diverged = np.arange(128) >= 73
    order = rng.permutation(128)
    return values[order], diverged[order]


def test_diverged_seeds_count_as_the_worst_value():
    values, diverged = _regime_like()
    old = stats.summarize(values)  # finite values only: the 46 runaway seeds count as ordinary, the 9 vanish
    assert (old["n"], old["n_nonfinite"]) == (119, 9)
    assert old["median"] == np.median(values[np.isfinite(values)])
    new = stats.summarize(values, worse="higher", diverged=diverged, n_boot=200)
    ranked = sorted(np.where(diverged, np.inf, values))  # independent: the order statistics by hand
    assert (new["n"], new["n_worst"], new["n_left_out"]) == (128, 55, 0)
    assert new["median"] == (ranked[63] + ranked[64]) / 2 and np.isfinite(new["median"])
    assert new["median"] > old["median"]
    assert new["q25"] == ranked[31] + 0.75 * (ranked[32] - ranked[31])
    assert new["q75"] == np.inf and new["iqm"] == np.inf  # the middle half holds worst-counted seeds
    assert new["ci95"] == [np.inf, np.inf]  # 43% worst: every resample's IQM is infinite too
    # lower is worse: they sit at -inf
    low = stats.summarize(-values, worse="lower", diverged=diverged, n_boot=200)
    assert low["median"] == -new["median"] and low["q25"] == -np.inf
    # no worse side: left out and counted
    left = stats.summarize(values, worse=None, diverged=diverged, n_boot=200)
    assert (left["n"], left["n_left_out"], left["n_worst"]) == (73, 55, 0)
    assert left["median"] == np.median(values[~diverged])


def test_a_majority_of_diverged_seeds_gives_an_infinite_median_written_legibly():
    values, diverged = _regime_like(1)
    flags = diverged | (np.arange(128) < 20)  # 75 diverged of 128
    s = stats.summarize(values, worse="higher", diverged=flags, n_boot=100)
    assert s["median"] == np.inf and s["n_worst"] == int(flags.sum())
    written = json.loads(json.dumps(stats.json_number(s), allow_nan=False))
    assert written["median"] == "inf" and written["n_worst"] == int(flags.sum())
    assert stats.json_number({"a": [-np.inf, np.nan, 1.5, None]}) == {"a": ["-inf", None, 1.5, None]}


def test_quantiles_with_infinities_match_numpy_on_finite_values():
    x = np.random.default_rng(3).normal(size=11)
    qs = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]
    np.testing.assert_array_equal(stats.quantiles(x, qs), np.quantile(x, qs))
    with_inf = np.concatenate([x, [np.inf, np.inf]])  # numpy gives nan between two infinities
    q = stats.quantiles(with_inf, [0.5, 0.99, 1.0])
    assert q[0] == np.quantile(with_inf, 0.5) and q[1] == np.inf and q[2] == np.inf


def test_summarize_refuses_bad_worst_arguments():
    with pytest.raises(ValueError, match="worse must be one of"):
        stats.summarize([1.0, 2.0], worse="up")
    with pytest.raises(ValueError, match="one flag per seed: 1 flags for 2 values"):
        stats.summarize([1.0, 2.0], worse="higher", diverged=[True])


def test_the_iqm_bootstrap_sorts_ranks_and_gets_the_same_bits_as_sorting_values():
    """The IQM bootstrap sorts each resample's ranks (int16), not its values: the same sorted rows."""
    rng = np.random.default_rng(3)
    vals = np.round(rng.normal(size=301), 1)  # ties
    vals[:7] = np.inf  # worst-counted diverged seeds
    fast = stats._bootstrap(vals, stats.iqm, 0.95, 300, 5)
    slow = stats._bootstrap(vals, lambda s: stats.iqm(s), 0.95, 300, 5)  # noqa: PLW0108 (another statistic: values sorted)
    assert fast == slow


def _crossed_flags(rng, n_seeds, n_draws, *, seed_sd=0.3, draw_sd=2.0, mu=0.3):
    """bool[n_seeds, n_draws]: x = mu + seed effect + draw effect + N(0, 1) > 0, and the population rate."""
    x = (mu + seed_sd * rng.standard_normal((n_seeds, 1)) + draw_sd * rng.standard_normal((1, n_draws))
         + rng.standard_normal((n_seeds, n_draws)))
    return x > 0, scipy.stats.norm.cdf(mu / math.hypot(seed_sd, draw_sd, 1.0))


def test_crossed_intervals_cover_a_known_truth_and_the_pair_bootstrap_does_not():
    """Simulated seeds x draws with a strong draw effect (32 x 8; the truth known in closed form): nominal 95%
    crossed intervals cover >= 93% of 300 simulated truths, the pair bootstrap (pairs as independent) far fewer,
    and the plain percentile crossed interval (no small-sample widening) falls short of the widened one."""
    rng = np.random.default_rng(7)
    covered = {"crossed": 0, "plain": 0, "pairs": 0}
    for i in range(300):
        flags, truth = _crossed_flags(rng, 32, 8)
        x = flags.astype(np.float64)
        for name, (lo, hi) in (("crossed", stats.crossed_ci(x, n_boot=400, seed=i)),
                               ("plain", stats.crossed_ci(x, n_boot=400, seed=i, widen=False)),
                               ("pairs", stats.bootstrap_ci(x.reshape(-1), np.mean, n_boot=400, seed=i))):
            covered[name] += lo <= truth <= hi
    assert covered["crossed"] / 300 >= 0.93
    assert covered["pairs"] / 300 < 0.7
    assert covered["plain"] < covered["crossed"]


def test_crossed_ci_resamples_whole_rows_and_columns():
    # a pure draw effect: every seed agrees within a draw, so the interval is as wide as the draws' spread
    x = np.repeat(np.array([[0.0, 1.0, 0.0, 1.0]]), 50, axis=0)
    lo, hi = stats.crossed_ci(x, n_boot=500)
    assert lo <= 0.2 and hi >= 0.8
    assert stats.crossed_ci(np.full((5, 3), 0.25)) == (0.25, 0.25)  # no spread: the value itself
    lo, hi = stats.crossed_ci(np.where(np.eye(4) > 0, np.nan, 1.0))  # nan cells are left out of every mean
    assert lo == hi == 1.0
    assert all(map(math.isnan, stats.crossed_ci(np.full((2, 2), np.nan))))
    with pytest.raises(ValueError, match="2-D"):
        stats.crossed_ci(np.zeros(4))


@pytest.mark.parametrize("df", [1, 2, 3, 7, 15, 63])
def test_student_t_quantile_matches_scipy(df):
    for p in (0.9, 0.975):
        assert stats.student_t_quantile(p, df) == pytest.approx(scipy.stats.t.ppf(p, df), rel=2e-3)


def test_rate_and_prob_better_over_draws_are_crossed_and_one_draw_is_unchanged():
    rng = np.random.default_rng(3)
    flags, _ = _crossed_flags(rng, 16, 4)
    r = stats.rate(flags)
    assert (r["k"], r["n"], r["seeds"], r["draws"]) == (int(flags.sum()), 64, 16, 4)
    assert r["by_draw"] == pytest.approx(flags.mean(axis=0).tolist())
    assert r["draws_above_half"] == int((flags.mean(axis=0) > 0.5).sum())
    lo, hi = stats.crossed_ci(flags.astype(float))
    w_lo, w_hi = stats.wilson_ci(r["k"], 64)
    assert r["ci95"] == [min(lo, w_lo), max(hi, w_hi)] and hi - lo > w_hi - w_lo
    assert stats.rate(np.ones((64, 4), bool))["ci95"] == list(stats.wilson_ci(256, 256))  # no spread: Wilson's
    assert stats.rate(flags[:, :1]) == stats.rate(flags[:, 0])  # one draw: the Wilson interval, as before
    assert "by_draw" not in stats.rate(flags[:, 0])
    a, b = rng.standard_normal((16, 4)), rng.standard_normal((16, 4))
    a[0, 0] = np.nan  # dropped, not counted
    p = stats.prob_better(a, b)
    scores = np.where(a < b, 1.0, 0.0)
    scores[0, 0] = np.nan
    assert p["prob_a_better"] == pytest.approx(np.nanmean(scores)) and (p["n"], p["n_dropped"]) == (63, 1)
    assert p["ci95"] == list(stats.crossed_ci(scores))
    assert p["by_draw"] == pytest.approx(np.nanmean(scores, axis=0).tolist())
    assert stats.prob_better(a[:, 1:2], b[:, 1:2]) == stats.prob_better(a[:, 1], b[:, 1])
