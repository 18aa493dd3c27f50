"""The ``lstm-ar`` command (also ``python -m lstm_ar``): run the experiments, write their reports.

    lstm-ar reproduce [options]         the article's three examples, 1,024 seeds -> results/
    lstm-ar run NAME [options]          a follow-up experiment (``lstm-ar run --help`` lists them)
    lstm-ar study --csv FILE [options]  your own series: LSTMs and remedies, a verdict in plain words
    lstm-ar diagnose MODEL --csv FILE   your own Keras model: does it collapse, why, what fixes it
    lstm-ar report NAME --out DIR       a finished run's reports rewritten from its per-seed files
    lstm-ar bench SUITE [args]          a benchmark suite: rollout, train, sequence, tune_lanes (source checkout)

Every experiment runs on one device or many (on a CPU, by default one device per core, at most
one per block of seeds: ``distributed.use_cpu_cores``), in one process or many (``--coordinator``
/ ``--num-processes`` / ``--process-id``, or ``--distributed`` on SLURM and TPU pods), streams
each finished chunk to ``<out>/<scenario>/.chunks/`` and, with ``--resume``, continues a run that
stopped. The chunk folder is deleted once the scenario's reports are written. In a multi-process
run only process 0 prints verdicts and writes files, after every process has finished computing.

Before anything is computed, the arguments are checked (a bad one exits with status 2 and a
message) and the output folder is locked for the whole run (``lstm_ar.runtime.fs.OutputLock``): a
second run on the same ``--out`` is refused at once, naming the running one. What only shows
during the run but the user can fix (``USER_ERRORS``: stored chunks of another run or unreadable
ones on ``--resume``, more seeds than memory holds, a path leading out of ``--out``) also exits
with status 2 and a message; ``REPORT.md`` then lists the scenarios finished before it.
``experiments/*.py`` are thin wrappers around ``run_experiment``. A catalogue module that defines
a ``main(argv, prog=...)`` function instead of ``SCENARIOS`` runs its own command line:
``lstm-ar run NAME ...`` calls it with the words after NAME.

``study`` and ``diagnose`` (``lstm_ar.user``) read the user's file and check everything before
any compute: a problem the user can fix (``lstm_ar.user.io.InputError``) exits with status 2
and ``lstm-ar study: error: ...``.

Every subcommand keeps the programs it compiles in JAX's persistent compilation cache
(``lstm_ar.runtime.compile_cache``: the user's cache folder), so a later run on the same machine
loads them instead of compiling again (the same executables: the same results, bit for bit);
``--no-compile-cache``, before or after the subcommand, turns it off. Recorded commands name
paths under the current folder relatively and others with ``~`` for the home folder
(``lstm_ar.runtime.provenance.recorded_words``).

The parsers and the checks before a run are in ``lstm_ar.cli.arguments`` (their names stay
importable from here); this module dispatches the parsed command and runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

from lstm_ar.cli.arguments import BENCH_SUITES as BENCH_SUITES
from lstm_ar.cli.arguments import (
    PROG,
    Catalogue,
    build_parser,
    check_arguments,
    experiment_description,
    experiment_parser,
)
from lstm_ar.cli.arguments import QUICK_SEEDS as QUICK_SEEDS
from lstm_ar.cli.arguments import ROOT_SEEDS as ROOT_SEEDS
from lstm_ar.cli.arguments import CatalogueParser as CatalogueParser
from lstm_ar.cli.arguments import add_run_options as add_run_options
from lstm_ar.cli.arguments import non_negative_int as non_negative_int
from lstm_ar.cli.arguments import positive_int as positive_int
from lstm_ar.cli.arguments import root_seed as root_seed
from lstm_ar.report.index import write_index
from lstm_ar.report.scenario import scenario_folder, write_scenario
from lstm_ar.runtime import compile_cache, distributed
from lstm_ar.runtime.chunk_store import StoreMismatch
from lstm_ar.runtime.fs import FolderLocked, OutputLock, UnsafePath, atomic_write_text, check_inside, remove_tree
from lstm_ar.runtime.memory import NotEnoughMemory
from lstm_ar.runtime.provenance import command_text, provenance, recorded_words
from lstm_ar.runtime.sweep import default_lanes
from lstm_ar.scenarios import Experiment, get_experiment
from lstm_ar.study.experiment import ScenarioResult, run_scenario, scenario_max_lanes, summarise
from lstm_ar.study.scenario import Scenario
from lstm_ar.user.io import InputError

CHUNKS_DIR = ".chunks"
USAGE_ERROR = 2  # argparse's exit status for bad arguments; also a refused output folder
# Errors a run reports as usage errors (exit status 2, "lstm-ar: error: ..."), not tracebacks: stored
# chunks of another run or unreadable ones (--resume), more seeds than memory holds, a path that would
# leave --out, a locked --out. Anything else is a bug and keeps its traceback.
USER_ERRORS = (StoreMismatch, NotEnoughMemory, UnsafePath, FolderLocked)


# ----------------------------------------------------------------------------------------------
# Running


def default_cpu_devices(seeds: int, lanes: int | None, cores: int | None = None,
                        max_lanes: int | None = None) -> int:
    """One CPU device per core, but no more than there are blocks of ``lanes`` seeds: a device
    beyond that would only train padding (each device trains whole blocks).

    Args:
        seeds: seeds per variant.
        lanes: seeds per block (None: the default for ``seeds``, at most ``max_lanes``).
        cores: CPU cores available (default: this process's).
        max_lanes: the smallest block a default ``lanes`` gets in the run (a sequence model's
            ``cache_lanes``: ``lstm_ar.study.experiment.scenario_max_lanes``); None: no cap.

    Returns:
        The number of CPU devices to use.
    """
    cores = distributed.available_cores() if cores is None else cores
    blocks = -(-seeds // (lanes or default_lanes(seeds, max_lanes)))
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
    built = [scenarios[name](args.quick) for name in names]  # numpy only: JAX's devices are not set up yet
    if args.cpu_devices is not None:
        distributed.use_cpu_cores(args.cpu_devices)
    elif not multi:  # enough devices for the run's smallest blocks (a sequence model's cache-sized ones)
        cap = min(scenario_max_lanes(scenario) for scenario in built)
        distributed.use_cpu_cores(default_cpu_devices(args.seeds, args.lanes, max_lanes=cap), warn=False)
    command_line = command_text(command)
    start = time.perf_counter()
    writer = distributed.is_writer()
    out_dir = pathlib.Path(args.out)
    with locked_output(parser, out_dir, command_line, built, multi=multi):
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
    compile_cache.configure(args)
    return execute(parser, args, scenarios, default_seeds=default_seeds,
                   command=recorded_words(["python", script, *words]), index_title=index_title)


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
    root = pathlib.Path(__file__).resolve().parents[2]
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
# Reports rewritten from a finished run's per-seed files


def run_report_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> list:
    """``lstm-ar report NAME --out DIR``: every scenario of experiment NAME with a finished run in DIR,
    its reports rewritten with the current statistics (``lstm_ar.report.resummarise``), no training.

    Args:
        parser: the subcommand's parser (for errors).
        args: its arguments (``experiment``, ``out``, ``no_plots``).
        command: the command line, recorded under ``resummarised``.

    Returns:
        The new summaries.
    """
    from lstm_ar.report.resummarise import rewrite_reports, scenario_as_run, scenario_names

    experiment = get_experiment(args.experiment)
    module = importlib.import_module(experiment.module)
    if not hasattr(module, "SCENARIOS"):
        parser.error(f"{args.experiment} writes its own reports (no per-seed scenario files): run "
                     f"'lstm-ar run {args.experiment}' again instead")
    catalogue = experiment.scenarios()
    names = scenario_names(args.out, catalogue)
    if not names:
        parser.error(f"no finished run of {args.experiment} in {args.out}: none of {', '.join(catalogue)} has a "
                     "summary.json there")
    try:
        built = [scenario_as_run(catalogue[n], pathlib.Path(args.out) / n) for n in names]
        summaries = rewrite_reports(args.out, built, command, title=experiment.title, plots=not args.no_plots)
    except (OSError, ValueError) as err:  # a per-seed file of another scenario, or unreadable
        parser.error(str(err))
    for summary in summaries:
        print(f"{summary['scenario']}: rewritten ({len(summary['claims'])} claims)")
        for claim in summary["claims"]:
            print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")
    return summaries


# ----------------------------------------------------------------------------------------------
# Experiments with their own command line


def run_custom(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> None:
    """``lstm-ar run NAME`` for an experiment that declares its own options (``Experiment.custom``):
    its module checks them (``prepare``: exit 2 before any compute), then the one driver uses the
    CPU devices it wants, locks ``--out`` and runs its body."""
    module = importlib.import_module(get_experiment(args.experiment).module)
    body, devices = module.prepare(parser, args)
    out_dir = _check_out(parser, args.out)
    distributed.use_cpu_cores(max(1, min(distributed.available_cores(), devices)), warn=False)
    command_line = command_text(command)
    with locked_output(parser, out_dir, command_line):
        body(out_dir, command_line)


@contextlib.contextmanager
def locked_output(parser: argparse.ArgumentParser, out_dir: pathlib.Path, command_line: str,
                  scenarios: Sequence[Scenario] = (), *, multi: bool = False):
    """The one driver's frame around every run that writes into ``--out``: lock the folder (and check
    that no scenario or chunk folder would lead out of it; a refusal exits with status 2), run the
    body, and turn the errors a user can fix (``USER_ERRORS``: the stored chunks, the memory, the
    folder) into exit status 2. In a multi-process run only process 0 locks; the others learn
    whether it refused."""
    with contextlib.ExitStack() as stack:
        refusal = _claim_output(stack, out_dir, scenarios, command_line) if distributed.is_writer() else None
        if multi and distributed.broadcast_int(int(refusal is not None)) and refusal is None:
            refusal = "process 0 refused the output folder (its message says why)"
        if refusal is not None:
            parser.error(refusal)
        try:
            yield
        except USER_ERRORS as err:
            parser.error(str(err))


# ----------------------------------------------------------------------------------------------
# Your own series and model (lstm_ar.user)


def _check_out(parser: argparse.ArgumentParser, out: str) -> pathlib.Path:
    """``--out`` must name a folder that exists or can be created (else exit status 2)."""
    if not out:
        parser.error("--out must name a folder, got ''")
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        parser.error(f"--out {out} exists and is not a folder; choose another output folder")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                parser.error(f"--out {out} cannot be created: {parent} is not a folder")
            break
    return path


def _user_defaults(args: argparse.Namespace) -> None:
    """Fill ``--seeds``, ``--epochs`` and ``--remedies`` from ``--quick``."""
    from lstm_ar.user import study

    if args.seeds is None:
        args.seeds = study.QUICK_SEEDS if args.quick else study.FULL_SEEDS
    if args.epochs is None:
        args.epochs = study.QUICK_EPOCHS if args.quick else study.DEFAULT_EPOCHS
    if args.remedies is None:
        args.remedies = "none" if args.quick else "default"


def _warn(parser: argparse.ArgumentParser, notes: Sequence[str]) -> None:
    for note in notes:
        print(f"{parser.prog}: warning: {note}", file=sys.stderr)


def _run_user(parser: argparse.ArgumentParser, args: argparse.Namespace, plan, command: Sequence[str], *,
              extra=None) -> dict:
    """Lock ``--out``, run the plan's study, write its report, print the verdict (shared by study and diagnose).

    ``extra(result, summary) -> (markdown lines, own map or None)`` adds diagnose's section.
    """
    from lstm_ar.user.report import write_user_report
    from lstm_ar.user.study import run_study

    out_dir = _check_out(parser, args.out)
    distributed.use_cpu_cores(default_cpu_devices(args.seeds, args.lanes, max_lanes=scenario_max_lanes(plan.scenario)),
                              warn=False)
    command_line = command_text(command)
    start = time.perf_counter()
    with locked_output(parser, out_dir, command_line, [plan.scenario]):
        variants = len(plan.scenario.variants)
        print(f"Training {variants} variant{'s' * (variants > 1)} x {args.seeds} seeds on {plan.train.size} values, "
              f"judged on {plan.heldout.size} held-out values", file=sys.stderr)
        result, summary = run_study(plan, args.seeds, root_seed=args.root_seed, lanes=args.lanes,
                                    progress=not args.no_progress, store_dir=out_dir / plan.scenario.name / CHUNKS_DIR)
        summary["command"] = command_line
        summary["provenance"] = provenance(command)
        lines, own_map = extra(result, summary) if extra is not None else ([], None)
        out = write_user_report(out_dir, result, summary, plots=not args.no_plots, extra=lines, own_map=own_map)
        chunks = out_dir / plan.scenario.name / CHUNKS_DIR
        if os.path.lexists(chunks):
            remove_tree(chunks, inside=out_dir)
        write_index(out_dir, [summary], command_line, title="lstm_ar: your own series")
    print(f"\nVerdict ({args.seeds} seeds, {time.perf_counter() - start:.1f} s) -> {out}/report.md")
    for sentence in summary["user"]["verdict"]:
        print(f"  - {sentence}")
    return summary


def _load(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The user's series and the number of training values, or exit status 2 with the reason."""
    from lstm_ar.user.io import load_series, split_point

    try:
        data = load_series(args.data, column=args.column, time_column=args.time_column, fill=args.fill)
        return data, split_point(data, test_fraction=args.test_fraction, test_from=args.test_from)
    except InputError as err:
        parser.error(str(err))


def run_study_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> dict:
    """``lstm-ar study``: check everything, then train, judge and report (``lstm_ar.user.study``).

    Args:
        parser: the subcommand's parser (reports bad input: exit status 2).
        args: its parsed arguments.
        command: the command line as words (program first).

    Returns:
        The summary written (with the verdict under ``user``).
    """
    from lstm_ar.user.study import parse_remedies, parse_windows, plan_study

    _user_defaults(args)
    _check_out(parser, args.out)
    data, n_train = _load(parser, args)
    try:
        plan = plan_study(data, n_train, windows=parse_windows(args.window), units=args.units,
                          activation=args.activation, epochs=args.epochs, remedies=parse_remedies(args.remedies),
                          season=args.season, backtest_origins=args.backtests, name=args.name, quick=args.quick)
    except InputError as err:
        parser.error(str(err))
    _warn(parser, plan.notes)
    return _run_user(parser, args, plan, command)


def run_diagnose_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> dict:
    """``lstm-ar diagnose``: load and check the model and the series, then diagnose, retrain and report
    (``lstm_ar.user.diagnose``).

    Args:
        parser: the subcommand's parser (reports bad input: exit status 2).
        args: its parsed arguments.
        command: the command line as words (program first).

    Returns:
        The summary written (the diagnosis under ``user.diagnosis``).
    """
    from lstm_ar.user import diagnose
    from lstm_ar.user.model_file import load_model

    _user_defaults(args)
    out_dir = _check_out(parser, args.out)
    try:
        model = load_model(args.model, window=args.window, activation=args.activation,
                           recurrent_activation=args.recurrent_activation)
    except InputError as err:
        parser.error(str(err))
    data, n_train = _load(parser, args)
    try:
        plan, diagnosis = diagnose.prepare(model, data, n_train, scaling=args.scaling, remedies=args.remedies,
                                           retrain=not args.no_retrain, epochs=args.epochs, season=args.season,
                                           backtest_origins=args.backtests, name=args.name, quick=args.quick)
    except InputError as err:
        parser.error(str(err))
    print(diagnosis.agreement_line, file=sys.stderr)
    if plan is not None:
        _warn(parser, plan.notes)
        return _run_user(parser, args, plan, command, extra=diagnosis.report)
    return _write_diagnosis(parser, args, diagnosis, data, command, out_dir)


def _write_diagnosis(parser: argparse.ArgumentParser, args: argparse.Namespace, diagnosis, data, command: Sequence[str],
                     out_dir: pathlib.Path) -> dict:
    """``diagnose --no-retrain``: the diagnosis alone, in ``<out>/<name>/{summary.json,report.md,learned_map.png}``."""
    from lstm_ar.report.scenario import write_json
    from lstm_ar.user.diagnose import diagnosis_markdown
    from lstm_ar.user.study import scenario_name

    _warn(parser, data.notes)
    command_line = command_text(command)
    name = args.name or scenario_name(data.column)
    summary = {"scenario": name, "command": command_line, "provenance": provenance(command),
               "user": {"diagnosis": diagnosis.summary(), "verdict": diagnosis.lines, "notes": list(data.notes)}}
    try:
        folder = scenario_folder(out_dir, name)
    except ValueError as err:
        parser.error(str(err))
    with locked_output(parser, out_dir, command_line):
        folder.mkdir(parents=True, exist_ok=True)
        own = diagnosis.own_map()
        if own is not None and not args.no_plots:
            from lstm_ar.report.answer_figures import plot_cobweb

            plot_cobweb(folder / "learned_map.png", own[0], own[1][None], own[2][None],
                        title="your model: learned map, fixed points and cobweb of its rollout")
        atomic_write_text(folder / "report.md", diagnosis_markdown(diagnosis, command_line))
        write_json(folder / "diagnosis.json", summary)
    print(f"\nVerdict -> {folder}/report.md")
    for sentence in diagnosis.lines:
        print(f"  - {sentence}")
    return summary


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
    command = recorded_words([*prog.split(), *words])
    try:
        args = parser.parse_args(words)
        if args.command == "bench":  # a benchmark runs in its own process, without the cache
            return run_bench(args.suite, [w for w in args.args if w != compile_cache.FLAG])
        compile_cache.configure(args)
        if args.command == "study":
            run_study_command(args.parser, args, command=command)
            return 0
        if args.command == "report":
            run_report_command(args.parser, args, command=command)
            return 0
        if args.command == "diagnose":
            run_diagnose_command(args.parser, args, command=command)
            return 0
        experiment = get_experiment(args.experiment)
        if experiment.custom:
            run_custom(args.parser, args, command=command)
            return 0
        execute(args.parser, args, _LazyCatalogue(experiment), default_seeds=experiment.default_seeds,
                command=command, index_title=experiment.title)
    except SystemExit as exit_:  # argparse: --help (0) or a bad argument (2)
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
