"""``Scenario.from_series``: a study of any 1-D series in a few lines.

    import numpy as np
    from lstm_ar.study.scenario import Scenario
    from lstm_ar.study.experiment import run_scenario, summarise

    values = np.loadtxt("my_series.csv")
    scenario = Scenario.from_series(values, name="my_series", epochs=50)
    summary = summarise(run_scenario(scenario, 64))

What it builds, step by step:

1. The series is checked (real, finite, 1-D, long enough) before anything is computed.
2. It is split in time: the last ``test_fraction`` of the values are held out (or ``heldout``
   gives them), the rest trains.
3. Both parts are standardised with the training part's mean and std only (a constant training
   part is refused); ``Scenario.standardisation`` keeps them, and the ``*_raw`` metrics report
   the rollout error, held-out MSE and settle value back in the series' own units.
4. One variant per window, ``window_{w}``: LSTM(units, activation) -> Dense(1), Keras defaults.
5. Every variant is judged on the same held-out values: its one-step MSE on each of them (the
   first windows read the end of the training part), and a free-running rollout from the end of
   the training part against them (``truth``: the held-out continuation).
6. References without a model: repeating the last training value (``persistence_rmse``) and the
   training mean (``mean_rmse``); ``rmse_minus_persistence`` < 0 means the model beats persistence.
   The linear references (AR(p), AR by AIC/BIC, a direct linear forecaster) are fitted on the
   same training part by ``run_scenario`` (``lstm_ar.study.references``).
7. With ``backtest_origins > 0``, a rolling-origin backtest over the held-out values as well
   (``lstm_ar.study.backtest``; ``backtest_horizon`` steps per origin).

Claims are the user's (verdicts ``holds`` / ``does not hold`` / ``inconclusive``) unless marked
``source="article"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import check_series, standardisation
from lstm_ar.dynamics.collapse import TAIL
from lstm_ar.study.claims import Claim

Derive = Callable[[dict], dict]

DEFAULT_WINDOWS = (1, 20)
DEFAULT_EPOCHS = 20  # the article's Example 2


def from_series(values, *, name: str = "series", title: str | None = None,
                windows: Sequence[int] = DEFAULT_WINDOWS, units: int = 32, activation: str = "tanh",
                epochs: int = DEFAULT_EPOCHS, rollout_steps: int | None = None, test_fraction: float = 0.2,
                heldout=None, claims: Sequence[Claim] = (), probes: Sequence[float] = (),
                figures: Sequence[str] = ("tail_std_ratio",), hyper: Hyper | None = None,
                diagnostics: bool = False, derive: Derive | None = None, backtest_origins: int = 0,
                backtest_horizon: int | None = None):
    """A scenario that trains one LSTM forecaster per window on a series and judges it on the
    held-out continuation (see the module docstring).

    Args:
      values: f[T] the series, in time order (real, finite, not constant).
      name: the scenario's name (its output folder).
      title: a heading for reports (default: built from the name and lengths).
      windows: the windows to compare; variant ``window_{w}`` per window.
      units, activation: the LSTM's size and cell activation.
      epochs: training epochs (Keras ``fit`` defaults otherwise: Adam 1e-3, batch 32, shuffle).
      rollout_steps: free-running steps (default: every held-out value; at least 50).
      test_fraction: the share of ``values`` held out at the end, in (0, 1); ignored with ``heldout``.
      heldout: f[T'] held-out values that follow ``values`` (then all of ``values`` trains).
      claims: the user's claims about the variants, checked against their names and metrics now.
      probes: inputs x (standardised units) at which f(x) is recorded.
      figures: metrics whose per-seed distribution a report draws.
      hyper: numeric hyper-parameters for every variant (default: Keras's).
      diagnostics: add the gradient-flow and Lyapunov metrics.
      derive: a numpy function adding per-seed metrics (after the ones added here).
      backtest_origins: forecast origins of a rolling-origin backtest over the held-out values
        (0: none; too many for the held-out part is a ValueError naming the numbers).
      backtest_horizon: steps judged at each origin (default ``min(rollout_steps, held-out // 2)``).

    Returns:
      The ``lstm_ar.study.scenario.Scenario``, checked.
    """
    from lstm_ar.study.scenario import Scenario  # (scenario.py imports this module)

    window_list = _windows(windows)
    longest = max(window_list)
    if heldout is None:
        if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        array = np.asarray(check_series(values, name="values", min_length=2), np.float64)
        n_test = int(round(test_fraction * array.shape[0]))
        train, future = array[:array.shape[0] - n_test], array[array.shape[0] - n_test:]
        held_name = f"the held-out part (the last {test_fraction:g} of the values)"
    else:
        train = np.asarray(check_series(values, name="values", min_length=2), np.float64)
        future = np.asarray(check_series(heldout, name="heldout", min_length=1), np.float64)
        held_name = "heldout"
    if rollout_steps is not None and (isinstance(rollout_steps, bool) or not isinstance(rollout_steps, (int, np.integer))
                                      or rollout_steps < TAIL):
        raise ValueError(f"rollout_steps must be an int >= {TAIL} (the collapse metrics read the last {TAIL} steps), "
                         f"got {rollout_steps!r}")
    steps = int(future.shape[0] if rollout_steps is None else rollout_steps)
    need_train = longest + 2  # two examples for the longest window
    hint = " (give more values or a larger test_fraction)" if heldout is None else ""
    if train.shape[0] < need_train:
        raise ValueError(f"series too short: {train.shape[0]} values to train, but window {longest} needs at least "
                         f"{need_train}" + (" (give more values or a smaller test_fraction)" if heldout is None else ""))
    if future.shape[0] < TAIL:
        raise ValueError(f"series too short: {held_name} has {future.shape[0]} values, but a rollout is judged on at "
                         f"least {TAIL} (the collapse metrics read its last {TAIL} steps){hint}")
    if steps > future.shape[0]:
        raise ValueError(f"rollout_steps {steps} is longer than {held_name} ({future.shape[0]} values), the truth "
                         f"it is judged against{hint}")
    mean, std = standardisation(train, name="the training part of values")
    train_z = ((train - mean) / std).astype(np.float32)
    future_z = ((future - mean) / std).astype(np.float32)
    truth = future_z[:steps]
    variants = {f"window_{w}": TrainConfig(model=ModelConfig(units=units, window=w, activation=activation),
                                           epochs=epochs, hyper=Hyper() if hyper is None else hyper)
                for w in window_list}
    references = _references(train_z, truth)
    return Scenario(
        name=name, title=title or f"{name}: {len(train)} values to train, {len(future)} held out",
        source=(f"LSTM({units}, {activation}) -> Dense(1), windows {', '.join(map(str, window_list))}, {epochs} epochs, "
                f"Keras defaults; standardised with the training part's mean {mean:.6g} and std {std:.6g}; rollout "
                f"of {steps} steps from the end of the training part, judged against the held-out values"),
        variants=variants, series=train_z, heldout_series=np.concatenate([train_z[-longest:], future_z]),
        heldout_context=longest, truth=truth, rollout_steps=steps, claims=tuple(claims), probes=tuple(probes),
        figures=tuple(figures), derive=_raw_units(mean, std, references["persistence_rmse"], derive),
        lower_is_better=("train_mse", "heldout_mse", "rollout_rmse"), higher_is_better=("valid_horizon",),
        diagnostics=diagnostics, references=references, standardisation=(mean, std),
        backtest_origins=backtest_origins, backtest_horizon=backtest_horizon)


def _windows(windows: Sequence[int]) -> tuple[int, ...]:
    try:
        values = tuple(windows)
    except TypeError:
        raise TypeError(f"windows must be a sequence of ints, got {windows!r}") from None
    if not values or any(isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in values):
        raise ValueError(f"windows must be a non-empty sequence of ints >= 1, got {windows!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"windows must be distinct, got {windows!r}")
    return tuple(int(w) for w in values)


def _references(train: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMSE against ``truth`` of forecasts that need no model: the last training value, the
    training mean (0 once standardised, up to rounding)."""
    t = np.asarray(truth, np.float64)
    last, mean = float(train[-1]), float(np.mean(np.asarray(train, np.float64)))
    return {"persistence_rmse": float(np.sqrt(np.mean(np.square(t - last)))),
            "mean_rmse": float(np.sqrt(np.mean(np.square(t - mean))))}


def _raw_units(mean: float, std: float, persistence: float, then: Derive | None) -> Derive:
    """derive(metrics): the rollout error, held-out MSE and settle value in the series' own units,
    the rollout error minus persistence's, then the user's ``then``."""

    def derive(m: dict) -> dict:
        out = {"rollout_rmse_raw": m["rollout_rmse"] * std, "settle_value_raw": m["settle_value"] * std + mean,
               "rmse_minus_persistence": m["rollout_rmse"] - persistence}
        if "heldout_mse" in m:
            out["heldout_mse_raw"] = m["heldout_mse"] * std ** 2
        if then is not None:
            out.update(then({**m, **out}))
        return out

    return derive
