"""The ``lstm-ar`` command (also ``python -m lstm_ar``): run the experiments, write their reports.

    lstm-ar reproduce [options]         the article's three examples, 1,024 seeds -> results/
    lstm-ar run NAME [options]          a follow-up experiment (``lstm-ar run --help`` lists them)
    lstm-ar bench rollout|train [args]  a benchmark suite (source checkout only)

Every experiment runs on one device or many (on a CPU, by default one device per core, at most
one per block of seeds: ``distributed.use_cpu_cores``), in one process or many (``--coordinator``
/ ``--num-processes`` / ``--process-id``, or ``--distributed`` on SLURM and TPU pods), streams
each finished chunk to ``<out>/<scenario>/.chunks/`` and, with ``--resume``, continues a run that
stopped. The chunk folder is deleted once the scenario's reports are written. In a multi-process
run only process 0 prints verdicts and writes files, after every process has finished computing.

Before anything is computed, the arguments are checked (a bad one exits with status 2 and a
message) and the output folder is locked for the whole run (``lstm_ar.study.fs.OutputLock``): a
second run on the same ``--out`` is refused at once, naming the running one. What only shows
during the run but the user can fix (``USER_ERRORS``: stored chunks of another run or unreadable
ones on ``--resume``, more seeds than memory holds, a path leading out of ``--out``) also exits
with status 2 and a message; ``REPORT.md`` then lists the scenarios finished before it.
``experiments/*.py`` are thin wrappers around ``run_experiment``.

The parsers and the checks before a run are in ``lstm_ar.cli_arguments`` (their names stay
importable from here); this module dispatches the parsed command and runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from lstm_ar.cli_arguments import BENCH_SUITES as BENCH_SUITES
from lstm_ar.cli_arguments import (
    PROG,
    Catalogue,
    build_parser,
    check_arguments,
    experiment_description,
    experiment_parser,
)
from lstm_ar.cli_arguments import QUICK_SEEDS as QUICK_SEEDS
from lstm_ar.cli_arguments import ROOT_SEEDS as ROOT_SEEDS
from lstm_ar.cli_arguments import CatalogueParser as CatalogueParser
from lstm_ar.cli_arguments import add_run_options as add_run_options
from lstm_ar.cli_arguments import non_negative_int as non_negative_int
from lstm_ar.cli_arguments import positive_int as positive_int
from lstm_ar.cli_arguments import root_seed as root_seed
from lstm_ar.scenarios import Experiment, get_experiment
from lstm_ar.study import distributed
from lstm_ar.study.chunk_store import StoreMismatch
from lstm_ar.study.experiment import ScenarioResult, run_scenario, summarise
from lstm_ar.study.fs import FolderLocked, OutputLock, UnsafePath, check_inside, remove_tree
from lstm_ar.study.memory import NotEnoughMemory
from lstm_ar.study.provenance import provenance
from lstm_ar.study.report import scenario_folder, write_scenario
from lstm_ar.study.report_index import write_index
from lstm_ar.study.scenario import Scenario
from lstm_ar.study.sweep import default_lanes

CHUNKS_DIR = ".chunks"
USAGE_ERROR = 2  # argparse's exit status for bad arguments; also a refused output folder
# Errors a run reports as usage errors (exit status 2, "lstm-ar: error: ..."), not tracebacks: stored
# chunks of another run or unreadable ones (--resume), more seeds than memory holds, a path that would
# leave --out, a locked --out. Anything else is a bug and keeps its traceback.
USER_ERRORS = (StoreMismatch, NotEnoughMemory, UnsafePath, FolderLocked)


# ----------------------------------------------------------------------------------------------
# Running


def default_cpu_devices(seeds: int, lanes: int | None, cores: int | None = None) -> int:
    """One CPU device per core, but no more than there are blocks of ``lanes`` seeds: a device
    beyond that would only train padding (each device trains whole blocks).

    Args:
        seeds: seeds per variant.
        lanes: seeds per block (None: the default for ``seeds``).
        cores: CPU cores available (default: this process's).

    Returns:
        The number of CPU devices to use.
    """
    cores = distributed.available_cores() if cores is None else cores
    blocks = -(-seeds // (lanes or default_lanes(seeds)))
    return max(1, min(cores, blocks))


def execute(parser: argparse.ArgumentParser, args: argparse.Namespace, scenarios: Catalogue, *, default_seeds: int,
            command: Sequence[str], index_title: str = "") -> list[dict]:
    """Check the arguments, lock ``--out``, run the chosen scenarios, print each verdict, write every report.

    Args:
        parser: the experiment's parser (reports bad arguments: exit status 2).
        args: its parsed arguments.
        scenarios: the catalogue: name -> factory ``f(quick) -> Scenario``.
        default_seeds: seeds per variant without ``--seeds``.
        command: the command line as words (program first), recorded in every summary.
        index_title: the heading of ``REPORT.md``.

    Returns:
        The summaries written (an empty list on processes other than 0 of a multi-process run).
        ``USER_ERRORS`` exit with status 2 and a message, after ``REPORT.md`` indexes the
        scenarios already written.
    """
    names = check_arguments(parser, args, scenarios, default_seeds)
    multi = distributed.initialize_distributed(args.coordinator, args.num_processes, args.process_id,
                                               auto=args.distributed)
    if args.cpu_devices is not None:
        distributed.use_cpu_cores(args.cpu_devices)
    elif not multi:
        distributed.use_cpu_cores(default_cpu_devices(args.seeds, args.lanes), warn=False)
    command_line = " ".join(shlex.quote(w) if i else w for i, w in enumerate(command))
    start = time.perf_counter()
    writer = distributed.is_writer()
    out_dir = pathlib.Path(args.out)
    with contextlib.ExitStack() as stack:
        built = [scenarios[name](args.quick) for name in names]
        refusal = _claim_output(stack, out_dir, built, command_line) if writer else None
        if multi and distributed.broadcast_int(int(refusal is not None)) and refusal is None:
            refusal = "process 0 refused the output folder (its message says why)"
        if refusal is not None:
            parser.error(refusal)
        record = provenance(command) if writer else None
        pending: list[ScenarioResult] = []
        summaries: list[dict] = []
        finished = False
        try:
            for scenario in built:
                result = run_scenario(scenario, args.seeds, root_seed=args.root_seed, chunk=args.chunk,
                                      lanes=args.lanes, progress=not args.no_progress,
                                      store_dir=out_dir / scenario.name / CHUNKS_DIR, resume=args.resume)
                if result is None:  # not process 0: it only computes
                    continue
                if multi:  # report after every process is done, so none waits on process 0's writing
                    pending.append(result)
                else:
                    summaries.append(_report(result, args, command_line, record, out_dir))
            if multi:
                distributed.finish()
            for result in pending:
                summaries.append(_report(result, args, command_line, record, out_dir))
            finished = True
        except USER_ERRORS as err:  # the stored chunks, the memory or the folder: the user can fix it
            parser.error(str(err))
        finally:  # REPORT.md lists the scenarios written so far, even if a later one failed
            if writer and (finished or summaries):
                index = write_index(out_dir, summaries, command_line, title=index_title)
                if finished:
                    print(f"\nAll reports: {index}  (total {time.perf_counter() - start:.1f} s)")
    return summaries


def _claim_output(stack: contextlib.ExitStack, out_dir: pathlib.Path, scenarios: Sequence[Scenario],
                  command: str) -> str | None:
    """Lock ``out_dir`` for the run (held by ``stack``) and check that no scenario folder or chunk
    folder would lead outside it; returns why not, or None."""
    try:
        stack.enter_context(OutputLock(out_dir, command=command))
        for scenario in scenarios:
            scenario_folder(out_dir, scenario.name)
            check_inside(out_dir / scenario.name / CHUNKS_DIR, inside=out_dir)
    except (FolderLocked, UnsafePath, ValueError, OSError) as err:
        return str(err)
    return None


def _report(result: ScenarioResult, args: argparse.Namespace, command: str, record: dict | None,
            out_dir: pathlib.Path) -> dict:
    """Summarise one scenario, write its files, print its verdicts, then drop its stored chunks."""
    scenario = result.scenario
    summary = summarise(result)
    summary["command"] = command
    if record is not None:
        summary["provenance"] = record
    out = write_scenario(out_dir, result, summary, plots=not args.no_plots)
    print(f"\n{scenario.title} ({args.seeds} seeds, {result.runtime_s:.1f} s) -> {out}/report.md")
    for claim in summary["claims"]:
        print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")
    chunks = out_dir / scenario.name / CHUNKS_DIR
    if os.path.lexists(chunks):
        remove_tree(chunks, inside=out_dir)
    return summary


def run_cli(script: str, doc: str, scenarios: Catalogue, *, default_seeds: int, argv: Sequence[str] | None = None,
            index_title: str = "") -> list[dict]:
    """Run a catalogue from the command line of a script (``python <script> [options]``).

    Args:
        script: the script's path, shown in the usage line and recorded as ``python <script> ...``.
        doc: the help text.
        scenarios: the catalogue: name -> factory ``f(quick) -> Scenario``.
        default_seeds: seeds per variant without ``--seeds``.
        argv: the arguments (default ``sys.argv[1:]``).
        index_title: the heading of ``REPORT.md``.

    Returns:
        The summaries written (see ``execute``). Bad arguments exit with status 2.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    parser = experiment_parser(doc, scenarios, default_seeds=default_seeds, prog=f"python {script}")
    args = parser.parse_args(words)
    return execute(parser, args, scenarios, default_seeds=default_seeds, command=["python", script, *words],
                   index_title=index_title)


def run_experiment(name: str, argv: Sequence[str] | None = None, *, script: str | None = None,
                   doc: str | None = None) -> list[dict]:
    """Run a registered experiment (``lstm_ar.scenarios.EXPERIMENTS``) from a script's command line.

    An unknown ``name`` raises ValueError listing the registered ones.

    Args:
        name: the experiment (``reproduce``, ``context``, ...).
        argv: the arguments (default ``sys.argv[1:]``).
        script: the script's path (default ``experiments/<name>.py``).
        doc: the help text (default: the experiment's question).

    Returns:
        The summaries written. Bad arguments exit with status 2.
    """
    experiment = get_experiment(name)
    script = script or f"experiments/{name}.py"
    return run_cli(script, doc or experiment_description(experiment, f"python {script}"), _LazyCatalogue(experiment),
                   default_seeds=experiment.default_seeds, argv=argv, index_title=experiment.title)


class _LazyCatalogue(Mapping):
    """An experiment's catalogue, imported on first use (so ``--help`` and bad arguments stay quick)."""

    def __init__(self, experiment: Experiment):
        self.experiment = experiment

    def _get(self) -> Catalogue:
        return self.experiment.scenarios()

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


# ----------------------------------------------------------------------------------------------
# Benchmarks


def source_checkout() -> pathlib.Path | None:
    """The source checkout this package runs from (the folder above ``lstm_ar`` holding ``benchmarks/``), or None.

    Returns:
        The checkout's root folder, or None for an installed package.
    """
    root = pathlib.Path(__file__).resolve().parents[1]
    return root if (root / "benchmarks" / "__init__.py").is_file() else None


def run_bench(suite: str, args: Sequence[str]) -> int:
    """Run ``python -m benchmarks.<suite> <args>`` from the source checkout (put first on ``PYTHONPATH``;
    the working folder stays the caller's, so relative paths in ``args`` mean what they say).

    Args:
        suite: ``rollout`` or ``train``.
        args: arguments for the benchmark.

    Returns:
        The benchmark's exit status; 2 (with a message) when there is no source checkout.
    """
    root = source_checkout()
    if root is None:
        print(f"{PROG} bench: the benchmarks live in the source checkout (benchmarks/ beside lstm_ar/), which this "
              "installed package does not have: clone the repository and run it from there", file=sys.stderr)
        return USAGE_ERROR
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.call([sys.executable, "-m", f"benchmarks.{suite}", *args], env=env)


# ----------------------------------------------------------------------------------------------
# Entry point


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``lstm-ar``: parse the subcommand and run it.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
        prog: the program name (``lstm-ar``; ``python -m lstm_ar`` from ``__main__``).

    Returns:
        The exit status: 0 on success, 2 for bad arguments or a refused output folder, else the
        benchmark's status.
    """
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(prog)
    try:
        args = parser.parse_args(words)
        if args.command == "bench":
            return run_bench(args.suite, args.args)
        experiment = get_experiment(args.experiment)
        execute(args.parser, args, _LazyCatalogue(experiment), default_seeds=experiment.default_seeds,
                command=[*prog.split(), *words], index_title=experiment.title)
    except SystemExit as exit_:  # argparse: --help (0) or a bad argument (2)
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
