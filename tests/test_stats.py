import json
import math

import numpy as np
import pytest

from lstm_ar.study import stats


def _slow_trimmed_mean(values, prop=0.25):
    xs = sorted(float(v) for v in values)
    g = int(prop * len(xs))
    kept = xs[g : len(xs) - g]
    return sum(kept) / len(kept)


def test_finite_drops_nan_and_inf():
    out = stats.finite(np.array([1, np.nan, 2, np.inf, -np.inf, 3]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def test_iqm_hand_computed():
    assert stats.iqm(np.arange(100)) == pytest.approx(49.5)  # mean of 25..74
    assert stats.iqm([1.0, 2.0, 3.0, 1000.0]) == pytest.approx(2.5)  # drops 1 each end
    assert stats.iqm([7.0]) == 7.0
    assert math.isnan(stats.iqm([]))


@pytest.mark.parametrize("n", [5, 8, 13, 101])
def test_iqm_matches_slow_reference(n):
    x = np.random.default_rng(n).standard_cauchy(n)
    assert stats.iqm(x) == pytest.approx(_slow_trimmed_mean(x), rel=1e-12)


def test_bootstrap_ci_of_mean_normal():
    x = np.random.default_rng(123).standard_normal(2000)
    lo, hi = stats.bootstrap_ci(x, np.mean, n_boot=1000, seed=1)
    assert lo < 0.0 < hi
    expected = 2 * 1.96 / math.sqrt(2000)
    assert abs((hi - lo) - expected) / expected < 0.2


def test_bootstrap_ci_deterministic_and_seed_dependent():
    x = np.random.default_rng(0).exponential(size=50)
    a = stats.bootstrap_ci(x, seed=7)
    assert a == stats.bootstrap_ci(x, seed=7)
    assert a != stats.bootstrap_ci(x, seed=8)
    assert a[0] <= stats.iqm(x) <= a[1]


def test_bootstrap_ci_generic_callable_matches_vectorised():
    x = np.random.default_rng(3).standard_normal(30)
    fast = stats.bootstrap_ci(x, np.median, n_boot=300, seed=5)
    slow = stats.bootstrap_ci(x, lambda s: float(np.median(s)), n_boot=300, seed=5)
    assert fast == pytest.approx(slow)


def test_bootstrap_ci_degenerate_inputs():
    assert stats.bootstrap_ci([4.0]) == (4.0, 4.0)
    lo, hi = stats.bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)


def test_wilson_known_value():
    lo, hi = stats.wilson_ci(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4)
    assert hi == pytest.approx(0.7634, abs=1e-4)
    assert stats.wilson_ci(0, 0) == (0.0, 1.0)
    assert stats.wilson_ci(0, 20)[0] == 0.0


def test_rate_all_true():
    r = stats.rate(np.ones(12, dtype=bool))
    assert r["value"] == 1.0 and r["k"] == 12 and r["n"] == 12
    assert r["ci95"][1] == 1.0 and r["ci95"][0] < 1.0
    json.dumps(r)


def test_prob_better_identical():
    x = np.random.default_rng(0).standard_normal(20)
    r = stats.prob_better(x, x.copy())
    assert r["prob_a_better"] == 0.5
    assert r["ci95"] == [0.5, 0.5]


def test_prob_better_strict_and_direction():
    b = np.random.default_rng(1).standard_normal(15)
    a = b - 1.0
    assert stats.prob_better(a, b)["prob_a_better"] == 1.0
    assert stats.prob_better(a, b, lower_is_better=False)["prob_a_better"] == 0.0


def test_prob_better_drops_nonfinite_pairs():
    a = np.array([0.0, np.nan, 1.0, 2.0])
    b = np.array([1.0, 0.0, np.inf, 2.0])
    r = stats.prob_better(a, b)
    assert (r["n"], r["n_dropped"]) == (2, 2)
    assert r["prob_a_better"] == pytest.approx(0.75)  # one win, one tie
    r = stats.prob_better([np.nan], [1.0])
    assert r["prob_a_better"] is None and r["ci95"] == [None, None]
    json.dumps(r)


def test_summarize_counts_nonfinite():
    s = stats.summarize(np.array([1.0, 2.0, 3.0, 4.0, np.nan, np.inf]))
    assert (s["n"], s["n_nonfinite"]) == (4, 2)
    assert s["median"] == 2.5 and s["mean"] == 2.5 and s["iqm"] == 2.5
    assert s["q25"] == pytest.approx(1.75) and s["q75"] == pytest.approx(3.25)
    assert s["ci95"][0] <= 2.5 <= s["ci95"][1]
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
    with pytest.raises(ValueError):
        stats.wilson_ci(3, 2)


@pytest.mark.parametrize("statistic", [stats.iqm, np.median])
def test_bootstrap_in_blocks_equals_one_draw(monkeypatch, statistic):
    """Blocked resampling (bounded memory) gives exactly the one-matrix bootstrap."""
    x = np.random.default_rng(3).normal(size=101)
    idx = np.random.default_rng(0).integers(0, x.size, size=(500, x.size))
    whole = ({stats.iqm: stats._iqm_rows, np.median: lambda s: np.median(s, axis=-1)}[statistic])(x[idx])
    alpha = 1.0 - 0.95
    expected = tuple(np.quantile(whole, [alpha / 2, 1.0 - alpha / 2]))
    monkeypatch.setattr(stats, "BOOT_BLOCK", 7 * x.size + 3)  # 7 rows a block, 500 = 71 * 7 + 3
    assert stats.bootstrap_ci(x, statistic, n_boot=500, seed=0) == expected
