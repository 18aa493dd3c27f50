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
- ``summarize``: JSON-ready summary (n, median, IQM with bootstrap CI, mean, quartiles).
- ``rate``: JSON-ready proportion of True flags with a Wilson interval.
- ``prob_better``: paired probability that variant A beats variant B on the same
  seed (ties count 1/2), with a bootstrap CI over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

Statistic = Callable[[np.ndarray], float]


def _as_1d(x: ArrayLike, name: str = "x", dtype=np.float64) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.astype(dtype)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


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
    n_boot = _check_int(n_boot, "n_boot", 1)
    vals = finite(x)
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
    lo, hi = np.quantile(stats, [alpha / 2, 1.0 - alpha / 2])
    return float(lo), float(hi)


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
    k, n = _check_int(k, "k", 0), _check_int(n, "n", 0)
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


def summarize(
    x: ArrayLike, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> dict:
    """JSON-ready summary of per-seed results.

    Statistics use finite values only; ``n`` counts them and ``n_nonfinite``
    counts the rest. ``ci95`` is the bootstrap CI of the IQM at ``level``.

    Args:
      x: f[n_seeds].
      level, n_boot, seed: as in ``bootstrap_ci``.

    Returns:
      dict with n, n_nonfinite, median, iqm, mean, ci95 [low, high], q25, q75; with no finite
      values every float entry is None (never NaN).
    """
    arr = _as_1d(x)
    vals = finite(arr)
    out: dict = {"n": int(vals.size), "n_nonfinite": int(arr.size - vals.size)}
    if vals.size == 0:
        out.update(median=None, iqm=None, mean=None, ci95=[None, None], q25=None, q75=None)
        return out
    lo, hi = bootstrap_ci(vals, iqm, level=level, n_boot=n_boot, seed=seed)
    q25, q75 = np.quantile(vals, [0.25, 0.75])
    out.update(
        median=float(np.median(vals)),
        iqm=iqm(vals),
        mean=float(np.mean(vals)),
        ci95=[lo, hi],
        q25=float(q25),
        q75=float(q75),
    )
    return out


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
