"""``lstm-ar run panel``: every recipe and every classical reference on each series of the real-series panel.

The panel is ``lstm_ar.data.real.PANEL`` (short and long, seasonal, trending, a level shift, near-white noise).
Each series is a backtested scenario of the one harness (``transfer.real_scenario``: the first 80% trains, both
parts standardised with its statistics, up to ``--origins`` forecast origins over the rest). Nothing is tuned to a
series: its window and epochs follow fixed rules of its length and season (``window_for``, ``epochs_for``), the
same for every series. The references (``lstm_ar.study.references.origin_references`` with ETS and Theta) are
fitted on the training part alone (Theta refitted on everything before each origin). Per series
``<series>/per_seed.csv``; ``summary.json`` and ``report.md`` hold the table series x forecaster: the median seed's
backtest RMSE, the seeds that beat the best classical reference, the seeds whose rollouts collapse on at least half
the origins.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import time
from typing import NamedTuple

import numpy as np

DEFAULT_SEEDS = 8
DEFAULT_ORIGINS = 20
# recipe -> ModelConfig fields beyond the window (each a configuration of the one harness). "residual" predicts the
# change (x_{t+1} = x_t + g(window)); "direct" the whole horizon at once (the cure on the noisy sine); "scaled" and
# "scaled_direct" read each window scaled by its own mean and std (RevIN-like ``window_scaling``);
# "scaled_direct_es" keeps the epoch that does best on the last ``VALIDATION_TAIL`` of the training windows.
# "direct_skip" and "scaled_direct_skip" add the hybrid's linear map of the window (``linear_skip``).
RECIPES = {"plain": {}, "residual": {"residual": True}, "direct": {"head": "direct"},
           "scaled": {"window_scaling": True}, "scaled_direct": {"head": "direct", "window_scaling": True},
           "scaled_direct_es": {"head": "direct", "window_scaling": True},
           "direct_skip": {"head": "direct", "linear_skip": True},
           "scaled_direct_skip": {"head": "direct", "window_scaling": True, "linear_skip": True},
           "scaled_direct_skip_es": {"head": "direct", "window_scaling": True, "linear_skip": True}}
# The default candidates (``lstm-ar run panel``, the study's recommendation): the window-scaled direct heads, which
# beat every other recipe family on the panel (committed panel_8, panel_8_scaled, panel_8_es), with early stopping
# and with the hybrid's linear skip and early stopping (the best two on nile and sunspots in panel_8_chosen, the
# first two series measured); the validation tail chooses among them, series by series.
DEFAULT_RECIPES = ("scaled_direct", "scaled_direct_es", "scaled_direct_skip_es")
EARLY_STOPPING = {"scaled_direct_es", "scaled_direct_skip_es"}
VALIDATION_TAIL = 0.2
UNITS = 32
TARGET_STEPS = 1500  # optimiser steps per model (``epochs_for``): a short series gets more epochs, a long one fewer
MIN_EPOCHS, MAX_EPOCHS = 20, 300
MAX_WINDOW = 52
COLLAPSED_ORIGINS = 0.5  # a seed "collapses" when its rollouts collapse on at least half the origins
WITHIN = 1.05  # "as good as the best classical reference": at most 5% worse (the goal's bar)


def window_for(season: int | None, n_train: int) -> int:
    """The window of every recipe on a series: two seasons (20 without one), at least 12, at most ``MAX_WINDOW`` and
    an eighth of the training part."""
    return max(2, min(max(12, 2 * season) if season else 20, MAX_WINDOW, n_train // 8))


def epochs_for(n_train: int, window: int, batch_size: int = 32) -> int:
    """Epochs giving about ``TARGET_STEPS`` optimiser steps on ``n_train - window`` training windows (clipped)."""
    batches = math.ceil((n_train - window) / batch_size)
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / batches))))


def recipe_config(recipe: str, window: int, horizon: int, epochs: int, quick: bool):
    """A recipe's ``TrainConfig`` on one series (``quick``: 8 units, a window of at most 5, 2 epochs)."""
    from lstm_ar.config import ModelConfig, TrainConfig

    fields = dict(RECIPES[recipe])
    if fields.get("head") == "direct":
        fields["horizon"] = horizon
    model = ModelConfig(units=8 if quick else UNITS, window=min(window, 5) if quick else window, **fields)
    return TrainConfig(model=model, epochs=2 if quick else epochs,
                       validation_tail=VALIDATION_TAIL if recipe in EARLY_STOPPING else 0.0)


def series_scenario(name: str, values, season: int | None, recipes, *, origins: int, quick: bool,
                    validation: bool = False, n_train: int | None = None):
    """A series (raw values f[T]) as a backtested scenario with one variant per recipe, by the panel's rules (at
    most as many origins as fit its held-out part). The first ``n_train`` (default 80%) values train.
    ``validation``: the same rules on the training part alone (its first 80% trains, its last 20% is backtested):
    what a forecaster without the future chooses by (``lstm_ar.study.select``)."""
    from lstm_ar.data.split import TRAIN_FRACTION
    from lstm_ar.scenarios.transfer import real_scenario

    def variants(n: int, horizon: int) -> dict:
        window = window_for(season, n)
        return {r: recipe_config(r, window, horizon, epochs_for(n, window), quick) for r in recipes}

    values = np.asarray(values, np.float64)
    if validation:
        values, n_train = values[:n_train or int(round(TRAIN_FRACTION * values.shape[0]))], None
    return real_scenario(name, variants, origins=origins, title=f"panel: {name}" + (" (validation)" * validation),
                         fit_origins=True, values=values, n_train=n_train)


def scenario(name: str, recipes: list[str], *, origins: int, quick: bool, validation: bool = False):
    """A panel (or held-out panel) series' ``series_scenario``, by name."""
    from lstm_ar.data.real import load_series

    return series_scenario(name, load_series(name), entry(name).season, recipes, origins=origins, quick=quick,
                           validation=validation)


def entry(name: str):
    """The ``PanelSeries`` of a panel or held-out panel series."""
    from lstm_ar.data.real import HELDOUT, PANEL

    return PANEL[name] if name in PANEL else HELDOUT[name]


class SeriesRun(NamedTuple):
    """One scenario's backtest: the ``ScenarioResult``, the references (``origin_references``' dicts), each recipe's
    seed-ensemble forecast f32[origins, horizon] (``ensemble.median_forecast``) and its judged metrics."""

    result: object
    references: dict
    medians: dict
    ensembles: dict


def backtest_series(sc, season: int | None, seeds: int, *, progress: bool = True) -> SeriesRun | None:
    """Every reference and every recipe (over ``seeds``) from every origin of ``sc``; None off process 0."""
    from lstm_ar.study.ensemble import judge_median, median_forecast
    from lstm_ar.study.experiment import run_scenario
    from lstm_ar.study.references import origin_references

    bt = sc.backtest()
    refs = origin_references(bt, season=season, classical=True)
    result = run_scenario(sc, seeds, progress=progress)
    if result is None:
        return None
    truths = bt.truths()
    medians = {r: median_forecast(v.origin_forecasts) for r, v in result.variants.items()}
    ensembles = {r: judge_median(m, truths, sc.scale, sc.center) for r, m in medians.items()}
    return SeriesRun(result, refs, medians, ensembles)


def scores(references: dict, ensembles: dict) -> dict[str, float]:
    """``select.candidate_scores`` of recorded references and judged ensembles (name -> their ``backtest_rmse``)."""
    from lstm_ar.study.select import candidate_scores

    return candidate_scores({n: r["backtest_rmse"] for n, r in references.items()},
                            {n: e["backtest_rmse"] for n, e in ensembles.items()})


ENSEMBLE_FILE = "ensembles.npz"


def write_ensembles(folder: pathlib.Path, test: SeriesRun, validation: SeriesRun) -> str:
    """``folder/ensembles.npz``: each recipe's ensemble forecast, the truths, scale and center, for the held-out part
    and (``validation/...``) the validation tail: what ``lstm-ar report panel`` judges the ensembles from. Returns
    its sha256."""
    from lstm_ar.report.scenario import file_digest
    from lstm_ar.runtime.fs import atomic_path

    arrays = {}
    for prefix, run in (("", test), ("validation/", validation)):
        sc = run.result.scenario
        arrays.update({f"{prefix}truths": sc.backtest().truths(), f"{prefix}scale": np.float32(sc.scale),
                       f"{prefix}center": np.float32(sc.center), **{prefix + r: m for r, m in run.medians.items()}})
    with atomic_path(folder / ENSEMBLE_FILE) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return file_digest(folder / ENSEMBLE_FILE)


def read_ensembles(folder: pathlib.Path, recipes, digest: str | None = None) -> tuple[dict, dict] | None:
    """(held-out, validation) recipe -> judged ensemble from ``folder/ensembles.npz``; None for a run written before
    ensembles were kept. ValueError when a recipe is missing, or the file is not the one whose sha256 ``digest`` the
    run recorded."""
    from lstm_ar.report.scenario import file_digest
    from lstm_ar.study.ensemble import judge_median

    path = folder / ENSEMBLE_FILE
    if not path.is_file():
        if digest is not None:
            raise ValueError(f"{path} is missing, though the run recorded its sha256; run the experiment again")
        return None
    if digest is not None and file_digest(path) != digest:
        raise ValueError(f"{path} is not the file this run wrote (its sha256 differs from the one recorded with it: "
                         "edited, or from another run); run the experiment again")
    with np.load(path, allow_pickle=False) as z:
        missing = [r for r in recipes for prefix in ("", "validation/") if prefix + r not in z.files]
        if missing:
            raise ValueError(f"{path}: no ensemble forecast for {', '.join(missing)}")
        held, validation = ({r: judge_median(z[prefix + r], z[prefix + "truths"], float(z[prefix + "scale"]),
                                             float(z[prefix + "center"])) for r in recipes}
                            for prefix in ("", "validation/"))
    return held, validation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run panel`` (the one parser tree adds ``--no-compile-cache``)."""
    from lstm_ar.data.real import HELDOUT, PANEL
    from lstm_ar.scenarios.transfer import series_arguments

    series_arguments(parser, "panel", {**PANEL, **HELDOUT}, DEFAULT_RECIPES, DEFAULT_SEEDS,
                     "forecast origins over each held-out part (>= 1; fewer where they do not fit)", DEFAULT_ORIGINS)
    parser.add_argument("--heldout", action="store_true",
                        help="the held-out panel (series no rule was chosen on) instead of the panel")


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments and build every series' two scenarios, validation and held-out (exit 2 before any
    compute); (the run's body, seeds)."""
    from lstm_ar.data.real import HELDOUT, PANEL
    from lstm_ar.scenarios.transfer import chosen

    catalogue = HELDOUT if args.heldout else PANEL
    if args.series == ",".join({**PANEL, **HELDOUT}):  # the option's default: the whole catalogue
        args.series = ",".join(catalogue)
    series, recipes = chosen(parser, args, "panel_heldout" if args.heldout else "panel", catalogue, DEFAULT_RECIPES,
                             RECIPES, DEFAULT_SEEDS)
    built = {}
    for name in series:
        try:
            built[name] = tuple(scenario(name, recipes, origins=args.origins, quick=args.quick, validation=v)
                                for v in (True, False))
        except ValueError as err:
            parser.error(str(err))
    return (lambda out, command: run(args, built, out, command)), args.seeds


def series_table(metrics: dict, describes: dict, refs: dict, seeds: int, ensembles: tuple[dict, dict] | None = None,
                 validation_refs: dict | None = None) -> dict:
    """One series' rows from each recipe's per-seed ``metrics`` (row -> metric -> f[seeds]) and the references'
    ``backtest_rmse``: per forecaster the median seed's backtest RMSE, and per recipe the seeds that beat the best
    classical reference and the seeds that collapse (the run's and ``resummarise``'s one rule). With ``ensembles``
    (held-out, validation: recipe -> judged seed ensemble) and the validation tail's references, each recipe's
    ensemble and ``select.choice``: the forecaster chosen without peeking."""
    from lstm_ar.study import stats
    from lstm_ar.study.references import best_reference
    from lstm_ar.study.select import choice

    ref_rmse = {name: math.inf if r["backtest_rmse"] is None else float(r["backtest_rmse"]) for name, r in refs.items()}
    best = best_reference(ref_rmse)
    rows = {}
    for row, m in metrics.items():
        rmse = np.where(m["diverged"] > 0, np.inf, m["backtest_rmse"])
        rows[row] = {"describe": describes[row],
                     "median_rmse": stats.summarize(rmse, worse="higher")["median"],
                     "beats_best": int(np.sum(rmse < ref_rmse[best])), "seeds": seeds,
                     "collapsed": int(np.sum(m["backtest_collapse_rate"] >= COLLAPSED_ORIGINS)),
                     "diverged": int(np.sum(m["diverged"] > 0))}
        if ensembles is not None:
            judged = ensembles[0][row]
            rows[row]["ensemble_rmse"] = judged["backtest_rmse"]
            rows[row]["ensemble_collapsed"] = bool(judged["backtest_collapse_rate"] >= COLLAPSED_ORIGINS)
    out = {"best_reference": best, "references": {n: {k: v for k, v in r.items() if k != "origin_rmse"}
                                                  for n, r in refs.items()}, "rows": rows}
    if ensembles is not None and validation_refs is not None:
        out["choice"] = choice(scores(validation_refs, ensembles[1]), scores(refs, ensembles[0]))
    return out


def run(args, built: dict, out: pathlib.Path, command: str) -> dict:
    """Backtest every recipe and reference on every series' validation tail and held-out part; per series
    per_seed.csv (held-out), validation/per_seed.csv and ensembles.npz; summary.json, report.md."""
    from lstm_ar.report.scenario import DIGESTS, write_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import stats
    from lstm_ar.study.experiment import device_description

    start = time.perf_counter()
    results = {}
    for name, (val_sc, sc) in built.items():
        e = entry(name)
        runs = [backtest_series(s, e.season, args.seeds, progress=not args.no_progress) for s in (val_sc, sc)]
        if runs[0] is None or runs[1] is None:  # another process of a multi-process run: it only computes
            return {}
        validation, test = runs
        (out / name / "validation").mkdir(parents=True, exist_ok=True)
        digests = write_per_seed(out / name, test.result)
        write_per_seed(out / name / "validation", validation.result)
        digests[ENSEMBLE_FILE] = write_ensembles(out / name, test, validation)
        results[name] = {"about": e.about, "kinds": list(e.kinds), "season": e.season, DIGESTS: digests,
                         **shape(test.result.scenario), "validation": {
                             **shape(validation.result.scenario),
                             "references": {n: {k: v for k, v in r.items() if k != "origin_rmse"}
                                            for n, r in validation.references.items()}},
                         **series_table({r: v.metrics for r, v in test.result.variants.items()},
                                        {r: c.describe() for r, c in sc.variants.items()}, test.references, args.seeds,
                                        (test.ensembles, validation.ensembles), validation.references)}
    summary = {"experiment": "panel", "title": "lstm_ar: the " + ("held-out " * args.heldout)
               + "real-series panel (rolling-origin backtests, chosen without peeking)",
               "seeds": args.seeds, "quick": args.quick, "recipes": list(next(iter(built.values()))[1].variants),
               "series": results, "device": device_description(), "command": command,
               "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split())}
    text = json.dumps(stats.json_number(summary), indent=1, allow_nan=False)
    atomic_write_text(out / "summary.json", text, inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    print(f"panel: {len(built)} series x {len(summary['recipes'])} recipes at {args.seeds} seeds. Report: {out / 'report.md'}")
    return summary


def shape(sc) -> dict:
    """A backtested scenario's sizes for the summary: training and held-out values, origins, horizon, window, epochs."""
    bt, config = sc.backtest(), next(iter(sc.variants.values()))
    return {"n_train": int(bt.start), "n_test": int(bt.history.shape[0] - bt.start), "origins": int(bt.origins.size),
            "horizon": bt.horizon, "window": config.model.window, "epochs": config.epochs}


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report panel --out DIR``: ``transfer.rewrite`` with the panel's rule (``series_table``), the
    ensembles and the choice judged again from each series' ``ensembles.npz`` where the run kept it."""
    from lstm_ar.report.scenario import DIGESTS
    from lstm_ar.scenarios.transfer import rewrite

    def update(s: dict, metrics: dict, seeds: int, folder: pathlib.Path) -> dict:
        ensembles = read_ensembles(folder, list(s["rows"]), s.get(DIGESTS, {}).get(ENSEMBLE_FILE))
        return series_table(metrics, {row: r["describe"] for row, r in s["rows"].items()}, s["references"], seeds,
                            ensembles, s.get("validation", {}).get("references"))

    return rewrite(out, command, "panel", update, markdown)


def _beats(row: dict, series: dict) -> bool:
    """The median seed beats the series' best classical reference."""
    return (row["median_rmse"] or math.inf) < series["references"][series["best_reference"]]["backtest_rmse"]


def markdown(summary: dict) -> str:
    """report.md: the table series x forecaster, the forecasters chosen without peeking, each series' references."""
    from lstm_ar.scenarios.transfer import fmt

    recipes, series = summary["recipes"], summary["series"]
    ensembles = all("ensemble_rmse" in s["rows"][r] for s in series.values() for r in recipes)
    lines = [f"# {summary['title']}", "",
             f"{summary['seeds']} model seeds per recipe; device {summary['device']}; command `{summary['command']}`; "
             f"runtime {summary['runtime_s']:.0f} s. Backtest RMSE in training standard deviations (each training "
             "part's mean and std), the mean over the origins; for a recipe the median seed's (a diverged seed counts "
             f"as the worst)" + (", then the seed ensemble's (the median of the seeds' forecasts)" if ensembles else "")
             + ". wins: seeds that beat the best classical reference; collapsed: seeds whose rollouts "
             f"collapse on at least {COLLAPSED_ORIGINS:.0%} of the origins.", "",
             "| series (train / held out, origins x steps, window, epochs) | best classical reference | "
             + " | ".join(f"{r}: RMSE{', ensemble' if ensembles else ''}, wins, collapsed" for r in recipes) + " |",
             "|---|---|" + "---|" * len(recipes)]
    for name, s in series.items():
        best = s["best_reference"]
        cells = [f"{fmt(row['median_rmse'])}{' **' if _beats(row, s) else ''}, "
                 + (f"{fmt(row['ensemble_rmse'])}{' **' if _ensemble_beats(row, s) else ''}, " if ensembles else "")
                 + f"{row['beats_best']}/{row['seeds']}, {row['collapsed']}" for row in (s["rows"][r] for r in recipes)]
        lines.append(f"| {name} ({s['n_train']} / {s['n_test']}, {s['origins']} x {s['horizon']}, w{s['window']}, "
                     f"{s['epochs']}) | {best}: {fmt(s['references'][best]['backtest_rmse'])} | " + " | ".join(cells) + " |")
    wins = {r: sum(_beats(s["rows"][r], s) for s in series.values()) for r in recipes}
    lines += ["", "** beats the best classical reference. Series where the median seed does: "
              + ", ".join(f"{r} {wins[r]}/{len(series)}" for r in recipes) + "."]
    if ensembles:
        ens = {r: sum(_ensemble_beats(s["rows"][r], s) for s in series.values()) for r in recipes}
        lines[-1] += " Where the seed ensemble does: " + ", ".join(f"{r} {ens[r]}/{len(series)}" for r in recipes) + "."
    lines.append("")
    if all("choice" in s for s in series.values()):
        lines += choice_section(series)
    for name, s in series.items():
        lines += [f"## {name}", "", f"{s['about']} ({', '.join(s['kinds'])}; season {s['season'] or 'none'}).", "",
                  "| reference | mean RMSE over origins | collapsed origins |", "|---|---|---|"]
        for ref, r in s["references"].items():
            extra = f" (p = {r['order']})" if "order" in r else f" ({r['form']})" if "form" in r else ""
            lines.append(f"| {ref}{extra} | {fmt(r['backtest_rmse'])} | {r['backtest_collapse_rate']:.0%} |")
        lines.append("")
    return "\n".join(lines)


def _ensemble_beats(row: dict, series: dict) -> bool:
    """The seed ensemble beats the series' best classical reference."""
    return row.get("ensemble_rmse", math.inf) < series["references"][series["best_reference"]]["backtest_rmse"]


def choice_section(series: dict) -> list[str]:
    """The forecasters chosen without peeking: per series what the validation tail chose, among every candidate and
    among the LSTM recipes (seed ensembles), and how each did on the held-out part against the best classical
    reference (chosen there)."""
    from lstm_ar.scenarios.transfer import fmt

    lines = ["## Chosen without peeking", "",
             "Each candidate (every classical reference, every recipe's seed ensemble) scored on the last 20% of the "
             "training part (the rules above applied to the training part alone); the lowest wins; then judged once on "
             "the held-out part. Ratio: held-out RMSE over the best classical reference's (chosen on the held-out "
             "part: an optimistic bar).", "",
             "| series | best classical (held out) | chosen: candidate, RMSE, ratio | LSTM recipe chosen: recipe, RMSE, "
             "ratio |", "|---|---|---|---|"]
    within = beats = 0
    for name, s in series.items():
        c = s["choice"]
        within += c["chosen_ratio"] <= WITHIN
        beats += c["chosen_lstm_ratio"] < 1.0
        lines.append(f"| {name} | {c['best_classical']}: {fmt(c['best_classical_rmse'])} | {c['chosen']}, "
                     f"{fmt(c['chosen_rmse'])}, {c['chosen_ratio']:.2f}x | {c['chosen_lstm'].removeprefix('LSTM ')}, "
                     f"{fmt(c['chosen_lstm_rmse'])}, {c['chosen_lstm_ratio']:.2f}x |")
    lines += ["", f"The chosen forecaster is within {WITHIN:.2f}x of the best classical reference on {within} of "
              f"{len(series)} series; the LSTM recipe chosen by validation beats it on {beats} of {len(series)}.", ""]
    return lines
