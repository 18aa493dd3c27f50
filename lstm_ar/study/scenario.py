"""The ``Scenario`` type: one experiment as data, checked when it is built.

Fields the article's catalogues set by hand default to values derived from the data, stored when the scenario is
built (after ``dataclasses.replace(sc, series=...)`` build a new one): ``scale`` / ``center`` the std / mean of the
training series (or targets; the divergence bound is measured from ``center``), ``context`` the training series,
``test_input`` / ``test_target`` the last training window and the value after it, ``map_range`` the context's
range widened by half its span each side. Every name, the data and the backtest are checked before any training.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping

import numpy as np

from lstm_ar.config import TrainConfig
from lstm_ar.data.series import Dataset, check_series, sequences, windows
from lstm_ar.dynamics.collapse import TAIL
from lstm_ar.dynamics.rollout import rollout_mode
from lstm_ar.study import backtest as backtests
from lstm_ar.study import metrics as registry
from lstm_ar.study import scenario_series
from lstm_ar.study.claims import Claim, PairedClaim, RateClaim

ROLLOUT_STEPS = 200  # free-running steps of a scenario without truth (recorded in summary.json: rollout.steps)
# Scenario and variant names become folder names below --out: no "/", no leading "." (no "..", no hidden folder)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")
NAME_RULE = "a letter or digit, then letters, digits and _ . = + - (no '/', no leading '.')"
ROLLOUT_MODES = ("window", "stateful", "direct")
Derive = Callable[[dict], dict]


@dataclasses.dataclass(frozen=True, eq=False)
class Scenario:
    """One experiment: ``variants`` (name -> training config, same data and seeds) and ``series`` f32[T] or
    ``data`` (window-1 examples); names must match ``NAME_RE`` (they become folders). ``heldout_series``' first
    ``heldout_context`` values are inputs only (every window judged on the same targets); ``truth`` f32[>=
    rollout_steps] sets the rollout length (else ``ROLLOUT_STEPS``); ``probes`` add metrics ``f(x)``; ``derive``
    (numpy) adds per-seed metrics; ``lower_is_better`` / ``higher_is_better`` are compared in all pairs or with
    ``baseline``; ``backtest_origins`` (0: none) spread over ``heldout_continuation`` (``lstm_ar.study.backtest``)."""

    name: str
    variants: dict[str, TrainConfig]
    series: np.ndarray | None = None
    heldout_series: np.ndarray | None = None
    data: Dataset | None = None
    heldout: Dataset | None = None
    truth: np.ndarray | None = None
    rollout_steps: int | None = None
    claims: tuple[Claim, ...] = ()
    probes: tuple[float, ...] = ()
    figures: tuple[str, ...] = ("tail_std_ratio",)
    title: str = ""
    source: str = ""
    derive: Derive | None = None
    lower_is_better: tuple[str, ...] = ()
    higher_is_better: tuple[str, ...] = ()
    rollout_modes: dict[str, str] = dataclasses.field(default_factory=dict)
    baseline: str | None = None  # if set, variants are compared with it only (not all pairs)
    variant_data: dict[str, Dataset] = dataclasses.field(default_factory=dict)  # per-variant training data
    diagnostics: bool = False  # add gradient-flow (grad_k*) and Lyapunov-exponent metrics
    end_radius: bool = False  # add rho_end: the window map's spectral radius at the rollout's last window
    references: dict[str, float] = dataclasses.field(default_factory=dict)  # e.g. baseline RMSEs
    heldout_context: int = 0
    standardisation: tuple[float, float] | None = None
    backtest_origins: int = 0
    backtest_horizon: int | None = None
    # the article's fields: derived from the data when None
    scale: float | None = None
    context: np.ndarray | None = None
    test_input: np.ndarray | None = None
    test_target: float | None = None
    map_range: tuple[float, float] | None = None
    center: float | None = None

    def __post_init__(self):
        self._check_structure()
        self._resolve_defaults()
        self._check_data()
        self._check_names()

    # Scenario.from_series(values, *, name=..., windows=(1, 20), ...): a study of any 1-D series
    from_series = staticmethod(scenario_series.from_series)

    # -- what each variant sees ------------------------------------------------------------------

    def inputs(self, variant: str) -> tuple[Dataset, Dataset | None, np.ndarray]:
        """(training data, held-out data or None, test input f32[window]) of a variant, one step at a time;
        held-out data: ``heldout`` for window 1 when given, else windows of ``heldout_series``."""
        window = self.variants[variant].model.window
        if variant in self.variant_data:
            return self.variant_data[variant], self._heldout(window), self.test_input
        if window == 1:
            return self.data, self._heldout(1), self.test_input
        if self.series is None:
            raise ValueError(f"scenario {self.name!r} has no series to cut windows of {window} from")
        return windows(self.series, window), self._heldout(window), self.series[-1 - window:-1]

    def _heldout(self, window: int) -> Dataset | None:
        if window == 1 and self.heldout is not None:
            return self.heldout
        if self.heldout_series is None:
            return None
        return windows(self.heldout_series[max(self.heldout_context - window, 0):], window)

    def training_data(self, variant: str) -> Dataset:
        """What the variant trains on: one-step windows (x: f32[n, window, 1], y: f32[n, 1]), or windows and the
        next ``horizon`` values (y: f32[n, horizon]) for the other regimes (``lstm_ar.training.regimes``)."""
        config = self.variants[variant]
        if config.one_step:
            return self.inputs(variant)[0]
        if self.series is None:
            raise ValueError(f"scenario {self.name!r} has no series for horizon-{config.horizon} training")
        return sequences(self.series, config.model.window, config.horizon)

    def rollout_mode(self, variant: str) -> str:
        """``rollout_modes``' entry, else the config's own: "direct" for a direct head, "stateful" for a k-step
        regime, else "window" (a Gaussian head's sampled rollouts run in window mode)."""
        own = rollout_mode(self.variants[variant])
        return self.rollout_modes.get(variant, own if own in ROLLOUT_MODES else "window")

    @property
    def heldout_continuation(self) -> np.ndarray | None:
        """``heldout_series`` after its first ``heldout_context`` values (the end of the training series), or None."""
        return None if self.heldout_series is None else self.heldout_series[self.heldout_context:]

    def backtest(self) -> backtests.Backtest | None:
        """The rolling-origin ``Backtest`` (``lstm_ar.study.backtest.build``), or None without one."""
        return backtests.build(self.series, self.heldout_continuation, self.backtest_origins, self.backtest_horizon,
                               self.rollout_steps) if self.backtest_origins else None

    @property
    def key_metric(self) -> str:
        """The first of ``figures`` (the metric whose distribution a report draws first)."""
        return self.figures[0] if self.figures else "tail_std_ratio"

    def metric_names(self) -> dict[str, tuple[str, ...]]:
        """variant -> every per-seed metric it will have, without training (``lstm_ar.study.metrics.produced``)."""
        return {v: registry.produced(self, v) for v in self.variants}

    # -- checks, in the order __post_init__ runs them ---------------------------------------------

    def _fail(self, message: str):
        raise ValueError(f"scenario {self.name!r}: {message}") from None

    def _check_structure(self) -> None:
        if not (isinstance(self.name, str) and NAME_RE.match(self.name)):
            raise ValueError(f"a scenario name (its output folder) must be {NAME_RULE}, got {self.name!r}")
        if not isinstance(self.variants, Mapping) or not self.variants:
            self._fail("needs at least one variant (name -> TrainConfig)")
        for name, config in self.variants.items():
            if not (isinstance(name, str) and NAME_RE.match(name)):
                self._fail(f"a variant name (its chunk folder) must be {NAME_RULE}, got {name!r}")
            if not isinstance(config, TrainConfig):
                self._fail(f"variant {name!r} must be a TrainConfig, got {type(config).__name__}")
        valid = _names(self.variants)
        for field, names in (("rollout_modes", self.rollout_modes), ("variant_data", self.variant_data)):
            unknown = sorted(set(names) - set(self.variants))
            if unknown:
                self._fail(f"{field} names unknown variants {unknown}; valid: {valid}")
        for variant, mode in self.rollout_modes.items():
            if mode not in ROLLOUT_MODES:
                self._fail(f"rollout mode of {variant!r} must be one of {ROLLOUT_MODES}, got {mode!r}")
        for variant, config in self.variants.items():
            head, mode = config.model.head, self.rollout_modes.get(variant)
            if head == "gaussian" and (self.diagnostics or mode not in (None, "window")):
                self._fail(f"variant {variant!r} has a Gaussian head: its rollout is sampled (window mode, the "
                           "median of its sample paths), without diagnostics")
            if mode is not None and (mode == "direct") != (head == "direct"):
                self._fail(f"variant {variant!r}: the direct rollout mode is the direct head's, got head {head!r} and "
                           f"mode {mode!r}")
            if head == "direct" and self.diagnostics:
                self._fail(f"variant {variant!r} has a direct head: the diagnostics follow a fed-back rollout")
            if config.model.reads_window and (self.diagnostics or mode == "stateful"):
                self._fail(f"variant {variant!r} reads each window whole (window scaling or a linear skip): the stateful "
                           "rollout and the diagnostics feed raw values through the cell (window or direct mode, no "
                           "diagnostics)")
        if self.baseline is not None and self.baseline not in self.variants:
            self._fail(f"baseline {self.baseline!r} is not a variant; valid: {valid}")
        if self.series is None and self.data is None:
            self._fail("needs data: a series (f[T]) or window-1 examples (data)")
        if not isinstance(self.heldout_context, int) or self.heldout_context < 0:
            self._fail(f"heldout_context must be an int >= 0, got {self.heldout_context!r}")
        if self.rollout_steps is not None and (isinstance(self.rollout_steps, bool)
                                               or not isinstance(self.rollout_steps, (int, np.integer))
                                               or self.rollout_steps < TAIL):
            self._fail(f"rollout_steps must be an int >= {TAIL} (the collapse metrics read the last {TAIL} "
                       f"steps), got {self.rollout_steps!r}")

    def _resolve_defaults(self) -> None:
        put = object.__setattr__.__get__(self)  # frozen: set the derived fields once, here
        for field in ("series", "heldout_series"):
            if getattr(self, field) is not None:
                put(field, self._series(getattr(self, field), field, 2))
        if self.data is None:
            put("data", windows(self.series, 1))
        if self.truth is not None:
            put("truth", self._series(self.truth, "truth", 1))
        if self.rollout_steps is None:
            put("rollout_steps", ROLLOUT_STEPS if self.truth is None else self.truth.shape[0])
        put("rollout_steps", int(self.rollout_steps))
        base = self.series if self.series is not None else np.asarray(self.data.y)[:, 0]
        for field, statistic in (("scale", np.std), ("center", np.mean)):
            if getattr(self, field) is None:
                put(field, float(statistic(np.asarray(base, np.float64))))
        if self.context is None:
            put("context", self.series if self.series is not None
                else np.append(self.data.x[-1, :, 0], self.data.y[-1, 0]).astype(np.float32))
        else:
            put("context", self._series(self.context, "context", 1))
        if self.test_input is None:
            put("test_input", np.asarray(self.data.x[-1, :, 0]))
        if self.test_target is None:
            put("test_target", float(self.data.y[-1, 0]))
        for field in ("scale", "center", "test_target"):
            value = getattr(self, field)
            if isinstance(value, (int, np.integer, np.floating)) and not isinstance(value, bool):
                put(field, float(value))
        if self.map_range is None:
            low, high = float(np.min(self.context)), float(np.max(self.context))
            margin = max(high - low, self.scale) / 2
            put("map_range", (low - margin, high + margin))
        for field in ("probes", "figures", "claims", "lower_is_better", "higher_is_better"):
            put(field, tuple(getattr(self, field)))

    def _series(self, values, field: str, min_length: int) -> np.ndarray:
        try:
            array = check_series(values, name=f"{field} of scenario {self.name!r}", min_length=min_length)
        except (TypeError, ValueError) as err:
            raise type(err)(str(err)) from None
        return array if array.dtype == np.float32 else array.astype(np.float32)

    def _check_data(self) -> None:
        if not (isinstance(self.scale, float) and math.isfinite(self.scale) and self.scale > 0):
            self._fail(f"scale (the training series' std) must be a finite number > 0, got {self.scale!r}; "
                       "a constant series cannot be judged for collapse")
        if not (isinstance(self.center, float) and math.isfinite(self.center)):
            self._fail(f"center (the training series' mean) must be a finite number, got {self.center!r}")
        self._check_backtest()
        if not math.isfinite(self.test_target):
            self._fail(f"test_target must be finite, got {self.test_target!r}")
        low, high = self.map_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            self._fail(f"map_range must be finite (low, high) with low < high, got {self.map_range!r}")
        for field, data in [("data", self.data), ("heldout", self.heldout),
                            *[(f"variant_data[{n!r}]", d) for n, d in self.variant_data.items()]]:
            if data is not None:
                _check_dataset(self.name, field, data)
        if self.truth is not None and self.truth.shape[0] < self.rollout_steps:
            self._fail(f"truth has {self.truth.shape[0]} values but the rollout is {self.rollout_steps} steps; "
                       f"give at least {self.rollout_steps} values of truth or set rollout_steps <= "
                       f"{self.truth.shape[0]}")
        if not np.all(np.isfinite(np.asarray(self.test_input, np.float64))):
            self._fail("test_input has non-finite values")
        bad = {k: v for k, v in self.references.items()
               if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v)}
        if bad:
            self._fail(f"references must be finite numbers (they are written to summary.json), got {bad}")
        if self.standardisation is not None and not (
                len(self.standardisation) == 2 and all(math.isfinite(v) for v in self.standardisation)
                and self.standardisation[1] > 0):
            self._fail(f"standardisation must be (mean, std) with std > 0, got {self.standardisation!r}")
        for variant, config in self.variants.items():
            window = config.model.window
            try:
                data, heldout, test_input = self.inputs(variant)
                training = self.training_data(variant)
            except ValueError as err:
                self._fail(f"variant {variant!r} (window {window}, horizon {config.horizon}): {err}")
            has = f"variant {variant!r} has window {window} but"
            if data.x.shape[1] != window or training.x.shape[1] != window:
                self._fail(f"{has} its training data has windows of {training.x.shape[1]}")
            if heldout is not None and heldout.x.shape[1] != window:
                self._fail(f"{has} its held-out data has windows of {heldout.x.shape[1]}")
            if np.shape(test_input) != (window,):
                self._fail(f"{has} the test input has shape {np.shape(test_input)}")
            if self.context.shape[0] < window:
                self._fail(f"{has} the rollout context has only {self.context.shape[0]} values")

    def _check_backtest(self) -> None:
        origins, horizon = self.backtest_origins, self.backtest_horizon
        if isinstance(origins, bool) or not isinstance(origins, (int, np.integer)) or origins < 0:
            self._fail(f"backtest_origins must be an int >= 0, got {origins!r}")
        if horizon is not None and (isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer))
                                    or horizon < backtests.MIN_HORIZON):
            self._fail(f"backtest_horizon must be None or an int >= {backtests.MIN_HORIZON}, got {horizon!r}")
        if not origins:
            return
        if self.series is None or self.heldout_series is None:
            self._fail(f"backtest_origins = {origins} needs a training series and the held-out values after it "
                       "(series and heldout_series)")
        held = self.heldout_continuation.shape[0]
        h = backtests.default_horizon(self.rollout_steps, held) if horizon is None else int(horizon)
        if h < backtests.MIN_HORIZON:
            self._fail(f"the held-out part ({held} values after heldout_context = {self.heldout_context}) is too short "
                       f"for a backtest: the default horizon min(rollout_steps, {held} // 2) = {h} is below "
                       f"{backtests.MIN_HORIZON}")
        try:
            backtests.origins(held, int(origins), h)
        except ValueError as err:
            self._fail(str(err))
        longest = max(config.model.window for config in self.variants.values())
        if self.series.shape[0] < longest:
            self._fail(f"a backtest context starts with the training series ({self.series.shape[0]} values), shorter "
                       f"than the longest window {longest}")

    def _check_names(self) -> None:
        for p in self.probes:
            if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not np.isfinite(p):
                self._fail(f"probes must be finite numbers, got {p!r}")
        probe_names = [registry.probe_name(p) for p in self.probes]
        if len(set(probe_names)) != len(probe_names):
            self._fail(f"probes {self.probes} give duplicate metric names {probe_names}")
        produced = self.metric_names()
        anywhere = sorted({m for ms in produced.values() for m in ms})
        for field in ("lower_is_better", "higher_is_better"):
            unknown = [m for m in getattr(self, field) if m not in anywhere]
            if unknown:
                self._fail(f"{field} names metrics no variant has: {unknown}; valid: {', '.join(anywhere)}")
        for metric in self.figures:
            lacking = [v for v, ms in produced.items() if metric not in ms]
            if lacking:
                self._fail(f"figure metric {metric!r} is missing from variants {lacking}; valid: "
                           f"{', '.join(_common(produced))}")
        ids = [c.id for c in self.claims]
        if len(set(ids)) != len(ids):
            self._fail(f"claim ids must be unique, got {ids}")
        for claim in self.claims:
            if not isinstance(claim, (RateClaim, PairedClaim)):
                self._fail(f"claims must be RateClaim or PairedClaim, got {type(claim).__name__}")
            for variant in claim.variants:
                if variant not in self.variants:
                    self._fail(f"claim {claim.id!r} names variant {variant!r}; valid: {_names(self.variants)}")
            for variant in claim.variants:
                if claim.metric not in produced[variant]:
                    known = registry.describe(claim.metric) is not None
                    why = f" ({registry.why_absent(self, variant, claim.metric)})" if known else ""
                    self._fail(f"claim {claim.id!r} names metric {claim.metric!r}, which variant {variant!r} does "
                               f"not have{why}; valid: {', '.join(produced[variant])}")


def _names(variants: Mapping[str, TrainConfig]) -> str:
    return ", ".join(variants)


def _common(produced: Mapping[str, tuple[str, ...]]) -> list[str]:
    first = next(iter(produced.values()))
    return [m for m in first if all(m in ms for ms in produced.values())]


def _check_dataset(scenario: str, field: str, data: Dataset) -> None:
    x, y = np.asarray(data.x), np.asarray(data.y)
    if np.iscomplexobj(x) or np.iscomplexobj(y):
        raise TypeError(f"scenario {scenario!r}: {field} has complex values; data must be real")
    if x.ndim != 3 or x.shape[2] != 1 or y.ndim != 2 or y.shape[0] != x.shape[0] or x.shape[0] < 1:
        raise ValueError(f"scenario {scenario!r}: {field} must be x: f32[n, window, 1], y: f32[n, horizon] with "
                         f"n >= 1, got x {x.shape}, y {y.shape}")
    for part, values in (("x", x), ("y", y)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"scenario {scenario!r}: {field}.{part} has {int(bad.sum())} non-finite values, the first "
                             f"at index {np.unravel_index(int(np.argmax(bad)), values.shape)}")
