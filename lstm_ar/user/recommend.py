"""``lstm-ar study``'s recommendation: one forecaster for the user's series, chosen without peeking, handed back.

The panel's rules on the user's series (``lstm_ar.scenarios.panel.series_scenario``: the window, epochs and recipes
measured on the real-series panel): the last 20% of the training part is a validation tail, backtested from rolling
origins; every classical reference and every candidate recipe's seed ensemble is scored there and the lowest wins
(``lstm_ar.study.select``); then it is judged once on the held-out part, by the same backtest. ``export`` writes the
winner as ``forecaster.keras`` (``lstm_ar.user.keras_export``): a recipe's seed ensemble, retrained with the same
seed keys, or a linear reference as one Dense layer.
"""

from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np

from lstm_ar.study.select import LSTM_PREFIX, is_lstm

SEEDS = 8  # models per recipe ensemble (the panel's default seeds)
ORIGINS = 20  # default backtest origins over the validation tail and the held-out part (fewer where they do not fit)
# "A short series": fewer training values than this. On the two committed panels the LSTM recipe the validation tail
# chose beat the best classical reference on 5 of 14 such series and on 2 of the 4 longer ones.
FEW_VALUES = 200
NOISE = 0.2  # "close to noise": a linear AR explains less than this share of the one-step variance


def parse_recipes(text: str | None, *, default_none: bool = False) -> tuple[str, ...]:
    """``--recipes`` (``default``, ``none`` or names from ``panel.RECIPES``; None: ``default``, or ``none`` with
    ``default_none``) -> names, in order, deduplicated. InputError naming an unknown one."""
    from lstm_ar.scenarios.panel import DEFAULT_RECIPES, RECIPES
    from lstm_ar.user.study import parse_names

    text = ("none" if default_none else "default") if text is None else text
    return parse_names(text, "--recipes", "recipe", DEFAULT_RECIPES, RECIPES)


class RecommendPlan(NamedTuple):
    """The two scenarios (validation tail, held-out part) and the season the references use."""

    validation: object
    test: object
    season: int | None


class Recommendation(NamedTuple):
    """The two backtests (``panel.SeriesRun``) and ``select.choice``'s record."""

    validation: object
    test: object
    choice: dict


def plan_recommendation(name: str, train: np.ndarray, heldout: np.ndarray, season: int | None, recipes, *,
                        quick: bool = False, origins: int = ORIGINS) -> tuple[RecommendPlan | None, str | None]:
    """(the plan, None), or (None, a note) when the series is too short for the panel's rules; ``origins`` on the
    validation tail and on the held-out part each. Nothing trains."""
    from lstm_ar.scenarios.panel import series_scenario

    values = np.concatenate([np.asarray(train, np.float64), np.asarray(heldout, np.float64)])
    try:
        validation, test = (series_scenario(name, values, season, recipes, origins=origins, quick=quick,
                                            validation=v, n_train=int(np.size(train))) for v in (True, False))
    except ValueError as err:
        return None, f"no recommendation: the validation tail or the held-out part is too short to backtest ({err})"
    return RecommendPlan(validation, test, season), None


def run_recommendation(plan: RecommendPlan, seeds: int, *, progress: bool = True) -> Recommendation | None:
    """Backtest every candidate on the validation tail and the held-out part, and choose; None off process 0."""
    from lstm_ar.scenarios.panel import backtest_series, scores
    from lstm_ar.study.select import choice

    validation = backtest_series(plan.validation, plan.season, seeds, progress=progress)
    test = backtest_series(plan.test, plan.season, seeds, progress=progress)
    if validation is None or test is None:
        return None
    return Recommendation(validation, test, choice(scores(validation.references, validation.ensembles),
                                                   scores(test.references, test.ensembles)))


def section(rec: Recommendation, std: float) -> dict:
    """``summary["user"]["recommendation"]``: the choice, every candidate's validation and held-out RMSE (model
    units; ``_raw``: the user's units) and the backtests' sizes."""
    from lstm_ar.scenarios.panel import scores, shape

    heldout = scores(rec.test.references, rec.test.ensembles)
    return {**rec.choice, "std": std, "validation_backtest": shape(rec.validation.result.scenario),
            "heldout_backtest": shape(rec.test.result.scenario), "seeds": int(rec.test.result.seeds),
            "candidates": {n: {"validation": v, "heldout": heldout[n], "heldout_raw": heldout[n] * std}
                           for n, v in rec.choice["validation"].items()}}


def sentences(rec: dict, n_train: int, explained: float) -> list[str]:
    """The verdict's lines on the recommendation ``rec`` (``section``); where a classical forecaster wins, why."""
    chosen, val = rec["chosen"], rec["validation"]
    v = rec["validation_backtest"]
    ranked = sorted(val, key=val.get)
    runner = next(n for n in ranked if n != chosen) if len(ranked) > 1 else None
    words = lambda n: f"{n.removeprefix(LSTM_PREFIX)} (LSTM, the median of {rec['seeds']} seeds)" if is_lstm(n) else n  # noqa: E731
    out = [f"Recommended forecaster: {words(chosen)}, chosen on the last 20% of the training part only ({v['n_test']} "
           f"values, {v['origins']} origins x {v['horizon']} steps), where its RMSE was {val[chosen]:.3g} training stds"
           + (f" (next: {words(runner)}, {val[runner]:.3g})" if runner else "") + ". On the held-out part "
           f"({rec['heldout_backtest']['origins']} origins x {rec['heldout_backtest']['horizon']} steps) its RMSE is "
           f"{rec['chosen_rmse'] * rec['std']:.4g} in your units, {rec['chosen_ratio']:.2f}x the best classical "
           f"reference there ({rec['best_classical']}, chosen on the held-out part: an optimistic bar)."]
    if not is_lstm(chosen):
        lstm = rec["chosen_lstm"]
        why = (f"with {n_train} training values an LSTM has few windows to learn from" if n_train < FEW_VALUES else
               f"a linear AR explains only {explained:.0%} of the one-step variance: the series is close to noise and "
               "the best forecast is close to flat" if explained < NOISE else
               f"a linear model already explains {explained:.0%} of the one-step variance, and no recipe found more")
        out.append(f"A classical forecaster wins here: on the validation tail the best LSTM recipe, {words(lstm)}, "
                   f"scored {val[lstm]:.3g}, {val[lstm] / val[chosen]:.2f}x {chosen}'s; {why}.")
    return out


def markdown(rec: dict) -> list[str]:
    """report.md's section: every candidate's validation and held-out RMSE, the chosen one marked."""
    lines = ["## The recommended forecaster (chosen without peeking)", "",
             f"Validation: the last 20% of the training part ({rec['validation_backtest']['n_test']} values); held out: "
             f"{rec['heldout_backtest']['n_test']} values. RMSE in training stds (mean over origins); LSTM recipes as "
             f"the median of {rec['seeds']} seeds' forecasts.", "",
             "| candidate | validation RMSE | held-out RMSE | held-out RMSE (your units) |", "|---|---|---|---|"]
    for name, c in sorted(rec["candidates"].items(), key=lambda kv: kv[1]["validation"]):
        mark = " (chosen)" if name == rec["chosen"] else ""
        lines.append(f"| {name}{mark} | {c['validation']:.3g} | {c['heldout']:.3g} | {c['heldout_raw']:.4g} |")
    return [*lines, ""]


def linear_map(name: str, train: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(coefs f64[window, horizon], intercept f64[horizon]) of a linear reference by its name, refitted on the
    standardised training part as ``origin_references`` fits it; None for ETS and Theta (not linear in a window)."""
    from lstm_ar.linear.ar import ar_window_map_host, select_order
    from lstm_ar.linear.direct import fit_direct
    from lstm_ar.study.references import reference_widths

    n = train.shape[0]
    max_order, direct_window = reference_widths(n)
    if name in ("AR(AIC)", "AR(BIC)"):
        fit = select_order(train, max_order, name[3:6].lower(), min_order=1)
        return ar_window_map_host(fit, max_order, horizon)
    if name == "direct linear":
        weights = np.asarray(fit_direct(train, direct_window, horizon).weights, np.float64)
        return weights[:-1], weights[-1]
    if name == "persistence":
        return np.ones((1, horizon)), np.zeros(horizon)
    if name == "training mean":  # standardised: the training part's mean is 0
        return np.zeros((1, horizon)), np.zeros(horizon)
    if name.startswith("seasonal naive ("):
        season = int(name[len("seasonal naive ("):-1])
        coefs = np.zeros((season, horizon))
        coefs[np.arange(horizon) % season, np.arange(horizon)] = 1.0
        return coefs, np.zeros(horizon)
    return None


def export(rec: Recommendation, folder: pathlib.Path, *, root_seed: int = 0) -> tuple[list[pathlib.Path], str]:
    """Write the chosen forecaster as ``folder/forecaster.keras`` (and its ``forecaster.usage.py``): (paths written,
    a sentence for the user). A recipe's ensemble is retrained on the training part with the run's seed keys (the
    models the backtest judged, to float32 rounding); ETS and Theta have no Keras form (nothing written, said)."""
    from lstm_ar.training.train import seed_keys, train_many
    from lstm_ar.user.keras_export import keras_forecaster, keras_linear, save_forecaster

    chosen = rec.choice["chosen"]
    sc = rec.test.result.scenario
    mean, std = sc.standardisation
    horizon = sc.backtest().horizon
    if is_lstm(chosen):
        recipe = chosen.removeprefix(LSTM_PREFIX)
        config = sc.variants[recipe]
        trained = train_many(config, sc.training_data(recipe), seed_keys(root_seed, 0, rec.test.result.seeds))
        model = keras_forecaster(trained.params, config.model, mean=mean, std=std)
        window = config.model.window
    else:
        linear = linear_map(chosen, np.asarray(sc.series, np.float64), horizon)
        if linear is None:
            return [], (f"{chosen} has no Keras form (it is not a linear map of a window): nothing exported; fit it "
                        "with statsmodels (ETSModel / ThetaModel) on your training part")
        model = keras_linear(*linear, mean=mean, std=std)
        window = linear[0].shape[0]
    paths = list(save_forecaster(folder / "forecaster.keras", model))
    return paths, (f"{chosen} written to {paths[0]}: keras.saving.load_model reads it (no custom objects); it takes "
                   f"the last {window} values of your series and forecasts the next {horizon} (example: {paths[1]})")
