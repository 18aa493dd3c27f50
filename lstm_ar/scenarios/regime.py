"""Beyond the seed, experiment 2: training regime (teacher forcing, scheduled sampling, free running).

LSTM(32, relu) -> Dense(1) on the noisy sine, a 20-value warm-up then k predictions carrying (h, c)
(``lstm_ar.training.regimes``), 20 epochs. What is fed back in training differs: the truth, the truth with a
decaying probability (scheduled sampling, Bengio et al. 2015) or the model's own predictions; k is the second
axis. Judged by a 200-step stateful rollout against the noiseless continuation.
"""

from __future__ import annotations

import dataclasses

from lstm_ar.config import ModelConfig
from lstm_ar.scenarios.common import fit_config, sine_scenario
from lstm_ar.study.claims import PairedClaim, RateClaim
from lstm_ar.study.scenario import Scenario

WARMUP = 20
HORIZONS = (10, 40)
EPOCHS = 20
SHORT = {"teacher_forcing": "tf", "scheduled_linear": "ss_linear", "scheduled_exponential": "ss_exp",
         "scheduled_inverse_sigmoid": "ss_invsig", "free_running": "free"}
# --quick: one schedule stands for the three scheduled-sampling ones (each is its own compiled
# program; their formulas are tested in tests/test_regime.py). Every claim's variant is kept.
QUICK_REGIMES = ("teacher_forcing", "scheduled_inverse_sigmoid", "free_running")


def training_regime(quick: bool = False) -> Scenario:
    horizons = HORIZONS[:1] if quick else HORIZONS
    regimes = {regime: short for regime, short in SHORT.items() if not quick or regime in QUICK_REGIMES}
    base = fit_config(ModelConfig(units=32, window=WARMUP, activation="relu"), EPOCHS, quick)
    variants = {f"{short}_k{k}": dataclasses.replace(base, regime=regime, horizon=k)
                for k in horizons for regime, short in regimes.items()}
    k = horizons[-1]
    claims = (
        PairedClaim("R-scheduled", f"Scheduled sampling (inverse sigmoid) keeps the rollout on the signal longer "
                    f"than teacher forcing (k = {k})", f"ss_invsig_k{k}", f"tf_k{k}", "valid_horizon",
                    lower_is_better=False),
        PairedClaim("R-free", f"Free-running training keeps the rollout on the signal longer than teacher "
                    f"forcing (k = {k})", f"free_k{k}", f"tf_k{k}", "valid_horizon", lower_is_better=False),
        PairedClaim("R-free-rmse", f"Free-running training gives a lower rollout error than teacher forcing "
                    f"(k = {k})", f"free_k{k}", f"tf_k{k}", "rollout_rmse"),
        RateClaim("R-free-collapse", f"Free-running training (k = {k}) prevents collapse", f"free_k{k}",
                  "collapsed", "<", 0.5, "free-running rollout does not collapse"),
    )
    if len(horizons) > 1:
        claims += (PairedClaim("R-horizon", f"Free running on {horizons[-1]} steps beats {horizons[0]} steps",
                               f"free_k{horizons[-1]}", f"free_k{horizons[0]}", "valid_horizon",
                               lower_is_better=False),)
    return sine_scenario(
        "regime", "Training regime: teacher forcing, scheduled sampling, free running",
        f"LSTM(32, relu) -> Dense(1), warm-up {WARMUP} values then k = {', '.join(map(str, horizons))} stateful "
        f"predictions per example, noisy sine, {EPOCHS} epochs; stateful rollouts",
        variants, claims, rollout_modes={name: "stateful" for name in variants}, higher_is_better=("valid_horizon",))


SCENARIOS = {"regime": training_regime}
