"""Rolling-origin backtests of recipes and linear references on a real series.

The series is split in time (the first 80% trains; ``lstm_ar.data.real.split_standardise``), and
both parts are standardised with the training part's statistics. Each model seed trains once on
the training part; it is then rolled out from ``origins`` forecast origins over the held-out part,
each for ``horizon`` steps, reading the true values up to its origin (only the last window of
them: the rollouts are window-based or warm up on the last window). The origins and the default
horizon are the study's (``lstm_ar.study.backtest``: one origin formula, one horizon rule, with
the rollout length ``ROLLOUT_STEPS``); every origin is judged by the one judge
(``lstm_ar.dynamics.judge.judge_origins``) against the true values after it. The references (persistence, the training mean, the
seasonal naive forecast, least-squares AR by AIC and BIC, the direct linear forecaster) are fitted
on the training part once and rolled out from the same origins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.config import Hyper, TrainConfig, validate_hyper
from lstm_ar.data.real import split_standardise
from lstm_ar.dynamics.judge import judge_origins
from lstm_ar.dynamics.rollout import rollouts
from lstm_ar.linear.ar import ar_rollout, select_order
from lstm_ar.linear.direct import direct_rollout, fit_direct
from lstm_ar.runtime.sweep import run_seeds
from lstm_ar.study import backtest as study_backtest
from lstm_ar.study.pairs import EVAL_STREAM, cache_layout, training_program
from lstm_ar.training import stack_settings

ROLLOUT_STEPS = 48  # the rollout length the horizon rule caps the horizon at (min(48, held-out // 2))


class Backtest(NamedTuple):
    """name; values f32[T] (training part then held-out part, standardised); n_train; origins i[K]
    (indices into the held-out part); horizon; season (None: no seasonal naive); mean, std (the
    training part's, to go back to the series' units)."""

    name: str
    values: np.ndarray
    n_train: int
    origins: np.ndarray
    horizon: int
    season: int | None
    mean: float
    std: float


def make_backtest(name: str, raw: np.ndarray, *, origins: int = 20, horizon: int | None = None,
                  season: int | None = None) -> Backtest:
    """Split, standardise and place the origins (``lstm_ar.study.backtest.build``).

    Args:
      name: the series' name (for reports).
      raw: f[T] the series in its own units.
      origins: forecast origins (>= 1).
      horizon: steps per rollout (default ``min(ROLLOUT_STEPS, held-out length // 2)``).
      season: period of the seasonal naive reference (None: none).

    Returns:
      ``Backtest``. Raises ValueError when the held-out part cannot hold the origins and horizon.
    """
    split = split_standardise(raw)
    origins = check_int(origins, "origins", 1)
    if season is not None:
        season = check_int(season, "season", 1)
    try:
        plan = study_backtest.build(split.train, split.test, origins, horizon, ROLLOUT_STEPS)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return Backtest(name, plan.history, plan.start, plan.origins.astype(np.int32), plan.horizon, season, split.mean,
                    split.std)


def _contexts(bt: Backtest, width: int) -> tuple[jax.Array, jax.Array]:
    """Per origin: the last ``width`` values before it f32[K, width] and the truth after it f32[K, H]."""
    if width > bt.n_train:
        raise ValueError(f"{bt.name}: a window of {width} is longer than the training part ({bt.n_train} values)")
    plan = study_backtest.Backtest(np.asarray(bt.origins, np.int64), bt.horizon, bt.values, bt.n_train)
    return jnp.asarray(plan.contexts(width)), jnp.asarray(plan.truths())


def run_recipe_backtest(config: TrainConfig, settings: Mapping[str, Hyper], bt: Backtest, n_seeds: int, *,
                        root_seed: int = 0, lanes: int | None = None, progress: bool = True,
                        desc: str = "") -> dict[str, dict[str, np.ndarray]]:
    """Train ``config`` per seed on the training part and backtest it from every origin.

    Returns:
      setting name -> {metric: f[S]} (``backtest_*``) plus ``origin_rmse`` f[S, K].
    """
    for hyper in settings.values():
        validate_hyper(hyper, dropout_sites=config.dropout_sites, noisy_inputs=config.noisy_inputs)
    names = list(settings)
    shared, stack = stack_settings(settings.values())
    series = np.asarray(bt.values[:bt.n_train], np.float32)
    train = training_program(config, series)
    contexts, truths = _contexts(bt, config.model.window)

    def per_seed(key):
        eval_key = jax.random.fold_in(key, EVAL_STREAM)

        def one_setting(hyper):
            params = train(key, series, hyper).params
            ys = jax.vmap(lambda c: rollouts(params, c, bt.horizon, config, eval_key)["point"])(contexts)
            return judge_origins(ys, truths, 1.0)

        if len(names) == 1:
            return one_setting(Hyper(**shared))
        return jax.vmap(lambda setting: one_setting(Hyper(**shared, **setting)))(stack)

    max_lanes = cache_layout(config, 1, len(names))[1]
    sweep = run_seeds(per_seed, n_seeds, root_seed=root_seed, lanes=lanes, max_lanes=max_lanes,
                      desc=desc or f"{bt.name} {config.describe()}",
                      progress=progress)
    if sweep.results is None:
        return {}
    pick = (lambda a, j: a) if len(names) == 1 else (lambda a, j: a[:, j])
    return {name: {k: np.asarray(pick(v, j), np.float64) for k, v in sweep.results.items()}
            for j, name in enumerate(names)}


def reference_backtests(bt: Backtest, *, max_order: int | None = None,
                        direct_window: int | None = None) -> dict[str, dict[str, float | np.ndarray]]:
    """The references from every origin: name -> the same ``backtest_*`` numbers (one value each,
    no seeds) and ``origin_rmse`` f[K]. AR orders are chosen by AIC and BIC on the training part."""
    max_order = max_order or max(1, min(50, bt.n_train // 5))
    direct_window = direct_window or max(1, min(50, bt.n_train // 5))
    train = jnp.asarray(bt.values[:bt.n_train])
    width = max(max_order, direct_window, bt.season or 1)
    contexts, truths = _contexts(bt, width)
    h = bt.horizon
    fits = {"AR(AIC)": select_order(train, max_order, "aic", min_order=1),
            "AR(BIC)": select_order(train, max_order, "bic", min_order=1)}
    direct = fit_direct(train, direct_window, h)
    paths = {name: jax.vmap(lambda c, f=fit: ar_rollout(f, c, h))(contexts) for name, fit in fits.items()}
    paths["direct linear"] = jax.vmap(lambda c: direct_rollout(direct, c, h))(contexts)
    paths["persistence"] = jnp.repeat(contexts[:, -1:], h, axis=1)
    paths["training mean"] = jnp.zeros_like(truths)  # standardised: the training part's mean is 0
    if bt.season:
        season = contexts[:, -bt.season:]
        paths[f"seasonal naive ({bt.season})"] = jnp.tile(season, (1, -(-h // bt.season)))[:, :h]
    out = {}
    for name, p in paths.items():
        judged = judge_origins(p, truths, 1.0)
        out[name] = {k: float(v) for k, v in judged.items() if k != "origin_rmse"}
        out[name]["origin_rmse"] = np.asarray(judged["origin_rmse"], np.float64)
    out["AR(AIC)"]["order"] = int(fits["AR(AIC)"].order)
    out["AR(BIC)"]["order"] = int(fits["AR(BIC)"].order)
    return out
