"""``lstm-ar run transfer``: do the cure search's recipes hold on real series?

The recipes of ``lstm_ar.scenarios.candidates`` (their window set per series, a direct head's
horizon set to the backtest's) and the linear references on sunspots, CO2 and El Nino
(``lstm_ar.data.real``), judged by rolling-origin backtests over the held-out part
(``lstm_ar.study.recipe_backtest``): per seed the mean RMSE over the origins, the valid horizon, the
share of origins whose rollout collapses, and paired P(recipe beats each reference).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

DEFAULT_SEEDS = 16
DEFAULT_RECIPES = ("plain_w50", "longer_w50", "direct_w50", "noise_w50", "curriculum_w50_k40")
# per series: window, season of the seasonal naive reference
SERIES = {"sunspots": (20, 11), "co2": (24, 12), "elnino": (36, 12)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run transfer`` (the one parser tree adds ``--no-compile-cache``)."""
    parser.add_argument("--seeds", type=int, default=None, help=f"model seeds (default {DEFAULT_SEEDS}; quick: 2)")
    parser.add_argument("--origins", type=int, default=20, help="forecast origins over the held-out part (>= 1)")
    parser.add_argument("--series", default=",".join(SERIES), help="comma-separated: " + ", ".join(SERIES))
    parser.add_argument("--only", default=None, help="comma-separated recipes (default: " + ",".join(DEFAULT_RECIPES) + ")")
    parser.add_argument("--out", default=None, help="output folder (default experiments/results/transfer_<S>)")
    parser.add_argument("--quick", action="store_true", help="tiny models, 2 epochs")
    parser.add_argument("--no-progress", action="store_true")


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments and the series (exit 2 before any compute); returns (the run's body, CPU
    devices wanted)."""
    from lstm_ar.scenarios.candidates import CANDIDATES

    args.seeds = (2 if args.quick else DEFAULT_SEEDS) if args.seeds is None else args.seeds
    if args.seeds < 1 or args.origins < 1:
        parser.error(f"--seeds and --origins must be >= 1, got {args.seeds} and {args.origins}")
    series = [s.strip() for s in args.series.split(",") if s.strip()]
    recipes = list(DEFAULT_RECIPES) if args.only is None else [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in series if s not in SERIES] + [r for r in recipes if r not in CANDIDATES]
    if bad or not series or not recipes:
        parser.error(f"unknown series or recipe {bad}; series: {', '.join(SERIES)}; recipes: {', '.join(CANDIDATES)}")
    args.out = args.out or f"experiments/results/transfer_{args.seeds}" + ("_quick" if args.quick else "")
    from lstm_ar.data.real import load_series
    from lstm_ar.study.recipe_backtest import make_backtest

    backtests = {}
    for name in series:  # every series checked before any training
        try:
            backtests[name] = make_backtest(name, load_series(name), origins=args.origins, season=SERIES[name][1])
        except ValueError as err:  # too short for the origins asked
            parser.error(str(err))
    return (lambda out, command: run(args, backtests, recipes, out, command)), args.seeds


def adapt(config, window: int, horizon: int, quick: bool):
    """The candidate's ``TrainConfig`` on a real series: its window, a direct head's horizon, quick sizes."""
    import dataclasses

    direct = config.model.head == "direct"
    model = dataclasses.replace(config.model, window=min(window, 5) if quick else window,
                                units=8 if quick else config.model.units,
                                horizon=horizon if direct else config.model.horizon)
    return dataclasses.replace(config, model=model, horizon=horizon if direct else config.horizon,
                               epochs=min(config.epochs, 2) if quick else config.epochs)


def run(args, backtests: dict, recipes: list[str], out: pathlib.Path, command: str) -> dict:
    """Backtest every recipe and reference on every series; write summary.json and report.md."""
    import numpy as np

    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.scenarios import candidates as catalogue
    from lstm_ar.study import pairs, stats
    from lstm_ar.study.experiment import device_description
    from lstm_ar.study.pairs import stats_worst
    from lstm_ar.study.recipe_backtest import reference_backtests, run_recipe_backtest

    start = time.perf_counter()
    results = {}
    lanes = max(1, args.seeds // 2)
    for name, bt in backtests.items():
        window, season = SERIES[name]
        refs = reference_backtests(bt)
        best_ref = min((r for r in refs), key=lambda r: refs[r]["backtest_rmse"])
        rows = {}
        for recipe_name in recipes:
            candidate = catalogue.CANDIDATES[recipe_name]
            recipe = adapt(candidate.config, window, bt.horizon, args.quick)
            out_rows = run_recipe_backtest(recipe, candidate.settings, bt, args.seeds, lanes=lanes,
                                           progress=not args.no_progress, desc=f"{name}/{recipe_name}")
            for setting, row in pairs.setting_names(recipe_name, candidate).items():
                m = out_rows[setting]
                worst = stats_worst
                rows[row] = {
                    "describe": recipe.describe(),
                    "backtest_rmse": stats.summarize(m["backtest_rmse"], worse="higher",
                                                     diverged=m["backtest_diverged_rate"] > 0),
                    "backtest_valid_horizon": stats.summarize(m["backtest_valid_horizon"]),
                    "backtest_collapse_rate": float(np.mean(m["backtest_collapse_rate"])),
                    "backtest_diverged_rate": float(np.mean(m["backtest_diverged_rate"])),
                    "beats": {ref: stats.prob_better(worst(m["backtest_rmse"]),
                                                     worst(np.full(args.seeds, refs[ref]["backtest_rmse"])))
                              for ref in refs},
                }
        results[name] = {"n_train": bt.n_train, "n_test": int(bt.values.shape[0] - bt.n_train),
                         "origins": bt.origins.tolist(), "horizon": bt.horizon, "window": window, "season": season,
                         "best_reference": best_ref,
                         "references": {r: {k: v for k, v in d.items() if k != "origin_rmse"} for r, d in refs.items()},
                         "rows": rows}
    summary = {"experiment": "transfer", "title": "lstm_ar: do the recipes hold on real series? (rolling-origin backtests)",
               "seeds": args.seeds, "quick": args.quick, "series": results, "device": device_description(),
               "command": command, "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split())}
    text = json.dumps(stats.json_number(summary), indent=1, allow_nan=False)
    atomic_write_text(out / "summary.json", text, inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    print(f"transfer: {len(backtests)} series x {len(recipes)} recipes at {args.seeds} seeds. Report: {out / 'report.md'}")
    return summary


def _f(x) -> str:
    return "-" if x is None else ("diverged" if x >= 1e300 else f"{x:.3g}")  # +inf: worst-counted diverged seeds


def markdown(summary: dict) -> str:
    """report.md of the backtests."""
    lines = [f"# {summary['title']}", "",
             f"{summary['seeds']} model seeds per recipe; device {summary['device']}; command `{summary['command']}`; "
             f"runtime {summary['runtime_s']:.0f} s. Values standardised with each training part's mean and std "
             "(RMSE in training stds). A diverged rollout counts as the worst RMSE.", ""]
    for name, s in summary["series"].items():
        best = s["best_reference"]
        lines += [f"## {name}", "",
                  f"{s['n_train']} training values, {s['n_test']} held out; {len(s['origins'])} origins, {s['horizon']} "
                  f"steps each; window {s['window']}. Best reference: **{best}**.", "",
                  "| reference | mean RMSE over origins | mean valid horizon | collapsed origins |", "|---|---|---|---|"]
        for ref, r in s["references"].items():
            extra = f" (p = {r['order']})" if "order" in r else ""
            lines.append(f"| {ref}{extra} | {_f(r['backtest_rmse'])} | {r['backtest_valid_horizon']:.1f} | "
                         f"{r['backtest_collapse_rate']:.0%} |")
        lines += ["", f"| recipe | median RMSE | median valid horizon | collapsed origins | P(beats {best}) [95% CI] | "
                  "P(beats AR(AIC)) | P(beats persistence) |", "|---|---|---|---|---|---|---|"]
        for row, r in s["rows"].items():
            b = r["beats"][best]
            lines.append(f"| `{row}` ({r['describe']}) | {_f(r['backtest_rmse']['median'])} | "
                         f"{_f(r['backtest_valid_horizon']['median'])} | {r['backtest_collapse_rate']:.0%} | "
                         f"{_f(b['prob_a_better'])} [{_f(b['ci95'][0])}, {_f(b['ci95'][1])}] | "
                         f"{_f(r['beats']['AR(AIC)']['prob_a_better'])} | {_f(r['beats']['persistence']['prob_a_better'])} |")
        lines.append("")
    return "\n".join(lines)
