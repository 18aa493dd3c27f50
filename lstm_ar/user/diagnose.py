"""``lstm-ar diagnose``: the user's own model on the user's series, exactly as Keras would run it.

``prepare(model, data, n_train, ...)`` (after ``lstm_ar.user.model_file.load_model`` and
``lstm_ar.user.io.load_series`` have checked their inputs):

1. scales the series as the model was trained (``--scaling``: ``raw`` values, or ``standard`` /
   ``minmax`` with the training part's statistics) and rolls the model out in window mode
   (``lstm_ar.dynamics.rollout``, Keras-exact: tests/test_keras_parity.py) from the end of the
   training part over every held-out value, and from the rolling backtest origins
   (``lstm_ar.study.backtest``);
2. checks that rollout against the Keras model's own ``model(x)`` on its first ``CHECK_STEPS``
   steps (each step fed back, as a Keras user would) and reports the largest difference;
3. measures the collapse (``lstm_ar.dynamics.collapse``: collapsed, settle value in the user's
   units, steps to collapse) and why: for window 1 the learned map's fixed points and |f'| at the
   settle value; for longer windows the spectral radius of the rollout map along the rollout
   (median of the last quarter); beside the data's least-squares one-lag slope;
4. plans the retraining of the same architecture across seeds with the remedies
   (``lstm_ar.user.study.plan_study``; skipped with ``retrain=False``).

``Diagnosis.lines`` is the verdict on the user's model, computed from these measurements;
``Diagnosis.report`` adds it to the study's summary and report.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.dynamics.collapse import TAIL, collapse_metrics, map_fixed_points
from lstm_ar.dynamics.judge import judge_origins
from lstm_ar.dynamics.rollout import rollout
from lstm_ar.dynamics.stability import rollout_spectral_radius
from lstm_ar.model.forecaster import forecast
from lstm_ar.user.io import InputError, UserSeries
from lstm_ar.user.model_file import LoadedModel, keras_side
from lstm_ar.user.references import fit_ar_host
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
    """The scaling the model was trained with, fitted on the training part.

    Args:
        kind: ``raw``, ``standard`` (mean 0, std 1) or ``minmax`` (to [0, 1]).
        train: f[T] the training part (user's units).

    Returns:
        ``Scaling``; an ``InputError`` for an unknown kind.
    """
    if kind == "raw":
        return Scaling(kind, 0.0, 1.0)
    if kind == "standard":
        return Scaling(kind, float(np.mean(train)), float(np.std(train)))
    if kind == "minmax":
        return Scaling(kind, float(np.min(train)), float(np.ptp(train)))
    raise InputError(f"--scaling must be one of {', '.join(SCALINGS)}, got {kind!r}")


class OwnRollout(NamedTuple):
    """The user's model rolled out (model units unless said otherwise).

    ys: f32[steps] from the end of the training part; truth: its held-out values. collapsed,
    diverged: flags; settle: the tail mean (user's units); steps_to_collapse; tail_ratio: tail std /
    training std. rmse: against the truth (user's units). backtest: (origins, horizon, collapsed
    share, mean RMSE in user's units) or None. fixed_points, slope: window 1 (count on the map's
    range, f'(settle)); rho_tail: longer windows. agreement: max |ours - Keras model(x)| over the
    first steps (model units), or None when Keras is not available.
    """

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
    """What a Keras user's loop gives: ``model(window)`` fed back ``steps`` times.

    Args:
        keras_model: the Keras model.
        context: f32[>= window] model units.
        steps: predictions.

    Returns:
        f32[steps].
    """
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
    """Roll the user's model out and measure it (steps 1-3 of the module docstring).

    Args:
        model: the loaded model.
        train: f[T] the training part (user's units), T >= window.
        heldout: f[L] the held-out values, L >= ``TAIL``.
        scaling: how the model's inputs were scaled.
        origins: backtest origins (0: none).

    Returns:
        ``OwnRollout``.
    """
    from lstm_ar.study import backtest as bt

    config, params = model.config, model.params
    z_train, z_held = scaling.to_model(train), scaling.to_model(heldout)
    scale = float(np.std(z_train.astype(np.float64)))
    center = float(np.mean(z_train.astype(np.float64)))
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
        contexts = plan.contexts(config.window)
        runs = jax.vmap(lambda c: rollout(params, c, plan.horizon, config))(jnp.asarray(contexts))
        m = judge_origins(runs, jnp.asarray(plan.truths()), scale, center)
        backtest = (int(plan.origins.size), int(plan.horizon), float(m["backtest_collapse_rate"]),
                    float(m["backtest_rmse"]) * scaling.factor)
    settle = float(cm.settle_value)
    fixed = slope = rho = grid = curve = None
    if config.window == 1:
        low, high = float(z_train.min()), float(z_train.max())
        margin = max(high - low, scale) / 2
        f = lambda v: forecast(params, v.reshape(1, 1), config)[0]  # noqa: E731
        fp = map_fixed_points(f, cm.settle_value, low=low - margin, high=high + margin)
        fixed, slope = int(fp.count), float(fp.settle_slope)
        grid = np.linspace(low - margin, high + margin, MAP_GRID)
        curve = np.asarray(jax.vmap(f)(jnp.asarray(grid, jnp.float32)))
    elif not diverged:
        radius = np.asarray(rollout_spectral_radius(params, jnp.asarray(z_train), steps, config))
        rho = float(np.median(radius[-max(1, steps // 4):]))
    agreement = None
    if model.keras_model is not None:
        k = min(CHECK_STEPS, steps)
        agreement = float(np.max(np.abs(keras_rollout(model.keras_model, z_train, k) - ys[:k])))
    return OwnRollout(ys=ys, truth=z_held, collapsed=bool(cm.collapsed), diverged=diverged,
                      settle=float(scaling.to_user(settle)) if np.isfinite(settle) else float("nan"),
                      steps_to_collapse=int(cm.steps_to_collapse), tail_ratio=float(cm.tail_std_ratio), rmse=rmse,
                      backtest=backtest, fixed_points=fixed, slope=slope, rho_tail=rho, agreement=agreement,
                      map_grid=grid, map_curve=curve)


def agreement_line(own: OwnRollout, model: LoadedModel) -> str:
    """How closely our rollout matches the Keras model's own ``model(x)``, in words.

    Args:
        own: the measured rollout.
        model: the loaded model.

    Returns:
        One sentence.
    """
    if own.agreement is None:
        return "Keras check: not made (Keras is not installed); the rollout uses the weights as Keras would."
    k = min(CHECK_STEPS, own.ys.shape[0])
    return (f"Keras check: the first {k} rollout steps match the Keras model's own model(x), fed back step by step, to "
            f"{own.agreement:.2g} (largest absolute difference, model units).")


def diagnosis_lines(own: OwnRollout, model: LoadedModel, scaling: Scaling, one_lag_slope: float, *, words: str) -> list[str]:
    """The verdict on the user's model, every number measured.

    Args:
        own: the measured rollout.
        model: the loaded model.
        scaling: its input scaling.
        one_lag_slope: the data's least-squares one-lag slope.
        words: how to call the model (``LSTM(32, relu), window 1``).

    Returns:
        The sentences.
    """
    steps = own.ys.shape[0]
    head = f"Your model ({words}, from {model.path}, inputs {scaling.kind}) rolled out over the {steps} held-out values"
    if own.diverged:
        lines = [f"{head}: diverges (its rollout leaves the divergence bound or is not finite)."]
    elif own.collapsed:
        lines = [f"{head}: collapses to {own.settle:.4g} (your units) within {own.steps_to_collapse} "
                 f"step{'' if own.steps_to_collapse == 1 else 's'}; RMSE "
                 f"{own.rmse:.4g} (your units)."]
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
    """``own``: the measured rollout; ``lines``: its verdict; ``agreement_line``: the Keras check;
    ``scaling``; ``words``: the model in words."""

    own: OwnRollout
    lines: list[str]
    agreement_line: str
    scaling: Scaling
    words: str

    def summary(self) -> dict:
        """The JSON-ready diagnosis (``summary["user"]["diagnosis"]``)."""
        from lstm_ar.study.stats import json_number

        o = self.own
        return json_number({"model": self.words, "scaling": self.scaling._asdict(), "collapsed": o.collapsed,
                            "diverged": o.diverged, "settle_value_raw": o.settle, "steps_to_collapse": o.steps_to_collapse,
                            "tail_std_ratio": o.tail_ratio, "rmse_raw": o.rmse,
                            "backtest": None if o.backtest is None else dict(zip(("origins", "horizon", "collapse_rate",
                                                                                  "rmse_raw"), o.backtest)),
                            "fixed_points": o.fixed_points, "settle_slope": o.slope, "rho_tail": o.rho_tail,
                            "keras_agreement": o.agreement, "verdict": self.lines})

    def own_map(self):
        """(grid, curve, rollout) of a window-1 model in model units, for the cobweb figure, or None."""
        o = self.own
        if o.map_grid is None or not np.all(np.isfinite(o.ys)):
            return None
        return o.map_grid, o.map_curve, o.ys

    def report(self, result, summary: dict) -> tuple[list[str], object]:
        """Add the diagnosis to a study's summary (its verdict first) and return its report lines.

        Args:
            result: the retrained study's ``ScenarioResult`` (unused: the diagnosis is of the user's model).
            summary: the study's summary with its ``user`` section (changed in place).

        Returns:
            (Markdown lines for ``report.md``, the cobweb data or None).
        """
        summary["user"]["diagnosis"] = self.summary()
        summary["user"]["verdict"] = [*self.lines, *summary["user"]["verdict"]]
        lines = ["## Your model", "", self.agreement_line, "",
                 f"The retrained variants below use the same architecture ({self.words}) on your series, "
                 "standardised with the training part's mean and std.", ""]
        return lines, self.own_map()


def prepare(model: LoadedModel, data: UserSeries, n_train: int, *, scaling: str = "raw", remedies: str | None = None,
            retrain: bool = True, epochs: int = 20, season: int | None = None, backtest_origins: int = BACKTEST_ORIGINS,
            name: str | None = None, quick: bool = False) -> tuple[StudyPlan | None, Diagnosis]:
    """Check the series against the model, measure the model, plan the retraining.

    Args:
        model: the loaded model.
        data: the loaded series.
        n_train: training values (the rest are held out).
        scaling: how the model's inputs were scaled (``SCALINGS``).
        remedies: ``--remedies`` (None: ``DEFAULT_REMEDIES``).
        retrain: plan the retraining (False: the diagnosis alone).
        epochs: retraining epochs.
        season: the seasonal naive reference's season.
        backtest_origins: rolling origins.
        name: the report folder's name.
        quick: the direct head at test-suite size (``plan_study``).

    Returns:
        (the ``StudyPlan`` or None, the ``Diagnosis``); an ``InputError`` for anything the user can fix.
    """
    values = np.asarray(data.values, np.float64)
    train, heldout = values[:n_train], values[n_train:]
    window = model.config.window
    if train.size < max(window, 2):
        raise InputError(f"too few values: the model reads {window} values, the training part has {train.size}")
    if heldout.size < TAIL:
        raise InputError(f"too few values: {heldout.size} held out, but a rollout is judged on at least {TAIL} "
                         "(collapse is read from its last 50 steps): give more values or a larger --test-fraction")
    if np.ptp(train) == 0:
        raise InputError(f"the training part (the first {train.size} values) is constant ({train[0]:g}): nothing to "
                         "forecast")
    chosen = parse_remedies(remedies) if remedies is not None else DEFAULT_REMEDIES
    scale = scaling_of(scaling, train)
    words = describe_model(model.config)
    plan = None
    if retrain:
        plan = plan_study(data, n_train, windows=(window,), units=model.config.units,
                          activation=model.config.activation, recurrent_activation=model.config.recurrent_activation,
                          epochs=epochs, remedies=chosen, season=season, backtest_origins=backtest_origins, name=name,
                          quick=quick)
    own = roll_out(model, train, heldout, scale, origins=backtest_origins)
    slope = float(fit_ar_host(scale.to_model(train), 1).coefs[0])
    lines = diagnosis_lines(own, model, scale, slope, words=words)
    return plan, Diagnosis(own=own, lines=lines, agreement_line=agreement_line(own, model), scaling=scale, words=words)


def diagnosis_markdown(diagnosis: Diagnosis, command: str) -> str:
    """``report.md`` of a diagnosis without retraining.

    Args:
        diagnosis: the diagnosis.
        command: the command line.

    Returns:
        Markdown text.
    """
    lines: Sequence[str] = ["# Your model", "", "## Verdict", "", *(f"- {s}" for s in diagnosis.lines), "",
                            diagnosis.agreement_line, "", f"Command: `{command}`.", ""]
    if diagnosis.own_map() is not None:
        lines = [*lines, "![learned_map.png](learned_map.png)", ""]
    return "\n".join(lines)
