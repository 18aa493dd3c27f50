"""Headless matplotlib figures for multi-seed rollout experiments: rollout fans (with the seeds
grouped by where they settle), per-seed distributions and curves; the answer's figures are in
``lstm_ar.report.answer_figures``. matplotlib is imported lazily (Agg). Every function saves a PNG at
dpi 120 atomically (never half a file, never through a symlink), closes its figure and returns the path.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.dynamics.collapse import TAIL
from lstm_ar.runtime.fs import atomic_path

DPI = 120
MAX_COLUMNS = 4  # rollout fans wrap into rows beyond this many variants
SPLIT_GAP = 0.5  # settle values more than this x the series' scale apart are separate groups
MIN_SHARE = 0.05  # a group with a smaller share of seeds is counted in the legend, not drawn
BAND = (10.0, 90.0)  # percentiles of a group's band in the fan
GROUP_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:orange", "tab:brown")


def _pyplot():
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("lstm_ar.report.figures needs matplotlib: pip install lstm_ar[plots]") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, *, tight: bool = True) -> pathlib.Path:
    """Lay out (``tight_layout`` unless not ``tight``), write ``path`` atomically (its folder created), close."""
    if tight:
        fig.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(path) as tmp:  # the temporary name has no ".png": name the format
            fig.savefig(tmp, dpi=DPI, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    finally:
        _pyplot().close(fig)
    return path


def _median_band(values: np.ndarray, band) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nanmedian, *nanpercentile(band)) over axis 0, quiet where a column is all nan (no median there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=0), *np.nanpercentile(values, band, axis=0)


def _finite_values(arrays: Sequence[np.ndarray]) -> np.ndarray:
    flat = [np.asarray(a, dtype=np.float64).ravel() for a in arrays if a is not None]
    pooled = np.concatenate(flat) if flat else np.zeros(0)
    return pooled[np.isfinite(pooled)]


def robust_limits(arrays: Sequence[np.ndarray], *, keep: Sequence[np.ndarray] = (),
                  q: tuple[float, float] = (1.0, 99.0), whisker: float = 3.0,
                  margin: float = 0.08) -> tuple[float, float]:
    """Robust (lo, hi) y-limits of the finite values of ``arrays`` (any shapes, None skipped): the ``q`` percentile
    range tightened to Tukey fences [Q1 - whisker*IQR, Q3 + whisker*IQR], so one diverging seed in 20 cannot stretch
    it, widened to the finite range of ``keep`` (e.g. context and truth) and by ``margin`` x the span each side;
    (-1, 1) without a finite value."""
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


class SettleGroup(NamedTuple):
    """Seeds whose rollouts end in the same place: ``members`` i[k] (rows, ascending), ``value`` (their median
    settle value), ``share`` (k / all seeds, diverged ones counted)."""

    members: np.ndarray
    value: float
    share: float


def settle_values(rollouts: np.ndarray, *, tail: int = TAIL) -> np.ndarray:
    """f64[S]: where each rollout of f[S, T] (f[T]: one seed) ends, the mean of its last ``min(tail, T)`` steps
    (the collapse metrics' ``settle_value``); nan where one of those steps is not finite."""
    r = np.asarray(rollouts, dtype=np.float64)
    r = r[None] if r.ndim == 1 else r
    if r.ndim != 2 or r.shape[1] < 1:
        raise ValueError(f"rollouts must be f[S, T] with T >= 1, got shape {np.shape(rollouts)}")
    if isinstance(tail, bool) or not isinstance(tail, (int, np.integer)) or tail < 1:
        raise ValueError(f"tail must be an int >= 1, got {tail!r}")
    end = r[:, -min(int(tail), r.shape[1]):]
    with np.errstate(over="ignore", invalid="ignore"):
        mean = end.mean(axis=1)
    return np.where(np.all(np.isfinite(end), axis=1) & np.isfinite(mean), mean, np.nan)


def settle_groups(settle: np.ndarray, *, scale: float, gap: float = SPLIT_GAP) -> list[SettleGroup]:
    """Seeds grouped by where their rollouts end (``settle``: f[S]), ascending: a new group starts wherever sorted
    neighbours are more than ``gap * scale`` (the series' std) apart (single linkage in 1-D, independent of the
    seeds' order). Non-finite values (diverged seeds) belong to no group but count in the shares."""
    v = np.asarray(settle, dtype=np.float64)
    if v.ndim != 1 or v.size < 1:
        raise ValueError(f"settle must be f[S] with S >= 1, got shape {np.shape(settle)}")
    for name, x in (("scale", scale), ("gap", gap)):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.number)) or not (np.isfinite(x) and x > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    finite = np.flatnonzero(np.isfinite(v))
    if finite.size == 0:
        return []
    order = finite[np.argsort(v[finite], kind="stable")]
    cuts = np.flatnonzero(np.diff(v[order]) > gap * scale) + 1
    return [SettleGroup(members=np.sort(idx), value=float(np.median(v[idx])), share=idx.size / v.size)
            for idx in np.split(order, cuts)]


def _fan_scale(scale, context, truth, rolls) -> float:
    """The series' scale for the split: ``scale`` if given, else the std of the truth, the context or
    the rollouts (the first that is finite and > 0), else 1."""
    if scale is not None:
        return float(scale)
    for values in (truth, context, rolls):
        finite = _finite_values([values])
        if finite.size > 1 and np.std(finite) > 0:
            return float(np.std(finite))
    return 1.0


def plot_rollout_fan(path: str | os.PathLike, rollouts: dict[str, np.ndarray], *, medians: dict[str, np.ndarray],
                     context: np.ndarray | None = None, truth: np.ndarray | None = None,
                     title: str = "", ylabel: str = "value", all_rollouts: dict[str, np.ndarray] | None = None,
                     scale: float | None = None, median_label: str = "median of all seeds") -> pathlib.Path:
    """One panel per variant (shared y, ``MAX_COLUMNS`` a row): a few seeds' ``rollouts`` (f[n, T]), the all-seed
    ``medians`` (f[T]), the ``context`` (f[C], at x = -C..-1) and the ``truth`` (f[T], x = 0..T-1). A variant in
    ``all_rollouts`` (f[S, T]) whose seeds form two or more ``settle_groups`` (``scale``: the training series' std,
    else that of the truth, context or rollouts) of ``MIN_SHARE`` each gets a median and 10-90% band per group
    ("62% settle at +0.98 (635 seeds)") instead of its median, which would lie between."""
    names = list(rollouts)
    rolls = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in rollouts.items()}
    everything = {}
    for k, v in (all_rollouts or {}).items():
        if k not in rollouts:
            raise ValueError(f"all_rollouts has variant {k!r}, which rollouts lacks; variants: {names}")
        everything[k] = np.atleast_2d(np.asarray(v, dtype=np.float64))
        if everything[k].ndim != 2 or everything[k].shape[0] < 1 or everything[k].shape[1] < 1:
            raise ValueError(f"all_rollouts[{k!r}] must be f[S, T], got shape {np.shape(v)}")
    split_scale = _fan_scale(scale, context, truth, [*everything.values()]) if everything else 1.0
    lo, hi = robust_limits([*rolls.values(), *(medians.get(k) for k in names)], keep=[context, truth])
    clip = (lo - 10 * (hi - lo), hi + 10 * (hi - lo))  # keep far-off seeds renderable
    n = max(len(names), 1)
    cols = min(n, MAX_COLUMNS)
    rows = -(-n // cols)
    fig, axes = _pyplot().subplots(rows, cols, sharey=True, squeeze=False, figsize=(4.5 * cols, 3.8 * rows))
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for i, (ax, name) in enumerate(zip(axes.flat, names)):
        colour, r = f"C{i % 10}", rolls[name]
        groups, small = [], []
        if name in everything:
            found = settle_groups(settle_values(everything[name]), scale=split_scale)
            drawn = [g for g in found if g.share >= MIN_SHARE]
            if len(drawn) > 1:
                groups, small = drawn, [g for g in found if g.share < MIN_SHARE]
        if context is not None:
            ax.plot(np.arange(-np.size(context), 0), _masked(context, *clip), color="grey", lw=1.2, label="context")
        if truth is not None:
            ax.plot(np.arange(np.size(truth)), _masked(truth, *clip), "k--", lw=1.2, label="truth")
        steps = np.arange(r.shape[1])
        nearest = _nearest_group(settle_values(r), groups) if groups else np.full(len(r), -1)
        for j, row in enumerate(r):
            label = (f"{len(r)} seeds" if len(r) != 1 else "1 seed") if j == 0 else None
            shade = colour if nearest[j] < 0 else GROUP_COLOURS[nearest[j] % len(GROUP_COLOURS)]
            ax.plot(steps, _masked(row, *clip), color=shade, lw=0.7, alpha=0.35, label=label)
        if groups:  # each group's median and band (percentiles BAND) over its seeds
            for g, group in enumerate(groups):
                mid, low, high = _median_band(_masked(everything[name][group.members], *clip), BAND)
                shade, steps = GROUP_COLOURS[g % len(GROUP_COLOURS)], np.arange(everything[name].shape[1])
                ax.fill_between(steps, low, high, color=shade, alpha=0.15, lw=0)
                ax.plot(steps, mid, color=shade, lw=2.5,
                        label=f"{group.share:.0%} settle at {group.value:+.3g} ({group.members.size} seeds)")
            total = everything[name].shape[0]
            diverged = total - sum(g.members.size for g in (*groups, *small))
            rest = [f"{sum(g.members.size for g in small)} seeds in smaller groups (< {MIN_SHARE:.0%} each)"] if small else []
            rest += [f"{diverged} seeds diverged"] if diverged else []
            if rest:
                ax.plot([], [], " ", label="; ".join(rest))
        elif name in medians:
            ax.plot(np.arange(np.size(medians[name])), _masked(medians[name], *clip), color=colour, lw=2.5,
                    label=median_label)
        ax.axvline(-0.5, color="0.7", lw=0.8, ls=":")
        ax.set(title=name, xlabel="step", ylim=(lo, hi))
        ax.legend(fontsize=7, loc="best")
    for row in axes:
        row[0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _nearest_group(settle: np.ndarray, groups: list[SettleGroup]) -> np.ndarray:
    """i[S] the index of the group whose value is nearest each settle value (-1 where not finite)."""
    values = np.asarray([g.value for g in groups])
    nearest = np.argmin(np.abs(np.nan_to_num(settle)[:, None] - values[None, :]), axis=1)
    return np.where(np.isfinite(settle), nearest, -1)


def plot_metric_distribution(path: str | os.PathLike, values: dict[str, np.ndarray], *, metric: str,
                             log: bool = False, threshold: float | None = None, title: str = "") -> pathlib.Path:
    """Per variant (``values``: variant -> f[n_seeds]) a jittered strip of the seeds plus a box (median, IQR,
    1.5-IQR whiskers), ``metric`` on the y-axis and ``threshold`` (the collapse threshold) as a line.
    Non-finite values (and with ``log`` values <= 0) are not drawn but counted in the tick label."""
    rng = np.random.default_rng(0)
    fig, ax = _pyplot().subplots(figsize=(max(4.0, 1.6 * len(values) + 1.5), 4.2))
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
        ax.axhline(threshold, color="red", ls="--", lw=1, label=f"collapse threshold = {threshold}")
        ax.legend(fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set(ylabel=metric, title=title)
    return _save(fig, path)


def plot_curves(path: str | os.PathLike, x: np.ndarray, curves: dict[str, np.ndarray], *, xlabel: str,
                ylabel: str, title: str = "", log_y: bool = False,
                bands: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pathlib.Path:
    """Curves (name -> f[K]) against ``x`` f[K]; ``bands`` name -> (lower f[K], upper f[K]) are shaded (e.g.
    bootstrap CIs) in the colour of the curve of the same name."""
    fig, ax = _pyplot().subplots(figsize=(6.0, 4.0))
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
    return _save(fig, path)
