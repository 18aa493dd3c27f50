"""The candidates of the cure search: each a recipe and its numeric settings (vmapped together).

Names are ``<remedy>_w<window>``-style and become file names. ``quick`` shrinks every candidate to
seconds (window 5, 8 units, 2 epochs; the direct head keeps its horizon) for the test suite.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from lstm_ar.config import ModelConfig
from lstm_ar.remedies.recipe import Recipe, RemedyHyper


class Candidate(NamedTuple):
    """recipe: the static recipe; settings: setting name -> RemedyHyper (one program for all)."""

    recipe: Recipe
    settings: dict[str, RemedyHyper]


def _m(window: int, activation: str = "tanh", units: int = 32) -> ModelConfig:
    return ModelConfig(units=units, window=window, activation=activation)


PLAIN = {"": RemedyHyper()}
STEPS = 200

# name -> candidate. A setting name "" means the candidate's own name; others are appended.
CANDIDATES: dict[str, Candidate] = {
    "article_w1_relu": Candidate(Recipe(model=_m(1, "relu"), epochs=20), PLAIN),
    "plain_w20": Candidate(Recipe(model=_m(20), epochs=100), PLAIN),
    "plain_w50": Candidate(Recipe(model=_m(50), epochs=100), PLAIN),
    "plain_w50_relu": Candidate(Recipe(model=_m(50, "relu"), epochs=100), PLAIN),
    "plain_w100": Candidate(Recipe(model=_m(100), epochs=100), PLAIN),
    "longer_w50": Candidate(Recipe(model=_m(50), epochs=300), PLAIN),
    "clip_w50": Candidate(Recipe(model=_m(50), epochs=100),
                          {"lr3e-3_clip1": RemedyHyper(learning_rate=3e-3, global_clipnorm=1.0),
                           "lr1e-3_clip1": RemedyHyper(global_clipnorm=1.0)}),
    "residual_w50": Candidate(Recipe(model=_m(50), epochs=100, residual=True), PLAIN),
    "noise_w50": Candidate(Recipe(model=_m(50), epochs=100),
                           {"0.05": RemedyHyper(input_noise=0.05), "0.2": RemedyHyper(input_noise=0.2)}),
    "direct_w50": Candidate(Recipe(model=_m(50), epochs=100, head="direct", horizon=STEPS), PLAIN),
    "direct_w100": Candidate(Recipe(model=_m(100), epochs=100, head="direct", horizon=STEPS), PLAIN),
    "curriculum_w50_k40": Candidate(Recipe(model=_m(50), epochs=100, horizon=40, curriculum=True), PLAIN),
    "freerun_w50_k200": Candidate(Recipe(model=_m(50), epochs=50, horizon=200), PLAIN),
    "dad_w50": Candidate(Recipe(model=_m(50), epochs=100, dad_rounds=2), PLAIN),
    "gaussian_w50": Candidate(Recipe(model=_m(50), epochs=100, head="gaussian"), PLAIN),
    "gaussian_residual_w50": Candidate(Recipe(model=_m(50), epochs=100, head="gaussian", residual=True), PLAIN),
}


# ``--quick`` runs these by default: between them every remedy's code path (noise and clipping settings
# vmapped, direct head, k-step curriculum, DaD, Gaussian head with residual prediction).
QUICK = ("noise_w50", "direct_w50", "curriculum_w50_k40", "dad_w50", "gaussian_residual_w50")


def setting_names(name: str, candidate: Candidate) -> dict[str, str]:
    """Setting name -> the row name it is reported under (``name`` or ``name_<setting>``)."""
    return {s: name if s == "" else f"{name}_{s}" for s in candidate.settings}


def quick(candidate: Candidate) -> Candidate:
    """The candidate at test-suite size: window <= 5, 8 units, 2 epochs, short DaD and horizons."""
    r = candidate.recipe
    model = dataclasses.replace(r.model, window=min(r.model.window, 5), units=8)
    horizon = r.horizon if r.head == "direct" else min(r.horizon, 4)
    recipe = dataclasses.replace(r, model=model, epochs=min(r.epochs, 2), horizon=horizon, dad_starts=2,
                                 dad_length=4, samples=4)
    return Candidate(recipe, candidate.settings)
