"""Beyond the seed, experiment 3: regularisation and optimisation against collapse.

Dropout, weight decay, layer norm, gradient clipping and the learning rate, each changed alone from one baseline
(LSTM(32, relu) on windows of 5 of the noisy sine, where it collapses on about 60% of seeds; window-1 models
collapse whatever is done), 20 epochs, compared with the baseline on the same seeds.
"""

from __future__ import annotations

import dataclasses

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.scenarios.common import fit_config, sine_scenario
from lstm_ar.study.claims import PairedClaim
from lstm_ar.study.scenario import Scenario

WINDOW = 5
EPOCHS = 20
HYPER_VARIANTS = {
    "output_dropout_0.1": dict(output_dropout=0.1),
    "output_dropout_0.2": dict(output_dropout=0.2),
    "output_dropout_0.4": dict(output_dropout=0.4),
    "input_dropout_0.2": dict(dropout=0.2),
    "recurrent_dropout_0.2": dict(recurrent_dropout=0.2),
    "weight_decay_1e-3": dict(weight_decay=1e-3),
    "weight_decay_1e-2": dict(weight_decay=1e-2),
    "clipnorm_0.1": dict(global_clipnorm=0.1),
    "lr_3e-4": dict(learning_rate=3e-4),
    "lr_3e-3": dict(learning_rate=3e-3),
}


def regularisation(quick: bool = False) -> Scenario:
    model = ModelConfig(units=32, window=WINDOW, activation="relu")
    baseline = fit_config(model, EPOCHS, quick)
    chosen = dict(list(HYPER_VARIANTS.items())[:2]) if quick else HYPER_VARIANTS
    variants: dict[str, TrainConfig] = {"baseline": baseline, **{  # dropout sites from the rates
        name: dataclasses.replace(baseline, hyper=Hyper(**change), dropout_sites=None)
        for name, change in chosen.items()}}
    variants["layer_norm"] = dataclasses.replace(baseline, model=dataclasses.replace(model, layer_norm=True))
    claims = (
        PairedClaim("G-dropout", "Dropout ... forces the model to be more robust (rollout stays valid longer)",
                    "output_dropout_0.1", "baseline", "valid_horizon", lower_is_better=False),
        PairedClaim("G-norm", "Normalization techniques ... can also improve gradient flow (rollout stays valid "
                    "longer)", "layer_norm", "baseline", "valid_horizon", lower_is_better=False),
    )
    if not quick:
        claims += (PairedClaim("G-decay", "Weight decay, by penalizing large weights during training, similarly "
                               "promotes stability (rollout stays valid longer)", "weight_decay_1e-3", "baseline",
                               "valid_horizon", lower_is_better=False),)
    return sine_scenario(
        "regularisation", "Regularisation and optimisation: one change at a time",
        f"LSTM(32, relu) -> [Dropout] -> Dense(1) on windows of {WINDOW} of the noisy sine, {EPOCHS} epochs; "
        "each variant changes one setting from the baseline",
        variants, claims, higher_is_better=("valid_horizon",), baseline="baseline")


SCENARIOS = {"regularisation": regularisation}
