"""Headless matplotlib figures for multi-seed rollout experiments.

- ``plot_rollout_fan``: free-running rollouts of a few seeds per variant, with the
  median over *all* seeds, the context before the rollout and the true continuation.
- ``plot_metric_distribution``: per-seed values of one metric per variant, as a
  jittered strip plus a box (median, IQR); non-finite seeds are counted, not drawn.
- ``plot_curves``: a metric against a swept value, with optional shaded intervals.
- ``robust_limits``: y-range that ignores a few diverging seeds (used by the fan).

matplotlib is imported lazily (Agg backend), so ``lstm_ar`` imports without it.
Every function saves a PNG at dpi 120 (to a temporary name, then renamed: never half a file,
never through a symbolic link), closes its figure and returns the path.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import numpy as np

from lstm_ar.study.fs import atomic_path

DPI = 120
MAX_COLUMNS = 4  # rollout fans wrap into rows beyond this many variants


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("lstm_ar.study.figures needs matplotlib: pip install lstm_ar[plots]") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:  # the temporary name has no ".png": name the format
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        _pyplot().close(fig)
    return path


def _finite_values(arrays: Sequence[np.ndarray]) -> np.ndarray:
    flat = [np.asarray(a, dtype=np.float64).ravel() for a in arrays if a is not None]
    pooled = np.concatenate(flat) if flat else np.zeros(0)
    return pooled[np.isfinite(pooled)]


def robust_limits(arrays: Sequence[np.ndarray], *, keep: Sequence[np.ndarray] = (),
                  q: tuple[float, float] = (1.0, 99.0), whisker: float = 3.0,
                  margin: float = 0.08) -> tuple[float, float]:
    """Robust (lo, hi) y-limits of the finite values of ``arrays`` (any shapes).

    The range is the q-percentile range, tightened to Tukey fences
    [Q1 - whisker*IQR, Q3 + whisker*IQR] so that one diverging seed out of 20
    (5% of the points, beyond the 99th percentile) cannot stretch it. The full
    finite range of the ``keep`` arrays (e.g. context and truth) is always
    included. A ``margin`` fraction of the span is added on both sides; a
    degenerate range is widened; no finite values at all gives (-1, 1).

    Args:
        arrays: values of any shapes (None entries are skipped).
        keep: values whose full finite range is always shown.
        q: the percentile range (lower, upper) in percent.
        whisker: the Tukey fence in interquartile ranges.
        margin: added on both sides, as a fraction of the span.

    Returns:
        (lo, hi) y-limits.
    """
    vals, kept = _finite_values(arrays), _finite_values(keep)
    bounds = []
    if vals.size:
        p_lo, q1, q3, p_hi = np.percentile(vals, [q[0], 25.0, 75.0, q[1]])
        bounds += [max(p_lo, q1 - whisker * (q3 - q1)), min(p_hi, q3 + whisker * (q3 - q1))]
    if kept.size:
        bounds += [kept.min(), kept.max()]
    if not bounds:
        return -1.0, 1.0
    lo, hi = float(min(bounds)), float(max(bounds))
    span = hi - lo
    if not span > 0:
        span = max(abs(lo), 1.0)
    return lo - margin * span, hi + margin * span


def _masked(a, lo: float = -np.inf, hi: float = np.inf) -> np.ndarray:
    """float64 copy with non-finite values as nan (gaps), clipped to [lo, hi]."""
    a = np.asarray(a, dtype=np.float64)
    return np.clip(np.where(np.isfinite(a), a, np.nan), lo, hi)


def plot_rollout_fan(path: str | os.PathLike, rollouts: dict[str, np.ndarray], *, medians: dict[str, np.ndarray],
                     context: np.ndarray | None = None, truth: np.ndarray | None = None,
                     title: str = "", ylabel: str = "value") -> pathlib.Path:
    """One panel per variant (shared y, at most ``MAX_COLUMNS`` a row): individual rollouts,
    all-seed median, context, truth.

    rollouts: variant -> f[n_shown, T] free-running rollouts of a few seeds (f[T] = one seed).
    medians:  variant -> f[T] median over all seeds (may contain nan).
    context:  f[C] last C series values before the rollout, drawn at x = -C..-1.
    truth:    f[T] true continuation, drawn at x = 0..T-1 (step 0 = first prediction).

    Args:
        path: the PNG to write (its folder is created).
        rollouts: as above.
        medians: as above.
        context: as above (None: not drawn).
        truth: as above (None: not drawn).
        title: the figure's title.
        ylabel: the y-axis label.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    plt = _pyplot()
    names = list(rollouts)
    rolls = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in rollouts.items()}
    lo, hi = robust_limits([*rolls.values(), *(medians.get(k) for k in names)],
                           keep=[context, truth])
    clip = (lo - 10 * (hi - lo), hi + 10 * (hi - lo))  # keep far-off seeds renderable
    n = max(len(names), 1)
    cols = min(n, MAX_COLUMNS)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, sharey=True, squeeze=False, figsize=(4.5 * cols, 3.8 * rows))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for i, (ax, name) in enumerate(zip(axes.flat, names)):
        colour, r = f"C{i % 10}", rolls[name]
        if context is not None:
            c = _masked(context, *clip)
            ax.plot(np.arange(-c.size, 0), c, color="grey", lw=1.2, label="context")
        if truth is not None:
            t = _masked(truth, *clip)
            ax.plot(np.arange(t.size), t, "k--", lw=1.2, label="truth")
        steps = np.arange(r.shape[1])
        for j, row in enumerate(r):
            label = (f"{len(r)} seeds" if len(r) != 1 else "1 seed") if j == 0 else None
            ax.plot(steps, _masked(row, *clip), color=colour, lw=0.7, alpha=0.35, label=label)
        if name in medians:
            m = _masked(medians[name], *clip)
            ax.plot(np.arange(m.size), m, color=colour, lw=2.5, label="median of all seeds")
        ax.axvline(-0.5, color="0.7", lw=0.8, ls=":")
        ax.set(title=name, xlabel="step", ylim=(lo, hi))
        ax.legend(fontsize=7, loc="best")
    for row in axes:
        row[0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_metric_distribution(path: str | os.PathLike, values: dict[str, np.ndarray], *, metric: str,
                             log: bool = False, threshold: float | None = None,
                             title: str = "") -> pathlib.Path:
    """Per-variant jittered strip of per-seed values plus a box (median, IQR, 1.5-IQR whiskers).

    values: variant -> f[n_seeds] per-seed values of ``metric``. Non-finite values (and,
    if ``log``, values <= 0) are excluded from the plot; their counts go in the tick label.

    Args:
        path: the PNG to write (its folder is created).
        values: as above.
        metric: the y-axis label.
        log: a log y-axis.
        threshold: a horizontal line (the collapse threshold), if given.
        title: the figure's title.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    plt = _pyplot()
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(values) + 1.5), 4.2))
    labels, shown, positions = [], [], []
    for i, (name, v) in enumerate(values.items()):
        v = np.asarray(v, dtype=np.float64).ravel()
        ok = np.isfinite(v)
        label = name + (f"\n({np.sum(~ok)} non-finite)" if np.any(~ok) else "")
        if log:
            nonpos = np.sum(ok & (v <= 0))
            ok &= v > 0
            label += f"\n({nonpos} <= 0)" if nonpos else ""
        labels.append(label)
        if np.any(ok):
            x = i + rng.uniform(-0.18, 0.18, size=int(ok.sum()))
            ax.scatter(x, v[ok], s=9, alpha=0.5, color=f"C{i % 10}", lw=0)
            shown.append(v[ok])
            positions.append(i)
    if shown:
        ax.boxplot(shown, positions=positions, widths=0.5, showfliers=False,
                   medianprops={"color": "black", "lw": 2}, boxprops={"lw": 1.2})
    if threshold is not None and not (log and threshold <= 0):
        ax.axhline(threshold, color="red", ls="--", lw=1,
                   label=f"collapse threshold = {threshold}")
        ax.legend(fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set(ylabel=metric, title=title)
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(path: str | os.PathLike, x: np.ndarray, curves: dict[str, np.ndarray], *, xlabel: str,
                ylabel: str, title: str = "", log_y: bool = False,
                bands: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pathlib.Path:
    """Line plot of curves f[K] against x f[K]; ``bands`` name -> (lower f[K], upper f[K])
    are shaded (e.g. bootstrap CIs), in the colour of the curve of the same name.

    Args:
        path: the PNG to write (its folder is created).
        x: f[K] the swept values.
        curves: name -> f[K].
        xlabel: the x-axis label.
        ylabel: the y-axis label.
        title: the figure's title.
        log_y: a log y-axis.
        bands: name -> (lower f[K], upper f[K]), shaded.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    x = _masked(x)
    names = dict.fromkeys([*curves, *(bands or {})])  # ordered, deduplicated
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for name, (lower, upper) in (bands or {}).items():
        ax.fill_between(x, _masked(lower), _masked(upper), color=colours[name], alpha=0.2,
                        lw=0, label=None if name in curves else name)
    for name, y in curves.items():
        ax.plot(x, _masked(y), marker="o", ms=3, color=colours[name], label=name)
    if log_y:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if curves or bands:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
