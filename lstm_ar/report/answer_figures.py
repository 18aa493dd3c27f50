"""Headless matplotlib figures of why rollouts collapse and what fixes it: cobweb, phase diagram,
forest, survival and loss curves. Each checks its inputs (ValueError naming the value) and saves a PNG
with ``lstm_ar.report.figures``' atomic ``_save``.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.report.figures import _masked, _median_band, _pyplot, _save

LOSS_BAND = (10.0, 90.0)  # percentiles of the band over seeds in the loss curves


class GridFixedPoint(NamedTuple):
    """A fixed point f(x) = x of a map sampled on a grid: ``x`` (interpolated) and the slope f'(x) there (the
    secant of its grid interval)."""

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
    """The fixed points, ascending, of a map f[G] sampled on ``map_grid`` (f[G], G >= 2, finite, increasing):
    where f(x) - x changes sign between grid points (interpolated) or is 0 at one; intervals with a
    non-finite end are skipped."""
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


def plot_cobweb(path: str | os.PathLike, map_grid: np.ndarray, map_curves: np.ndarray, rollouts: np.ndarray, *,
                title: str = "", xlabel: str = "x_t (model units)",
                ylabel: str = "f(x_t) = x_(t+1) (model units)") -> pathlib.Path:
    """The learned maps ``map_curves`` f[S, G] of window-1 models on ``map_grid`` against the identity, their
    fixed points (filled where |f'| < 1, an attractor; |f'| written for seed 0) and the cobweb of seed 0's
    rollout (``rollouts`` f[S, T], T >= 2) up to its first non-finite value."""
    grid = _check_grid(map_grid)
    curves = np.atleast_2d(_array("map_curves", map_curves, (1, 2)))
    rolls = np.atleast_2d(_array("rollouts", rollouts, (1, 2)))
    if curves.shape[1] != grid.size:
        raise ValueError(f"map_curves must be f[S, G] with G = {grid.size} (the grid's), got shape {curves.shape}")
    if rolls.shape[0] != curves.shape[0] or rolls.shape[1] < 2:
        raise ValueError(f"rollouts must be f[S, T] with S = {curves.shape[0]} (one per map curve) and T >= 2, "
                         f"got shape {rolls.shape}")
    lo, hi = float(grid[0]), float(grid[-1])
    span = hi - lo
    finite = curves[np.isfinite(curves)]
    y_lo = max(min(lo, finite.min()) if finite.size else lo, lo - span)
    y_hi = min(max(hi, finite.max()) if finite.size else hi, hi + span)
    clip = (min(lo, y_lo) - span, max(hi, y_hi) + span)
    fig, ax = _pyplot().subplots(figsize=(6.0, 5.4))
    ax.plot([lo, hi], [lo, hi], color="black", ls="--", lw=1.0, label="identity f(x) = x")
    for s, curve in enumerate(curves):
        ax.plot(grid, _masked(curve, *clip), color="C0", lw=1.8 if s == 0 else 0.8, alpha=1.0 if s == 0 else 0.35,
                label=f"learned map f(x), {len(curves)} seeds" if s == 0 else None)
    bad = np.flatnonzero(~np.isfinite(rolls[0]))
    ys = rolls[0][:bad[0]] if bad.size else rolls[0]  # the staircase (y0, y0) -> (y0, y1) -> (y1, y1) -> ...
    xs = np.append(np.repeat(ys[:-1], 2), ys[-1:])
    us = np.append(np.column_stack([ys[:-1], ys[1:]]).ravel(), ys[-1:])
    ax.plot(np.clip(xs, *clip), np.clip(us, *clip), color="C3", lw=0.8, alpha=0.8,
            label=f"cobweb of seed 0's rollout ({rolls.shape[1]} steps)")
    points = [(s, p) for s, curve in enumerate(curves) for p in grid_fixed_points(grid, curve)]
    for stable, marker_label in ((True, "fixed point, |f'| < 1 (attracts)"), (False, "fixed point, |f'| >= 1")):
        chosen = [p for _, p in points if (abs(p.slope) < 1) == stable]
        if chosen:
            xy = np.asarray([p.x for p in chosen])
            ax.scatter(xy, xy, s=36, zorder=3, edgecolors="black", linewidths=0.8,
                       facecolors="black" if stable else "white", label=marker_label)
    for _, p in (q for q in points if q[0] == 0):
        ax.annotate(f"|f'| = {abs(p.slope):.3g}", (p.x, p.x), textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set(xlim=(lo, hi), ylim=(y_lo - 0.04 * span, y_hi + 0.04 * span), xlabel=xlabel, ylabel=ylabel,
           title=title or "Learned map f(x), its fixed points and a cobweb")
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def plot_phase_diagram(path: str | os.PathLike, noise_levels: np.ndarray, windows: np.ndarray,
                       rates: dict[str, np.ndarray], *, title: str = "", metric_label: str = "rate",
                       noise_label: str = "noise level (std of the added noise, series units)",
                       window_label: str = "window (input lags)") -> pathlib.Path:
    """Heat maps of ``rates`` (panel name, e.g. "LSTM" -> f[N, W] in [0, 1] or nan) over ``noise_levels`` f[N]
    (rows, finite) x ``windows`` i[W] (columns, >= 1), side by side on one 0..1 colour scale
    (``metric_label``), each cell's value written ("n/a" where nan)."""
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
    k = len(grids)
    fig, axes = _pyplot().subplots(1, k, squeeze=False, sharey=True, layout="constrained",
                                   figsize=(k * max(3.2, 0.6 * w.size + 1.6) + 1.2, max(3.0, 0.45 * noise.size + 1.6)))
    image = None
    for ax, (name, r) in zip(axes.flat, grids.items()):
        image = ax.imshow(r, vmin=0.0, vmax=1.0, cmap="viridis", origin="lower", aspect="auto")
        for (row, col), v in np.ndenumerate(r):
            ax.text(col, row, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                    color="black" if not np.isnan(v) and v > 0.6 else "white")
        ax.set_xticks(range(w.size), [str(int(v)) for v in w])
        ax.set_yticks(range(noise.size), [f"{v:g}" for v in noise])
        ax.set(title=name, xlabel=window_label)
    axes.flat[0].set_ylabel(noise_label)
    fig.colorbar(image, ax=list(axes.flat), label=metric_label, shrink=0.9)
    if title:
        fig.suptitle(title)
    return _save(fig, path, tight=False)


def plot_forest(path: str | os.PathLike, rows: Sequence[tuple[str, float, float, float, int]], *,
                xlabel: str = "P(beats the best reference)", reference: float | None = 0.5,
                title: str = "") -> pathlib.Path:
    """One row per variant, ``rows`` of (label, estimate, lo, hi, n paired seeds), lo <= estimate <= hi finite:
    the estimate and its 95% interval, largest at the top, written at the right, a line at ``reference``
    (None: none); an interval wholly above the reference is green, wholly below red, else grey."""
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
    fig, ax = _pyplot().subplots(figsize=(7.0, max(2.4, 0.42 * len(checked) + 1.4)))
    for y, (_, est, lo, hi, _n) in enumerate(checked):
        above, below = reference is not None and lo > reference, reference is not None and hi < reference
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
    return _save(fig, path)


def survival_curve(horizon: np.ndarray, steps: int) -> np.ndarray:
    """f64[steps + 1]: the fraction of seeds still valid after t = 0..steps steps, mean(horizon >= t); ``horizon``
    f[S] in [0, steps]: h is valid for steps 0..h-1, h = ``steps`` for the whole rollout (censored)."""
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1 (the rollout length), got {steps!r}")
    h = _array("horizon", horizon, (1,))
    bad = h[~(np.isfinite(h) & (h == np.round(h)) & (h >= 0) & (h <= steps))]
    if bad.size:
        raise ValueError(f"valid horizons must be integers in [0, steps={steps}], got {bad[:5]!r}")
    return np.mean(h[:, None] >= np.arange(steps + 1)[None, :], axis=0)


def plot_survival(path: str | os.PathLike, horizons: dict[str, np.ndarray], steps: int, *,
                  title: str = "") -> pathlib.Path:
    """Per variant (``horizons``: variant -> f[S] valid horizons) the ``survival_curve`` as a step function;
    seeds valid for the whole rollout are censored at ``steps`` (a "+") and counted in the legend."""
    if not isinstance(horizons, dict) or not horizons:
        raise ValueError(f"horizons must be a non-empty dict of variant -> f[S], got {horizons!r}")
    curves = {name: survival_curve(h, steps) for name, h in horizons.items()}
    fig, ax = _pyplot().subplots(figsize=(6.5, 4.2))
    for i, (name, s) in enumerate(curves.items()):
        n = np.asarray(horizons[name]).size
        whole = int(round(s[-1] * n))
        ax.step(np.arange(steps + 1), s, where="post", color=f"C{i % 10}", lw=1.6,
                label=f"{name}: median {float(np.median(np.asarray(horizons[name], np.float64))):g} steps, {whole}/{n} "
                      f"valid for all {steps}")
        if whole:
            ax.scatter([steps], [s[-1]], marker="+", s=60, color=f"C{i % 10}", zorder=3)
    ax.set(xlabel="rollout step t", ylabel="fraction of seeds still valid after t steps", xlim=(0, 1.03 * steps),
           ylim=(-0.02, 1.02), title=title or "Valid-horizon survival")
    ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def plot_loss_curves(path: str | os.PathLike, epoch_loss: dict[str, np.ndarray], *, title: str = "",
                     ylabel: str = "training loss per epoch (MSE: model units squared)",
                     log_y: bool | None = None) -> pathlib.Path:
    """The training loss (``epoch_loss``: variant -> f[S, E], f[E]: one seed) per epoch: median over seeds and
    10-90% band; non-finite losses are left out, their seeds counted in the legend. ``log_y`` None: log
    when every finite loss is > 0 (a likelihood loss may be negative)."""
    if not isinstance(epoch_loss, dict) or not epoch_loss:
        raise ValueError(f"epoch_loss must be a non-empty dict of variant -> f[S, E], got {epoch_loss!r}")
    losses = {name: np.atleast_2d(_array(f"epoch_loss[{name!r}]", v, (1, 2))) for name, v in epoch_loss.items()}
    finite = np.concatenate([v[np.isfinite(v)] for v in losses.values()])
    if log_y is None:
        log_y = bool(finite.size and np.all(finite > 0))
    fig, ax = _pyplot().subplots(figsize=(6.5, 4.2))
    for i, (name, v) in enumerate(losses.items()):
        shown = _masked(np.where(v > 0, v, np.nan) if log_y else v)
        epochs = np.arange(1, v.shape[1] + 1)
        median, lo, hi = _median_band(shown, LOSS_BAND)
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
    return _save(fig, path)
