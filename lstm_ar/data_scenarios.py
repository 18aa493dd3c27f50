"""Beyond the seed, experiment 4 (first part): is Example 1's flat map a data problem?

The article trains LSTM(32, relu) -> Dense(1) to map x -> x on linspace(0.4, 0.6, 100) for 100
epochs and blames the flat, ~0.5 answer on too little data diversity. 100 epochs of 4 batches
are only 400 Adam steps at lr 1e-3, so the same symptom could be under-training. This scenario
separates the two: the training range is widened (same 100 points, same 400 steps) and,
separately, the seed's range is trained 10x longer. Every model is probed on [0.4, 0.6], the
range all of them saw: the slope of f there (identity: 1) and f(0.6), and rolled out from 0.6
(a perfect model stays at 0.6).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from lstm_ar.claims import PairedClaim
from lstm_ar.data import linspace_identity
from lstm_ar.scenarios import Scenario, diversity

WIDTHS = (0.2, 0.5, 1.0)
LONG_EPOCHS = 1000


def _slope_error(m: dict) -> dict:
    slope = (m["f(0.6)"] - m["f(0.4)"]) / 0.2
    return {"slope_in_range": slope, "slope_error": np.abs(slope - 1.0)}


def training_range(quick: bool = False) -> Scenario:
    seed = diversity(quick)
    base = seed.variants["relu"]
    variants, data = {}, {}
    for width in WIDTHS:
        name = f"width_{width:g}"
        variants[name] = base
        data[name] = linspace_identity(0.5 - width / 2, 0.5 + width / 2)
    long_name = f"width_0.2_epochs_{LONG_EPOCHS}"
    variants[long_name] = dataclasses.replace(base, epochs=2 if quick else LONG_EPOCHS)
    data[long_name] = data["width_0.2"]
    claims = (
        PairedClaim("D-diverse", "Diversifying the training data is crucial (a range of 1.0 instead of 0.2 "
                    "gives a less flat map on [0.4, 0.6])", "width_1", "width_0.2", "slope_error"),
        PairedClaim("D-longer", f"Training the seed's range {LONG_EPOCHS // 100}x longer gives a less flat map",
                    long_name, "width_0.2", "slope_error"),
        PairedClaim("D-rollout", f"Training {LONG_EPOCHS // 100}x longer keeps the rollout from 0.6 nearer 0.6",
                    long_name, "width_0.2", "rollout_rmse"),
    )
    return dataclasses.replace(
        seed, name="training_range", title="Training range vs training length (Example 1 generalised)",
        source=f"LSTM(32, relu) -> Dense(1) fit x -> x on 100 points of ranges {WIDTHS} centred on 0.5, "
               f"100 epochs; and the seed's range for {LONG_EPOCHS} epochs",
        variants=variants, variant_data=data, claims=claims, probes=(0.4, 0.6), derive=_slope_error,
        lower_is_better=("slope_error", "seed_prediction_error", "rollout_rmse"), baseline="width_0.2")


SCENARIOS = {"training_range": training_range}
