"""Host-side statistics for results aggregated over many random seeds.

Pure numpy (no jax, no scipy), in the spirit of rliable (Agarwal et al., 2021):
report robust point estimates with uncertainty over seeds instead of a bare mean.

- ``finite``: the finite values of a per-seed result; diverged seeds (nan/inf)
  are excluded from estimates but are always *counted* by the summaries.
- ``iqm``: interquartile mean, the mean of the middle 50% of values. Robust to a
  few outlier seeds like the median, yet less noisy than the median.
- ``bootstrap_ci``: percentile bootstrap confidence interval of any statistic
  over seeds (resampling seeds with replacement), vectorised for iqm/median/mean.
- ``wilson_ci``: Wilson score interval for a proportion k/n (e.g. the fraction
  of seeds that diverged or solved a task); well behaved at k = 0 and k = n.
- ``summarize``: JSON-ready summary (n, median, IQM with bootstrap CI, mean, quartiles). Given
  which side of a metric is worse and which seeds diverged, diverged seeds (and non-finite
  values) count as the worst value (+inf or -inf) instead of being dropped, so a median over 128
  seeds of which 70 ran away is +inf, not the median of the 58 that did not; for a metric with
  no worse side they are left out, and the summary says how many (``n_worst``, ``n_left_out``).
- ``json_number``: a statistic as JSON can hold it (JSON has no infinity: +inf and -inf are
  written as the strings ``"inf"`` and ``"-inf"``, nan as null).
- ``rate``: JSON-ready proportion of True flags with a Wilson interval.
- ``prob_better``: paired probability that variant A beats variant B on the same
  seed (ties count 1/2), with a bootstrap CI over seeds.
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
    """The finite values of a per-seed result.

    Args:
      x: f[n].

    Returns:
      f64[m], m <= n: the finite values in their original order.
    """
    arr = _as_1d(x)
    return arr[np.isfinite(arr)]


def _iqm_rows(x: np.ndarray) -> np.ndarray:
    """IQM along the last axis of ``x: f[..., n]`` (trim int(n/4) from each end)."""
    n = x.shape[-1]
    g = int(0.25 * n)
    return np.sort(x, axis=-1)[..., g : n - g].mean(axis=-1)


def iqm(x: ArrayLike) -> float:
    """Interquartile mean; equals ``scipy.stats.trim_mean(x, 0.25)`` (tests/test_stats.py).

    Sorts, drops int(0.25 * n) values from each end and averages the rest.

    Args:
      x: f[n].

    Returns:
      The IQM as a float; nan for empty input.
    """
    arr = _as_1d(x)
    return float("nan") if arr.size == 0 else float(_iqm_rows(arr))


BOOT_BLOCK = 1 << 22  # resampled values held at once by bootstrap_ci (32 MiB of float64)

# Vectorised versions (applied to f[n_boot, n] along axis 1) of known statistics.
_VECTORISED: dict[Callable, Callable[[np.ndarray], np.ndarray]] = {
    iqm: _iqm_rows,
    np.median: lambda s: np.median(s, axis=-1),
    np.mean: lambda s: np.mean(s, axis=-1),
}


def bootstrap_ci(
    x: ArrayLike,
    statistic: Statistic = iqm,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic`` over seeds.

    Equals ``scipy.stats.bootstrap((x,), statistic, n_resamples=n_boot, method="percentile",
    rng=np.random.default_rng(seed))`` on the finite values: the same resamples (tests/test_stats.py).

    Non-finite values are dropped first. Seeds are resampled with replacement
    ``n_boot`` times (index matrix i[n_boot, n_seeds] from
    ``np.random.default_rng(seed)``, drawn in blocks of rows of at most ``BOOT_BLOCK`` values),
    so the result is deterministic per seed and memory does not grow with ``n_boot * n_seeds``.
    ``iqm``, ``np.median`` and ``np.mean`` are evaluated vectorised; any other
    callable ``f[n] -> float`` is applied row by row.

    Args:
      x: f[n_seeds] per-seed results.
      statistic: ``f[n] -> float``.
      level: confidence level in (0, 1).
      n_boot: number of resamples (an int >= 1).
      seed: seed of the resampling generator.

    Returns:
      (low, high); one finite value v gives (v, v), none gives (nan, nan).
    """
    _check_level(level)
    n_boot = check_int(n_boot, "n_boot", 1)
    return _bootstrap(finite(x), statistic, level, n_boot, seed)


def _bootstrap(vals: np.ndarray, statistic: Statistic, level: float, n_boot: int, seed: int) -> tuple[float, float]:
    """``bootstrap_ci`` of values that are finite or infinite of one sign (worst-counted seeds)."""
    if vals.size == 0:
        return float("nan"), float("nan")
    if vals.size == 1:
        return float(vals[0]), float(vals[0])
    rng = np.random.default_rng(seed)
    rows = _VECTORISED.get(statistic)
    # Resample in blocks of rows so memory stays ~BOOT_BLOCK values whatever n_seeds is; the
    # generator's stream is the same as one (n_boot, n_seeds) draw (tests/test_stats.py).
    block = max(1, BOOT_BLOCK // vals.size)
    parts = []
    for start in range(0, n_boot, block):
        samples = vals[rng.integers(0, vals.size, size=(min(block, n_boot - start), vals.size))]
        if rows is not None:
            parts.append(rows(samples))
        else:
            parts.append(np.array([statistic(s) for s in samples], dtype=np.float64))
    stats = np.concatenate(parts)
    alpha = 1.0 - level
    lo, hi = quantiles(stats, [alpha / 2, 1.0 - alpha / 2])
    return float(lo), float(hi)


def quantiles(x: np.ndarray, qs) -> np.ndarray:
    """``np.quantile(x, qs)`` (linear interpolation), also where ``x`` holds infinities of one sign:
    a quantile that interpolates towards an infinite value is that infinity (numpy gives nan
    between two infinities).

    Args:
      x: f[n], n >= 1, finite or +-inf (no nan).
      qs: the quantiles in [0, 1].

    Returns:
      f64[len(qs)].
    """
    x = np.asarray(x, np.float64)
    if np.isfinite(x).all():
        return np.quantile(x, qs)
    ordered = np.sort(x)
    out = []
    for q in np.atleast_1d(qs):
        h = (ordered.size - 1) * float(q)
        lo, hi = int(np.floor(h)), int(np.ceil(h))
        a, b = ordered[lo], ordered[hi]
        if lo == hi or a == b:
            out.append(a)
        elif not np.isfinite(a) or not np.isfinite(b):
            out.append(b if not np.isfinite(b) else a)
        else:
            out.append(a + (h - lo) * (b - a))
    return np.asarray(out, np.float64)


def wilson_ci(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion of ``k`` successes in ``n`` trials.

    Args:
      k: successes, an int in [0, n].
      n: trials, an int >= 0.
      level: confidence level in (0, 1).

    Returns:
      (low, high); n == 0 gives the uninformative (0.0, 1.0). Equals statsmodels'
    ``proportion_confint(k, n, alpha=1 - level, method="wilson")`` (tests/test_stats.py), except that
    k = 0 and k = n give exactly 0.0 and 1.0 at the closed end.

    Raises:
      TypeError: k or n is not an int (a bool or a float count is refused).
      ValueError: not 0 <= k <= n, or level outside (0, 1).
    """
    _check_level(level)
    k, n = check_int(k, "k", 0), check_int(n, "n", 0)
    if k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(1.0 - (1.0 - level) / 2)
    p = k / n
    denom = 1.0 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, center - half)
    hi = 1.0 if k == n else min(1.0, center + half)
    return float(lo), float(hi)


WORSE_SIDES = ("lower", "higher")  # as lstm_ar.study.metrics: which side of a metric is worse


def summarize(
    x: ArrayLike, *, worse: str | None = None, diverged: ArrayLike | None = None,
    level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> dict:
    """JSON-ready summary of per-seed results.

    Without ``worse`` and ``diverged``: statistics over the finite values; ``n`` counts them and
    ``n_nonfinite`` the rest.

    With ``diverged`` (bool[n_seeds], the seeds whose rollout or training diverged) or ``worse``:
    a seed is *worst-counted* when it diverged or its value is not finite. For a metric with a
    worse side (``worse`` "higher" or "lower"), worst-counted seeds take the worst value (+inf or
    -inf) and stay in every statistic (median, IQM and its interval, quartiles, mean): the
    median is +inf once half the seeds are; ``n_worst`` counts them. For a metric without one
    (``worse`` None, e.g. a settle value or a slope), they are left out; ``n_left_out`` counts
    them. A statistic may then be +-inf: ``json_number`` writes it for JSON.

    Args:
      x: f[n_seeds].
      worse: "higher", "lower" or None (``lstm_ar.study.metrics.Metric.worse``).
      diverged: bool[n_seeds] (or 0/1 numbers), or None.
      level, n_boot, seed: as in ``bootstrap_ci``.

    Returns:
      dict with n (values in the statistics), n_nonfinite (non-finite per-seed values), n_worst,
      n_left_out, median, iqm, mean, ci95 [low, high], q25, q75; with no value every float entry
      is None (never NaN). Floats may be +-inf (worst-counted seeds).
    """
    arr = _as_1d(x)
    if worse is not None and worse not in WORSE_SIDES:
        raise ValueError(f"worse must be one of {WORSE_SIDES} or None, got {worse!r}")
    flags = np.zeros(arr.shape, bool) if diverged is None else _as_1d(diverged, "diverged", bool)
    if flags.shape != arr.shape:
        raise ValueError(f"diverged must have one flag per seed: {flags.size} flags for {arr.size} values")
    bad = flags | ~np.isfinite(arr)
    n_worst = n_left_out = 0
    if worse is not None:
        vals = np.where(bad, np.inf if worse == "higher" else -np.inf, arr)
        n_worst = int(bad.sum())
    else:
        vals = arr[~bad]
        n_left_out = int(bad.sum())
    out: dict = {"n": int(vals.size), "n_nonfinite": int((~np.isfinite(arr)).sum()), "n_worst": n_worst,
                 "n_left_out": n_left_out}
    if vals.size == 0:
        out.update(median=None, iqm=None, mean=None, ci95=[None, None], q25=None, q75=None)
        return out
    _check_level(level)
    lo, hi = _bootstrap(vals, iqm, level, check_int(n_boot, "n_boot", 1), seed)
    q25, median, q75 = quantiles(vals, [0.25, 0.5, 0.75])
    out.update(
        median=float(np.median(vals)) if np.isfinite(vals).all() else float(median),
        iqm=iqm(vals),
        mean=float(np.mean(vals)),
        ci95=[lo, hi],
        q25=float(q25),
        q75=float(q75),
    )
    return out


def json_number(value):
    """A statistic as JSON holds it: finite floats as they are, +inf / -inf as the strings
    ``"inf"`` / ``"-inf"`` (JSON has no infinity; a median of worst-counted diverged seeds is
    +inf), nan as None; lists and dicts converted throughout.

    Args:
      value: a float, None, or a list / dict of them.

    Returns:
      The JSON-ready value.
    """
    if isinstance(value, dict):
        return {k: json_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_number(v) for v in value]
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        if np.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(value)
    return value


def rate(flags: ArrayLike, *, level: float = 0.95) -> dict:
    """Proportion of True in ``flags: bool[n]`` with a Wilson interval (JSON-ready).

    Flags must be booleans, or numbers that are exactly 0 or 1: a nan or any other number is
    refused (``astype(bool)`` would count it as True).

    Args:
      flags: bool[n].
      level: confidence level in (0, 1).

    Returns:
      dict with value (k / n, None when n == 0), k, n and ci95 [low, high].
    """
    arr = np.asarray(flags)
    if arr.ndim != 1:
        raise ValueError(f"flags must be 1-D, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"flags must be booleans (or 0/1 numbers), got dtype {arr.dtype}")
        bad = arr[(arr != 0) & (arr != 1)]
        if bad.size:
            raise ValueError(f"flags must be booleans (or 0/1 numbers), got {bad.size} other value(s), e.g. {bad[0]}")
        arr = arr.astype(bool)
    k, n = int(arr.sum()), int(arr.size)
    lo, hi = wilson_ci(k, n, level=level)
    return {"value": k / n if n else None, "k": k, "n": n, "ci95": [lo, hi]}


def prob_better(
    a: ArrayLike,
    b: ArrayLike,
    *,
    lower_is_better: bool = True,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict:
    """Paired P(A beats B) over shared seeds ``a: f[n_seeds]``, ``b: f[n_seeds]``.

    Per seed the score is 1 if a_i is better than b_i, 0.5 on a tie, 0 if worse;
    ``prob_a_better`` is the mean score and ``ci95`` its percentile bootstrap CI
    over seeds. Pairs where either value is non-finite are dropped (``n_dropped``).

    Args:
      a, b: f[n_seeds], paired by seed.
      lower_is_better: which side wins.
      level, n_boot, seed: as in ``bootstrap_ci``.

    Returns:
      dict with prob_a_better, ci95 [low, high], n (pairs used) and n_dropped; None entries when
      no pair is finite.
    """
    a_arr, b_arr = _as_1d(a, "a"), _as_1d(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(
            f"a and b must be paired over the same seeds: lengths {a_arr.size} != {b_arr.size}"
        )
    _check_level(level)
    ok = np.isfinite(a_arr) & np.isfinite(b_arr)
    a_ok, b_ok = a_arr[ok], b_arr[ok]
    out = {"n": int(ok.sum()), "n_dropped": int((~ok).sum())}
    if out["n"] == 0:
        return {"prob_a_better": None, "ci95": [None, None], **out}
    wins = a_ok < b_ok if lower_is_better else a_ok > b_ok
    scores = np.where(a_ok == b_ok, 0.5, wins.astype(np.float64))
    lo, hi = bootstrap_ci(scores, np.mean, level=level, n_boot=n_boot, seed=seed)
    return {"prob_a_better": float(scores.mean()), "ci95": [lo, hi], **out}
