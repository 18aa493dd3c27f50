"""Catalogues of scenarios, one per experiment, named as the command that runs it.

``EXPERIMENTS`` maps each command name (``lstm-ar reproduce``, ``lstm-ar run NAME``) to an ``Experiment``;
its module ``lstm_ar.scenarios.<name>`` (imported only when the experiment runs or its help is shown) defines
``SCENARIOS``: scenario name -> factory ``f(quick: bool) -> Scenario``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry itself imports nothing heavy
    from lstm_ar.study.scenario import Scenario


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One command: ``name`` (also of its module), seeds per variant without ``--seeds``, the ``title`` of its
    ``REPORT.md`` and its one-line ``question`` (shown by ``--help``). A ``custom`` module declares its own options
    (``add_arguments``) and checks them (``prepare``: the run's body and the CPU devices it wants) instead of
    ``SCENARIOS``; the one driver (``lstm_ar.cli``) locks the output folder and runs the body."""

    name: str
    default_seeds: int
    title: str
    question: str
    custom: bool = False

    @property
    def module(self) -> str:
        return f"lstm_ar.scenarios.{self.name}"

    def scenarios(self) -> Mapping[str, Callable[[bool], Scenario]]:
        """The module's ``SCENARIOS`` (imports it): scenario name -> factory ``f(quick) -> Scenario``, in order."""
        return importlib.import_module(self.module).SCENARIOS


# The main job first; ``lstm-ar run NAME`` takes the others.
REPRODUCE = "reproduce"
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in (
    Experiment("reproduce", 1024, "lstm_ar: the seed article's claims, tested across seeds",
               "Do the article's three examples and each of its claims hold across seeds?"),
    Experiment("context", 256, "lstm_ar: context length and carried state",
               "Does a longer context or carried state stop the rollout collapsing?"),
    Experiment("regime", 64, "lstm_ar: training regime",
               "Does training on the model's own predictions (scheduled sampling, free running) stop the collapse?"),
    Experiment("regularisation", 128, "lstm_ar: regularisation and optimisation",
               "Do dropout, weight decay, clipping, layer norm or the learning rate stop the collapse?"),
    Experiment("data", 256, "lstm_ar: is the collapse a data problem? (range, regimes, scale, controls)",
               "Is the collapse a data problem (training range, mixed regimes, scale, random-walk controls)?"),
    Experiment("diagnostics", 128, "lstm_ar: gradient flow and contraction",
               "Does the activation change gradient flow, and are collapsing rollouts contractions?"),
    Experiment("real", 128, "lstm_ar: real series",
               "Do the context/state and training-regime findings hold on real series (sunspots, CO2)?"),
    # Custom experiments: their module defines add_arguments and prepare instead of SCENARIOS.
    Experiment("cause", 4, "lstm_ar: why the rollout collapses (regression dilution, measured)",
               "Does the one-lag shrinkage formula explain the collapse, over noise levels and windows?", custom=True),
    Experiment("cure", 16, "lstm_ar: what fixes the collapse? The cure search on the noisy sine",
               "Which remedy makes an LSTM track the noisy sine for 200 steps on most seeds and realisations?", custom=True),
    Experiment("realisations", 64, "lstm_ar: the article's claims over noise realisations",
               "Do the article's verdicts hold on other draws of the noise, not only numpy seed 42?", custom=True),
    Experiment("transfer", 16, "lstm_ar: do the recipes hold on real series? (rolling-origin backtests)",
               "Do the cure's recipes beat the linear references on sunspots, CO2 and El Nino, over 20 origins?", custom=True),
    Experiment("panel", 8, "lstm_ar: the real-series panel (rolling-origin backtests)",
               "On nine public series, does any LSTM recipe beat ETS, Theta, AR by AIC and the naive forecasts?",
               custom=True),
)}
FOLLOW_UPS = tuple(name for name in EXPERIMENTS if name != REPRODUCE)


def get_experiment(name: str) -> Experiment:
    """The registered experiment called ``name`` (else a ValueError listing the valid names)."""
    try:
        return EXPERIMENTS[name]
    except KeyError:
        raise ValueError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}") from None
