"""The ``lstm-ar`` command's arguments: the parsers, their types and the checks before a run.

``build_parser`` makes the whole command (``reproduce``, ``run NAME``, ``study``, ``diagnose``,
``bench SUITE``); ``add_user_options`` the options of the two commands on a user's own series;
``experiment_parser`` the stand-alone parser of one experiment (``experiments/*.py``). Both add
the same options (``add_run_options``). Every value argparse can check is checked by its type
(``positive_int``, ``seed_count``, ``non_negative_int``, ``root_seed``); ``check_arguments`` checks
the rest (``--only`` names, the process flags, ``--out``) before anything is computed. A bad value exits
with status 2 and a message naming it and what is valid. Running the parsed command is
``lstm_ar.cli``'s job.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pathlib
from collections.abc import Callable, Iterable, Mapping

from lstm_ar.runtime import compile_cache
from lstm_ar.runtime.distributed import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID
from lstm_ar.runtime.sweep import DEFAULT_LANES
from lstm_ar.scenarios import EXPERIMENTS, FOLLOW_UPS, REPRODUCE, Experiment
from lstm_ar.study.scenario import Scenario

PROG = "lstm-ar"
QUICK_SEEDS = 8
ROOT_SEEDS = 2**32  # a root seed is a uint32: jax.random.key(root_seed)
BENCH_SUITES = ("rollout", "train", "sequence", "tune_lanes")

Catalogue = Mapping[str, Callable[[bool], Scenario]]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1.

    Args:
        text: the command-line word.

    Returns:
        Its value; ``argparse.ArgumentTypeError`` (a usage error naming the value) otherwise.
    """
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer (>= 1)")
    return value


def seed_count(text: str) -> int:
    """argparse type: a number of seeds per variant, in [1, 2**32] (seed indices are uint32).

    Args:
        text: the command-line word.

    Returns:
        Its value; ``argparse.ArgumentTypeError`` (a usage error naming the value) otherwise.
    """
    value = positive_int(text)
    if value > ROOT_SEEDS:
        raise argparse.ArgumentTypeError(f"{value} is outside [1, 2**32] = [1, {ROOT_SEEDS}] (seed indices are uint32)")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0.

    Args:
        text: the command-line word.

    Returns:
        Its value; ``argparse.ArgumentTypeError`` (a usage error naming the value) otherwise.
    """
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (must be >= 0)")
    return value


def root_seed(text: str) -> int:
    """argparse type: a root seed in [0, 2**32) (``jax.random.key`` would reduce others mod 2**32).

    Args:
        text: the command-line word.

    Returns:
        Its value; ``argparse.ArgumentTypeError`` (a usage error naming the value) otherwise.
    """
    value = _int(text)
    if not 0 <= value < ROOT_SEEDS:
        raise argparse.ArgumentTypeError(f"{value} is outside [0, 2**32) = [0, {ROOT_SEEDS - 1}]")
    return value


def fraction(text: str) -> float:
    """argparse type: a number in (0, 1).

    Args:
        text: the command-line word.

    Returns:
        Its value; ``argparse.ArgumentTypeError`` (a usage error naming the value) otherwise.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not in (0, 1)")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


class CatalogueParser(argparse.ArgumentParser):
    """A parser whose help ends with its catalogue's scenario names, read only when help is shown.

    ``catalogue`` (None, or a function returning the scenario names) is set after construction;
    a catalogue whose optional dependency is missing says so instead of listing its names.
    """

    catalogue: Callable[[], Iterable[str]] | None = None

    def format_help(self) -> str:
        """argparse's help, then the scenario names (for ``--only``)."""
        text = super().format_help()
        if self.catalogue is not None:
            try:
                text += f"\nscenarios (for --only): {', '.join(self.catalogue())}\n"
            except ImportError as err:  # an optional dependency of the catalogue is missing
                text += f"\nscenarios: cannot be listed ({err})\n"
        return text


def add_run_options(parser: argparse.ArgumentParser, *, default_seeds: int) -> None:
    """The options every experiment takes (``--seeds``, ``--out``, ``--only``, ..., the process group).

    Args:
        parser: the experiment's parser.
        default_seeds: seeds per variant without ``--seeds`` (and without ``--quick``).
    """
    parser.add_argument("--seeds", type=seed_count, default=None,
                        help=f"seeds per variant, 1..2**32 (default {default_seeds}; {QUICK_SEEDS} with --quick)")
    parser.add_argument("--root-seed", type=root_seed, default=0,
                        help="seed i uses fold_in(key(root_seed), i); 0 <= root seed < 2**32 (default 0)")
    parser.add_argument("--chunk", type=positive_int, default=None,
                        help="seeds per step: results are saved and progress shown after each chunk; rounded up "
                             "to a multiple of lanes x devices (default: lanes x devices)")
    parser.add_argument("--lanes", type=positive_int, default=None,
                        help=f"seeds trained at once on each device (default {DEFAULT_LANES}, fewer for smaller "
                             "runs or if the memory budget needs it); changing it changes results by float32 "
                             "rounding only")
    parser.add_argument("--resume", action="store_true",
                        help="reuse the finished chunks a stopped run left in <out>/<scenario>/.chunks "
                             "(an error if they come from a different config, code or root seed)")
    parser.add_argument("--out", default="results",
                        help="output folder (default: results/); locked while the run lasts")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", default=None,
                        help="run only these scenarios (listed at the end)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds, at most 2 epochs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    compile_cache.add_argument(parser)
    parser.add_argument("--cpu-devices", type=positive_int, default=None,
                        help="JAX devices the CPU is split into, each training its own block of --lanes seeds "
                             "(default: one per core, at most one per block, in a single-process run; 1 per "
                             "process in a multi-process one); results do not depend on it unless the memory budget "
                             "per device makes the default lanes shrink (a warning says so); only the CPU backend "
                             "is split")
    group = parser.add_argument_group("multiple processes (hosts); or set JAX_COORDINATOR_ADDRESS, "
                                      "JAX_NUM_PROCESSES, JAX_PROCESS_ID")
    group.add_argument("--coordinator", default=None, help="host:port of process 0")
    group.add_argument("--num-processes", type=positive_int, default=None, help="number of processes")
    group.add_argument("--process-id", type=non_negative_int, default=None,
                       help="this process's id, 0..num-processes-1")
    group.add_argument("--distributed", action="store_true",
                       help="detect the processes from SLURM (srun), Open MPI or a Cloud TPU pod")


def experiment_description(experiment: Experiment, prog: str) -> str:
    """The help text of one experiment's command: its question, two example lines, what it writes.

    Args:
        experiment: the registered experiment (``lstm_ar.scenarios.EXPERIMENTS``).
        prog: the command that runs it, as the user types it (``lstm-ar run context``).

    Returns:
        The description, for a ``RawDescriptionHelpFormatter``.
    """
    return (f"{experiment.question}\n\n"
            f"  {prog}                 # {experiment.default_seeds} seeds per variant -> results/<scenario>/\n"
            f"  {prog} --quick         # smoke run: {QUICK_SEEDS} seeds, at most 2 epochs\n\n"
            f"The scenarios are defined in lstm_ar/scenarios/{experiment.name}.py; each writes "
            f"<out>/<scenario>/{{summary.json,report.md,per_seed.csv,per_seed.npz,*.png}} and <out>/REPORT.md "
            f"indexes every scenario in <out>.")


def _experiment_parser(parser: CatalogueParser, experiment: Experiment) -> CatalogueParser:
    """A registered experiment's subcommand: ``_run_parser`` plus which experiment and parser it is."""
    _run_parser(parser, experiment.scenarios, default_seeds=experiment.default_seeds)
    parser.set_defaults(experiment=experiment.name, parser=parser)
    return parser


def _run_parser(parser: CatalogueParser, catalogue: Catalogue | Callable[[], Iterable[str]], *,
                default_seeds: int) -> CatalogueParser:
    """The run options (``add_run_options``) and the catalogue whose names the help lists."""
    add_run_options(parser, default_seeds=default_seeds)
    parser.catalogue = (lambda: list(catalogue())) if callable(catalogue) else (lambda: list(catalogue))
    return parser


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The ``lstm-ar`` parser: subcommands ``reproduce``, ``run NAME`` and ``bench SUITE``.

    Args:
        prog: the program name shown in usage lines and recorded as the command.

    Returns:
        The parser; parsed arguments carry ``command`` (the subcommand) and, for experiments,
        ``experiment`` (its registry name) and ``parser`` (the subcommand's parser, for errors).
    """
    raw = argparse.RawDescriptionHelpFormatter
    top = CatalogueParser(prog=prog, formatter_class=raw, description=(
        "Why does an autoregressive LSTM forecaster collapse to a single value? Train many seeds of each "
        "model, roll them out, judge the claims.\n\n"
        f"  {prog} reproduce --quick            # a smoke run of the main job (seconds)\n"
        f"  {prog} reproduce                    # the article's three examples, "
        f"{EXPERIMENTS[REPRODUCE].default_seeds} seeds each -> results/\n"
        f"  {prog} run --help                   # the follow-up experiments\n"
        f"  {prog} run context --seeds 64\n"
        f"  {prog} study --csv data.csv --column y   # your own series: which LSTM collapses, and why\n"
        f"  {prog} diagnose model.keras --csv data.csv --column y   # your own Keras model\n"
        f"  {prog} bench rollout --quick        # benchmarks (source checkout only)\n\n"
        f"Compiled programs are kept in JAX's persistent compilation cache (${compile_cache.ENV_DIR}, else the user's "
        f"cache folder, ~/.cache/lstm_ar/jax), so a later run compiles less; {compile_cache.FLAG}, before or after "
        "the subcommand, turns it off."))
    compile_cache.add_argument(top)
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=CatalogueParser)

    reproduce = EXPERIMENTS[REPRODUCE]
    _experiment_parser(commands.add_parser(
        REPRODUCE, formatter_class=raw, help=f"{reproduce.question} (default {reproduce.default_seeds} seeds)",
        description=experiment_description(reproduce, f"{prog} {REPRODUCE}")), reproduce)

    run = commands.add_parser("run", formatter_class=raw, help="run a follow-up experiment (run --help lists them)",
                              description=f"Run one follow-up experiment (listed below).\n\n"
                                          f"  {prog} run NAME --help   # its options and scenarios")
    names = run.add_subparsers(dest="experiment", metavar="NAME", required=True, parser_class=CatalogueParser)
    for name in FOLLOW_UPS:
        experiment = EXPERIMENTS[name]
        help_line = f"{experiment.question} (default {experiment.default_seeds} seeds)"
        if experiment.custom:  # its own options, declared by its module; the same driver runs it
            module = importlib.import_module(experiment.module)
            sub = names.add_parser(name, formatter_class=raw, help=help_line, description=module.__doc__)
            module.add_arguments(sub)
            compile_cache.add_argument(sub)
            sub.set_defaults(experiment=name, parser=sub)
            continue
        _experiment_parser(names.add_parser(
            name, formatter_class=raw, help=help_line,
            description=experiment_description(experiment, f"{prog} run {name}")), experiment)

    add_user_commands(commands, prog)

    report = commands.add_parser(
        "report", formatter_class=raw, help="rewrite a finished run's reports from its per-seed files (no training)",
        description="Rewrite every scenario report of a finished run (summary.json, report.md, figures, REPORT.md) "
                    "from its per_seed.npz files with the current statistics, without training. The run's own "
                    "command, run time, device and code are kept; the rewrite is recorded under 'resummarised'.\n\n"
                    f"  {prog} report context --out experiments/results/context_256")
    report.add_argument("experiment", choices=list(EXPERIMENTS), metavar="NAME",
                        help="the experiment that wrote the run (one with scenarios: reproduce, context, regime, ...)")
    report.add_argument("--out", required=True, help="the run's output folder")
    report.add_argument("--no-plots", action="store_true", help="do not draw the figures again")
    compile_cache.add_argument(report)
    report.set_defaults(parser=report)

    bench = commands.add_parser("bench", formatter_class=raw, help="run a benchmark suite (source checkout only)",
                                description="Run python -m benchmarks.SUITE [ARGS...] from the source checkout "
                                            "(the folder above the lstm_ar package, which holds benchmarks/); "
                                            "benchmarks are not part of an installed package. Relative paths in "
                                            "ARGS are relative to the current folder.\n\n"
                                            f"  {prog} bench rollout --quick\n  {prog} bench train --help")
    compile_cache.add_argument(bench)  # accepted for every subcommand; a benchmark never uses the cache
    bench.add_argument("suite", choices=BENCH_SUITES, metavar="SUITE", help=f"one of: {', '.join(BENCH_SUITES)}")
    extra = bench.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                               help="optional: passed to the benchmark (e.g. --quick, --help)")
    extra.required = False  # a REMAINDER positional counts as required; none is fine (the suite's defaults)
    return top


def experiment_parser(description: str, catalogue: Catalogue | Callable[[], Iterable[str]], *, default_seeds: int,
                      prog: str | None = None) -> argparse.ArgumentParser:
    """A stand-alone parser for one experiment (what ``experiments/*.py`` and ``run_cli`` use).

    Args:
        description: the help text (a script's docstring).
        catalogue: the scenarios (a mapping, or a function returning their names).
        default_seeds: seeds per variant without ``--seeds``.
        prog: the program name (default: from ``sys.argv``).

    Returns:
        The parser.
    """
    parser = CatalogueParser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    return _run_parser(parser, catalogue, default_seeds=default_seeds)


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace, scenarios: Iterable[str],
                    default_seeds: int) -> list[str]:
    """Check what argparse alone cannot, before anything runs; a bad value exits with status 2.

    Fills ``args.seeds`` (``QUICK_SEEDS`` with ``--quick``, else ``default_seeds``).

    Args:
        parser: reports the error (``parser.error``).
        args: the parsed arguments.
        scenarios: the catalogue's scenario names, in order.
        default_seeds: seeds per variant without ``--seeds``.

    Returns:
        The scenario names to run, in the catalogue's order if ``--only`` was not given, else in
        ``--only``'s order (duplicates dropped).
    """
    try:
        valid = list(scenarios)
    except ImportError as err:  # an optional dependency of the catalogue is missing
        parser.error(f"this experiment cannot run here: {err}")
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else default_seeds
    if args.only is not None:
        unknown = [name for name in args.only if name not in valid]
        if unknown:
            parser.error(f"--only: unknown scenario(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    _check_processes(parser, args)
    if not args.out:
        parser.error("--out must name a folder, got ''")
    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():
        parser.error(f"--out {args.out} exists and is not a folder; choose another output folder")
    for parent in out.parents:  # a file where a parent folder should be: cannot be created
        if parent.exists():
            if not parent.is_dir():
                parser.error(f"--out {args.out} cannot be created: {parent} is not a folder")
            break
    return list(dict.fromkeys(args.only)) if args.only is not None else valid


def _check_processes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """All three process flags (or their ``JAX_*`` variables) or none, unless ``--distributed`` detects them."""
    given = {"--coordinator": args.coordinator or os.environ.get(ENV_COORDINATOR) or None,
             "--num-processes": args.num_processes if args.num_processes is not None
             else os.environ.get(ENV_NUM_PROCESSES) or None,
             "--process-id": args.process_id if args.process_id is not None else os.environ.get(ENV_PROCESS_ID) or None}
    for variable in (ENV_NUM_PROCESSES, ENV_PROCESS_ID):
        value = os.environ.get(variable) or None
        if value is not None and not value.strip().lstrip("-").isdigit():
            parser.error(f"the environment variable {variable} must be an integer, got {value!r}")
    if args.num_processes is not None and args.process_id is not None and args.process_id >= args.num_processes:
        parser.error(f"--process-id {args.process_id} must be below --num-processes {args.num_processes}")
    missing = [flag for flag, value in given.items() if value is None]
    if not args.distributed and 0 < len(missing) < len(given):
        parser.error(f"a multi-process run needs all of --coordinator host:port, --num-processes and --process-id "
                     f"(or {ENV_COORDINATOR}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID}); missing: {', '.join(missing)}; "
                     "or --distributed to detect them on SLURM, Open MPI or a TPU pod")
    if args.coordinator is not None and ":" not in args.coordinator:
        parser.error(f"--coordinator must be host:port, got {args.coordinator!r}")


def add_user_options(parser: argparse.ArgumentParser, *, model: bool) -> None:
    """The options of ``study`` and ``diagnose``: the data, the split, the variants, the run.

    Args:
        parser: the subcommand's parser.
        model: True for ``diagnose`` (its window and activations describe the user's model).
    """
    from lstm_ar.user.io import FILLS
    from lstm_ar.user.study import DEFAULT_EPOCHS, DEFAULT_REMEDIES, DEFAULT_WINDOWS, QUICK_EPOCHS, QUICK_SEEDS, REMEDIES

    data = parser.add_argument_group("the series")
    data.add_argument("--csv", "--data", dest="data", metavar="FILE", required=True,
                      help="the series' file: CSV (any delimiter), Parquet (.parquet) or NumPy (.npy)")
    data.add_argument("--column", default=None, help="the series' column (default: the only one besides --time-column; "
                                                     "for a 2-D .npy: 0, 1, ...)")
    data.add_argument("--time-column", default=None,
                      help="the column of dates or times (sorted if out of order; irregular steps are reported)")
    data.add_argument("--fill", choices=FILLS, default=None,
                      help="what to do with missing values (default: refuse them): interpolate linearly, or drop them")
    split = data.add_mutually_exclusive_group()
    split.add_argument("--test-fraction", type=fraction, default=None,
                       help="share of the values held out at the end to judge the rollouts (default 0.2)")
    split.add_argument("--test-from", default=None, metavar="DATE|INDEX",
                       help="hold out every value from this date (or number) of --time-column on; without "
                            "--time-column, from this index on (the first held-out value, counted from 0: the number "
                            "of training values)")
    variants = parser.add_argument_group("the models")
    if model:
        variants.add_argument("--window", type=positive_int, default=None,
                              help="the model's input length (needed for .npz weights, or a model built with "
                                   "Input((None, 1)))")
        variants.add_argument("--activation", default=None,
                              help="the LSTM's activation (.npz weights only; default tanh, Keras's)")
        variants.add_argument("--recurrent-activation", default=None,
                              help="the LSTM's recurrent activation (.npz weights only; default sigmoid)")
        variants.add_argument("--scaling", choices=("raw", "standard", "minmax"), default="raw",
                              help="what the model was trained on: the raw values (default), values standardised "
                                   "or min-max scaled with the training part's statistics")
        variants.add_argument("--no-retrain", action="store_true",
                              help="only diagnose the model; do not retrain its architecture with the remedies")
    else:
        variants.add_argument("--window", default=",".join(map(str, DEFAULT_WINDOWS)), metavar="W[,W...]",
                              help=f"LSTM windows to compare (default {','.join(map(str, DEFAULT_WINDOWS))})")
        variants.add_argument("--units", type=positive_int, default=32, help="LSTM units (default 32)")
        variants.add_argument("--activation", default="tanh", help="LSTM cell activation (default tanh)")
    variants.add_argument("--epochs", type=positive_int, default=None,
                          help=f"training epochs (default {DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    variants.add_argument("--remedies", default=None, metavar="default|none|LIST",
                          help=f"remedies trained beside the {'model' if model else 'windows'}: default "
                               f"({', '.join(DEFAULT_REMEDIES)}; none with --quick), none, or a comma-separated list "
                               f"of {', '.join(list(REMEDIES))} (direct: the direct multi-horizon head, "
                               "the measured cure; with --quick at test-suite size)")
    variants.add_argument("--season", type=positive_int, default=None,
                          help="season length in steps: adds the seasonal naive reference")
    variants.add_argument("--backtests", type=non_negative_int, default=20, metavar="K",
                          help="rolling forecast origins over the held-out part (default 20), where the harness "
                               "supports them")
    run = parser.add_argument_group("the run")
    run.add_argument("--seeds", type=seed_count, default=None,
                     help=f"seeds per variant (default 64; {QUICK_SEEDS} with --quick)")
    run.add_argument("--root-seed", type=root_seed, default=0, help="seed i uses fold_in(key(root_seed), i) (default 0)")
    run.add_argument("--lanes", type=positive_int, default=None, help="seeds trained at once on each device")
    run.add_argument("--out", default="results", help="output folder (default: results/); locked while the run lasts")
    run.add_argument("--name", default=None, help="the report's folder name (default: from the column)")
    run.add_argument("--quick", action="store_true",
                     help=f"smoke run: {QUICK_SEEDS} seeds, {QUICK_EPOCHS} epochs, no remedies unless given")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    compile_cache.add_argument(run)


def add_user_commands(commands, prog: str) -> None:
    """The ``study`` and ``diagnose`` subcommands.

    Args:
        commands: the top parser's subparsers.
        prog: the program name.
    """
    raw = argparse.RawDescriptionHelpFormatter
    study = commands.add_parser(
        "study", formatter_class=raw, help="your own series: train LSTMs and remedies on it, say whether and why they "
                                           "collapse", description=(
            "Train LSTM forecasters (one per --window) and the remedies on one column of your file, roll them out over "
            "the held-out end of it, and judge them against forecasts without an LSTM (persistence, the mean, "
            "seasonal naive, least-squares AR(p) by AIC). The verdict, in plain words, opens the report and is "
            "printed.\n\n"
            f"  {prog} study --csv sales.csv --column units --time-column date --quick\n"
            f"  {prog} study --csv sales.csv --column units --window 1,20,50 --seeds 64 --out results\n\n"
            "Writes <out>/<name>/{summary.json,report.md,per_seed.csv,per_seed.npz,*.png} and <out>/REPORT.md."))
    add_user_options(study, model=False)
    study.set_defaults(parser=study)
    diagnose = commands.add_parser(
        "diagnose", formatter_class=raw, help="your own Keras model: does its rollout collapse, why, and what fixes it",
        description=(
            "Load a Keras 3 .keras file, a legacy .h5 file or an .npz of get_weights() arrays (Input -> LSTM -> "
            "[Dropout] -> Dense(1), one feature), roll it out exactly as Keras would on your series, say whether it "
            "collapses, to what value, how fast and why; then retrain the same architecture across seeds with the "
            "remedies and judge them against the references.\n\n"
            f"  {prog} diagnose model.keras --csv sales.csv --column units --quick\n"
            f"  {prog} diagnose weights.npz --window 20 --csv sales.csv --column units --scaling standard\n\n"
            "Reading .keras/.h5 files needs Keras 3 (pip install 'lstm_ar[keras]'); it runs on the JAX backend."))
    diagnose.add_argument("model", metavar="MODEL", help="a .keras, .h5 or .npz file")
    add_user_options(diagnose, model=True)
    diagnose.set_defaults(parser=diagnose)
