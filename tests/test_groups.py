"""Variants that share a compiled program: a hyper-parameter sweep vmapped over its values, and
one training run serving several rollout modes, must equal running each variant alone."""

import dataclasses

import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.scenarios.reproduce import diversity
from lstm_ar.study.experiment import run_scenario, training_groups

BASE = TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=2)
VARIANTS = {
    "base": BASE,
    "fast": dataclasses.replace(BASE, hyper=Hyper(learning_rate=1e-2)),
    "drop": dataclasses.replace(BASE, hyper=Hyper(output_dropout=0.3, weight_decay=1e-2)),
    "wide": dataclasses.replace(BASE, model=ModelConfig(units=5, activation="relu")),
}


@pytest.fixture(scope="module")
def scenario():
    return dataclasses.replace(diversity(quick=True), variants=VARIANTS, claims=())


def test_groups_split_by_structure_then_by_hyper(scenario):
    assert training_groups(scenario) == [[["base"], ["fast"], ["drop"]], [["wide"]]]


def test_swept_variants_equal_separate_runs(scenario):
    together = run_scenario(scenario, 3, progress=False).variants
    for name in ("fast", "drop"):
        alone = run_scenario(dataclasses.replace(scenario, variants={name: VARIANTS[name]}), 3,
                             progress=False).variants[name]
        for metric in ("train_mse", "f(0.6)", "settle_value"):
            np.testing.assert_allclose(together[name].metrics[metric], alone.metrics[metric], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(together[name].epoch_loss, alone.epoch_loss, rtol=1e-4, atol=1e-7)
    # the sweep really used each variant's own hyper-parameters
    assert not np.allclose(together["fast"].epoch_loss, together["base"].epoch_loss)


def test_variants_with_their_own_data_never_share_training(scenario):
    from lstm_ar.data.series import linspace_identity

    wide = linspace_identity(0.0, 1.0)
    own = dataclasses.replace(scenario, variants={"a": BASE, "b": BASE}, variant_data={"b": wide})
    assert training_groups(own) == [[["a"]], [["b"]]]
    shared = dataclasses.replace(scenario, variants={"a": BASE, "b": BASE}, variant_data={"a": wide, "b": wide})
    assert training_groups(shared) == [[["a", "b"]]]
