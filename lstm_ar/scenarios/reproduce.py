"""The article's three examples as data: datasets, variants, probes and claims.

*Why is the LSTM autoregressive model getting stuck on a single value?* (2025-01-30), with its Keras code's
defaults; the seeds (initialisation, shuffling, dropout masks) are paired across variants. Deviations:
``lstm_ar.scenarios.common``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.data.series import linspace_identity
from lstm_ar.scenarios.common import ARTICLE_NOISE_SEED, fit_config, sine_scenario
from lstm_ar.study.claims import PairedClaim, RateClaim, article_claims
from lstm_ar.study.scenario import ROLLOUT_STEPS, Scenario


def _diversity_derived(m: dict) -> dict:
    slope_in = (m["f(0.6)"] - m["f(0.4)"]) / 0.2
    slope_out = 0.5 * ((m["f(1)"] - m["f(0.6)"]) / 0.4 + (m["f(0.4)"] - m["f(0)"]) / 0.4)
    return {"slope_in_range": slope_in, "abs_slope_in_range": np.abs(slope_in),
            "slope_outside_range": slope_out, "extrapolation_slope_error": np.abs(slope_out - 1.0)}


def diversity(quick: bool = False) -> Scenario:
    """Example 1: LSTM(32, relu) -> Dense(1) fit x -> x on linspace(0.4, 0.6, 100), 100 epochs."""
    data = linspace_identity()
    claims = (
        RateClaim("E1-mean", "Likely will converge to ~0.5 [for input 0.6]", "relu", "f(0.6)", "<", 0.55,
                  "prediction for 0.6 is nearer 0.5 than the true 0.6"),
        RateClaim("E1-flat", "The model predicts the next input to be approximately 0.5 regardless of the actual input",
                  "relu", "abs_slope_in_range", "<", 0.5, "f is flatter than half the identity's slope over [0.4, 0.6]"),
        RateClaim("E1-extrapolate", "incapable of making meaningful predictions beyond the bounds of its training data",
                  "relu", "extrapolation_slope_error", ">", 0.5,
                  "outside [0.4, 0.6] the slope of f is off the identity's by more than 0.5"),
        RateClaim("E1-rollout", "this small prediction will, through the recursive feedback, continue to feed on itself",
                  "relu", "settle_value", "<", 0.55, "the free-running rollout from 0.6 settles nearer 0.5 than 0.6"),
    )
    return Scenario(
        name="diversity", title="Example 1: insufficient data diversity",
        source="LSTM(32, activation='relu') -> Dense(1), fit x -> x on linspace(0.4, 0.6, 100), 100 epochs",
        variants={"relu": fit_config(ModelConfig(units=32, activation="relu"), 100, quick)},
        data=data, scale=float(np.std(data.y)), context=np.asarray([0.6], np.float32),
        test_input=np.asarray([0.6], np.float32), test_target=0.6, map_range=(0.0, 1.0),
        claims=article_claims(claims), truth=np.full(ROLLOUT_STEPS, 0.6, np.float32), probes=(0.0, 0.4, 0.6, 1.0),
        derive=_diversity_derived, lower_is_better=("train_mse", "seed_prediction_error", "rollout_rmse"))


def activation(quick: bool = False, noise_seed: int = ARTICLE_NOISE_SEED) -> Scenario:
    """Example 2: noisy sine (drawn with ``noise_seed``), window 1, LSTM(32, sigmoid) vs LSTM(32, relu), 20 epochs."""
    claims = (
        RateClaim("E2-sigmoid-flat", "[sigmoid] performs poorly by converging to a mean and by showing a relatively flat output",
                  "sigmoid", "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        PairedClaim("E2-relu-trend", "The second model, using ReLU, is better at capturing the data's trend",
                    "relu", "sigmoid", "rollout_rmse"),
        PairedClaim("E2-relu-accurate", "[ReLU] has a good chance to predict more accurately",
                    "relu", "sigmoid", "seed_prediction_error"),
    )
    return sine_scenario("activation", "Example 2: sigmoid vs ReLU activation",
                          "LSTM(32, sigmoid | relu) -> Dense(1), noisy sine x[:-1] -> x[1:], 20 epochs",
                          {"sigmoid": fit_config(ModelConfig(units=32, activation="sigmoid"), 20, quick),
                           "relu": fit_config(ModelConfig(units=32, activation="relu"), 20, quick)},
                          claims, noise_seed=noise_seed)


def dropout(quick: bool = False, noise_seed: int = ARTICLE_NOISE_SEED) -> Scenario:
    """Example 3: noisy sine (drawn with ``noise_seed``), relu, 50 epochs, no dropout vs Dropout(0.2) after the LSTM."""
    model = ModelConfig(units=32, activation="relu")
    claims = (
        RateClaim("E3-constant", "The model without dropout ... performs poorly by making a constant prediction",
                  "no_dropout", "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        PairedClaim("E3-overfit", "The model without dropout overfits the training data",
                    "dropout", "no_dropout", "generalisation_gap"),
        PairedClaim("E3-generalise", "The addition of dropout significantly improves the model's ability to generalize",
                    "dropout", "no_dropout", "heldout_mse"),
        PairedClaim("E3-accurate", "[dropout leads] to a more accurate prediction",
                    "dropout", "no_dropout", "seed_prediction_error"),
    )
    return sine_scenario("dropout", "Example 3: dropout vs none",
                         "LSTM(32, relu) -> [Dropout(0.2)] -> Dense(1), noisy sine x[:-1] -> x[1:], 50 epochs",
                         {"no_dropout": fit_config(model, 50, quick),
                          "dropout": fit_config(model, 50, quick, output_dropout=0.2)}, claims, noise_seed=noise_seed)


SCENARIOS: dict[str, Callable[[bool], Scenario]] = {"diversity": diversity, "activation": activation,
                                                    "dropout": dropout}
