"""Rolling-origin backtests of recipes and linear references on a real series.

The series is split in time (the first 80% trains; ``lstm_ar.data.real.split_standardise``), and
both parts are standardised with the training part's statistics. Each model seed trains once on
the training part; it is then rolled out from ``origins`` forecast origins spread evenly over the
held-out part, each for ``horizon`` steps, reading the true values up to its origin (only the last
window of them: the rollouts are window-based or warm up on the last window). Every origin is
judged against the true values after it. The references (persistence, the training mean, the
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
from lstm_ar.data.real import split_standardise
from lstm_ar.linear.ar import ar_rollout, select_order
from lstm_ar.linear.direct import direct_rollout, fit_direct
from lstm_ar.remedies.recipe import Recipe, RemedyHyper, check_remedy_hyper
from lstm_ar.remedies.rollout import path_metrics, rollouts
from lstm_ar.remedies.search import cache_layout
from lstm_ar.remedies.train import make_train
from lstm_ar.study.sweep import run_seeds

EVAL_STREAM = 0x6576616C


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
    """Split, standardise and place the origins (evenly spaced, each with ``horizon`` true values after it).

    Args:
      name: the series' name (for reports).
      raw: f[T] the series in its own units.
      origins: forecast origins (>= 1).
      horizon: steps per rollout (default min(48, held-out length // 2)).
      season: period of the seasonal naive reference (None: none).

    Returns:
      ``Backtest``. Raises ValueError when the held-out part cannot hold the origins and horizon.
    """
    split = split_standardise(raw)
    n_test = split.test.shape[0]
    origins = check_int(origins, "origins", 1)
    horizon = min(48, n_test // 2) if horizon is None else check_int(horizon, "horizon", 1)
    room = n_test - horizon + 1
    if horizon < 1 or room < origins:
        raise ValueError(f"{name}: a held-out part of {n_test} values holds at most {max(room, 0)} origins with "
                         f"{horizon} values after each; asked for {origins}")
    if season is not None:
        season = check_int(season, "season", 1)
    positions = np.unique(np.round(np.linspace(0, room - 1, origins)).astype(np.int32))
    values = np.concatenate([split.train, split.test]).astype(np.float32)
    return Backtest(name, values, int(split.train.shape[0]), positions, horizon, season, split.mean, split.std)


def _contexts(bt: Backtest, width: int) -> tuple[jax.Array, jax.Array]:
    """Per origin: the last ``width`` values before it f32[K, width] and the truth after it f32[K, H]."""
    starts = bt.n_train + np.asarray(bt.origins)
    if width > bt.n_train:
        raise ValueError(f"{bt.name}: a window of {width} is longer than the training part ({bt.n_train} values)")
    ctx = np.stack([bt.values[s - width:s] for s in starts])
    truth = np.stack([bt.values[s:s + bt.horizon] for s in starts])
    return jnp.asarray(ctx), jnp.asarray(truth)


def _summary(metrics: dict[str, jax.Array]) -> dict[str, jax.Array]:
    """Per-origin metrics {name: f[K]} -> per-seed backtest metrics."""
    rmse = metrics["rollout_rmse"]
    return {"backtest_rmse": jnp.where(jnp.all(jnp.isfinite(rmse)), jnp.mean(rmse), jnp.inf),
            "backtest_valid_horizon": jnp.mean(metrics["valid_horizon"]),
            "backtest_valid_full_rate": jnp.mean(metrics["valid_full"]),
            "backtest_collapse_rate": jnp.mean(metrics["collapsed"]),
            "backtest_diverged_rate": jnp.mean(metrics["diverged"])}


def run_recipe_backtest(recipe: Recipe, settings: Mapping[str, RemedyHyper], bt: Backtest, n_seeds: int, *,
                        root_seed: int = 0, lanes: int | None = None, progress: bool = True,
                        desc: str = "") -> dict[str, dict[str, np.ndarray]]:
    """Train ``recipe`` per seed on the training part and backtest it from every origin.

    Returns:
      setting name -> {metric: f[S]} (``backtest_*``) plus ``origin_rmse`` f[S, K].
    """
    for hyper in settings.values():
        check_remedy_hyper(hyper)
    names = list(settings)
    stack = jax.tree.map(lambda *v: np.asarray(v, np.float32), *settings.values())
    train = make_train(recipe, bt.n_train)
    series = jnp.asarray(bt.values[:bt.n_train])
    contexts, truths = _contexts(bt, recipe.model.window)

    def per_seed(key):
        eval_key = jax.random.fold_in(key, EVAL_STREAM)

        def one_setting(hyper):
            params = train(key, series, hyper).params
            per_origin = jax.vmap(lambda c, t: path_metrics(rollouts(params, c, bt.horizon, recipe, eval_key)["point"],
                                                           t, 1.0))(contexts, truths)
            return {**_summary(per_origin), "origin_rmse": per_origin["rollout_rmse"]}

        if len(names) == 1:
            return one_setting(jax.tree.map(lambda v: v[0], stack))
        return jax.vmap(one_setting)(stack)

    max_lanes = cache_layout(recipe, 1, len(names))[1]
    sweep = run_seeds(per_seed, n_seeds, root_seed=root_seed, lanes=lanes, max_lanes=max_lanes,
                      desc=desc or f"{bt.name} {recipe.describe()}",
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
        per_origin = jax.vmap(lambda ys, t: path_metrics(ys, t, 1.0))(p, truths)
        out[name] = {k: float(v) for k, v in _summary(per_origin).items()}
        out[name]["origin_rmse"] = np.asarray(per_origin["rollout_rmse"], np.float64)
    out["AR(AIC)"]["order"] = int(fits["AR(AIC)"].order)
    out["AR(BIC)"]["order"] = int(fits["AR(BIC)"].order)
    return out
