"""``lstm-ar diagnose``: the user's own model on the user's series, exactly as Keras would run it.

``prepare``: 1. scales the series as the model was trained and rolls it out in window mode over every held-out
value and from the backtest origins; 2. checks the rollout against the Keras model's own ``model(x)``; 3.
measures the collapse and why (window 1: the learned map's fixed points and |f'| at the settle value; longer
windows: the rollout map's spectral radius over the last quarter); 4. plans the retraining of the same
architecture with the remedies (``plan_study``). ``Diagnosis.lines`` is the verdict.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.dynamics.collapse import TAIL, collapse_metrics, map_fixed_points
from lstm_ar.dynamics.judge import judge_origins
from lstm_ar.dynamics.rollout import rollout
from lstm_ar.dynamics.stability import rollout_spectral_radius
from lstm_ar.linear.ar import fit_ar_host
from lstm_ar.model.forecaster import forecast
from lstm_ar.user.io import InputError, UserSeries
from lstm_ar.user.model_file import LoadedModel, keras_side
from lstm_ar.user.study import DEFAULT_REMEDIES, StudyPlan, describe_model, parse_remedies, plan_study

SCALINGS = ("raw", "standard", "minmax")
CHECK_STEPS = 5  # rollout steps compared with Keras's own model(x)
MAP_GRID = 201  # points at which a window-1 model's map is drawn
BACKTEST_ORIGINS = 20


class Scaling(NamedTuple):
    """model units = (value - offset) / factor."""

    kind: str
    offset: float
    factor: float

    def to_model(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, np.float64) - self.offset) / self.factor).astype(np.float32)

    def to_user(self, values):
        return np.asarray(values, np.float64) * self.factor + self.offset


def scaling_of(kind: str, train: np.ndarray) -> Scaling:
    """``raw``, ``standard`` (mean 0, std 1) or ``minmax`` (to [0, 1]), fitted on ``train`` (user's units)."""
    if kind == "raw":
        return Scaling(kind, 0.0, 1.0)
    if kind == "standard":
        return Scaling(kind, float(np.mean(train)), float(np.std(train)))
    if kind == "minmax":
        return Scaling(kind, float(np.min(train)), float(np.ptp(train)))
    raise InputError(f"--scaling must be one of {', '.join(SCALINGS)}, got {kind!r}")


class OwnRollout(NamedTuple):
    """The user's model rolled out: model units, but settle, rmse and backtest (origins, horizon, collapsed share,
    mean RMSE) in the user's. Window 1: fixed_points on the map's range and slope f'(settle); longer windows:
    rho_tail. agreement: max |ours - Keras model(x)| over the first steps, or None."""

    ys: np.ndarray
    truth: np.ndarray
    collapsed: bool
    diverged: bool
    settle: float
    steps_to_collapse: int
    tail_ratio: float
    rmse: float
    backtest: tuple[int, int, float, float] | None
    fixed_points: int | None
    slope: float | None
    rho_tail: float | None
    agreement: float | None
    map_grid: np.ndarray | None
    map_curve: np.ndarray | None


def keras_rollout(keras_model, context: np.ndarray, steps: int) -> np.ndarray:
    """A Keras user's loop: ``model(window)`` fed back ``steps`` times from ``context`` (model units): f32[steps]."""
    window = int(keras_model.input_shape[1])
    buffer = list(np.asarray(context, np.float32)[-window:])
    out = []
    with keras_side():
        for _ in range(steps):
            y = float(np.asarray(keras_model(np.asarray(buffer, np.float32)[None, :, None]))[0, 0])
            out.append(y)
            buffer = [*buffer[1:], y]
    return np.asarray(out, np.float32)


def roll_out(model: LoadedModel, train: np.ndarray, heldout: np.ndarray, scaling: Scaling, *,
             origins: int = BACKTEST_ORIGINS) -> OwnRollout:
    """Steps 1-3 of the module docstring, on the user's ``train`` f[T >= window] and ``heldout`` f[L >= TAIL]."""
    from lstm_ar.study import backtest as bt
    config, params = model.config, model.params
    z_train, z_held = scaling.to_model(train), scaling.to_model(heldout)
    scale, center = float(np.std(z_train.astype(np.float64))), float(np.mean(z_train.astype(np.float64)))
    steps = int(z_held.shape[0])
    ys = rollout(params, jnp.asarray(z_train), steps, config)
    cm = collapse_metrics(ys, scale, center=center)
    ys = np.asarray(ys)
    diverged = bool(cm.diverged)
    # the one judge's convention (lstm_ar.dynamics.judge): a diverged rollout's RMSE is inf
    rmse = float("inf") if diverged else float(np.sqrt(np.mean(np.square(scaling.to_user(ys) - heldout))))
    backtest = None
    if origins:
        horizon = bt.default_horizon(steps, steps)
        plan = bt.build(z_train, z_held, min(origins, steps - horizon + 1), horizon, steps)
        runs = jax.vmap(lambda c: rollout(params, c, plan.horizon, config))(jnp.asarray(plan.contexts(config.window)))
        m = judge_origins(runs, jnp.asarray(plan.truths()), scale, center)
        backtest = (int(plan.origins.size), int(plan.horizon), float(m["backtest_collapse_rate"]),
                    float(m["backtest_rmse"]) * scaling.factor)
    settle = float(cm.settle_value)
    fixed = slope = rho = grid = curve = None
    if config.window == 1:
        low, high = float(z_train.min()), float(z_train.max())
        margin = max(high - low, scale) / 2
        f = lambda v: forecast(params, v.reshape(1, 1), config)[0]
        fp = map_fixed_points(f, cm.settle_value, low=low - margin, high=high + margin)
        fixed, slope = int(fp.count), float(fp.settle_slope)
        grid = np.linspace(low - margin, high + margin, MAP_GRID)
        curve = np.asarray(jax.vmap(f)(jnp.asarray(grid, jnp.float32)))
    elif not diverged:
        radius = np.asarray(rollout_spectral_radius(params, jnp.asarray(z_train), steps, config))
        rho = float(np.median(radius[-max(1, steps // 4):]))
    k = min(CHECK_STEPS, steps)
    agreement = (None if model.keras_model is None
                 else float(np.max(np.abs(keras_rollout(model.keras_model, z_train, k) - ys[:k]))))
    return OwnRollout(ys=ys, truth=z_held, collapsed=bool(cm.collapsed), diverged=diverged,
                      settle=float(scaling.to_user(settle)) if np.isfinite(settle) else float("nan"),
                      steps_to_collapse=int(cm.steps_to_collapse), tail_ratio=float(cm.tail_std_ratio), rmse=rmse,
                      backtest=backtest, fixed_points=fixed, slope=slope, rho_tail=rho, agreement=agreement, map_grid=grid,
                      map_curve=curve)


def agreement_line(own: OwnRollout, model: LoadedModel) -> str:
    """One sentence: how closely our rollout matches the Keras model's own ``model(x)``."""
    if own.agreement is None:
        return "Keras check: not made (Keras is not installed); the rollout uses the weights as Keras would."
    k = min(CHECK_STEPS, own.ys.shape[0])
    return (f"Keras check: the first {k} rollout steps match the Keras model's own model(x), fed back step by step, to "
            f"{own.agreement:.2g} (largest absolute difference, model units).")


def diagnosis_lines(own: OwnRollout, model: LoadedModel, scaling: Scaling, one_lag_slope: float, *, words: str) -> list[str]:
    """The verdict's sentences on the user's model (``words``: ``LSTM(32, relu), window 1``)."""
    steps = own.ys.shape[0]
    head = f"Your model ({words}, from {model.path}, inputs {scaling.kind}) rolled out over the {steps} held-out values"
    if own.diverged:
        lines = [f"{head}: diverges (its rollout leaves the divergence bound or is not finite)."]
    elif own.collapsed:
        lines = [f"{head}: collapses to {own.settle:.4g} (your units) within {own.steps_to_collapse} "
                 f"step{'' if own.steps_to_collapse == 1 else 's'}; RMSE {own.rmse:.4g} (your units)."]
    else:
        lines = [f"{head}: does not collapse (the std of its last {TAIL} steps is {own.tail_ratio:.2f} x the training "
                 f"part's); RMSE {own.rmse:.4g} (your units)."]
    if own.backtest is not None:
        n, h, rate, rmse = own.backtest
        lines.append(f"From {n} rolling origins in the held-out part ({h} steps each): {100 * rate:.0f}% of its "
                     f"rollouts collapse; mean RMSE {rmse:.4g} (your units).")
    if own.slope is not None and not own.diverged:
        attracting = abs(own.slope) < 1
        if own.collapsed:
            where = (f"where the rollout settles it has {'an attracting' if attracting else 'a'} fixed point "
                     f"(|f'| = {abs(own.slope):.3f})")
        else:
            where = (f"at the mean of the rollout's last {TAIL} steps |f'| = {abs(own.slope):.3f}"
                     + (" (>= 1: not attracting), so the rollout keeps moving" if not attracting else ""))
        lines.append(f"Why: its learned map x -> f(x) has {own.fixed_points} fixed point(s) on the data's range; {where}. "
                     f"The least-squares one-lag slope of your data is {one_lag_slope:.3f}"
                     + (": even the best one-lag linear map contracts (regression dilution), so a window-1 model "
                        "that fits the data well learns a contraction too." if abs(one_lag_slope) < 1 else "."))
    elif own.rho_tail is not None:
        kind = ("a contraction, so nearby rollouts converge and the rollout forgets where it started"
                if own.rho_tail < 1 else "not a contraction")
        lines.append(f"Why: the spectral radius of its rollout map along the rollout is {own.rho_tail:.3f} (median of the "
                     f"last quarter): {kind}; the data's least-squares one-lag slope is {one_lag_slope:.3f}.")
    return lines


class Diagnosis(NamedTuple):
    """The measured rollout, its verdict ``lines``, the Keras check, the scaling and the model in words."""

    own: OwnRollout
    lines: list[str]
    agreement_line: str
    scaling: Scaling
    words: str

    def summary(self) -> dict:
        """The JSON-ready diagnosis (``summary["user"]["diagnosis"]``)."""
        from lstm_ar.study.stats import json_number
        o = self.own
        backtest = None if o.backtest is None else dict(zip(("origins", "horizon", "collapse_rate", "rmse_raw"), o.backtest))
        return json_number({"model": self.words, "scaling": self.scaling._asdict(), "collapsed": o.collapsed,
                            "diverged": o.diverged, "settle_value_raw": o.settle, "steps_to_collapse": o.steps_to_collapse,
                            "tail_std_ratio": o.tail_ratio, "rmse_raw": o.rmse, "backtest": backtest,
                            "fixed_points": o.fixed_points, "settle_slope": o.slope, "rho_tail": o.rho_tail,
                            "keras_agreement": o.agreement, "verdict": self.lines})

    def own_map(self):
        """(grid, curve, rollout) of a window-1 model in model units, for the cobweb figure, or None."""
        o = self.own
        return None if o.map_grid is None or not np.all(np.isfinite(o.ys)) else (o.map_grid, o.map_curve, o.ys)

    def report(self, result, summary: dict) -> tuple[list[str], object]:
        """Add the diagnosis to ``summary["user"]`` in place (its verdict first); (report.md lines, cobweb data
        or None). ``result`` is unused: the diagnosis is of the user's model."""
        summary["user"]["diagnosis"] = self.summary()
        summary["user"]["verdict"] = [*self.lines, *summary["user"]["verdict"]]
        lines = ["## Your model", "", self.agreement_line, "",
                 f"The retrained variants below use the same architecture ({self.words}) on your series, "
                 "standardised with the training part's mean and std.", ""]
        return lines, self.own_map()


def prepare(model: LoadedModel, data: UserSeries, n_train: int, *, scaling: str = "raw", remedies: str | None = None,
            retrain: bool = True, epochs: int = 20, season: int | None = None, backtest_origins: int = BACKTEST_ORIGINS,
            name: str | None = None, quick: bool = False) -> tuple[StudyPlan | None, Diagnosis]:
    """Check the series against the model, measure it, plan the retraining (None without ``retrain``)."""
    values = np.asarray(data.values, np.float64)
    train, heldout = values[:n_train], values[n_train:]
    window = model.config.window
    if train.size < max(window, 2):
        raise InputError(f"too few values: the model reads {window} values, the training part has {train.size}")
    if heldout.size < TAIL:
        raise InputError(f"too few values: {heldout.size} held out, but a rollout is judged on at least {TAIL} "
                         "(collapse is read from its last 50 steps): give more values or a larger --test-fraction")
    if np.ptp(train) == 0:
        raise InputError(f"the training part (the first {train.size} values) is constant ({train[0]:g}): nothing to forecast")
    chosen = parse_remedies(remedies) if remedies is not None else DEFAULT_REMEDIES
    scale = scaling_of(scaling, train)
    words = describe_model(model.config)
    plan = plan_study(data, n_train, windows=(window,), units=model.config.units, activation=model.config.activation,
                      recurrent_activation=model.config.recurrent_activation, epochs=epochs, remedies=chosen,
                      season=season, backtest_origins=backtest_origins, name=name, quick=quick) if retrain else None
    own = roll_out(model, train, heldout, scale, origins=backtest_origins)
    lines = diagnosis_lines(own, model, scale, float(fit_ar_host(scale.to_model(train), 1).coefs[0]), words=words)
    return plan, Diagnosis(own=own, lines=lines, agreement_line=agreement_line(own, model), scaling=scale, words=words)


def diagnosis_markdown(diagnosis: Diagnosis, command: str) -> str:
    """``report.md`` of a diagnosis without retraining."""
    figure = ["![learned_map.png](learned_map.png)", ""] if diagnosis.own_map() is not None else []
    return "\n".join(["# Your model", "", "## Verdict", "", *(f"- {s}" for s in diagnosis.lines), "",
                      diagnosis.agreement_line, "", f"Command: `{command}`.", "", *figure])
