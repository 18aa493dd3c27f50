"""``lstm-ar run realisations``: re-judge the article's claims over noise realisations of its data.

The article's Examples 2 and 3 train on one draw of the noisy sine (numpy seed 42), and so did every committed
result. Here each scenario runs once over ``--realisations`` draws of the noise (the article's draw first), the
same ``--seeds`` model seeds on each; every claim is judged over all (realisation, seed) pairs and on each
realisation alone, and the report says which verdicts change with the draw. ``<scenario>/per_seed.csv`` keeps
every (variant, seed, draw) value.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

DEFAULT_SEEDS = 64
DEFAULT_REALISATIONS = 16
REALISATION_LANES = 32  # seeds per block: more blocks than one keep both cores of a 2-core CPU busy
REJUDGED = ("activation", "dropout")  # the article's examples on the noisy sine (Example 1 has no noise)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run realisations`` (the one parser tree adds ``--no-compile-cache``)."""
    parser.add_argument("--seeds", type=int, default=None, help=f"model seeds per realisation (default {DEFAULT_SEEDS})")
    parser.add_argument("--realisations", type=int, default=None,
                        help=f"noise realisations (default {DEFAULT_REALISATIONS}; the article's draw is the first)")
    parser.add_argument("--out", default=None, help="output folder (default experiments/results/realisations_<S>x<R>)")
    parser.add_argument("--quick", action="store_true", help="2 epochs, 4 seeds x 2 realisations")
    parser.add_argument("--no-progress", action="store_true")


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments (exit 2 before any compute); returns (the run's body, CPU devices wanted)."""
    from lstm_ar.runtime.sweep import default_lanes

    args.seeds = (4 if args.quick else DEFAULT_SEEDS) if args.seeds is None else args.seeds
    args.realisations = (2 if args.quick else DEFAULT_REALISATIONS) if args.realisations is None else args.realisations
    if args.seeds < 1 or args.realisations < 1:
        parser.error(f"--seeds and --realisations must be >= 1, got {args.seeds} and {args.realisations}")
    args.out = args.out or f"experiments/results/realisations_{args.seeds}x{args.realisations}" + (
        "_quick" if args.quick else "")
    # blocks of at most 32 seeds, a device (core) each: seed i's results equal a 32-seed run's
    args.lanes = default_lanes(args.seeds, REALISATION_LANES)
    return (lambda out, command: run(args, out, command)), -(-args.seeds // args.lanes)


def run(args, out: pathlib.Path, command: str) -> dict:
    """Run both scenarios on every realisation; write summary.json and report.md."""
    from lstm_ar.data.realisations import realisation_seed
    from lstm_ar.report.scenario import write_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.scenarios import reproduce
    from lstm_ar.study.experiment import device_description, run_scenario
    from lstm_ar.study.realisations import claim_table
    from lstm_ar.study.stats import json_number

    start = time.perf_counter()
    tables, noise_seeds = {}, [realisation_seed(r) for r in range(args.realisations)]
    for name in REJUDGED:  # every draw in one program: seed s trains on each draw with the same key
        draws = [getattr(reproduce, name)(args.quick, noise_seed=seed) for seed in noise_seeds]
        result = run_scenario(draws, args.seeds, progress=not args.no_progress, lanes=args.lanes)
        if result is None:  # another process of a multi-process run: it only computes
            return {}
        (out / name).mkdir(parents=True, exist_ok=True)
        write_per_seed(out / name, result)  # every (variant, seed, draw) value: per_seed.csv and per_seed.npz
        tables[name] = {"title": result.scenario.title, "claims": claim_table(result)}
    summary = {"experiment": "realisations", "title": "lstm_ar: the article's claims over noise realisations",
               "seeds": args.seeds, "realisations": args.realisations, "realisation_seeds": noise_seeds,
               "scenarios": tables, "device": device_description(), "command": command,
               "runtime_s": time.perf_counter() - start, "provenance": provenance(command.split())}
    atomic_write_text(out / "summary.json", json.dumps(json_number(summary), indent=1, allow_nan=False), inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    changed = [f"{c['id']} ({c['flips']})" for t in tables.values() for c in t["claims"] if c["flips"] > 0]
    print(f"realisations: claims whose verdict flips with the draw of the data: {', '.join(changed) or 'none'}. "
          f"Report: {out / 'report.md'}")
    return summary


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report realisations --out DIR``: summary.json and report.md of a finished run rewritten from its
    ``<scenario>/per_seed.csv`` files alone with the current statistics (no training); the run's record stays,
    ``resummarised`` records the rewrite. FileNotFoundError: no finished run."""
    import numpy as np

    from lstm_ar.report.scenario import read_per_seed
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.scenarios import reproduce
    from lstm_ar.study.experiment import ScenarioResult, VariantResult
    from lstm_ar.study.realisations import claim_table
    from lstm_ar.study.stats import json_number

    old = json.loads((out / "summary.json").read_text())
    if old.get("experiment") != "realisations":
        raise ValueError(f"{out / 'summary.json'} is not the summary of a realisations run")
    tables, shape = {}, (old["seeds"], old["realisations"])
    for name in old["scenarios"]:
        scenario = getattr(reproduce, name)("--quick" in old["command"].split())
        metrics = read_per_seed(out / name / "per_seed.csv")
        if list(metrics) != list(scenario.variants) or any(v.shape != shape for m in metrics.values()
                                                           for v in m.values()):
            raise ValueError(f"{out / name / 'per_seed.csv'}: not {shape[0]} seeds x {shape[1]} draws of the "
                             f"variants {', '.join(scenario.variants)}")
        empty = np.zeros((shape[0], shape[1], 0))
        result = ScenarioResult(scenario, shape[0], 0, {v: VariantResult(m, empty, empty) for v, m in metrics.items()},
                                old["runtime_s"], draws=shape[1])
        tables[name] = {"title": scenario.title, "claims": claim_table(result)}
    summary = old | {"scenarios": tables, "resummarised": provenance(command.split())}
    atomic_write_text(out / "summary.json", json.dumps(json_number(summary), indent=1, allow_nan=False), inside=out)
    atomic_write_text(out / "report.md", markdown(summary), inside=out)
    return summary


def markdown(summary: dict) -> str:
    """report.md: per claim, the verdict over all pairs and on each realisation."""
    r = summary["realisations"]
    lines = [f"# {summary['title']}", "",
             f"{summary['seeds']} model seeds x {r} noise realisations (numpy seeds "
             f"{', '.join(map(str, summary['realisation_seeds'][:4]))}{', ...' if r > 4 else ''}; the first is the "
             f"article's draw). Device {summary['device']}; command `{summary['command']}`; runtime "
             f"{summary['runtime_s']:.0f} s.", "",
             "'Over all pairs': every (seed, realisation) pair, with 95% intervals from the crossed bootstrap, which "
             "resamples model seeds and realisations both (pairs share both, so they are not independent); the "
             "evidence says on how many realisations the claim's share is above half. 'Draws per verdict': the "
             "claim judged on each realisation alone. 'The verdict flips on': the realisations decided the minority "
             "way (the smaller of the two decided counts), whatever the verdict over all pairs.", ""]
    for table in summary["scenarios"].values():
        lines += [f"## {table['title']}", "",
                  "| claim | over all pairs | evidence | on the article's draw | draws per verdict | the verdict flips "
                  "on |", "|---|---|---|---|---|---|"]
        for c in table["claims"]:
            tally = ", ".join(f"{verdict} {n}" for verdict, n in c["per_verdict"].items())
            lines.append(f"| {c['id']}: {c['text']} | **{c['pooled']['verdict']}** | {c['pooled']['evidence']} | "
                         f"{c['per_realisation'][0]} | {tally} | {c['flips']} of {r} |")
        lines.append("")
    return "\n".join(lines)
