"""Host-side statistics over many random seeds, in pure numpy: robust estimates with uncertainty, as
rliable (Agarwal et al., 2021) advises: IQM, bootstrap and Wilson intervals, paired P(A beats B).
Values over model seeds crossed with draws of the data (f[n_seeds, n_draws], n_draws > 1) are not independent
pairs: ``rate`` and ``prob_better`` then resample seeds and draws both (``crossed_ci``, the two-way bootstrap)
and give each draw's own value (``by_draw``); one draw (f[n] or f[n, 1]) keeps the one-way intervals.
Diverged seeds are never silently dropped: ``summarize`` counts them as the worst value where a
metric has a worse side (a median over 128 seeds of which 70 ran away is +inf), else leaves them out
and says how many; ``json_number`` writes +-inf as "inf" / "-inf" (JSON has no infinity).
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

from lstm_ar.checks import check_int

Statistic = Callable[[np.ndarray], float]


def _as_1d(x: ArrayLike, name: str = "x", dtype=np.float64) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.astype(dtype)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def finite(x: ArrayLike) -> np.ndarray:
    """f64[m]: the finite values of ``x`` f[n], in order."""
    arr = _as_1d(x)
    return arr[np.isfinite(arr)]


def _iqm_rows(x: np.ndarray) -> np.ndarray:
    """IQM along the last axis of ``x: f[..., n]`` (trim int(n/4) from each end)."""
    return _trimmed_mean_sorted(np.sort(x, axis=-1))


def _trimmed_mean_sorted(x: np.ndarray) -> np.ndarray:
    g = int(0.25 * x.shape[-1])
    return x[..., g : x.shape[-1] - g].mean(axis=-1)


def iqm(x: ArrayLike) -> float:
    """Interquartile mean of f[n]: drop int(n / 4) values from each end, average the rest (nan if empty);
    equals ``scipy.stats.trim_mean(x, 0.25)`` (tests/test_stats.py)."""
    arr = _as_1d(x)
    return float("nan") if arr.size == 0 else float(_iqm_rows(arr))


BOOT_BLOCK = 1 << 22  # resampled values held at once by bootstrap_ci (32 MiB of float64)

# Vectorised versions (applied to f[n_boot, n] along axis 1) of known statistics.
_VECTORISED: dict[Callable, Callable[[np.ndarray], np.ndarray]] = {
    iqm: _iqm_rows, np.median: lambda s: np.median(s, axis=-1), np.mean: lambda s: np.mean(s, axis=-1)}


def bootstrap_ci(x: ArrayLike, statistic: Statistic = iqm, *, level: float = 0.95, n_boot: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """(low, high) percentile bootstrap CI of ``statistic`` over the finite values of ``x``: one value v gives
    (v, v), none (nan, nan). The resamples of ``scipy.stats.bootstrap`` with ``np.random.default_rng(seed)``
    (tests/test_stats.py), drawn in blocks of ``BOOT_BLOCK`` values; ``iqm``, median and mean vectorised."""
    _check_level(level)
    n_boot = check_int(n_boot, "n_boot", 1)
    return _bootstrap(finite(x), statistic, level, n_boot, seed)


def _bootstrap(vals: np.ndarray, statistic: Statistic, level: float, n_boot: int, seed: int) -> tuple[float, float]:
    """``bootstrap_ci`` of values that are finite or infinite of one sign (worst-counted seeds)."""
    if vals.size <= 1:
        return (float("nan"), float("nan")) if vals.size == 0 else (float(vals[0]), float(vals[0]))
    rng = np.random.default_rng(seed)
    rows = _VECTORISED.get(statistic) or (lambda samples: np.array([statistic(s) for s in samples], np.float64))
    # Resample in blocks of rows so memory stays ~BOOT_BLOCK values whatever n_seeds is; the
    # generator's stream is the same as one (n_boot, n_seeds) draw (tests/test_stats.py).
    block = max(1, BOOT_BLOCK // vals.size)
    ranked = statistic is iqm and vals.size < 2 ** 15
    if ranked:  # sort each resample's ranks (int16: a radix sort), not its values: the same sorted rows, 5x faster
        order = np.argsort(vals, kind="stable")
        ranks = np.empty(vals.size, np.int16)
        ranks[order] = np.arange(vals.size)
        ordered = vals[order]
    parts = []
    for start in range(0, n_boot, block):
        draw = rng.integers(0, vals.size, size=(min(block, n_boot - start), vals.size))
        parts.append(_trimmed_mean_sorted(ordered[np.sort(ranks[draw], axis=-1, kind="stable")]) if ranked
                     else rows(vals[draw]))
    alpha = 1.0 - level
    lo, hi = quantiles(np.concatenate(parts), [alpha / 2, 1.0 - alpha / 2])
    return float(lo), float(hi)


def quantiles(x: np.ndarray, qs) -> np.ndarray:
    """f64[len(qs)]: ``np.quantile(x, qs)`` of f[n] (no nan), also where ``x`` holds infinities of one sign: a
    quantile that interpolates towards an infinite value is that infinity (numpy gives nan)."""
    x = np.asarray(x, np.float64)
    if np.isfinite(x).all():
        return np.quantile(x, qs)
    ordered = np.sort(x)
    out = []
    for q in np.atleast_1d(qs):
        h = (ordered.size - 1) * float(q)
        lo, hi = int(np.floor(h)), int(np.ceil(h))
        a, b = ordered[lo], ordered[hi]  # towards an infinity: that infinity
        out.append(a if lo == hi or a == b else b if not np.isfinite(b) else a if not np.isfinite(a)
                   else a + (h - lo) * (b - a))
    return np.asarray(out, np.float64)


def crossed_ci(x: ArrayLike, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0,
               widen: bool = True) -> tuple[float, float]:
    """(low, high) two-way bootstrap CI of the mean of ``x`` f[n_seeds, n_draws] over its non-nan cells: each
    resample draws n_seeds seeds and n_draws draws with replacement, independently, and keeps every cell of the
    chosen rows and columns (the crossed bootstrap, McCullagh 2000). A resample's mean is the count-weighted mean
    w_s x_sd v_d / w_s ok_sd v_d, so no resampled matrix is built: n_boot * (n_seeds + n_draws) numbers.

    With few draws the plain percentile interval is too narrow (a bootstrap's variance of a mean over m units is
    (m - 1) / m of the unbiased one, and its quantiles are normal ones): ``widen`` multiplies its distances from
    the mean by sqrt(m / (m - 1)) t(0.975, m - 1) / z(0.975), m = the smaller axis, as a t interval would, and
    clips it to the values' range. With a strong draw effect the plain interval covered 87-94% of simulated
    truths (16 seeds x 4 draws .. 64 x 16), the widened one 94-100% (tests/test_stats.py). No cell: (nan, nan)."""
    _check_level(level)
    n_boot = check_int(n_boot, "n_boot", 1)
    arr = np.asarray(x, np.float64)
    if arr.ndim != 2:
        raise ValueError(f"x must be 2-D (seeds x draws), got shape {arr.shape}")
    ok = ~np.isnan(arr)
    if not ok.any():
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    n_seeds, n_draws = arr.shape
    w, v = _resample_counts(rng, n_boot, n_seeds), _resample_counts(rng, n_boot, n_draws)
    num = ((w @ np.where(ok, arr, 0.0)) * v).sum(axis=1)
    den = ((w @ ok.astype(np.float64)) * v).sum(axis=1)
    means = num[den > 0] / den[den > 0]  # a resample of only empty cells has no mean
    alpha = 1.0 - level
    lo, hi = np.quantile(means, [alpha / 2, 1.0 - alpha / 2])
    if widen:
        z = NormalDist().inv_cdf(1.0 - alpha / 2)
        m = min(n_seeds, n_draws)
        factor = student_t_quantile(1.0 - alpha / 2, m - 1) / z * np.sqrt(m / (m - 1))
        centre = float(arr[ok].mean())
        lo, hi = centre + (lo - centre) * factor, centre + (hi - centre) * factor
    return float(max(lo, arr[ok].min())), float(min(hi, arr[ok].max()))


def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t with ``df`` >= 1 degrees of freedom: exact for 1 and 2,
    else the Cornish-Fisher expansion in 1 / df (Abramowitz & Stegun 26.7.5), within 0.2% of
    ``scipy.stats.t.ppf`` for p <= 0.975 and 0.8% at p = 0.995 (tests/test_stats.py); numpy only."""
    df = check_int(df, "df", 1)
    if df == 1:
        return float(np.tan(np.pi * (p - 0.5)))
    if df == 2:
        return float((2 * p - 1) / np.sqrt(2 * p * (1 - p)))
    z = NormalDist().inv_cdf(p)
    terms = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
             (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
             (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
    return float(z + sum(t / df ** (i + 1) for i, t in enumerate(terms)))


def _resample_counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """f64[n_boot, n]: how often each of n units is drawn in each of n_boot resamples of n with replacement (one
    ``bincount``: 3x faster than ``rng.multinomial``'s loop over rows)."""
    picks = rng.integers(0, n, size=(n_boot, n)) + n * np.arange(n_boot)[:, None]
    return np.bincount(picks.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def _crossed(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds seeds x several draws (2-D, more than one column): the crossed intervals apply."""
    if arr.ndim not in (1, 2):
        raise ValueError(f"values must be f[n_seeds] or f[n_seeds, n_draws], got shape {arr.shape}")
    return arr.ndim == 2 and arr.shape[1] > 1


def _by_draw(scores: np.ndarray) -> dict:
    """{by_draw: each draw's mean score f[n_draws] (None where a draw has none), draws_above_half: how many draws
    have a mean above 0.5, seeds, draws, interval} of ``scores`` f[n_seeds, n_draws] (nan: no value)."""
    counts = (~np.isnan(scores)).sum(axis=0)
    sums = np.nansum(scores, axis=0)
    each = [float(s / c) if c else None for s, c in zip(sums, counts)]
    return {"seeds": int(scores.shape[0]), "draws": int(scores.shape[1]), "interval": "crossed bootstrap",
            "by_draw": each, "draws_above_half": int(sum(e is not None and e > 0.5 for e in each))}


def wilson_ci(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """(low, high) Wilson score interval of ``k`` successes in ``n`` trials (ints; n == 0: (0.0, 1.0)): statsmodels'
    ``proportion_confint(k, n, alpha=1 - level, method="wilson")`` (tests/test_stats.py), except that k = 0 and
    k = n give exactly 0.0 and 1.0 at the closed end."""
    _check_level(level)
    k, n = check_int(k, "k", 0), check_int(n, "n", 0)
    if k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    return _wilson(k / n, n, level)


def _wilson(p: float, n: int, level: float) -> tuple[float, float]:
    """``wilson_ci`` of a share ``p`` in [0, 1] of ``n`` > 0 trials (a P(A beats B) with ties counted half is one)."""
    z = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2)
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(0.0 if p == 0 else max(0.0, center - half)), float(1.0 if p == 1 else min(1.0, center + half))


WORSE_SIDES = ("lower", "higher")  # as lstm_ar.study.metrics: which side of a metric is worse


def summarize(x: ArrayLike, *, worse: str | None = None, diverged: ArrayLike | None = None, level: float = 0.95,
              n_boot: int = 2000, seed: int = 0) -> dict:
    """JSON-ready {n, n_nonfinite, n_worst, n_left_out, median, iqm, mean, ci95, q25, q75} of ``x`` f[n_seeds].
    Seeds that ``diverged`` (bool or 0/1) or are not finite take the worst value (+-inf) with a ``worse``
    side ("higher" / "lower"; ``n_worst``), else are left out (``n_left_out``). No value: floats are None."""
    arr = _as_1d(x)
    if worse is not None and worse not in WORSE_SIDES:
        raise ValueError(f"worse must be one of {WORSE_SIDES} or None, got {worse!r}")
    flags = np.zeros(arr.shape, bool) if diverged is None else _as_1d(diverged, "diverged", bool)
    if flags.shape != arr.shape:
        raise ValueError(f"diverged must have one flag per seed: {flags.size} flags for {arr.size} values")
    bad = flags | ~np.isfinite(arr)
    vals = arr[~bad] if worse is None else np.where(bad, np.inf if worse == "higher" else -np.inf, arr)
    out = {"n": int(vals.size), "n_nonfinite": int((~np.isfinite(arr)).sum()),
           "n_worst": 0 if worse is None else int(bad.sum()), "n_left_out": int(bad.sum()) if worse is None else 0}
    if vals.size == 0:
        return out | dict(median=None, iqm=None, mean=None, ci95=[None, None], q25=None, q75=None)
    _check_level(level)
    lo, hi = _bootstrap(vals, iqm, level, check_int(n_boot, "n_boot", 1), seed)
    q25, median, q75 = quantiles(vals, [0.25, 0.5, 0.75])
    return out | dict(median=float(np.median(vals)) if np.isfinite(vals).all() else float(median), iqm=iqm(vals),
                      mean=float(np.mean(vals)), ci95=[lo, hi], q25=float(q25), q75=float(q75))


def json_number(value):
    """``value`` (a float, None, or lists / dicts of them) as JSON holds it: +-inf as "inf" / "-inf", nan as None."""
    if isinstance(value, dict):
        return {k: json_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_number(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float(value) if np.isfinite(value) else "inf" if value > 0 else "-inf"
    return value


def rate(flags: ArrayLike, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> dict:
    """JSON-ready {value (k / n, None if n == 0), k, n, ci95} of ``flags`` bool[n] with a Wilson interval; of
    bool[n_seeds, n_draws] with several draws, the crossed bootstrap interval (``crossed_ci``; widened to the
    Wilson interval where that is wider, as when every pair agrees) and ``_by_draw``'s per-draw shares.
    Numbers other than exactly 0 or 1 (nan included) are refused: ``astype(bool)`` would count them True."""
    arr = np.asarray(flags)
    crossed = _crossed(arr)
    arr = arr if crossed else arr.reshape(-1)
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"flags must be booleans (or 0/1 numbers), got dtype {arr.dtype}")
        if (bad := arr[(arr != 0) & (arr != 1)]).size:
            raise ValueError(f"flags must be booleans (or 0/1 numbers), got {bad.size} other value(s), e.g. {bad[0]}")
        arr = arr.astype(bool)
    k, n = int(arr.sum()), int(arr.size)
    if crossed:  # never narrower than the pairs' Wilson interval (all k = n resamples alike: no spread to see)
        scores = arr.astype(np.float64)
        (lo, hi), (w_lo, w_hi) = crossed_ci(scores, level=level, n_boot=n_boot, seed=seed), wilson_ci(k, n, level=level)
        return {"value": k / n, "k": k, "n": n, "ci95": [min(lo, w_lo), max(hi, w_hi)], **_by_draw(scores)}
    return {"value": k / n if n else None, "k": k, "n": n, "ci95": list(wilson_ci(k, n, level=level))}


def prob_better(a: ArrayLike, b: ArrayLike, *, lower_is_better: bool = True, level: float = 0.95, n_boot: int = 2000,
                seed: int = 0) -> dict:
    """Paired P(A beats B) over shared seeds (``a``, ``b``: f[n_seeds]): {prob_a_better, ci95, n, n_dropped}.
    Per seed 1 if a_i is better, 0.5 on a tie, 0 if worse; ``prob_a_better`` is the mean score with its
    bootstrap CI (where A wins on every pair or on none, the Wilson interval: ``_unless_all_agree``). Pairs with a
    non-finite value are dropped (``n_dropped``); none left: None entries. Of f[n_seeds, n_draws] with several
    draws: the crossed bootstrap (``crossed_ci``) and ``_by_draw``'s per-draw P."""
    a_arr, b_arr = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b must be paired over the same seeds: shapes {a_arr.shape} != {b_arr.shape}")
    crossed = _crossed(a_arr)
    a_arr, b_arr = (a_arr, b_arr) if crossed else (a_arr.reshape(-1), b_arr.reshape(-1))
    _check_level(level)
    ok = np.isfinite(a_arr) & np.isfinite(b_arr)
    out = {"n": int(ok.sum()), "n_dropped": int((~ok).sum())}
    if out["n"] == 0:
        return {"prob_a_better": None, "ci95": [None, None], **out}
    better = a_arr < b_arr if lower_is_better else a_arr > b_arr
    scores = np.where(ok, np.where(a_arr == b_arr, 0.5, better.astype(np.float64)), np.nan)
    if crossed:
        lo, hi = crossed_ci(scores, level=level, n_boot=n_boot, seed=seed)
        return {"prob_a_better": float(np.nanmean(scores)), "ci95": _unless_all_agree(scores[ok], lo, hi, level),
                **out, **_by_draw(scores)}
    scores = scores[ok]
    lo, hi = bootstrap_ci(scores, np.mean, level=level, n_boot=n_boot, seed=seed)
    return {"prob_a_better": float(scores.mean()), "ci95": _unless_all_agree(scores, lo, hi, level), **out}


def _unless_all_agree(scores: np.ndarray, lo: float, hi: float, level: float) -> list[float]:
    """[lo, hi], the bootstrap interval of P(A beats B) from ``scores`` f[n] (1, 0.5, 0; no nan), unless A wins on
    every pair or on none: then every resample agrees and the bootstrap gives a point ([0, 0] for "A never wins",
    which reads as certainty); the Wilson interval of 0 (or n) of the n pairs is used instead, as ``rate`` does for
    a rate (none of 32 pairs: [0, 0.107]; of 1,024: [0, 0.0037]; statsmodels' Wilson bounds). Ties on every pair
    (A and B equal throughout) keep the point 0.5: no difference at all is what was measured."""
    if scores.size and scores.min() == scores.max() and scores[0] != 0.5:
        return list(_wilson(float(scores[0]), int(scores.size), level))
    return [lo, hi]
