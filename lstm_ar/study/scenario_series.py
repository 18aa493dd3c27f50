"""``Scenario.from_series``: a study of any 1-D series in a few lines, e.g.
``summarise(run_scenario(Scenario.from_series(np.loadtxt("my.csv"), name="my", epochs=50), 64))``.

The series is checked, split in time (the last ``test_fraction``, or ``heldout``) and standardised with the training
part's statistics only (``*_raw`` metrics: the series' units). One variant per window (LSTM -> Dense(1), Keras
defaults), judged on the held-out values by one-step MSE and a rollout from the end of the training part, against
persistence (``rmse_minus_persistence`` < 0 beats it), the training mean and the linear references;
``backtest_origins > 0`` adds a rolling-origin backtest. Claims are the user's unless marked ``source="article"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import check_series
from lstm_ar.data.split import split_standardise, train_length
from lstm_ar.dynamics.collapse import TAIL
from lstm_ar.study import references
from lstm_ar.study.claims import Claim

Derive = Callable[[dict], dict]

DEFAULT_WINDOWS = (1, 20)
DEFAULT_EPOCHS = 20  # the article's Example 2


def from_series(values, *, name: str = "series", title: str | None = None, windows: Sequence[int] = DEFAULT_WINDOWS,
                units: int = 32, activation: str = "tanh", epochs: int = DEFAULT_EPOCHS, rollout_steps: int | None = None,
                test_fraction: float = 0.2, heldout=None, claims: Sequence[Claim] = (), probes: Sequence[float] = (),
                figures: Sequence[str] = ("tail_std_ratio",), hyper: Hyper | None = None, diagnostics: bool = False,
                derive: Derive | None = None, backtest_origins: int = 0, backtest_horizon: int | None = None):
    """A checked ``Scenario`` training one LSTM per window on ``values`` f[T] (module docstring). ``heldout``:
    values that follow (then all of ``values`` trains); ``rollout_steps``: default every held-out value, >= 50;
    ``probes``: standardised x at which f(x) is recorded; ``derive``: adds per-seed metrics after these;
    ``backtest_horizon``: default ``min(rollout_steps, held-out // 2)``."""
    from lstm_ar.study.scenario import Scenario  # (scenario.py imports this module)
    longest = max(window_list := _windows(windows))
    if heldout is None:
        if not (isinstance(test_fraction, (int, float)) and 0.0 < test_fraction < 1.0):
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        array = np.asarray(check_series(values, name="values", min_length=2), np.float64)
        train, future = np.split(array, [train_length(array.shape[0], test_fraction)])
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
    hint = " (give more values or a larger test_fraction)" if heldout is None else ""
    if train.shape[0] < (need_train := longest + 2):  # two examples for the longest window
        raise ValueError(f"series too short: {train.shape[0]} values to train, but window {longest} needs at least "
                         f"{need_train}" + (" (give more values or a smaller test_fraction)" if heldout is None else ""))
    if future.shape[0] < TAIL:
        raise ValueError(f"series too short: {held_name} has {future.shape[0]} values, but a rollout is judged on at "
                         f"least {TAIL} (the collapse metrics read its last {TAIL} steps){hint}")
    if steps > future.shape[0]:
        raise ValueError(f"rollout_steps {steps} is longer than {held_name} ({future.shape[0]} values), the truth "
                         f"it is judged against{hint}")
    train_z, future_z, mean, std = split_standardise(np.concatenate([train, future]), n_train=train.shape[0],
                                                     name="the training part of values")
    references = _references(train_z, truth := future_z[:steps])
    variants = {f"window_{w}": TrainConfig(model=ModelConfig(units=units, window=w, activation=activation), epochs=epochs,
                                           hyper=Hyper() if hyper is None else hyper) for w in window_list}
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
    """RMSE against ``truth`` of the last training value and of the training mean, repeated."""
    return {f"{name}_rmse": references.rmse(f, truth)
            for name, f in references.naive_forecasts(train, truth.shape[0]).items()}


def _raw_units(mean: float, std: float, persistence: float, then: Derive | None) -> Derive:
    """derive(metrics): the ``*_raw`` metrics in the series' units, ``rmse_minus_persistence``, then ``then``."""

    def derive(m: dict) -> dict:
        out = {"rollout_rmse_raw": m["rollout_rmse"] * std, "settle_value_raw": m["settle_value"] * std + mean,
               "rmse_minus_persistence": m["rollout_rmse"] - persistence}
        if "heldout_mse" in m:
            out["heldout_mse_raw"] = m["heldout_mse"] * std ** 2
        return out if then is None else {**out, **then({**m, **out})}

    return derive
