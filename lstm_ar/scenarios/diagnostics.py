"""Beyond the seed, experiment 5: the mechanism, measured.

Does ReLU beat sigmoid and tanh "in preventing gradient decay", as the article says? LSTM(32, sigmoid | tanh | relu)
-> Dense(1) on windows of 20 of the noisy sine, 20 epochs, measured at the article's test input: ``grad_k{k} = |d
prediction / d input k steps back|`` and ``grad_ratio = grad_k19 / grad_k0``; the rollout's Lyapunov exponent (< 0: a
contraction, which is what a collapse is) and the spectral radius of its map's Jacobian along it (``rho_start``,
``rho_tail``: median over the last quarter, ``contraction_fraction``, ``rho_agrees = [rho_tail < 1] == collapsed``).
"""

from __future__ import annotations

import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.scenarios.common import fit_config, sine_scenario
from lstm_ar.study.claims import PairedClaim, RateClaim
from lstm_ar.study.scenario import Scenario

WINDOW = 20
EPOCHS = 20
ACTIVATIONS = ("sigmoid", "tanh", "relu")
QUICK_ACTIVATIONS = ("sigmoid", "relu")  # --quick: one compiled program per activation; tanh's claim is dropped


def gradient_flow(quick: bool = False) -> Scenario:
    activations = QUICK_ACTIVATIONS if quick else ACTIVATIONS
    variants = {a: fit_config(ModelConfig(units=32, window=WINDOW, activation=a), EPOCHS, quick) for a in activations}
    claims = (
        PairedClaim("V-relu-sigmoid", "Activation functions like ReLU ... are often superior to sigmoid ... in "
                    "preventing gradient decay", "relu", "sigmoid", "grad_ratio", lower_is_better=False),
        PairedClaim("V-relu-tanh", "Activation functions like ReLU ... are often superior to ... tanh in "
                    "preventing gradient decay", "relu", "tanh", "grad_ratio", lower_is_better=False),
        RateClaim("V-contraction", "Collapsing rollouts are contractions (negative Lyapunov exponent)",
                  "sigmoid", "lyapunov", "<", 0.0, "the rollout map contracts on average"),
        RateClaim("V-rho-sigmoid", "Contraction means collapse: the rollout map's spectral radius along the "
                  "rollout's tail is below 1 exactly when the rollout collapses", "sigmoid", "rho_agrees", ">",
                  0.5, "rho_tail < 1 agrees with the collapse verdict"),
        RateClaim("V-rho-relu", "Contraction means collapse (the same test on the ReLU models)", "relu",
                  "rho_agrees", ">", 0.5, "rho_tail < 1 agrees with the collapse verdict"),
    )
    if quick:
        claims = tuple(c for c in claims if c.id != "V-relu-tanh")
    return sine_scenario(
        "gradient_flow", "Gradient flow and contraction, per activation",
        f"LSTM(32, {' | '.join(activations)}) -> Dense(1) on windows of {WINDOW} of the noisy sine, {EPOCHS} epochs",
        variants, claims, diagnostics=True, derive=_gradient_ratio_and_gap,
        higher_is_better=("valid_horizon", "grad_ratio"))


def _gradient_ratio_and_gap(m: dict) -> dict:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = m[f"grad_k{WINDOW - 1}"] / m["grad_k0"]
    return {"grad_ratio": ratio, "generalisation_gap": m["heldout_mse"] - m["train_mse"],
            "rho_agrees": ((m["rho_tail"] < 1.0) == (m["collapsed"] > 0)).astype(np.float64)}


SCENARIOS = {"gradient_flow": gradient_flow}
