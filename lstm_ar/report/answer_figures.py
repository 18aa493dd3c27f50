"""Headless matplotlib figures of why rollouts collapse and what fixes it.

- ``plot_cobweb``: the learned 1-D map f(x) of window-1 models against the identity, its fixed
  points with |f'| there (``grid_fixed_points``), and a cobweb of one seed's rollout.
- ``plot_phase_diagram``: a rate over (noise level x window), one heat map per model family.
- ``plot_forest``: an estimate with its 95% interval per variant (e.g. P(beats the best
  reference)), sorted, with a reference line.
- ``plot_survival``: the fraction of seeds whose rollout is still valid after t steps.
- ``plot_loss_curves``: the training loss per epoch, median and 10-90% band over seeds.

Every function checks its inputs before drawing (ValueError naming the value), saves a PNG with
``lstm_ar.report.figures``' atomic ``_save`` and returns the path.
"""

from __future__ import annotations

import os
import pathlib
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.report.figures import _masked, _pyplot, _save

LOSS_BAND = (10.0, 90.0)  # percentiles of the band over seeds in the loss curves


class GridFixedPoint(NamedTuple):
    """A fixed point f(x) = x of a map sampled on a grid: ``x`` (interpolated) and the map's slope
    f'(x) there (the secant of the grid interval it lies in)."""

    x: float
    slope: float


def _array(name: str, value, ndims: tuple[int, ...]) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from err
    if a.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    return a


def _check_grid(grid) -> np.ndarray:
    g = _array("map_grid", grid, (1,))
    if g.size < 2 or not np.all(np.isfinite(g)) or not np.all(np.diff(g) > 0):
        raise ValueError(f"map_grid must be f[G], G >= 2, finite and strictly increasing, got {g!r}")
    return g


def grid_fixed_points(map_grid: np.ndarray, map_curve: np.ndarray) -> list[GridFixedPoint]:
    """The fixed points of a map sampled on a grid: where f(x) - x changes sign between neighbouring
    grid points (linearly interpolated) or is exactly 0 at one; grid intervals with a non-finite
    end are skipped.

    Args:
        map_grid: f[G] the inputs x, G >= 2, finite and strictly increasing.
        map_curve: f[G] the map's values f(x) there.

    Returns:
        The fixed points in ascending order of x.
    """
    x = _check_grid(map_grid)
    f = _array("map_curve", map_curve, (1,))
    if f.shape != x.shape:
        raise ValueError(f"map_curve must be f[G] with G = {x.size} (the grid's), got shape {f.shape}")
    d = f - x
    found = []
    for i in range(x.size):
        if d[i] == 0:  # on a grid point: the slope over its neighbours
            a, b = max(i - 1, 0), min(i + 1, x.size - 1)
            if np.isfinite(f[a]) and np.isfinite(f[b]):
                found.append(GridFixedPoint(float(x[i]), float((f[b] - f[a]) / (x[b] - x[a]))))
        elif i + 1 < x.size and np.isfinite(d[i]) and np.isfinite(d[i + 1]) and d[i] * d[i + 1] < 0:
            t = d[i] / (d[i] - d[i + 1])
            found.append(GridFixedPoint(float(x[i] + t * (x[i + 1] - x[i])),
                                        float((f[i + 1] - f[i]) / (x[i + 1] - x[i]))))
    return found


def _cobweb_path(ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The staircase (y0, y0) -> (y0, y1) -> (y1, y1) -> (y1, y2) -> ... of a rollout's finite prefix."""
    bad = np.flatnonzero(~np.isfinite(ys))
    ys = ys[:bad[0]] if bad.size else ys
    xs = np.append(np.repeat(ys[:-1], 2), ys[-1:])
    us = np.append(np.column_stack([ys[:-1], ys[1:]]).ravel(), ys[-1:])
    return xs, us


def plot_cobweb(path: str | os.PathLike, map_grid: np.ndarray, map_curves: np.ndarray, rollouts: np.ndarray, *,
                title: str = "", xlabel: str = "x_t (model units)",
                ylabel: str = "f(x_t) = x_(t+1) (model units)") -> pathlib.Path:
    """The learned map of window-1 models against the identity, its fixed points, and a cobweb.

    One thin line per seed (the first thick), the identity dashed, every seed's fixed points
    (``grid_fixed_points``) as circles (filled: |f'| < 1, an attractor; open: |f'| >= 1), |f'|
    written beside the first seed's, and the cobweb of the first seed's rollout: from (y0, y0) up
    or down to the map, (y0, y1), across to the identity, (y1, y1), and so on. The rollout is cut
    at its first non-finite value.

    Args:
        path: the PNG to write (its folder is created).
        map_grid: f[G] the inputs x at which the maps were evaluated, finite, strictly increasing.
        map_curves: f[S, G] f(x) per seed (f[G]: one seed); non-finite values are gaps.
        rollouts: f[S, T] the same seeds' free-running rollouts (f[T]: one seed), T >= 2.
        title: the figure's title.
        xlabel: the x-axis label.
        ylabel: the y-axis label.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    grid = _check_grid(map_grid)
    curves = np.atleast_2d(_array("map_curves", map_curves, (1, 2)))
    rolls = np.atleast_2d(_array("rollouts", rollouts, (1, 2)))
    if curves.shape[1] != grid.size:
        raise ValueError(f"map_curves must be f[S, G] with G = {grid.size} (the grid's), got shape {curves.shape}")
    if rolls.shape[0] != curves.shape[0] or rolls.shape[1] < 2:
        raise ValueError(f"rollouts must be f[S, T] with S = {curves.shape[0]} (one per map curve) and T >= 2, "
                         f"got shape {rolls.shape}")
    plt = _pyplot()
    lo, hi = float(grid[0]), float(grid[-1])
    span = hi - lo
    finite = curves[np.isfinite(curves)]
    y_lo = max(min(lo, finite.min()) if finite.size else lo, lo - span)
    y_hi = min(max(hi, finite.max()) if finite.size else hi, hi + span)
    clip = (min(lo, y_lo) - span, max(hi, y_hi) + span)
    fig, ax = plt.subplots(figsize=(6.0, 5.4))
    ax.plot([lo, hi], [lo, hi], color="black", ls="--", lw=1.0, label="identity f(x) = x")
    for s, curve in enumerate(curves):
        label = f"learned map f(x), {len(curves)} seeds" if s == 0 else None
        ax.plot(grid, _masked(curve, *clip), color="C0", lw=1.8 if s == 0 else 0.8, alpha=1.0 if s == 0 else 0.35,
                label=label)
    steps = rolls.shape[1]
    xs, us = _cobweb_path(rolls[0])
    ax.plot(np.clip(xs, *clip), np.clip(us, *clip), color="C3", lw=0.8, alpha=0.8,
            label=f"cobweb of seed 0's rollout ({steps} steps)")
    points = [(s, p) for s, curve in enumerate(curves) for p in grid_fixed_points(grid, curve)]
    for stable, marker_label in ((True, "fixed point, |f'| < 1 (attracts)"), (False, "fixed point, |f'| >= 1")):
        chosen = [p for _, p in points if (abs(p.slope) < 1) == stable]
        if chosen:
            xy = np.asarray([p.x for p in chosen])
            ax.scatter(xy, xy, s=36, zorder=3, edgecolors="black", linewidths=0.8,
                       facecolors="black" if stable else "white", label=marker_label)
    for _, p in (q for q in points if q[0] == 0):
        ax.annotate(f"|f'| = {abs(p.slope):.3g}", (p.x, p.x), textcoords="offset points", xytext=(6, -12),
                    fontsize=8)
    ax.set(xlim=(lo, hi), ylim=(y_lo - 0.04 * span, y_hi + 0.04 * span), xlabel=xlabel, ylabel=ylabel,
           title=title or "Learned map f(x), its fixed points and a cobweb")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)


def plot_phase_diagram(path: str | os.PathLike, noise_levels: np.ndarray, windows: np.ndarray,
                       rates: dict[str, np.ndarray], *, title: str = "", metric_label: str = "rate",
                       noise_label: str = "noise level (std of the added noise, series units)",
                       window_label: str = "window (input lags)") -> pathlib.Path:
    """Heat maps of a rate over (noise level x window), one panel per key, side by side, on one
    colour scale 0..1, with the value written in each cell ("n/a" where nan).

    Args:
        path: the PNG to write (its folder is created).
        noise_levels: f[N] the noise levels (rows, bottom to top), finite.
        windows: i[W] the windows (columns, left to right), integers >= 1.
        rates: panel name (e.g. "least-squares AR", "LSTM") -> f[N, W] values in [0, 1] or nan.
        title: the figure's title.
        metric_label: what the rate is (the colour bar's label), e.g. "collapse rate".
        noise_label: the y-axis label.
        window_label: the x-axis label.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    noise = _array("noise_levels", noise_levels, (1,))
    if not np.all(np.isfinite(noise)):
        raise ValueError(f"noise_levels must be finite, got {noise!r}")
    w = _array("windows", windows, (1,))
    if not (np.all(np.isfinite(w)) and np.all(w == np.round(w)) and np.all(w >= 1)):
        raise ValueError(f"windows must be integers >= 1, got {w!r}")
    if not isinstance(rates, dict) or not rates:
        raise ValueError(f"rates must be a non-empty dict of panel name -> f[N, W], got {rates!r}")
    grids = {}
    for name, r in rates.items():
        r = _array(f"rates[{name!r}]", r, (2,))
        if r.shape != (noise.size, w.size):
            raise ValueError(f"rates[{name!r}] must be f[N, W] = f[{noise.size}, {w.size}] (noise levels x windows), "
                             f"got shape {r.shape}")
        known = r[~np.isnan(r)]
        if not np.all((known >= 0) & (known <= 1)):
            raise ValueError(f"rates[{name!r}] must lie in [0, 1] (or be nan), got values {known[(known < 0) | ~(known <= 1)]}")
        grids[name] = r
    plt = _pyplot()
    k = len(grids)
    fig, axes = plt.subplots(1, k, squeeze=False, sharey=True, layout="constrained",
                             figsize=(k * max(3.2, 0.6 * w.size + 1.6) + 1.2, max(3.0, 0.45 * noise.size + 1.6)))
    image = None
    for i, (ax, (name, r)) in enumerate(zip(axes.flat, grids.items())):
        image = ax.imshow(r, vmin=0.0, vmax=1.0, cmap="viridis", origin="lower", aspect="auto")
        for row in range(noise.size):
            for col in range(w.size):
                v = r[row, col]
                ax.text(col, row, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if not np.isnan(v) and v > 0.6 else "white")
        ax.set_xticks(range(w.size), [str(int(v)) for v in w])
        ax.set_yticks(range(noise.size), [f"{v:g}" for v in noise])
        ax.set(title=name, xlabel=window_label)
        if i == 0:
            ax.set_ylabel(noise_label)
    fig.colorbar(image, ax=list(axes.flat), label=metric_label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_forest(path: str | os.PathLike, rows: Sequence[tuple[str, float, float, float, int]], *,
                xlabel: str = "P(beats the best reference)", reference: float | None = 0.5,
                title: str = "") -> pathlib.Path:
    """One row per variant: the estimate with its 95% interval, sorted (largest at the top), a
    vertical line at ``reference``, and the estimate, interval and n written at the right. A row
    whose interval lies wholly above the reference is green, wholly below red, else grey.

    Args:
        path: the PNG to write (its folder is created).
        rows: (label, estimate, lo, hi, n) per variant: finite numbers with lo <= estimate <= hi,
            n >= 1 the number of paired seeds.
        xlabel: the x-axis label.
        reference: where to draw the vertical line (None: no line).
        title: the figure's title.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise ValueError(f"rows must be a non-empty list of (label, estimate, lo, hi, n), got {rows!r}")
    checked = []
    for row in rows:
        if not isinstance(row, (tuple, list)) or len(row) != 5:
            raise ValueError(f"each row must be (label, estimate, lo, hi, n), got {row!r}")
        label, est, lo, hi, n = row
        numbers = (est, lo, hi)
        if not isinstance(label, str) or any(isinstance(v, bool) or not isinstance(v, (int, float, np.number))
                                             for v in numbers):
            raise TypeError(f"a row must be (str, number, number, number, int), got {row!r}")
        if not (np.all(np.isfinite(numbers)) and lo <= est <= hi):
            raise ValueError(f"row {label!r} needs finite lo <= estimate <= hi, got {est!r} in [{lo!r}, {hi!r}]")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"row {label!r} needs n an int >= 1, got {n!r}")
        checked.append((label, float(est), float(lo), float(hi), int(n)))
    if reference is not None and not np.isfinite(reference):
        raise ValueError(f"reference must be finite or None, got {reference!r}")
    checked.sort(key=lambda r: r[1])  # ascending: the largest ends at the top
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.0, max(2.4, 0.42 * len(checked) + 1.4)))
    for y, (_, est, lo, hi, _n) in enumerate(checked):
        above = reference is not None and lo > reference
        below = reference is not None and hi < reference
        colour = "tab:green" if above else "tab:red" if below else "0.4"
        ax.errorbar([est], [y], xerr=[[est - lo], [hi - est]], fmt="o", color=colour, capsize=3, ms=5)
        ax.annotate(f"{est:.2f} [{lo:.2f}, {hi:.2f}]", (1.01, y), xycoords=("axes fraction", "data"),
                    va="center", fontsize=7)
    if reference is not None:
        ax.axvline(reference, color="black", ls="--", lw=1, label=f"reference = {reference:g}")
        ax.legend(fontsize=7, loc="lower right")
    if all(0.0 <= r[2] and r[3] <= 1.0 for r in checked) and (reference is None or 0.0 <= reference <= 1.0):
        ax.set_xlim(-0.02, 1.02)  # a probability: the whole range
    ax.set_yticks(range(len(checked)), [f"{label} (n = {n})" for label, *_, n in checked])
    ax.set_ylim(-0.6, len(checked) - 0.4)
    ax.set(xlabel=xlabel, title=title or f"{xlabel}, 95% intervals")
    fig.tight_layout()
    return _save(fig, path)


def survival_curve(horizon: np.ndarray, steps: int) -> np.ndarray:
    """The fraction of seeds still valid after t steps, t = 0..steps: mean(horizon >= t).

    A seed whose valid horizon is h stayed within tolerance for steps 0..h-1; h = ``steps`` means
    valid for the whole rollout (censored: it might have failed later).

    Args:
        horizon: f[S] valid horizons, integers in [0, steps].
        steps: the rollout length (an int >= 1).

    Returns:
        f64[steps + 1].
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1 (the rollout length), got {steps!r}")
    h = _array("horizon", horizon, (1,))
    bad = h[~(np.isfinite(h) & (h == np.round(h)) & (h >= 0) & (h <= steps))]
    if bad.size:
        raise ValueError(f"valid horizons must be integers in [0, steps={steps}], got {bad[:5]!r}")
    return np.mean(h[:, None] >= np.arange(steps + 1)[None, :], axis=0)


def plot_survival(path: str | os.PathLike, horizons: dict[str, np.ndarray], steps: int, *,
                  title: str = "") -> pathlib.Path:
    """Valid-horizon survival: per variant, the fraction of seeds still valid after t steps,
    t = 0..steps, as a step function (``survival_curve``); the seeds valid for the whole rollout are
    censored at ``steps`` (a "+" there) and counted in the legend.

    Args:
        path: the PNG to write (its folder is created).
        horizons: variant -> f[S] valid horizons, integers in [0, steps].
        steps: the rollout length (an int >= 1).
        title: the figure's title.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    if not isinstance(horizons, dict) or not horizons:
        raise ValueError(f"horizons must be a non-empty dict of variant -> f[S], got {horizons!r}")
    curves = {name: survival_curve(h, steps) for name, h in horizons.items()}
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    t = np.arange(steps + 1)
    for i, (name, s) in enumerate(curves.items()):
        n = np.asarray(horizons[name]).size
        whole = int(round(s[-1] * n))
        median = float(np.median(np.asarray(horizons[name], np.float64)))
        ax.step(t, s, where="post", color=f"C{i % 10}", lw=1.6,
                label=f"{name}: median {median:g} steps, {whole}/{n} valid for all {steps}")
        if whole:
            ax.scatter([steps], [s[-1]], marker="+", s=60, color=f"C{i % 10}", zorder=3)
    ax.set(xlabel="rollout step t", ylabel="fraction of seeds still valid after t steps", xlim=(0, 1.03 * steps),
           ylim=(-0.02, 1.02), title=title or "Valid-horizon survival")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)


def plot_loss_curves(path: str | os.PathLike, epoch_loss: dict[str, np.ndarray], *, title: str = "",
                     ylabel: str = "training loss per epoch (MSE: model units squared)",
                     log_y: bool | None = None) -> pathlib.Path:
    """The training loss against the epoch: per variant the median over seeds and the 10-90% band.
    Non-finite losses are left out (their seeds counted in the legend).

    Args:
        path: the PNG to write (its folder is created).
        epoch_loss: variant -> f[S, E] loss per seed and epoch (f[E]: one seed), E >= 1.
        title: the figure's title.
        ylabel: the y-axis label.
        log_y: a log y-axis; None: log when every finite loss is > 0 (a likelihood loss may be negative).

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    if not isinstance(epoch_loss, dict) or not epoch_loss:
        raise ValueError(f"epoch_loss must be a non-empty dict of variant -> f[S, E], got {epoch_loss!r}")
    losses = {name: np.atleast_2d(_array(f"epoch_loss[{name!r}]", v, (1, 2))) for name, v in epoch_loss.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in losses.values()])
    if log_y is None:
        log_y = bool(finite.size and np.all(finite > 0))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (name, v) in enumerate(losses.items()):
        shown = _masked(np.where(v > 0, v, np.nan) if log_y else v)
        epochs = np.arange(1, v.shape[1] + 1)
        with warnings.catch_warnings():  # an epoch where every seed is nan has no median
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(shown, axis=0)
            lo, hi = np.nanpercentile(shown, LOSS_BAND, axis=0)
        bad = int(np.sum(~np.all(np.isfinite(v), axis=1)))
        colour = f"C{i % 10}"
        ax.fill_between(epochs, lo, hi, color=colour, alpha=0.2, lw=0)
        ax.plot(epochs, median, color=colour, lw=1.8, marker="o" if v.shape[1] <= 30 else None, ms=3,
                label=f"{name} ({v.shape[0]} seeds" + (f", {bad} with non-finite loss)" if bad else ")"))
    if log_y:
        ax.set_yscale("log")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="epoch", ylabel=ylabel,
           title=title or f"Training loss: median and {LOSS_BAND[0]:g}-{LOSS_BAND[1]:g}% band over seeds")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _save(fig, path)
