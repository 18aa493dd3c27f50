"""The ``Scenario`` type: one experiment as data (variants, data, rollout, probes, claims).

A scenario is built by a catalogue in ``lstm_ar.scenarios`` and run by
``lstm_ar.study.experiment.run_scenario``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from lstm_ar.config import TrainConfig
from lstm_ar.data.series import Dataset, sequences, windows
from lstm_ar.study.claims import Claim

ROLLOUT_STEPS = 200
Derive = Callable[[dict], dict]


@dataclasses.dataclass(frozen=True, eq=False)
class Scenario:
    """One experiment. ``variants`` maps a name to its training config (same data, same seeds).

    probes: inputs x at which f(x) is recorded as metric ``f(x)``; derive: numpy function adding
    derived per-seed metrics; lower_is_better / higher_is_better: metrics compared between
    variants. ``data``, ``heldout`` and ``test_input`` are for window-1 models; a variant with a
    longer window gets its examples from ``series`` / ``heldout_series`` (see ``inputs``).
    ``rollout_modes`` maps a variant to "window" (default) or "stateful".
    """

    name: str
    title: str
    source: str
    variants: dict[str, TrainConfig]
    data: Dataset
    scale: float
    context: np.ndarray
    test_input: np.ndarray
    test_target: float
    map_range: tuple[float, float]
    claims: tuple[Claim, ...]
    heldout: Dataset | None = None
    truth: np.ndarray | None = None
    probes: tuple[float, ...] = ()
    derive: Derive | None = None
    lower_is_better: tuple[str, ...] = ()
    higher_is_better: tuple[str, ...] = ()
    key_metric: str = "tail_std_ratio"
    rollout_steps: int = ROLLOUT_STEPS
    series: np.ndarray | None = None
    heldout_series: np.ndarray | None = None
    rollout_modes: dict[str, str] = dataclasses.field(default_factory=dict)
    baseline: str | None = None  # if set, variants are compared with it only (not all pairs)
    variant_data: dict[str, Dataset] = dataclasses.field(default_factory=dict)  # per-variant training data
    diagnostics: bool = False  # add gradient-flow (grad_k*) and Lyapunov-exponent metrics
    references: dict[str, float] = dataclasses.field(default_factory=dict)  # e.g. baseline RMSEs

    def inputs(self, variant: str) -> tuple[Dataset, Dataset | None, np.ndarray]:
        """(training data, held-out data, the article's test input f32[window]) for a variant."""
        window = self.variants[variant].model.window
        if variant in self.variant_data:
            return self.variant_data[variant], None, self.test_input
        if window == 1:
            return self.data, self.heldout, self.test_input
        if self.series is None:
            raise ValueError(f"scenario {self.name!r} has no series to cut windows of {window} from")
        heldout = None if self.heldout_series is None else windows(self.heldout_series, window)
        return windows(self.series, window), heldout, self.series[-1 - window:-1]

    def training_data(self, variant: str) -> Dataset:
        """What the variant trains on: one-step windows, or windows and the next ``horizon``
        values for the other training regimes (``lstm_ar.training.regimes``)."""
        config = self.variants[variant]
        if config.one_step:
            return self.inputs(variant)[0]
        if self.series is None:
            raise ValueError(f"scenario {self.name!r} has no series for horizon-{config.horizon} training")
        return sequences(self.series, config.model.window, config.horizon)

    def rollout_mode(self, variant: str) -> str:
        return self.rollout_modes.get(variant, "window")
