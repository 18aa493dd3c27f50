"""Reproduce the seed article's three examples over many seeds and judge each of its claims.

    python experiments/reproduce.py                 # 1024 seeds, all three scenarios -> results/
    python experiments/reproduce.py --seeds 4096 --out results_4096
    python experiments/reproduce.py --quick         # CI smoke run: 8 seeds, at most 2 epochs
    python experiments/reproduce.py --only activation dropout
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from lstm_ar.experiment import run_scenario, summarise
from lstm_ar.report import write_index, write_scenario
from lstm_ar.scenarios import SCENARIOS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=None, help="seeds per variant (default 1024; 8 with --quick)")
    parser.add_argument("--root-seed", type=int, default=0, help="seed i uses fold_in(key(root_seed), i)")
    parser.add_argument("--chunk", type=int, default=256, help="seeds trained at once (default 256)")
    parser.add_argument("--out", default="results", help="output folder (default: results/)")
    parser.add_argument("--only", nargs="+", choices=sorted(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--quick", action="store_true", help="smoke run: 8 seeds, at most 2 epochs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 8 if args.quick else 1024
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    command = "python experiments/reproduce.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    start = time.perf_counter()
    summaries = []
    for name in args.only or list(SCENARIOS):
        scenario = SCENARIOS[name](args.quick)
        result = run_scenario(scenario, args.seeds, root_seed=args.root_seed, chunk=args.chunk,
                              progress=not args.no_progress)
        summary = summarise(result)
        summary["command"] = command.strip()
        out = write_scenario(args.out, result, summary, plots=not args.no_plots)
        summaries.append(summary)
        print(f"\n{scenario.title} ({args.seeds} seeds, {result.runtime_s:.1f} s) -> {out}/report.md")
        for claim in summary["claims"]:
            print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")
    index = write_index(args.out, summaries, command.strip())
    print(f"\nAll reports: {index}  (total {time.perf_counter() - start:.1f} s)")
    return summaries


if __name__ == "__main__":
    main()
