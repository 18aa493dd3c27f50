"""``lstm-ar study``: the user's configurations and the remedies on the user's series, judged against
forecasts without an LSTM. ``plan_study`` checks everything before anything trains (``InputError``): one
variant per ``--window`` (LSTM -> Dense(1), Keras defaults) and one per remedy (built from the first window's
config; one that cannot train here is left out with a note); ``run_study`` trains, judges and adds the user's
summary section.

``DEFAULT_REMEDIES``: the two training remedies that helped most on the noisy sine (committed ``regime`` and
``context`` results) and ``direct``, the measured cure (committed ``cure_64x16``: valid for all 200 steps on
1,024/1,024 pairs). With all three at 32 seeds and the recommendation (``lstm_ar.user.recommend``) the default
study of 1,000 values took 2 min 52.5 s on the idle 2-core AMD EPYC (docs/own_data.md, Limits), within its 3 minutes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.dynamics.collapse import TAIL
from lstm_ar.linear.ar import fit_ar_host, spectral_radius_host
from lstm_ar.study import pairs
from lstm_ar.study.references import (
    SeriesReferences,
    best_reference,
    classical_paths,
    one_step_explained,
    seasonal_naive,
    series_references,
)
from lstm_ar.user.causes import collapse_causes, series_shift
from lstm_ar.user.io import InputError, UserSeries
from lstm_ar.user.verdict import DataMeasures, flat_is_optimal, measure_variant, verdict


class Remedy(NamedTuple):
    """What it changes, ``build(base, n_train, horizon) -> Built`` and "window", "stateful" or "direct" rollout."""

    words: str
    build: Callable[[TrainConfig, int, int], Built]
    rollout_mode: str = "window"


class Built(NamedTuple):
    """The config (None: it cannot train here) and a note for the user (or None)."""

    config: TrainConfig | None
    note: str | None = None


def _model(config: TrainConfig, **changes) -> TrainConfig:
    return dataclasses.replace(config, model=dataclasses.replace(config.model, **changes))


def _simple(apply: Callable[[TrainConfig], TrainConfig]) -> Callable[[TrainConfig, int, int], Built]:
    return lambda base, n_train, horizon: Built(apply(base))


def _k_step(regime: str, k: int) -> Callable[[TrainConfig], TrainConfig]:
    return lambda c: dataclasses.replace(_model(c, window=max(c.model.window, WARMUP)), regime=regime, horizon=k)


DIRECT_WINDOW = 50  # the cure search's window (committed cure_64x16: valid for 200 steps on 1,024/1,024 pairs)
MIN_EXAMPLES = 32  # the direct head needs at least one full batch of (window, next H values) training examples
MAX_TARGETS = 2 ** 26  # training targets (examples x H) a direct head may hold: 256 MiB of float32


def examples(n_train: int, window: int, horizon: int) -> int:
    """Examples of (``window`` values, the next ``horizon``) in ``n_train`` values (may be <= 0)."""
    return n_train - window - horizon + 1


def direct(base: TrainConfig, n_train: int, horizon: int) -> Built:
    """LSTM(the user's units, activations) over ``max(first window, 50)`` values -> Dense(horizon). The window
    shrinks (with a note) to leave ``MIN_EXAMPLES`` examples; no config when even window 1 cannot, or when the
    targets (examples x H) exceed ``MAX_TARGETS``."""
    wanted = max(base.model.window, DIRECT_WINDOW)
    room = n_train - horizon + 1 - MIN_EXAMPLES  # the longest window with MIN_EXAMPLES examples
    if room < 1:
        return Built(None, f"remedy direct left out: a direct head over the {horizon} held-out steps needs at least "
                           f"{horizon + MIN_EXAMPLES} training values ({MIN_EXAMPLES} examples of a window and the "
                           f"next {horizon} values), the training part has {n_train}")
    window = min(wanted, room)
    count = examples(n_train, window, horizon)
    if count * horizon > MAX_TARGETS:
        return Built(None, f"remedy direct left out: {count} training examples of the next {horizon} values are "
                           f"{count * horizon} targets, more than the {MAX_TARGETS} it may hold in memory; hold out "
                           "fewer values (--test-fraction or --test-from) to shorten the horizon")
    model = dataclasses.replace(base.model, window=window, head="direct", horizon=horizon, residual=False)
    note = (f"remedy direct: window reduced from {wanted} to {window}, so that the {n_train} training values hold "
            f"{count} examples of a window and the next {horizon} values" if window < wanted else None)
    return Built(TrainConfig(model=model, epochs=base.epochs, batch_size=base.batch_size), note)


WARMUP = 20  # values a k-step-trained model reads before its stateful predictions (the regime experiment's)
REMEDIES: dict[str, Remedy] = {
    "window_50": Remedy("a context of 50 values (window 50)", _simple(lambda c: _model(c, window=50))),
    "tanh": Remedy("the tanh cell activation", _simple(lambda c: _model(c, activation="tanh"))),
    "scheduled_k40": Remedy(f"scheduled sampling (inverse sigmoid) over 40 stateful steps after a {WARMUP}-value "
                            "warm-up, rolled out statefully", _simple(_k_step("scheduled_inverse_sigmoid", 40)),
                            "stateful"),
    "free_running_k40": Remedy(f"training on its own 40-step stateful rollouts after a {WARMUP}-value warm-up, rolled "
                               "out statefully", _simple(_k_step("free_running", 40)), "stateful"),
    "clip_1": Remedy("gradient clipping at global norm 1",
                     _simple(lambda c: dataclasses.replace(c, hyper=c.hyper._replace(global_clipnorm=1.0)))),
    "epochs_x5": Remedy("five times the epochs", _simple(lambda c: dataclasses.replace(c, epochs=5 * c.epochs))),
    "direct": Remedy(f"a direct multi-horizon head: the LSTM reads max(your first window, {DIRECT_WINDOW}) values and a "
                     "Dense layer outputs every held-out step at once, nothing fed back (the cure measured on the noisy "
                     "sine)", direct, "direct"),
}
DEFAULT_REMEDIES = ("scheduled_k40", "window_50", "direct")  # why these: the module docstring
DEFAULT_WINDOWS = (1, 20)
DEFAULT_EPOCHS = 20
FULL_SEEDS = 32  # the default study (diagnosis and recommendation) of 1,000 values within 3 minutes on 2 cores
QUICK_SEEDS = 4
QUICK_EPOCHS = 5


def parse_names(text: str, option: str, kind: str, default: Sequence[str], valid) -> tuple[str, ...]:
    """A list option (``default``, ``none`` or comma-separated names from ``valid``) -> names, in order,
    deduplicated; InputError naming an unknown ``kind`` of ``option``."""
    text = text.strip()
    if text in ("default", "none"):
        return tuple(default) if text == "default" else ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise InputError(f"{option}: unknown {kind} {', '.join(map(repr, unknown)) or repr(text)}; valid: default, none, "
                         f"or a comma-separated list of {', '.join(valid)}")
    return tuple(dict.fromkeys(names))


def parse_remedies(text: str) -> tuple[str, ...]:
    """``--remedies`` (``default``, ``none`` or names from ``REMEDIES``) -> names, in order, deduplicated."""
    return parse_names(text, "--remedies", "remedy", DEFAULT_REMEDIES, REMEDIES)


def parse_windows(text: str) -> tuple[int, ...]:
    """``--window`` (e.g. ``1,20,50``) -> distinct windows >= 1, in order."""
    try:
        windows = tuple(int(w) for w in text.split(","))
    except ValueError:
        raise InputError(f"--window must be integers separated by commas (e.g. 1,20,50), got {text!r}") from None
    if not windows or min(windows) < 1 or len(set(windows)) != len(windows):
        raise InputError(f"--window must be distinct integers >= 1, got {text!r}")
    return windows


def scenario_name(column: str) -> str:
    """A folder name (``lstm_ar.study.scenario.NAME_RE``) from the column's name; ``series`` if none is left."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", column).lstrip("._=+-")[:60] or "series"


class StudyPlan(NamedTuple):
    """What ``run_study`` runs, the references, each variant's words, the raw split and notes for the user."""

    scenario: object
    references: SeriesReferences
    words: dict[str, str]
    train: np.ndarray
    heldout: np.ndarray
    notes: tuple[str, ...]
    season: int | None


def describe_model(m: ModelConfig) -> str:
    """``LSTM(32, tanh), window 1`` (with the recurrent activation when it is not sigmoid)."""
    extra = "" if m.recurrent_activation == "sigmoid" else f", recurrent {m.recurrent_activation}"
    return f"LSTM({m.units}, {m.activation}{extra}), window {m.window}"


def describe(config: TrainConfig) -> str:
    """``describe_model`` plus the direct head or the training regime when not one-step."""
    words = describe_model(config.model)
    if config.model.head == "direct":
        words += f", direct head over {config.model.horizon} steps"
    elif not config.one_step:
        words += f", {config.regime.replace('_', ' ')} k = {config.horizon}"
    return words


def _needed(config: TrainConfig) -> int:
    """Training values a config needs: two examples of its window, or one of window + horizon (k-step)."""
    return config.model.window + (2 if config.one_step else config.horizon + 1)


def plan_study(data: UserSeries, n_train: int, *, windows: Sequence[int] = DEFAULT_WINDOWS, units: int = 32,
               activation: str = "tanh", recurrent_activation: str = "sigmoid", epochs: int = DEFAULT_EPOCHS,
               remedies: Sequence[str] = DEFAULT_REMEDIES, season: int | None = None, backtest_origins: int = 0,
               name: str | None = None, extra_variants: dict[str, tuple[TrainConfig, str, str]] | None = None,
               quick: bool = False) -> StudyPlan:
    """The study of ``data`` (module docstring), checked; nothing is trained. The first ``n_train`` values train;
    ``extra_variants``: name -> (config, rollout mode, words) (``diagnose``: the user's architecture); ``quick``:
    the direct head at test-suite size (it keeps its horizon)."""
    from lstm_ar.study.backtest import default_horizon
    from lstm_ar.study.scenario import Scenario
    values = np.asarray(data.values, np.float64)
    train, heldout = values[:n_train], values[n_train:]
    try:
        base = TrainConfig(model=ModelConfig(units=units, window=windows[0], activation=activation,
                                             recurrent_activation=recurrent_activation), epochs=epochs, hyper=Hyper())
    except (TypeError, ValueError) as err:
        raise InputError(str(err)) from None
    variants = {f"window_{w}": (_model(base, window=w), "window", describe(_model(base, window=w))) for w in windows}
    notes = list(data.notes)
    unknown = [r for r in remedies if r not in REMEDIES]
    if unknown:
        raise InputError(f"unknown remedy {', '.join(map(repr, unknown))}; valid: {', '.join(REMEDIES)}")
    for remedy in remedies:
        entry = REMEDIES[remedy]
        config, note = entry.build(base, train.shape[0], heldout.size)  # the rollout judges every held-out value
        notes += [note] if note else []
        if config is None:
            continue
        if quick and entry.rollout_mode == "direct":  # test-suite size; the horizon stays
            config = pairs.quick(pairs.Candidate(config, pairs.PLAIN)).config
        same = [n for n, (c, mode, _) in variants.items() if c == config and mode == entry.rollout_mode]
        if same or _needed(config) > train.shape[0]:
            notes.append(f"remedy {remedy} left out: " + (f"it is the same model as {same[0]}" if same else
                         f"it needs {_needed(config)} training values, the training part has {train.shape[0]}"))
            continue
        variants[remedy] = (config, entry.rollout_mode, f"{describe(config)} (remedy {remedy})")
    variants.update(extra_variants or {})
    too_long = {n: _needed(c) for n, (c, _, _) in variants.items() if _needed(c) > train.shape[0]}
    if too_long:
        worst = max(too_long, key=too_long.get)
        raise InputError(f"too few values: {values.size} in all, {train.shape[0]} to train and {heldout.size} held out; "
                         f"{worst} ({variants[worst][2]}) needs at least {too_long[worst]} to train: give more values, "
                         "a smaller --window or a smaller held-out part")
    if heldout.size < TAIL:
        raise InputError(f"too few values: {values.size} in all, {heldout.size} held out, but a rollout is judged on at "
                         f"least {TAIL} held-out values (collapse is read from its last {TAIL} steps): give more values "
                         "or a larger --test-fraction / an earlier --test-from")
    if season is not None and not 1 <= season <= train.shape[0]:
        raise InputError(f"--season {season} must be between 1 and the training values ({train.shape[0]})")
    if np.ptp(train) == 0:
        raise InputError(f"the training part (the first {train.shape[0]} values) is constant ({train[0]:g}): it cannot be "
                         "standardised, and there is nothing to learn from it")
    longest = max(c.model.window for c, _, _ in variants.values())
    try:
        scenario = Scenario.from_series(
            train, heldout=heldout, name=name or scenario_name(data.column), windows=(longest,), units=units,
            activation=activation, epochs=epochs,
            title=f"{data.column} ({data.path}): {train.shape[0]} values to train, {heldout.size} held out")
        scenario = dataclasses.replace(scenario, variants={n: c for n, (c, _, _) in variants.items()},
                                       rollout_modes={n: mode for n, (_, mode, _) in variants.items() if mode != "window"},
                                       end_radius=True)  # rho_end: the verdict's contracting-map cause
        if backtest_origins:  # at most one origin per held-out value that leaves the default horizon after it
            held = scenario.truth.shape[0]
            room = held - default_horizon(scenario.rollout_steps, held) + 1
            scenario = dataclasses.replace(scenario, backtest_origins=int(min(backtest_origins, room)))
    except (TypeError, ValueError) as err:
        raise InputError(str(err)) from None
    mean, std = scenario.standardisation
    references = series_references((train - mean) / std, scenario.truth, season=season)
    return StudyPlan(scenario=scenario, references=references, words={n: w for n, (_, _, w) in variants.items()},
                     train=train, heldout=heldout, notes=tuple(notes), season=season)


HONEST = ("persistence", "mean", "ar_aic")  # references that choose without seeing the truth


def judged_metric(result) -> str:
    """The metric every forecast is judged by: ``backtest_rmse`` when backtested, else ``rollout_rmse``."""
    first = next(iter(result.variants.values())).metrics
    return "backtest_rmse" if "backtest_rmse" in first else "rollout_rmse"


def _host_backtest_rmse(scenario, season: int | None) -> dict[str, float]:
    """ETS, Theta (``classical_paths``) and with a ``season`` the seasonal naive forecast: each one's mean RMSE over
    the scenario's backtest origins (model units), by ``series_references``' names."""
    backtest = scenario.backtest()
    ends = backtest.start + backtest.origins
    paths, _ = classical_paths(backtest.history, ends, backtest.horizon, backtest.start, season)
    forecasts = {"ets": paths["ETS"], "theta": paths["Theta"]}
    if season is not None:
        forecasts["seasonal_naive"] = seasonal_naive(backtest.contexts(season).astype(np.float64), season,
                                                     backtest.horizon)
    truths = backtest.truths().astype(np.float64)
    return {name: float(np.mean(np.sqrt(np.mean(np.square(f - truths), axis=1)))) for name, f in forecasts.items()}


def reference_rmse(result, plan: StudyPlan, metric: str) -> tuple[dict[str, float], int]:
    """(label -> RMSE as the variants are judged (model units), the AIC order): the run's ``linear_references``
    where it has them (the same origins as the variants), else ``plan.references``; seasonal naive computed here."""
    host = plan.references
    refs = getattr(result, "linear_references", None)
    order = host.ar_order
    if refs is not None and all(n in refs.metrics and metric in refs.metrics[n] for n in HONEST):
        order = int(refs.metrics["ar_aic"]["order"])
        out = {(f"AR({order}) by AIC" if n == "ar_aic" else host.labels[n]): float(refs.metrics[n][metric])
               for n in HONEST}
    else:
        out = {host.labels[n]: host.rmse[n] for n in HONEST}
    host_names = ("ets", "theta") + (("seasonal_naive",) if plan.season is not None else ())
    judged = (host.rmse if metric == "rollout_rmse" else _host_backtest_rmse(plan.scenario, plan.season))
    out.update({host.labels[n]: judged[n] for n in host_names})
    return out, order


def data_measures(result, plan: StudyPlan) -> DataMeasures:
    """The data's ``DataMeasures`` for the verdict, in the user's units."""
    sc = plan.scenario
    mean, std = sc.standardisation
    metric = judged_metric(result)
    model_rmse, order = reference_rmse(result, plan, metric)
    rmse = {label: r * std for label, r in model_rmse.items()}
    train_z = (plan.train - mean) / std
    fit = fit_ar_host(train_z, order)
    backtest = sc.backtest() if metric == "backtest_rmse" else None
    judged = (f"over {backtest.origins.size} rolling origins in the held-out part, {backtest.horizon} steps each "
              "(mean RMSE over origins)" if backtest is not None else
              f"by one rollout of {sc.rollout_steps} steps from the end of the training part")
    return DataMeasures(n_train=int(plan.train.size), n_heldout=int(plan.heldout.size), judged=judged, mean=float(mean),
                        std=float(std), references=rmse, best=best_reference(rmse),
                        mean_label=plan.references.labels["mean"], ar_order=order,
                        ar_radius=spectral_radius_host(fit.coefs), one_lag_slope=plan.references.one_lag_slope,
                        explained=one_step_explained(fit, train_z, (plan.heldout - mean) / std),
                        shift=series_shift(plan.train, plan.heldout))


def window_one_variant(plan: StudyPlan) -> str | None:
    """The first window-1 variant rolled out as a map (the verdict explains its collapse), or None."""
    sc = plan.scenario
    return next((n for n, c in sc.variants.items() if c.model.window == 1 and sc.rollout_mode(n) == "window"), None)


def judge(result, plan: StudyPlan) -> dict:
    """``summary["user"]``: data, references, per variant its measures and P(beats the best reference), verdict."""
    from lstm_ar.study import stats
    data, metric, number = data_measures(result, plan), judged_metric(result), stats.json_number
    measures = [measure_variant(n, plan.words[n], v.metrics, judged=metric, std=data.std,
                                best_rmse=data.references[data.best], epoch_loss=v.epoch_loss)
                for n, v in result.variants.items()]
    window_one = window_one_variant(plan)
    return number({
        "verdict": verdict(data, measures, window_one=window_one), "notes": list(plan.notes),
        "data": {"values": data.n_train + data.n_heldout, "train": data.n_train, "heldout": data.n_heldout,
                 "mean": data.mean, "std": data.std, "ar_order": data.ar_order, "ar_spectral_radius": data.ar_radius,
                 "one_lag_slope": data.one_lag_slope, "explained_one_step": data.explained,
                 "flat_is_optimal": flat_is_optimal(data), "shift": data.shift._asdict()},
        "judged_by": metric,
        "references": {label: {"rmse_raw": r, "rmse": r / data.std} for label, r in data.references.items()},
        "best_reference": data.best,
        "variants": {m.name: {"words": m.words, "seeds": m.n, "collapsed": m.collapsed, "diverged": m.diverged,
                              "settle_value_raw_p10_p50_p90": None if m.settle is None else [number(s) for s in m.settle],
                              "median_steps_to_collapse": m.steps, "median_abs_settle_slope": m.slope,
                              "median_backtest_collapse_rate": m.backtest_collapse, "median_rollout_rmse_raw": m.rmse,
                              "median_rho_end": m.radius, "median_loss_fall": m.loss_fall,
                              "causes": [c.name for c in collapse_causes(data, m, window_one=m.name == window_one)]
                              if not flat_is_optimal(data) else [],
                              "beats_best_reference": stats.rate(np.arange(m.n) < m.beats)} for m in measures}})


class StudyRun(NamedTuple):
    """The ``ScenarioResult`` and its summary with the user's section under ``user``."""

    result: object
    summary: dict


def run_study(plan: StudyPlan, seeds: int, *, root_seed: int = 0, chunk: int | None = None, lanes: int | None = None,
              progress: bool = True, store_dir=None, resume: bool = False) -> StudyRun | None:
    """Train and judge every variant over seeds 0..seeds-1 (``run_scenario``); None on processes other than 0."""
    from lstm_ar.study.experiment import run_scenario, summarise
    result = run_scenario(plan.scenario, seeds, root_seed=root_seed, chunk=chunk, lanes=lanes, progress=progress,
                          store_dir=store_dir, resume=resume)
    if result is None:
        return None
    summary = summarise(result)
    summary["user"] = judge(result, plan)
    return StudyRun(result=result, summary=summary)
