"""The seed article's three examples as data: datasets, variants, probes and claims.

Each ``Scenario`` is faithful to the article's Keras code and Keras's defaults (Adam 1e-3,
batch 32, shuffle, glorot/orthogonal/forget-bias initialisers); what varies per seed is the
initialisation, the shuffling and the dropout masks. All variants of a scenario use the same
seeds (paired). Deviations, each forced or added for measurement:

* Examples 2 and 3 train x[:-1] -> x[1:] (999 examples): the article's code crashes as written.
* "Held-out" one-step MSE uses a fresh noise draw of the same process (``np.random.seed(43)``)
  on the training scale: the article trains on the whole series, so no part of it is held out.
* Free-running rollouts (200 steps, window mode as the article's stateless window-1 models) are
  added: the article only makes one prediction.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

import numpy as np

from lstm_ar.claims import Claim, PairedClaim, RateClaim
from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data import Dataset, Series, linspace_identity, noisy_sine, sine_continuation, sequences, standardise_like, windows

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
    heldout: Optional[Dataset] = None
    truth: Optional[np.ndarray] = None
    probes: tuple[float, ...] = ()
    derive: Optional[Derive] = None
    lower_is_better: tuple[str, ...] = ()
    higher_is_better: tuple[str, ...] = ()
    key_metric: str = "tail_std_ratio"
    rollout_steps: int = ROLLOUT_STEPS
    series: Optional[np.ndarray] = None
    heldout_series: Optional[np.ndarray] = None
    rollout_modes: dict[str, str] = dataclasses.field(default_factory=dict)
    baseline: Optional[str] = None  # if set, variants are compared with it only (not all pairs)
    variant_data: dict[str, Dataset] = dataclasses.field(default_factory=dict)  # per-variant training data
    diagnostics: bool = False  # add gradient-flow (grad_k*) and Lyapunov-exponent metrics
    references: dict[str, float] = dataclasses.field(default_factory=dict)  # e.g. baseline RMSEs

    def inputs(self, variant: str) -> tuple[Dataset, Optional[Dataset], np.ndarray]:
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
        values for the other training regimes (``lstm_ar.regime``)."""
        config = self.variants[variant]
        if config.one_step:
            return self.inputs(variant)[0]
        if self.series is None:
            raise ValueError(f"scenario {self.name!r} has no series for horizon-{config.horizon} training")
        return sequences(self.series, config.model.window, config.horizon)

    def rollout_mode(self, variant: str) -> str:
        return self.rollout_modes.get(variant, "window")


def _diversity_derived(m: dict) -> dict:
    slope_in = (m["f(0.6)"] - m["f(0.4)"]) / 0.2
    slope_out = 0.5 * ((m["f(1)"] - m["f(0.6)"]) / 0.4 + (m["f(0.4)"] - m["f(0)"]) / 0.4)
    return {"slope_in_range": slope_in, "abs_slope_in_range": np.abs(slope_in),
            "slope_outside_range": slope_out, "extrapolation_slope_error": np.abs(slope_out - 1.0)}


def _gap_derived(m: dict) -> dict:
    return {"generalisation_gap": m["heldout_mse"] - m["train_mse"]}


def fit_config(model: ModelConfig, epochs: int, quick: bool, **hyper) -> TrainConfig:
    """Keras-default training for ``epochs`` (at most 2 in a quick run)."""
    return TrainConfig(model=model, epochs=min(epochs, 2) if quick else epochs, hyper=Hyper(**hyper))


def diversity(quick: bool = False) -> Scenario:
    """Example 1: LSTM(32, relu) -> Dense(1) fit x -> x on linspace(0.4, 0.6, 100), 100 epochs."""
    data = linspace_identity()
    claims = (
        RateClaim("E1-mean", "Likely will converge to ~0.5 [for input 0.6]", "relu", "f(0.6)", "<", 0.55,
                  "prediction for 0.6 is nearer 0.5 than the true 0.6"),
        RateClaim("E1-flat", "The model predicts the next input to be approximately 0.5 regardless of the actual input",
                  "relu", "abs_slope_in_range", "<", 0.5, "f is flatter than half the identity's slope over [0.4, 0.6]"),
        RateClaim("E1-extrapolate", "incapable of making meaningful predictions beyond the bounds of its training data",
                  "relu", "extrapolation_slope_error", ">", 0.5,
                  "outside [0.4, 0.6] the slope of f is off the identity's by more than 0.5"),
        RateClaim("E1-rollout", "this small prediction will, through the recursive feedback, continue to feed on itself",
                  "relu", "settle_value", "<", 0.55, "the free-running rollout from 0.6 settles nearer 0.5 than 0.6"),
    )
    return Scenario(
        name="diversity", title="Example 1: insufficient data diversity",
        source="LSTM(32, activation='relu') -> Dense(1), fit x -> x on linspace(0.4, 0.6, 100), 100 epochs",
        variants={"relu": fit_config(ModelConfig(units=32, activation="relu"), 100, quick)},
        data=data, scale=float(np.std(data.y)), context=np.asarray([0.6], np.float32),
        test_input=np.asarray([0.6], np.float32), test_target=0.6, map_range=(0.0, 1.0),
        claims=claims, truth=np.full(ROLLOUT_STEPS, 0.6, np.float32), probes=(0.0, 0.4, 0.6, 1.0),
        derive=_diversity_derived, lower_is_better=("train_mse", "seed_prediction_error", "rollout_rmse"))


def sine_setup() -> tuple[Series, np.ndarray]:
    """The seed's noisy sine and a fresh-noise copy (seed 43) on its scale, for held-out MSE."""
    series = noisy_sine()
    return series, standardise_like(noisy_sine(seed=43, standardise=False).values, series)


def activation(quick: bool = False) -> Scenario:
    """Example 2: noisy sine, window 1, LSTM(32, sigmoid) vs LSTM(32, relu), 20 epochs."""
    claims = (
        RateClaim("E2-sigmoid-flat", "[sigmoid] performs poorly by converging to a mean and by showing a relatively flat output",
                  "sigmoid", "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        PairedClaim("E2-relu-trend", "The second model, using ReLU, is better at capturing the data's trend",
                    "relu", "sigmoid", "rollout_rmse"),
        PairedClaim("E2-relu-accurate", "[ReLU] has a good chance to predict more accurately",
                    "relu", "sigmoid", "seed_prediction_error"),
    )
    return sine_scenario("activation", "Example 2: sigmoid vs ReLU activation",
                          "LSTM(32, sigmoid | relu) -> Dense(1), noisy sine x[:-1] -> x[1:], 20 epochs",
                          {"sigmoid": fit_config(ModelConfig(units=32, activation="sigmoid"), 20, quick),
                           "relu": fit_config(ModelConfig(units=32, activation="relu"), 20, quick)},
                          claims)


def dropout(quick: bool = False) -> Scenario:
    """Example 3: noisy sine, relu, 50 epochs, no dropout vs Dropout(0.2) after the LSTM."""
    model = ModelConfig(units=32, activation="relu")
    claims = (
        RateClaim("E3-constant", "The model without dropout ... performs poorly by making a constant prediction",
                  "no_dropout", "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        PairedClaim("E3-overfit", "The model without dropout overfits the training data",
                    "dropout", "no_dropout", "generalisation_gap"),
        PairedClaim("E3-generalise", "The addition of dropout significantly improves the model's ability to generalize",
                    "dropout", "no_dropout", "heldout_mse"),
        PairedClaim("E3-accurate", "[dropout leads] to a more accurate prediction",
                    "dropout", "no_dropout", "seed_prediction_error"),
    )
    return sine_scenario("dropout", "Example 3: dropout vs none",
                          "LSTM(32, relu) -> [Dropout(0.2)] -> Dense(1), noisy sine x[:-1] -> x[1:], 50 epochs",
                          {"no_dropout": fit_config(model, 50, quick),
                           "dropout": fit_config(model, 50, quick, output_dropout=0.2)},
                          claims)


def sine_scenario(name, title, source, variants, claims, **extra) -> Scenario:
    """A scenario on the seed's noisy sine: rollouts start after x[998] and are judged against
    the noiseless continuation; extra fields (e.g. rollout_modes) pass through."""
    series, fresh = sine_setup()
    data, heldout = windows(series.values, 1), windows(fresh, 1)
    derive = extra.pop("derive", _gap_derived)
    n = series.values.shape[0]
    return Scenario(
        name=name, title=title, source=source, variants=variants, data=data,
        scale=float(np.std(series.values[:-1])), context=series.values[:-1],
        test_input=data.x[-1, :, 0], test_target=float(data.y[-1, 0]), map_range=(-3.0, 3.0),
        claims=claims, heldout=heldout, truth=sine_continuation(series, n - 1, ROLLOUT_STEPS),
        derive=derive, series=series.values, heldout_series=fresh,
        lower_is_better=("train_mse", "heldout_mse", "generalisation_gap", "seed_prediction_error", "rollout_rmse"),
        **extra)


SCENARIOS: dict[str, Callable[[bool], Scenario]] = {
    "diversity": diversity, "activation": activation, "dropout": dropout}
