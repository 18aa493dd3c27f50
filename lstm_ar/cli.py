"""The command line shared by every experiment script: parse, run scenarios, write reports.

An experiment script is a docstring, a dict of scenario factories and ``run_cli``. Every script
therefore runs on one device or many (on a CPU, by default one device per core, at most one per
block of seeds: ``distributed.use_cpu_cores``), in one process or many (``--coordinator`` /
``--num-processes`` / ``--process-id``, or ``--distributed`` on SLURM and TPU pods), streams
each finished chunk to ``<out>/<scenario>/.chunks/`` and, with ``--resume``, continues a run that
stopped. The chunk folder is deleted once the scenario's reports are written. In a multi-process
run only process 0 prints verdicts and writes files, after every process has finished computing.
"""

from __future__ import annotations

import argparse
import pathlib
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from lstm_ar.study import distributed
from lstm_ar.study.experiment import ScenarioResult, run_scenario, summarise
from lstm_ar.study.report import write_index, write_scenario
from lstm_ar.study.scenario import Scenario
from lstm_ar.study.sweep import DEFAULT_LANES, default_lanes

QUICK_SEEDS = 8
CHUNKS_DIR = ".chunks"


def parse_args(doc: str, scenarios: Mapping[str, Callable[[bool], Scenario]], default_seeds: int,
               argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds per variant (default {default_seeds}; {QUICK_SEEDS} with --quick)")
    parser.add_argument("--root-seed", type=int, default=0, help="seed i uses fold_in(key(root_seed), i)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="seeds per step: results are saved and progress shown after each chunk; rounded up "
                             "to a multiple of lanes x devices (default: lanes x devices)")
    parser.add_argument("--lanes", type=int, default=None,
                        help=f"seeds trained at once on each device (default {DEFAULT_LANES}, fewer for smaller "
                             "runs or if the memory budget needs it); changing it changes results by float32 "
                             "rounding only")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the finished chunks a stopped run left in <out>/<scenario>/.chunks "
                             "(an error if they come from a different config, code or root seed)")
    parser.add_argument("--out", default="results", help="output folder (default: results/)")
    parser.add_argument("--only", nargs="+", choices=sorted(scenarios), help="run only these scenarios")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds, at most 2 epochs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--cpu-devices", type=int, default=None,
                        help="JAX devices the CPU is split into, each training its own block of --lanes seeds "
                             "(default: one per core, at most one per block, in a single-process run; 1 per "
                             "process in a multi-process one); results do not depend on it unless the memory budget per device "
                             "makes the default lanes shrink (a warning says so); only the CPU backend is split")
    group = parser.add_argument_group("multiple processes (hosts); or set JAX_COORDINATOR_ADDRESS, "
                                      "JAX_NUM_PROCESSES, JAX_PROCESS_ID")
    group.add_argument("--coordinator", default=None, help="host:port of process 0")
    group.add_argument("--num-processes", type=int, default=None, help="number of processes")
    group.add_argument("--process-id", type=int, default=None, help="this process's id, 0..num-processes-1")
    group.add_argument("--distributed", action="store_true",
                       help="detect the processes from SLURM (srun), Open MPI or a Cloud TPU pod")
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else default_seeds
    for name in ("seeds", "chunk", "lanes", "cpu_devices"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.num_processes is not None and args.num_processes < 1:
        parser.error("--num-processes must be >= 1")
    return args


def default_cpu_devices(seeds: int, lanes: int | None, cores: int | None = None) -> int:
    """One CPU device per core, but no more than there are blocks of ``lanes`` seeds: a device
    beyond that would only train padding (each device trains whole blocks)."""
    cores = distributed.available_cores() if cores is None else cores
    blocks = -(-seeds // (lanes or default_lanes(seeds)))
    return max(1, min(cores, blocks))


def run_cli(script: str, doc: str, scenarios: Mapping[str, Callable[[bool], Scenario]], *,
            default_seeds: int, argv: Sequence[str] | None = None, index_title: str = "") -> list[dict]:
    """Run the chosen scenarios, print each verdict, write every report; returns the summaries
    (an empty list on processes other than 0 of a multi-process run)."""
    args = parse_args(doc, scenarios, default_seeds, argv)
    multi = distributed.initialize_distributed(args.coordinator, args.num_processes, args.process_id,
                                               auto=args.distributed)
    if args.cpu_devices is not None:
        distributed.use_cpu_cores(args.cpu_devices)
    elif not multi:
        distributed.use_cpu_cores(default_cpu_devices(args.seeds, args.lanes), warn=False)
    words = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python", script] + [shlex.quote(a) for a in words])
    start = time.perf_counter()
    writer = distributed.is_writer()
    out_dir = pathlib.Path(args.out)
    pending: list[ScenarioResult] = []
    summaries: list[dict] = []
    for name in args.only or list(scenarios):
        scenario = scenarios[name](args.quick)
        result = run_scenario(scenario, args.seeds, root_seed=args.root_seed, chunk=args.chunk, lanes=args.lanes,
                              progress=not args.no_progress, store_dir=out_dir / scenario.name / CHUNKS_DIR,
                              resume=args.resume)
        if result is None:  # not process 0: it only computes
            continue
        if multi:  # report after every process is done, so none waits on process 0's writing
            pending.append(result)
        else:
            summaries.append(_report(result, args, command, out_dir))
    if multi:
        distributed.finish()
    for result in pending:
        summaries.append(_report(result, args, command, out_dir))
    if writer:
        index = write_index(args.out, summaries, command, title=index_title)
        print(f"\nAll reports: {index}  (total {time.perf_counter() - start:.1f} s)")
    return summaries


def _report(result: ScenarioResult, args: argparse.Namespace, command: str, out_dir: pathlib.Path) -> dict:
    """Summarise one scenario, write its files, print its verdicts, then drop its stored chunks."""
    scenario = result.scenario
    summary = summarise(result)
    summary["command"] = command
    out = write_scenario(args.out, result, summary, plots=not args.no_plots)
    print(f"\n{scenario.title} ({args.seeds} seeds, {result.runtime_s:.1f} s) -> {out}/report.md")
    for claim in summary["claims"]:
        print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")
    chunks = out_dir / scenario.name / CHUNKS_DIR
    if chunks.is_dir():
        shutil.rmtree(chunks)
    return summary
