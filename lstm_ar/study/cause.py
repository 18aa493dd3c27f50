"""The cause, measured against its formula: regression dilution makes the learned map a contraction.

With one noisy lag the least-squares map is ``x -> rho x`` with ``rho = cos(w) s2 / (s2 + n2)``
(``lstm_ar.linear.shrinkage.one_lag_shrinkage``): the rollout of a contraction settles. More lags
average the noise out and push the AR(p) companion matrix's spectral radius towards 1. This module
measures, over noise levels x windows (lags):

* ``ar_grid``: per realisation, the AR(p) least-squares fit (p = the window): its one-lag slope
  (p = 1, against the formula), its companion spectral radius, and whether its rollout collapses
  or stays valid for the whole horizon;
* ``lstm_grid``: LSTMs of the same windows trained on the same series (model seeds x realisations):
  collapse and full-horizon rates, and the spectral radius of the rollout map's Jacobian at the
  end of the rollout (for window 1 that is |f'| at the value the rollout reached, the slope of the
  learned 1-D map at its attractor when it settled).

Both grids share the realisations (``lstm_ar.data.realisations``) of each noise level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.realisations import Realisations, sine_realisations
from lstm_ar.dynamics.judge import judge_path
from lstm_ar.dynamics.rollout import rollout_window
from lstm_ar.dynamics.stability import spectral_radius, window_map_jacobian
from lstm_ar.linear.ar import ar_rollout, companion_spectral_radius, fit_ar
from lstm_ar.linear.shrinkage import one_lag_shrinkage, sine_step
from lstm_ar.runtime.sweep import run_seeds
from lstm_ar.study.pairs import cache_layout, map_realisations, training_program

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
    """Least-squares AR(p), p = each window, on every realisation of every noise level.

    Returns:
      ``Grid`` with cells: slope1 (mean AR(1) slope), rho (median companion spectral radius),
      collapsed, valid_full (rates over realisations), rmse (median rollout RMSE).
    """
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
            cells["collapsed"][i, j] = m["collapsed"].mean()
            cells["valid_full"][i, j] = m["valid_full"].mean()
            cells["rmse"][i, j] = np.median(np.where(np.isfinite(m["rollout_rmse"]), m["rollout_rmse"], np.inf))
    return Grid(noise, tuple(windows), cells)


def lstm_grid(data: Sequence[Realisations], windows: Sequence[int], seeds: int, config_of, *,
              progress: bool = True, lanes: int | None = None) -> tuple[Grid, dict[int, dict[str, np.ndarray]]]:
    """LSTMs of each window trained on every realisation of every noise level (one program per window,
    the noise levels and realisations vmapped).

    Args:
      data: realisations per noise level (same count each).
      windows: the windows.
      seeds: model seeds per (noise level, realisation).
      config_of: window -> ``TrainConfig`` (a next-value head trained one step ahead).
      progress, lanes: as ``run_seeds``.

    Returns:
      (``Grid`` with cells collapsed, valid_full, diverged (rates over pairs), rho_end (median spectral
      radius of the rollout map at the end of the rollout, over pairs that did not diverge),
      rho_settled (the same over collapsed pairs only: for window 1, |f'| at the attractor the
      rollout settled on; nan without one), rmse (median); per window the raw per-pair metrics
      {name: f[S, N, R]}).
    """
    noise = tuple(d.noise for d in data)
    n_levels, n_real = len(data), data[0].series.shape[0]
    shapes = {(d.series.shape, d.truth.shape) for d in data}
    if len(shapes) != 1:
        raise ValueError(f"every noise level needs the same number of realisations and steps, got {sorted(shapes)}")
    stack = {f: jnp.asarray(np.concatenate([getattr(d, f) for d in data])) for f in ("series", "context", "truth", "scale")}
    steps = data[0].truth.shape[1]
    cells = {k: np.zeros((n_levels, len(windows)))
             for k in ("collapsed", "valid_full", "diverged", "rho_end", "rho_settled", "rmse")}
    raw = {}
    for j, w in enumerate(windows):
        config = config_of(w)
        if not (config.model.head == "next" and config.one_step):
            raise ValueError(f"the cause grid rolls out window-mode one-step models; got {config.describe()}")
        train = training_program(config, data[0].series[0])

        def per_seed(key, config=config, train=train):
            def one(series, context, truth, scale):
                params = train(key, series, Hyper()).params
                ys = rollout_window(params, context, steps, config.model)
                m = judge_path(ys, truth, scale)
                end = jnp.concatenate([context[-config.model.window:], ys])[-config.model.window:]
                end = jnp.where(jnp.isfinite(end), end, 0.0)
                m["rho_end"] = jnp.where(m["diverged"] > 0, jnp.nan,
                                         spectral_radius(window_map_jacobian(params, end, config.model)))
                return m

            return map_realisations(one, (stack["series"], stack["context"], stack["truth"], stack["scale"]), block)

        block, max_lanes = cache_layout(config, n_levels * n_real)
        sweep = run_seeds(per_seed, seeds, lanes=lanes, max_lanes=max_lanes, desc=f"cause w{w}", progress=progress)
        if sweep.results is None:  # another process of a multi-process run
            continue
        m = {k: np.asarray(v, np.float64).reshape(seeds, n_levels, n_real) for k, v in sweep.results.items()}
        raw[w] = m
        for i in range(n_levels):
            cell = {k: v[:, i].reshape(-1) for k, v in m.items()}
            cells["collapsed"][i, j] = cell["collapsed"].mean()
            cells["valid_full"][i, j] = cell["valid_full"].mean()
            cells["diverged"][i, j] = cell["diverged"].mean()
            finite = cell["rho_end"][np.isfinite(cell["rho_end"])]
            cells["rho_end"][i, j] = np.median(finite) if finite.size else np.nan
            settled = cell["rho_end"][np.isfinite(cell["rho_end"]) & (cell["collapsed"] > 0)]
            cells["rho_settled"][i, j] = np.median(settled) if settled.size else np.nan
            cells["rmse"][i, j] = np.median(np.where(np.isfinite(cell["rollout_rmse"]), cell["rollout_rmse"], np.inf))
    return Grid(noise, tuple(windows), cells), raw


def default_config(window: int, *, epochs: int = 100, units: int = 32, activation: str = "tanh") -> TrainConfig:
    """The grid's LSTM: Keras-default one-step training of LSTM(units, activation) over ``window``."""
    return TrainConfig(model=ModelConfig(units=units, window=window, activation=activation), epochs=epochs)
