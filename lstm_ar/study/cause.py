"""The cause, measured against its formula: regression dilution makes the learned map a contraction.

With one noisy lag the least-squares map is ``x -> rho x``, ``rho = cos(w) s2 / (s2 + n2)``, whose rollout
settles; more lags average the noise out. ``ar_grid`` (AR(p = window)) and ``lstm_grid`` measure it over noise
levels x windows on the same realisations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.data.realisations import Realisations, sine_realisations
from lstm_ar.dynamics.judge import judge_path
from lstm_ar.linear.ar import ar_rollout, companion_spectral_radius, fit_ar
from lstm_ar.linear.shrinkage import one_lag_shrinkage, sine_step

NOISE_LEVELS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)
WINDOWS = (1, 2, 5, 10, 20, 50, 100)
SIGNAL_VARIANCE = 0.5  # of sin(t): amplitude^2 / 2 (standardising scales s2 and n2 alike: rho is unchanged)


class Grid(NamedTuple):
    """Per (noise level, window): ``cells[metric]`` f[N, W] (rates and medians over pairs)."""

    noise_levels: tuple[float, ...]
    windows: tuple[int, ...]
    cells: dict[str, np.ndarray]


def formula(noise_levels: Sequence[float]) -> np.ndarray:
    """The one-lag least-squares slope the formula predicts at each noise level: f[N]."""
    return np.asarray([float(one_lag_shrinkage(sine_step(), SIGNAL_VARIANCE, s * s)) for s in noise_levels])


def realisation_stack(noise_levels: Sequence[float], realisations: int, steps: int) -> list[Realisations]:
    """The realisations of every noise level (the same noise draws, scaled by each level)."""
    return [sine_realisations(realisations, steps=steps, noise=float(s)) for s in noise_levels]


def ar_grid(data: Sequence[Realisations], windows: Sequence[int] = WINDOWS) -> Grid:
    """AR(p = each window) on every realisation: cells slope1 (mean AR(1) slope), rho (median companion spectral
    radius), collapsed, valid_full (rates), rmse (median rollout RMSE)."""
    noise = tuple(d.noise for d in data)
    cells = {k: np.zeros((len(data), len(windows))) for k in ("slope1", "rho", "collapsed", "valid_full", "rmse")}
    for i, d in enumerate(data):
        steps = d.truth.shape[1]
        for j, p in enumerate(windows):
            def one(series, context, truth, scale, p=p):
                fit = fit_ar(series, p)
                ys = ar_rollout(fit, context, steps)
                return fit.coefs[0], companion_spectral_radius(fit.coefs), judge_path(ys, truth, scale)

            slope, rho, m = jax.tree.map(np.asarray, jax.vmap(one)(*map(jnp.asarray, (d.series, d.context, d.truth,
                                                                                        d.scale))))
            cells["slope1"][i, j] = slope.mean() if p == 1 else np.nan
            cells["rho"][i, j] = np.median(rho)
            for k in ("collapsed", "valid_full"):
                cells[k][i, j] = m[k].mean()
            cells["rmse"][i, j] = _median_worst(m["rollout_rmse"])
    return Grid(noise, tuple(windows), cells)


def _median_worst(rmse: np.ndarray) -> float:
    """The median RMSE, a non-finite (diverged) one counted as +inf."""
    return np.median(np.where(np.isfinite(rmse), rmse, np.inf))


def lstm_grid(data: Sequence[Realisations], windows: Sequence[int], seeds: int, config_of, *,
              progress: bool = True, lanes: int | None = None) -> tuple[Grid, dict[int, dict[str, np.ndarray]]]:
    """LSTMs (``config_of(window)``: one-step next-value), ``seeds`` per (noise level, realisation), one
    ``run_scenario`` per window over every draw. Returns (``Grid``: collapsed, valid_full, diverged (rates),
    rho_end (median rollout-map spectral radius at the end, over pairs that did not diverge), rho_settled (the
    same over collapsed pairs: window 1, |f'| at the attractor), rmse (median); per window {name: f[S, N, R]})."""
    from lstm_ar.study.experiment import run_scenario
    from lstm_ar.study.realisations import sine_draws

    noise = tuple(d.noise for d in data)
    n_levels, n_real = len(data), data[0].series.shape[0]
    shapes = {(d.series.shape, d.truth.shape) for d in data}
    if len(shapes) != 1:
        raise ValueError(f"every noise level needs the same number of realisations and steps, got {sorted(shapes)}")
    steps = data[0].truth.shape[1]
    raw = {}
    for w in windows:
        config = config_of(w)
        if not (config.model.head == "next" and config.one_step):
            raise ValueError(f"the cause grid rolls out window-mode one-step models; got {config.describe()}")
        draws = [sc for d in data for sc in sine_draws(f"cause_w{w}", {f"w{w}": config}, d, end_radius=True,
                                                         figures=())]
        result = run_scenario(draws, seeds, lanes=lanes, progress=progress)
        if result is None:  # another process of a multi-process run
            continue
        m = result.variants[f"w{w}"].metrics
        m = {k: m[k] for k in ("collapsed", "diverged", "rollout_rmse", "valid_horizon", "rho_end")}
        m["valid_full"] = (m["valid_horizon"] == steps).astype(np.float64)
        raw[w] = {k: v.reshape(seeds, n_levels, n_real) for k, v in m.items()}
    return Grid(noise, tuple(windows), lstm_cells(raw, windows, n_levels) if raw else {}), raw


def lstm_cells(raw: dict[int, dict[str, np.ndarray]], windows: Sequence[int], n_levels: int) -> dict[str, np.ndarray]:
    """The LSTM grid's cells f[n_levels, n_windows] (``lstm_grid``) from its per-pair values (window -> {name:
    f[S, N, R]}): also how ``lstm-ar report cause`` rebuilds them from ``pairs.csv``."""
    cells = {k: np.full((n_levels, len(windows)), np.nan)
             for k in ("collapsed", "valid_full", "diverged", "rho_end", "rho_settled", "rmse")}
    for j, w in enumerate(windows):
        for i in range(n_levels):
            cell = {k: v[:, i].reshape(-1) for k, v in raw[w].items()}
            for k in ("collapsed", "valid_full", "diverged"):
                cells[k][i, j] = cell[k].mean()
            finite = np.isfinite(cell["rho_end"])
            for key, keep in (("rho_end", finite), ("rho_settled", finite & (cell["collapsed"] > 0))):
                cells[key][i, j] = np.median(cell["rho_end"][keep]) if keep.any() else np.nan
            cells["rmse"][i, j] = _median_worst(cell["rollout_rmse"])
    return cells


def default_config(window: int, *, epochs: int = 100, units: int = 32, activation: str = "tanh") -> TrainConfig:
    """The grid's LSTM: Keras-default one-step training of LSTM(units, activation) over ``window``."""
    return TrainConfig(model=ModelConfig(units=units, window=window, activation=activation), epochs=epochs)
