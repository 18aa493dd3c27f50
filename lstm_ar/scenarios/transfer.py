"""``lstm-ar run transfer``: do the cure search's recipes hold on real series?

The recipes of ``lstm_ar.scenarios.candidates`` (their window set per series, a direct head's horizon the
backtest's) and the linear references on sunspots, CO2 and El Nino, judged by rolling-origin backtests over
the held-out part (the first 80% trains; both parts standardised with its statistics). Per seed: the mean RMSE
over the origins, the valid horizon, the share of origins whose rollout collapses, and paired P(recipe beats
each reference). ``<series>/per_seed.csv`` keeps every seed's values.
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
    series_arguments(parser, "transfer", SERIES, DEFAULT_RECIPES, DEFAULT_SEEDS,
                     "forecast origins over the held-out part (>= 1)", 20)


def series_arguments(parser: argparse.ArgumentParser, experiment: str, series, recipes, default_seeds: int,
                     origins_help: str, origins: int) -> None:
    """The options of a backtest over real series (transfer, panel): seeds, origins, series, recipes, output."""
    parser.add_argument("--seeds", type=int, default=None, help=f"model seeds (default {default_seeds}; quick: 2)")
    parser.add_argument("--origins", type=int, default=origins, help=origins_help)
    parser.add_argument("--series", default=",".join(series), help="comma-separated: " + ", ".join(series))
    parser.add_argument("--only", default=None, help="comma-separated recipes (default: " + ",".join(recipes) + ")")
    parser.add_argument("--out", default=None, help=f"output folder (default experiments/results/{experiment}_<S>)")
    parser.add_argument("--quick", action="store_true", help="tiny models, 2 epochs")
    parser.add_argument("--no-progress", action="store_true")


def chosen(parser: argparse.ArgumentParser, args: argparse.Namespace, experiment: str, series, recipes, valid,
           default_seeds: int) -> tuple[list[str], list[str]]:
    """Check ``series_arguments``' values (exit 2) and fill ``args.seeds`` and ``args.out``: (series, recipes)."""
    args.seeds = (2 if args.quick else default_seeds) if args.seeds is None else args.seeds
    if args.seeds < 1 or args.origins < 1:
        parser.error(f"--seeds and --origins must be >= 1, got {args.seeds} and {args.origins}")
    names = [s.strip() for s in args.series.split(",") if s.strip()]
    picked = list(recipes) if args.only is None else [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in names if s not in series] + [r for r in picked if r not in valid]
    if bad or not names or not picked:
        parser.error(f"unknown series or recipe {bad}; series: {', '.join(series)}; recipes: {', '.join(valid)}")
    args.out = args.out or f"experiments/results/{experiment}_{args.seeds}" + ("_quick" if args.quick else "")
    return names, picked


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments and the series (exit 2 before any compute); returns (the run's body, CPU devices)."""
    from lstm_ar.scenarios.candidates import CANDIDATES

    series, recipes = chosen(parser, args, "transfer", SERIES, DEFAULT_RECIPES, CANDIDATES, DEFAULT_SEEDS)
    built = {}
    for name in series:  # every series checked before any training (too short for the origins: exit 2)
        try:
            built[name] = scenario(name, recipes, origins=args.origins, quick=args.quick)
        except ValueError as err:
            parser.error(str(err))
    return (lambda out, command: run(args, built, out, command)), args.seeds


ROLLOUT_STEPS = 48  # the horizon rule's cap: min(48, held-out values // 2) steps per origin


def scenario(name: str, recipes: list[str], *, origins: int, quick: bool):
    """One series as a scenario: its training and held-out parts, the origins, one variant per recipe setting."""
    import dataclasses

    from lstm_ar.scenarios import candidates as catalogue
    from lstm_ar.study.pairs import setting_names

    def variants(n_train: int, horizon: int) -> dict:
        out = {}
        for recipe in recipes:
            candidate = catalogue.CANDIDATES[recipe]
            config = adapt(candidate.config, SERIES[name][0], horizon, quick)
            out.update({row: dataclasses.replace(config, hyper=candidate.settings[s])
                        for s, row in setting_names(recipe, candidate).items()})
        return out

    return real_scenario(name, variants, origins=origins, title=f"transfer: {name}")


def real_scenario(name: str, variants, *, origins: int, title: str, fit_origins: bool = False, values=None,
                  n_train: int | None = None):
    """A real series (``lstm_ar.data.real.load_series``, or ``values`` f[T]) as a backtested scenario: the first 80%
    trains (both parts standardised with its statistics), ``origins`` over the rest (``fit_origins``: at most as many
    as fit), each ``ROLLOUT_STEPS`` or half the held-out part ahead; ``variants(n_train, horizon)`` gives its configs
    by row. ``n_train``: train on that many values instead of 80%."""
    from lstm_ar.data.real import load_series
    from lstm_ar.data.split import split_standardise
    from lstm_ar.study import backtest
    from lstm_ar.study.scenario import Scenario

    split = split_standardise(load_series(name) if values is None else values, n_train=n_train)
    if fit_origins:
        held = split.test.shape[0]
        origins = min(origins, held - backtest.default_horizon(ROLLOUT_STEPS, held) + 1)
    try:
        horizon = backtest.build(split.train, split.test, origins, None, ROLLOUT_STEPS).horizon
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return Scenario(name=name, variants=variants(split.train.shape[0], horizon), series=split.train,
                    heldout_series=split.test, backtest_origins=origins, backtest_horizon=horizon, title=title,
                    standardisation=(split.mean, split.std), figures=())


def adapt(config, window: int, horizon: int, quick: bool):
    """The candidate's ``TrainConfig`` on a real series: its window, a direct head's horizon, quick sizes."""
    import dataclasses

    direct = config.model.head == "direct"
    model = dataclasses.replace(config.model, window=min(window, 5) if quick else window,
                                units=8 if quick else config.model.units,
                                horizon=horizon if direct else config.model.horizon)
    return dataclasses.replace(config, model=model, horizon=horizon if direct else config.horizon,
                               epochs=min(config.epochs, 2) if quick else config.epochs)


def run(args, built: dict, out: pathlib.Path, command: str) -> dict:
    """Backtest every recipe and reference on every series; write per_seed.csv per series, summary.json, report.md."""

    from lstm_ar.report.scenario import DIGESTS, write_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import stats
    from lstm_ar.study.experiment import device_description, run_scenario
    from lstm_ar.study.references import origin_references

    start = time.perf_counter()
    results = {}
    for name, sc in built.items():
        window, season = SERIES[name]
        bt = sc.backtest()
        refs = origin_references(bt, season=season)
        best_ref = min(refs, key=lambda r: refs[r]["backtest_rmse"])
        result = run_scenario(sc, args.seeds, progress=not args.no_progress)
        if result is None:  # another process of a multi-process run: it only computes
            return {}
        (out / name).mkdir(parents=True, exist_ok=True)
        digests = write_per_seed(out / name, result)
        rows = {row: series_row(config.describe(), result.variants[row].metrics, refs)
                for row, config in sc.variants.items()}
        results[name] = {"n_train": int(bt.start), "n_test": int(bt.history.shape[0] - bt.start),
                         "origins": bt.origins.tolist(), "horizon": bt.horizon, "window": window, "season": season,
                         "best_reference": best_ref,
                         "references": {r: {k: v for k, v in d.items() if k != "origin_rmse"} for r, d in refs.items()},
                         "rows": rows, DIGESTS: digests}
    summary = {"experiment": "transfer", "title": "lstm_ar: do the recipes hold on real series? (rolling-origin backtests)",
               "seeds": args.seeds, "quick": args.quick, "series": results, "device": device_description(),
               "command": command, "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split())}
    text = json.dumps(stats.json_number(summary), indent=1, allow_nan=False)
    atomic_write_text(out / "summary.json", text, inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    print(f"transfer: {len(built)} series x {len(next(iter(built.values())).variants)} rows at {args.seeds} seeds. "
          f"Report: {out / 'report.md'}")
    return summary


def series_row(describe: str, m: dict, refs: dict) -> dict:
    """One recipe's row on one series from its per-seed backtest metrics ``m`` (metric -> f[seeds]) and the
    references' ``backtest_rmse``: the run's and ``resummarise``'s one rule."""
    import numpy as np

    from lstm_ar.study import stats
    from lstm_ar.study.pairs import stats_worst

    seeds = np.shape(m["backtest_rmse"])[0]
    return {"describe": describe,
            "backtest_rmse": stats.summarize(m["backtest_rmse"], worse="higher", diverged=m["backtest_diverged_rate"] > 0),
            "backtest_valid_horizon": stats.summarize(m["backtest_valid_horizon"]),
            "backtest_collapse_rate": float(np.mean(m["backtest_collapse_rate"])),
            "backtest_diverged_rate": float(np.mean(m["backtest_diverged_rate"])),
            "beats": {ref: stats.prob_better(stats_worst(m["backtest_rmse"]), stats_worst(np.full(
                seeds, np.inf if refs[ref]["backtest_rmse"] is None else refs[ref]["backtest_rmse"]))) for ref in refs}}


def rewrite(out: pathlib.Path, command: str, experiment: str, series_update, markdown_of) -> dict:
    """A finished ``experiment`` run (transfer, panel) rewritten from its ``<series>/per_seed.csv`` files and the
    references it recorded, with the current statistics (no training): each series' summary updated with
    ``series_update(series_summary, metrics: row -> metric -> f[seeds], seeds, folder)``, report.md from ``markdown_of``;
    the run's record stays, ``resummarised`` records the rewrite. ValueError: not such a run, or a file edited."""
    from lstm_ar.report.resummarise import check_digests
    from lstm_ar.report.scenario import DIGESTS, read_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study.stats import json_number

    old = json.loads((out / "summary.json").read_text())
    if old.get("experiment") != experiment:
        raise ValueError(f"{out / 'summary.json'} is not the summary of a {experiment} run")
    summary = {**old, "series": {}, "resummarised": provenance(command.split())}
    for name, s in old["series"].items():
        check_digests(out / name, {DIGESTS: {k: v for k, v in s[DIGESTS].items() if k.startswith("per_seed.")}}
                      if DIGESTS in s else s)  # the per-seed files the run wrote (a run before they were recorded: any)
        metrics = read_per_seed(out / name / "per_seed.csv", axes=("seed",))  # one draw: no draw column
        if list(metrics) != list(s["rows"]) or any(v.shape != (old["seeds"],) for m in metrics.values()
                                                     for v in m.values()):
            raise ValueError(f"{out / name / 'per_seed.csv'}: not {old['seeds']} seeds of the rows {', '.join(s['rows'])}")
        summary["series"][name] = {**s, **series_update(s, metrics, old["seeds"], out / name)}
    atomic_write_text(out / "summary.json", json.dumps(json_number(summary), indent=1, allow_nan=False), inside=out)
    atomic_write_text(out / "report.md", markdown_of(summary), inside=out)
    return summary


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report transfer --out DIR``: ``rewrite`` with the run's row rule (``series_row``)."""
    return rewrite(out, command, "transfer", lambda s, metrics, *_: {"rows": {
        row: series_row(r["describe"], metrics[row], s["references"]) for row, r in s["rows"].items()}}, markdown)


def fmt(x) -> str:
    """A table cell: '-' when absent, 'diverged' for a worst-counted (infinite) RMSE, else 3 digits."""
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
            lines.append(f"| {ref}{extra} | {fmt(r['backtest_rmse'])} | {r['backtest_valid_horizon']:.1f} | "
                         f"{r['backtest_collapse_rate']:.0%} |")
        lines += ["", f"| recipe | median RMSE | median valid horizon | collapsed origins | P(beats {best}) [95% CI] | "
                  "P(beats AR(AIC)) | P(beats persistence) |", "|---|---|---|---|---|---|---|"]
        for row, r in s["rows"].items():
            b = r["beats"][best]
            lines.append(f"| `{row}` ({r['describe']}) | {fmt(r['backtest_rmse']['median'])} | "
                         f"{fmt(r['backtest_valid_horizon']['median'])} | {r['backtest_collapse_rate']:.0%} | "
                         f"{fmt(b['prob_a_better'])} [{fmt(b['ci95'][0])}, {fmt(b['ci95'][1])}] | "
                         f"{fmt(r['beats']['AR(AIC)']['prob_a_better'])} | {fmt(r['beats']['persistence']['prob_a_better'])} |")
        lines.append("")
    return "\n".join(lines)
