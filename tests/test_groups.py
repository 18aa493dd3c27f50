"""Variants that share a compiled program: a hyper-parameter sweep vmapped over its values, and
one training run serving several rollout modes, must equal running each variant alone."""

import dataclasses

import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.scenarios.reproduce import diversity
from lstm_ar.study.experiment import group_config, run_group, run_scenario, training_groups

BASE = TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=2)


def with_hyper(config: TrainConfig, **rates) -> TrainConfig:
    """The config with other numeric hyper-parameters (dropout sites from the new rates)."""
    return dataclasses.replace(config, hyper=Hyper(**rates), dropout_sites=None)


VARIANTS = {
    "base": BASE,
    "fast": with_hyper(BASE, learning_rate=1e-2),
    "drop": with_hyper(BASE, output_dropout=0.3, weight_decay=1e-2),
    "wide": dataclasses.replace(BASE, model=ModelConfig(units=5, activation="relu")),
}


@pytest.fixture(scope="module")
def scenario():
    return dataclasses.replace(diversity(quick=True), variants=VARIANTS, claims=())


def test_groups_split_by_structure_then_by_hyper(scenario):
    assert training_groups(scenario) == [[["base"], ["fast"], ["drop"]], [["wide"]]]


def test_swept_variants_equal_separate_runs(scenario):
    # the swept group only ("wide" trains a group of its own, which this comparison does not need)
    swept = dataclasses.replace(scenario, variants={name: VARIANTS[name] for name in ("base", "fast", "drop")})
    together = run_scenario(swept, 3, progress=False).variants
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


def test_dropout_sites_do_not_split_a_group(scenario):
    """The article's dropout / no-dropout pair (and the regularisation catalogue's input, recurrent
    and output dropout variants) differ only in rates: one compiled program, vmapped over the
    rates, with every dropout site (a rate of 0 at a compiled site is no dropout); a single
    setting compiles its own sites."""
    variants = {"none": BASE, "output": with_hyper(BASE, output_dropout=0.2),
                "input": with_hyper(BASE, dropout=0.1)}
    assert [variants[n].dropout_sites for n in variants] == [(), ("output",), ("input",)]
    sc = dataclasses.replace(scenario, variants=variants)
    assert training_groups(sc) == [[["none"], ["output"], ["input"]]]
    assert group_config(sc, [["none"], ["output"], ["input"]]).dropout_sites == ("input", "output", "recurrent")
    assert group_config(sc, [["output"]]).dropout_sites == ("output",)
    assert group_config(sc, [["none"]]).dropout_sites == ()


def test_stacked_hyper_parameters_are_validated_before_vmapping(scenario):
    """Each config's values are valid as Python floats; stacked as float32 for vmap, 1e-46 becomes
    a learning rate of exactly 0, which would train nothing: refused before compiling."""
    tiny = with_hyper(BASE, learning_rate=1e-46)
    sc = dataclasses.replace(scenario, variants={"base": BASE, "tiny": tiny})
    with pytest.raises(ValueError, match="learning_rate must be finite and > 0"):
        run_group(sc, training_groups(sc)[0], 2, progress=False)
