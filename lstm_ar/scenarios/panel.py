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

DEFAULT_SEEDS = 8
DEFAULT_ORIGINS = 20
# recipe -> ModelConfig fields beyond the window (each a configuration of the one harness). "residual" predicts the
# change (x_{t+1} = x_t + g(window)); "direct" the whole horizon at once (the cure on the noisy sine); "scaled" and
# "scaled_direct" read each window scaled by its own mean and std (RevIN-like ``window_scaling``);
# "scaled_direct_es" keeps the epoch that does best on the last ``VALIDATION_TAIL`` of the training windows.
RECIPES = {"plain": {}, "residual": {"residual": True}, "direct": {"head": "direct"},
           "scaled": {"window_scaling": True}, "scaled_direct": {"head": "direct", "window_scaling": True},
           "scaled_direct_es": {"head": "direct", "window_scaling": True}}
EARLY_STOPPING = {"scaled_direct_es"}
VALIDATION_TAIL = 0.2
UNITS = 32
TARGET_STEPS = 1500  # optimiser steps per model (``epochs_for``): a short series gets more epochs, a long one fewer
MIN_EPOCHS, MAX_EPOCHS = 20, 300
MAX_WINDOW = 52
COLLAPSED_ORIGINS = 0.5  # a seed "collapses" when its rollouts collapse on at least half the origins


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


def scenario(name: str, recipes: list[str], *, origins: int, quick: bool):
    """One panel series as a scenario with one variant per recipe (at most as many origins as fit its held-out part)."""
    from lstm_ar.data.real import PANEL
    from lstm_ar.scenarios.transfer import real_scenario

    season = PANEL[name].season

    def variants(n_train: int, horizon: int) -> dict:
        window = window_for(season, n_train)
        return {r: recipe_config(r, window, horizon, epochs_for(n_train, window), quick) for r in recipes}

    return real_scenario(name, variants, origins=origins, title=f"panel: {name}", fit_origins=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run panel`` (the one parser tree adds ``--no-compile-cache``)."""
    from lstm_ar.data.real import PANEL
    from lstm_ar.scenarios.transfer import series_arguments

    series_arguments(parser, "panel", PANEL, RECIPES, DEFAULT_SEEDS,
                     "forecast origins over each held-out part (>= 1; fewer where they do not fit)", DEFAULT_ORIGINS)


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments and build every series' scenario (exit 2 before any compute); (the run's body, seeds)."""
    from lstm_ar.data.real import PANEL
    from lstm_ar.scenarios.transfer import chosen

    series, recipes = chosen(parser, args, "panel", PANEL, RECIPES, RECIPES, DEFAULT_SEEDS)
    built = {}
    for name in series:
        try:
            built[name] = scenario(name, recipes, origins=args.origins, quick=args.quick)
        except ValueError as err:
            parser.error(str(err))
    return (lambda out, command: run(args, built, out, command)), args.seeds


def series_table(metrics: dict, describes: dict, refs: dict, seeds: int) -> dict:
    """One series' rows from each recipe's per-seed ``metrics`` (row -> metric -> f[seeds]) and the references'
    ``backtest_rmse``: per forecaster the median seed's backtest RMSE, and per recipe the seeds that beat the best
    classical reference and the seeds that collapse (the run's and ``resummarise``'s one rule)."""
    import numpy as np

    from lstm_ar.study import stats
    from lstm_ar.study.references import best_reference

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
    return {"best_reference": best, "references": {n: {k: v for k, v in r.items() if k != "origin_rmse"}
                                                   for n, r in refs.items()}, "rows": rows}


def run(args, built: dict, out: pathlib.Path, command: str) -> dict:
    """Backtest every recipe and reference on every series; per_seed.csv per series, summary.json, report.md."""
    from lstm_ar.data.real import PANEL
    from lstm_ar.report.scenario import write_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import stats
    from lstm_ar.study.experiment import device_description, run_scenario
    from lstm_ar.study.references import origin_references

    start = time.perf_counter()
    results = {}
    for name, sc in built.items():
        bt = sc.backtest()
        refs = origin_references(bt, season=PANEL[name].season, classical=True)
        result = run_scenario(sc, args.seeds, progress=not args.no_progress)
        if result is None:  # another process of a multi-process run: it only computes
            return {}
        (out / name).mkdir(parents=True, exist_ok=True)
        write_per_seed(out / name, result)
        config = next(iter(sc.variants.values()))
        results[name] = {"about": PANEL[name].about, "kinds": list(PANEL[name].kinds), "season": PANEL[name].season,
                         "n_train": int(bt.start), "n_test": int(bt.history.shape[0] - bt.start),
                         "origins": int(bt.origins.size), "horizon": bt.horizon, "window": config.model.window,
                         "epochs": config.epochs, **series_table(
                             {r: v.metrics for r, v in result.variants.items()},
                             {r: c.describe() for r, c in sc.variants.items()}, refs, args.seeds)}
    summary = {"experiment": "panel", "title": "lstm_ar: the real-series panel (rolling-origin backtests)",
               "seeds": args.seeds, "quick": args.quick, "recipes": list(next(iter(built.values())).variants),
               "series": results, "device": device_description(), "command": command,
               "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split())}
    text = json.dumps(stats.json_number(summary), indent=1, allow_nan=False)
    atomic_write_text(out / "summary.json", text, inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    print(f"panel: {len(built)} series x {len(summary['recipes'])} recipes at {args.seeds} seeds. Report: {out / 'report.md'}")
    return summary


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report panel --out DIR``: ``transfer.rewrite`` with the panel's rule (``series_table``)."""
    from lstm_ar.scenarios.transfer import rewrite

    return rewrite(out, command, "panel", lambda s, metrics, seeds: series_table(
        metrics, {row: r["describe"] for row, r in s["rows"].items()}, s["references"], seeds), markdown)


def _beats(row: dict, series: dict) -> bool:
    """The median seed beats the series' best classical reference."""
    return (row["median_rmse"] or math.inf) < series["references"][series["best_reference"]]["backtest_rmse"]


def markdown(summary: dict) -> str:
    """report.md: the table series x forecaster, then each series' references."""
    from lstm_ar.scenarios.transfer import fmt

    recipes, series = summary["recipes"], summary["series"]
    lines = [f"# {summary['title']}", "",
             f"{summary['seeds']} model seeds per recipe; device {summary['device']}; command `{summary['command']}`; "
             f"runtime {summary['runtime_s']:.0f} s. Backtest RMSE in training standard deviations (each training "
             "part's mean and std), the mean over the origins; for a recipe the median seed's (a diverged seed counts "
             f"as the worst). wins: seeds that beat the best classical reference; collapsed: seeds whose rollouts "
             f"collapse on at least {COLLAPSED_ORIGINS:.0%} of the origins.", "",
             "| series (train / held out, origins x steps, window, epochs) | best classical reference | "
             + " | ".join(f"{r}: RMSE, wins, collapsed" for r in recipes) + " |",
             "|---|---|" + "---|" * len(recipes)]
    for name, s in series.items():
        best = s["best_reference"]
        cells = [f"{fmt(row['median_rmse'])}{' **' if _beats(row, s) else ''}, {row['beats_best']}/{row['seeds']}, "
                 f"{row['collapsed']}" for row in (s["rows"][r] for r in recipes)]
        lines.append(f"| {name} ({s['n_train']} / {s['n_test']}, {s['origins']} x {s['horizon']}, w{s['window']}, "
                     f"{s['epochs']}) | {best}: {fmt(s['references'][best]['backtest_rmse'])} | " + " | ".join(cells) + " |")
    wins = {r: sum(_beats(s["rows"][r], s) for s in series.values()) for r in recipes}
    lines += ["", "** the median seed beats the best classical reference. Series where it does: "
              + ", ".join(f"{r} {wins[r]}/{len(series)}" for r in recipes) + ".", ""]
    for name, s in series.items():
        lines += [f"## {name}", "", f"{s['about']} ({', '.join(s['kinds'])}; season {s['season'] or 'none'}).", "",
                  "| reference | mean RMSE over origins | collapsed origins |", "|---|---|---|"]
        for ref, r in s["references"].items():
            extra = f" (p = {r['order']})" if "order" in r else f" ({r['form']})" if "form" in r else ""
            lines.append(f"| {ref}{extra} | {fmt(r['backtest_rmse'])} | {r['backtest_collapse_rate']:.0%} |")
        lines.append("")
    return "\n".join(lines)
