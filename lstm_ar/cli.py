"""The command line shared by every experiment script: parse, run scenarios, write reports.

An experiment script is a docstring, a dict of scenario factories and ``run_cli``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from typing import Callable, Mapping, Optional, Sequence

from lstm_ar.experiment import run_scenario, summarise
from lstm_ar.report import write_index, write_scenario
from lstm_ar.scenarios import Scenario

QUICK_SEEDS = 8


def parse_args(doc: str, scenarios: Mapping[str, Callable[[bool], Scenario]], default_seeds: int,
               argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds per variant (default {default_seeds}; {QUICK_SEEDS} with --quick)")
    parser.add_argument("--root-seed", type=int, default=0, help="seed i uses fold_in(key(root_seed), i)")
    parser.add_argument("--chunk", type=int, default=256, help="seeds trained at once (default 256)")
    parser.add_argument("--out", default="results", help="output folder (default: results/)")
    parser.add_argument("--only", nargs="+", choices=sorted(scenarios), help="run only these scenarios")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds, at most 2 epochs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else default_seeds
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    if args.chunk < 1:
        parser.error("--chunk must be >= 1")
    return args


def run_cli(script: str, doc: str, scenarios: Mapping[str, Callable[[bool], Scenario]], *,
            default_seeds: int, argv: Optional[Sequence[str]] = None, index_title: str = "") -> list[dict]:
    """Run the chosen scenarios, print each verdict, write every report; returns the summaries."""
    args = parse_args(doc, scenarios, default_seeds, argv)
    words = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python", script] + [shlex.quote(a) for a in words])
    start = time.perf_counter()
    summaries = []
    for name in args.only or list(scenarios):
        scenario = scenarios[name](args.quick)
        result = run_scenario(scenario, args.seeds, root_seed=args.root_seed, chunk=args.chunk,
                              progress=not args.no_progress)
        summary = summarise(result)
        summary["command"] = command
        out = write_scenario(args.out, result, summary, plots=not args.no_plots)
        summaries.append(summary)
        print(f"\n{scenario.title} ({args.seeds} seeds, {result.runtime_s:.1f} s) -> {out}/report.md")
        for claim in summary["claims"]:
            print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")
    index = write_index(args.out, summaries, command, title=index_title)
    print(f"\nAll reports: {index}  (total {time.perf_counter() - start:.1f} s)")
    return summaries
