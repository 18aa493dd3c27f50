"""Beyond the seed, experiment 6: the context/state and training-regime comparisons on real series.

Sunspots and CO2 changes (``lstm_ar.data.real``): train on the first 80%, roll out over the rest. LSTM(32, relu), 100
epochs: ``window_1``, ``window_20`` / ``stateful_20`` (one model, two modes), ``tf_k20`` / ``free_k20`` (k-step
training); judged also against persistence, the training mean, the linear references and by a rolling-origin backtest
over the held-out part (``lstm_ar.study.backtest``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.data.real import load_series, split_standardise
from lstm_ar.data.series import windows
from lstm_ar.scenarios.common import fit_config
from lstm_ar.study.claims import PairedClaim, RateClaim, article_claims
from lstm_ar.study.scenario import ROLLOUT_STEPS, Scenario

WINDOW = 20
EPOCHS = 100
BACKTEST_ORIGINS = 20  # forecast origins across the held-out part
QUICK_DROPPED = ("tf_k20", "free_k20")  # --quick: two compiled programs fewer (and the claim comparing them)


def _rmse(forecast: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(forecast - truth))))


def real_scenario(name: str, quick: bool = False) -> Scenario:
    split = split_standardise(load_series(name))
    truth = split.test[:(steps := min(ROLLOUT_STEPS, split.test.shape[0]))]
    persistence = _rmse(np.full(steps, split.train[-1]), truth)
    references = {"persistence_rmse": persistence, "training_mean_rmse": _rmse(np.zeros(steps), truth)}
    one_step = fit_config(ModelConfig(units=32, window=1, activation="relu"), EPOCHS, quick)
    window = fit_config(ModelConfig(units=32, window=WINDOW, activation="relu"), EPOCHS, quick)
    variants = {"window_1": one_step, "window_20": window, "stateful_20": window,
                "tf_k20": dataclasses.replace(window, horizon=WINDOW),
                "free_k20": dataclasses.replace(window, regime="free_running", horizon=WINDOW)}
    if quick:  # the data, references and context/state comparison; the regimes are smoke-run by regime.py
        variants = {n: c for n, c in variants.items() if n not in QUICK_DROPPED}

    def derive(m: dict) -> dict:
        return {"generalisation_gap": m["heldout_mse"] - m["train_mse"],
                "rmse_minus_persistence": m["rollout_rmse"] - persistence}

    claims = (
        RateClaim(f"{name}-1d-map", "The article's window-1 model collapses on real data too", "window_1",
                  "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        RateClaim(f"{name}-persistence", "A window-20 model's rollout beats repeating the last value",
                  "window_20", "rmse_minus_persistence", "<", 0.0, "rollout RMSE below persistence's"),
        PairedClaim(f"{name}-state", "Carrying (h, c) keeps the rollout on the series longer than window mode",
                    "stateful_20", "window_20", "valid_horizon", lower_is_better=False),
        PairedClaim(f"{name}-free", "Free-running training keeps the rollout on the series longer than teacher "
                    "forcing", "free_k20", "tf_k20", "valid_horizon", lower_is_better=False),
    )
    if quick:
        claims = tuple(c for c in claims if c.id != f"{name}-free")
    data = windows(split.train, 1)
    return Scenario(
        name=name, title=f"Real series: {name}",
        source=f"{name} (statsmodels), first 80% to train, rollout over the next {steps} values; "
               f"LSTM(32, relu) -> Dense(1), {EPOCHS} epochs",
        variants=variants, data=data, scale=float(np.std(split.train)), context=split.train,
        test_input=data.x[-1, :, 0], test_target=float(data.y[-1, 0]), map_range=(-4.0, 4.0),
        claims=article_claims(claims), heldout=windows(split.test, 1), truth=truth, derive=derive,
        lower_is_better=("train_mse", "heldout_mse", "rollout_rmse", "backtest_rmse"),
        higher_is_better=("valid_horizon", "backtest_valid_horizon"),
        rollout_steps=steps, series=split.train, heldout_series=split.test,
        rollout_modes={n: "stateful" for n in ("stateful_20", "tf_k20", "free_k20") if n in variants},
        references=references, backtest_origins=BACKTEST_ORIGINS)


SCENARIOS: dict[str, Callable[[bool], Scenario]] = {
    name: (lambda quick=False, name=name: real_scenario(name, quick)) for name in ("sunspots", "co2")}
