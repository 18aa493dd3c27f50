"""``lstm-ar run cure``: search the remedies for an LSTM that tracks the article's noisy sine.

Each candidate (by default the answer's three: the article's model, the plain window-50 LSTM and the cure,
the direct head; ``--only all``: every candidate of ``lstm_ar.scenarios.candidates``) runs over model seeds x
noise realisations, judged against the noiseless continuation and least-squares references fitted to the same
data; the report gives the frontier and whether the goal (valid on >= 90% of pairs, at least as good as the
best AR(p) on half) is met. Finished chunks are stored under ``<out>/candidates/`` and reused by a later run of
the same question and code (``--fresh`` recomputes them). The default size (16 seeds x 4 realisations)
finishes within 10 minutes on a 2-core CPU; the committed search ran ``--only all --seeds 8 --realisations 4``,
then ``--only direct_w50 --seeds 64 --realisations 16``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import pathlib
import sys
import time

DEFAULT_SEEDS = 16
DEFAULT_REALISATIONS = 4
# the answer in one run: the article's model, the plain window-50 LSTM it leads to, and the cure
DEFAULT_CANDIDATES = ("article_w1_relu", "plain_w50", "direct_w50")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run cure`` (the one parser tree adds ``--no-compile-cache``)."""
    from lstm_ar.scenarios.candidates import CANDIDATES

    parser.epilog = "candidates: " + ", ".join(CANDIDATES)
    add = parser.add_argument
    add("--seeds", type=int, default=None, help=f"model seeds (default {DEFAULT_SEEDS}; quick: 2)")
    add("--realisations", type=int, default=None,
        help=f"noise realisations of the series (default {DEFAULT_REALISATIONS}; quick: 2)")
    add("--noise", type=float, default=0.1, help="noise std before standardisation (article: 0.1)")
    add("--only", default=None, help="comma-separated candidate names, or 'all' for the whole search (default: "
        + ",".join(DEFAULT_CANDIDATES) + "; quick: one per remedy)")
    add("--max-order", type=int, default=None, help="largest AR order of the references (default 60)")
    add("--root-seed", type=int, default=0)
    add("--lanes", type=int, default=None,
        help="seeds vmapped per device at once (default: sized to the CPU caches per candidate)")
    add("--out", default=None, help="output folder (default experiments/results/cure_<S>x<R>)")
    add("--quick", action="store_true", help="tiny models, 2 epochs: checks the pipeline in seconds")
    add("--fresh", action="store_true", help="recompute candidates saved by an earlier run")
    add("--reuse-any-code", action="store_true",
        help="reuse saved candidates computed by another version of the code, for trying a change known not to "
             "alter the numbers (summary.json records which code computed each row). Results made with it must "
             "not be committed: a committed report comes from the code at the commit its provenance names "
             "(tests/test_results.py)")
    add("--no-progress", action="store_true")
    add("--no-plots", action="store_true")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """Fill the defaults and refuse bad values (exit 2) before any compute; returns the candidates."""
    from lstm_ar.scenarios.candidates import CANDIDATES, QUICK

    args.seeds = (2 if args.quick else DEFAULT_SEEDS) if args.seeds is None else args.seeds
    args.realisations = (2 if args.quick else DEFAULT_REALISATIONS) if args.realisations is None else args.realisations
    args.max_order = (10 if args.quick else 60) if args.max_order is None else args.max_order
    for name, low in (("seeds", 1), ("realisations", 1), ("max_order", 1), ("root_seed", 0)):
        if getattr(args, name) < low:
            parser.error(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(args, name)}")
    if args.realisations > 10_000:
        parser.error(f"--realisations must be <= 10000, got {args.realisations}")
    if args.root_seed >= 2 ** 32:
        parser.error(f"--root-seed must be < 2**32, got {args.root_seed}")
    if not (args.noise >= 0 and args.noise < float("inf")):
        parser.error(f"--noise must be a finite number >= 0, got {args.noise}")
    if args.max_order > 499:
        parser.error(f"--max-order must leave at least as many of the 1000 values to fit as there are lags (<= 499), "
                     f"got {args.max_order}")
    if args.lanes is not None and args.lanes < 1:
        parser.error(f"--lanes must be >= 1, got {args.lanes}")
    names = (list(QUICK if args.quick else DEFAULT_CANDIDATES) if args.only is None
             else [n.strip() for n in args.only.split(",") if n.strip()])
    if names == ["all"]:
        names = list(CANDIDATES)
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown or not names:
        parser.error(f"unknown candidate(s) {unknown or names}; valid: {', '.join(CANDIDATES)}")
    if args.out is None:
        args.out = f"experiments/results/cure_{args.seeds}x{args.realisations}" + ("_quick" if args.quick else "")
    if not args.out:
        parser.error("--out must name a folder")
    return names


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments (exit 2 before any compute); returns (the run's body, CPU devices wanted). Without
    ``--lanes`` each candidate's blocks are sized to the CPU caches (``cache_layout``), so every core gets blocks."""
    names = check_arguments(parser, args)
    devices = args.seeds if args.lanes is None else -(-args.seeds // args.lanes)
    return (lambda out, command: run(args, names, out, args.lanes, command)), devices


def run(args: argparse.Namespace, names: list[str], out: pathlib.Path, lanes: int | None, command: str) -> dict:
    """Compute (or reuse) every candidate, then write summary.json, pairs.csv, report.md and figures."""
    import dataclasses

    import numpy as np

    from lstm_ar.data.realisations import sine_realisations
    from lstm_ar.report.cure import frontier, goal_met, goals, reference_rows
    from lstm_ar.runtime.chunk_store import source_fingerprint
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.scenarios import candidates as catalogue
    from lstm_ar.study import pairs
    from lstm_ar.study.experiment import device_description, run_scenario
    from lstm_ar.study.realisations import sine_draws
    from lstm_ar.study.references import realisation_references

    start = time.perf_counter()
    data = sine_realisations(args.realisations, steps=catalogue.STEPS, noise=args.noise)
    refs = realisation_references(data, max_order=args.max_order)
    code = source_fingerprint()
    results, rows = {}, {}
    for name in names:
        candidate = catalogue.CANDIDATES[name]
        if args.quick:
            candidate = pairs.quick(candidate)
        began = time.perf_counter()
        variants = {row: dataclasses.replace(candidate.config, hyper=candidate.settings[s])
                    for s, row in pairs.setting_names(name, candidate).items()}
        draws = sine_draws(name, variants, data, figures=(), title=f"cure candidate {name}")  # one per realisation
        # finished chunks stream to candidates/<name>/ and are reused unless --fresh (same question and code)
        result = run_scenario(draws, args.seeds, root_seed=args.root_seed, lanes=lanes, progress=not args.no_progress,
                              store_dir=out / "candidates", resume=not args.fresh, any_code=args.reuse_any_code)
        if result is None:  # another process of a multi-process run: it only computes
            return {}
        if not args.no_progress and all(s["resumed_seeds"] == args.seeds for s in result.sweep.values()):
            print(f"{name}: reusing the saved result ({out / 'candidates'})", file=sys.stderr)
        record = {"runtime_s": round(time.perf_counter() - began, 1), "device": device_description(),
                  "command": command, "sweep": result.sweep}
        for row, config in result.scenario.variants.items():
            results[row] = pairs.pair_result(result.variants[row], catalogue.STEPS)
            setting = {k: (float(v) if np.isfinite(v) else None) for k, v in config.hyper._asdict().items()}
            rows[row] = entry = {"describe": config.describe(), "recipe": config.to_dict(), "setting": setting,
                                 **pairs.summarise_pairs(results[row], refs)}
            entry.update(goal_met=goal_met(entry), computed_with_code=code, computed=record)
    order = frontier(rows)
    summary = {"experiment": "cure", "title": "lstm_ar: what fixes the collapse? The cure search on the noisy sine",
               "seeds": args.seeds, "realisations": args.realisations, "noise": args.noise, "root_seed": args.root_seed,
               "steps": catalogue.STEPS, "quick": args.quick, "max_order": args.max_order,
               "realisation_seeds": list(data.seeds), "best_ar_order": refs.best_order,
               "aic_orders": [int(v) for v in refs.aic_order], "bic_orders": [int(v) for v in refs.bic_order],
               "references": reference_rows(refs), "rows": rows, "frontier": order,
               "goal": goals(rows, order),
               "code": code, "device": device_description(), "command": command,
               "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split()), "figures": []}
    atomic_write_text(out / "pairs.csv", pairs_csv(results), inside=out)
    write_summary(out, summary)
    if not args.no_plots:  # after the numbers are safe on disk; the report then lists the figures
        summary["figures"] = write_figures(out, results, refs, summary)
        write_summary(out, summary)
    met, best = summary["goal"]["met_by"], rows[order[0]]["valid_full"]
    print(f"cure: {len(rows)} rows over {args.seeds} seeds x {args.realisations} realisations; goal "
          + (f"met by {', '.join(met)}" if met else "not met") + f"; best row {order[0]}: valid on "
          f"{best['k']}/{best['n']} pairs. Report: {out / 'report.md'}")
    return summary


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report cure --out DIR``: the summary, report and forest plot of a finished run rewritten from its
    ``pairs.csv`` alone with the current statistics (no training; the references are recomputed from the recorded
    realisations); each row's recipe, setting and run record stay, ``resummarised`` records the rewrite. The
    other figures need the kept rollouts and losses and stay as they were. FileNotFoundError: no finished run."""
    import numpy as np

    from lstm_ar.data.realisations import sine_realisations
    from lstm_ar.report.cure import frontier, goal_met, goals, reference_rows
    from lstm_ar.report.scenario import read_per_seed
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import pairs
    from lstm_ar.study.references import realisation_references

    old = json.loads((out / "summary.json").read_text())
    if old.get("experiment") != "cure":
        raise ValueError(f"{out / 'summary.json'} is not the summary of a cure run")
    per_pair = read_per_seed(out / "pairs.csv", "row", ("seed", "realisation"))
    data = sine_realisations(old["realisations"], steps=old["steps"], noise=old["noise"])
    if [int(v) for v in data.seeds] != old["realisation_seeds"]:
        raise ValueError(f"{out}: today's realisations are not the run's")
    rows, refs = {}, realisation_references(data, max_order=old["max_order"])
    for name, entry in old["rows"].items():
        metrics = per_pair.get(name, {})
        if not metrics or next(iter(metrics.values())).shape != (old["seeds"], old["realisations"]):
            raise ValueError(f"{out / 'pairs.csv'}: row {name!r} does not hold {old['seeds']} x {old['realisations']} "
                             "pairs")
        result = pairs.PairResult(metrics, np.zeros((0,)), np.zeros((0,)))
        rows[name] = new = {k: entry[k] for k in ("describe", "recipe", "setting")} | pairs.summarise_pairs(result, refs)
        new.update(goal_met=goal_met(new), computed_with_code=entry.get("computed_with_code"),
                   computed=entry.get("computed"))
    order = frontier(rows)
    summary = old | {"best_ar_order": refs.best_order, "references": reference_rows(refs), "rows": rows,
                     "frontier": order, "goal": goals(rows, order), "resummarised": provenance(command.split())}
    if summary.get("figures") and "forest.png" in summary["figures"]:
        from lstm_ar.report.cure_figures import write_forest

        try:
            write_forest(out, summary)
        except ImportError as err:  # matplotlib is the plots extra
            print(f"cure: forest plot not redrawn ({err})", file=sys.stderr)
    write_summary(out, summary)
    return summary


def write_summary(out: pathlib.Path, summary: dict) -> None:
    """summary.json (infinities as "inf", nan as null: valid JSON) and report.md, each atomically."""
    from lstm_ar.report.cure import markdown
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.study.stats import json_number

    text = json.dumps(json_number(summary), indent=1, default=_json_default, allow_nan=False)
    atomic_write_text(out / "summary.json", text, inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)


def _json_default(value):
    import numpy as np

    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def pairs_csv(results: dict) -> str:
    """One line per (row, seed, realisation) with every per-pair metric."""
    import numpy as np

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metric_names = sorted({k for r in results.values() for k in r.metrics})
    writer.writerow(["row", "seed", "realisation", *metric_names])
    for row, result in results.items():
        m = result.metrics
        for s, r in np.ndindex(m["rollout_rmse"].shape):
            writer.writerow([row, s, r, *(f"{float(m[k][s, r] if k in m else np.nan):.9g}" for k in metric_names)])
    return buffer.getvalue()


def write_figures(out: pathlib.Path, results: dict, refs, summary: dict) -> list[str]:
    """The figures the plotting library offers (forest plot, survival curve, loss curves)."""
    from lstm_ar.report import cure_figures as figures

    try:
        return figures.write_all(out, results, refs, summary)
    except ImportError as err:  # matplotlib is the plots extra: the numbers are written, the figures skipped
        print(f"cure: figures skipped ({err}); install the plots extra to draw them", file=sys.stderr)
        return []
