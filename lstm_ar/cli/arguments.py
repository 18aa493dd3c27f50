"""The ``lstm-ar`` command's arguments: the parsers, their types and the checks before a run.

``build_parser`` makes the whole command, ``experiment_parser`` the stand-alone parser of one experiment
(``experiments/*.py``); both add ``add_run_options``. Argparse types check single values, ``check_arguments``
the rest (``--only`` names, the process flags, ``--out``) before anything is computed: a bad value exits with
status 2 and a message naming it and what is valid. ``lstm_ar.cli`` runs the parsed command.
"""

from __future__ import annotations

import argparse
import functools
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


def _number(text: str, ok: Callable, message: str, kind: Callable = int, what: str = "an integer"):
    """``kind(text)`` if ``ok`` holds for it, else ``argparse.ArgumentTypeError`` (a usage error): ``message``
    formatted with the value, or "``text`` is not ``what``"."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(message.format(value))
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    return _number(text, lambda v: v >= 1, "{} is not a positive integer (>= 1)")


def seed_count(text: str) -> int:
    """argparse type: a number of seeds per variant, in [1, 2**32] (seed indices are uint32)."""
    return _number(text, lambda v: v <= ROOT_SEEDS,
                   f"{{}} is outside [1, 2**32] = [1, {ROOT_SEEDS}] (seed indices are uint32)", positive_int)


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0."""
    return _number(text, lambda v: v >= 0, "{} is negative (must be >= 0)")


def root_seed(text: str) -> int:
    """argparse type: a root seed in [0, 2**32) (``jax.random.key`` would reduce others mod 2**32)."""
    return _number(text, lambda v: 0 <= v < ROOT_SEEDS, f"{{}} is outside [0, 2**32) = [0, {ROOT_SEEDS - 1}]")


def fraction(text: str) -> float:
    """argparse type: a number in (0, 1)."""
    return _number(text, lambda v: 0.0 < v < 1.0, "{:g} is not in (0, 1)", float, "a number")


class CatalogueParser(argparse.ArgumentParser):
    """A parser whose help ends with its ``catalogue``'s scenario names (None, or a function returning them, set
    after construction), read only when help is shown; a missing optional dependency is named instead."""

    catalogue: Callable[[], Iterable[str]] | None = None

    def format_help(self) -> str:
        text = super().format_help()
        if self.catalogue is not None:
            try:
                text += f"\nscenarios (for --only): {', '.join(self.catalogue())}\n"
            except ImportError as err:  # an optional dependency of the catalogue is missing
                text += f"\nscenarios: cannot be listed ({err})\n"
        return text


def _outputs(group) -> None:
    """The options every run shares last: the figures, the progress bar, the compilation cache."""
    group.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    compile_cache.add_argument(group)


def _chunk_options(add) -> None:
    """``--chunk`` and ``--resume``: every command that streams finished chunks to ``<out>/<scenario>/.chunks``."""
    add("--chunk", type=positive_int, default=None, help="seeds per step: results are saved and progress shown after "
        "each chunk; rounded up to a multiple of lanes x devices (default: lanes x devices)")
    add("--resume", action="store_true", help="reuse the finished chunks a stopped run left in "
        "<out>/<scenario>/.chunks (an error if they come from a different config, code or root seed)")


def add_run_options(parser: argparse.ArgumentParser, *, default_seeds: int) -> None:
    """The options every experiment takes (``--seeds``, ``--out``, ``--only``, ..., the process group)."""
    add = parser.add_argument
    add("--seeds", type=seed_count, default=None,
        help=f"seeds per variant, 1..2**32 (default {default_seeds}; {QUICK_SEEDS} with --quick)")
    add("--root-seed", type=root_seed, default=0,
        help="seed i uses fold_in(key(root_seed), i); 0 <= root seed < 2**32 (default 0)")
    _chunk_options(add)
    add("--lanes", type=positive_int, default=None,
        help=f"seeds trained at once on each device (default {DEFAULT_LANES}, fewer for smaller runs or if the memory "
             f"budget needs it); changing it changes results by float32 rounding only")
    add("--out", default="results", help="output folder (default: results/); locked while the run lasts")
    add("--only", nargs="+", metavar="SCENARIO", default=None, help="run only these scenarios (listed at the end)")
    add("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds, at most 2 epochs")
    _outputs(parser)
    add("--cpu-devices", type=positive_int, default=None,
        help="JAX devices the CPU is split into, each training its own block of --lanes seeds (default: one per core, "
             "at most one per block, in a single-process run; 1 per process in a multi-process one); results do not "
             "depend on it unless the memory budget per device makes the default lanes shrink (a warning says so); "
             "only the CPU backend is split")
    add = parser.add_argument_group("multiple processes (hosts); or set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
                                    "JAX_PROCESS_ID").add_argument
    add("--coordinator", default=None, help="host:port of process 0")
    add("--num-processes", type=positive_int, default=None, help="number of processes")
    add("--process-id", type=non_negative_int, default=None, help="this process's id, 0..num-processes-1")
    add("--distributed", action="store_true",
        help="detect the processes from SLURM (srun), Open MPI or a Cloud TPU pod")


def experiment_description(experiment: Experiment, prog: str) -> str:
    """The help text (for a ``RawDescriptionHelpFormatter``) of one experiment's command ``prog`` (as the user
    types it: ``lstm-ar run context``): its question, two example lines, what it writes."""
    return (f"{experiment.question}\n\n"
            f"  {prog}                 # {experiment.default_seeds} seeds per variant -> results/<scenario>/\n"
            f"  {prog} --quick         # smoke run: {QUICK_SEEDS} seeds, at most 2 epochs\n\n"
            f"The scenarios are defined in lstm_ar/scenarios/{experiment.name}.py; each writes "
            f"<out>/<scenario>/{{summary.json,report.md,per_seed.csv,per_seed.npz,*.png}} and <out>/REPORT.md "
            f"indexes every scenario in <out>.")


def _run_parser(parser: CatalogueParser, catalogue: Catalogue | Callable[[], Iterable[str]], *, default_seeds: int,
                experiment: str | None = None) -> CatalogueParser:
    """The run options (``add_run_options``), the catalogue whose names the help lists and, for a registered
    ``experiment``'s subcommand, which experiment and parser it is."""
    add_run_options(parser, default_seeds=default_seeds)
    parser.catalogue = (lambda: list(catalogue())) if callable(catalogue) else (lambda: list(catalogue))
    if experiment is not None:
        parser.set_defaults(experiment=experiment, parser=parser)
    return parser


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The ``lstm-ar`` parser: parsed arguments carry ``command`` (the subcommand) and, for experiments,
    ``experiment`` (its registry name) and ``parser`` (the subcommand's parser, for errors)."""
    raw = functools.partial(CatalogueParser, formatter_class=argparse.RawDescriptionHelpFormatter)
    top = raw(prog=prog, description=(
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
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=raw)

    def experiment_command(subparsers, name: str, command: str) -> None:
        experiment = EXPERIMENTS[name]
        help_line = f"{experiment.question} (default {experiment.default_seeds} seeds)"
        if experiment.custom:  # its own options, declared by its module; the same driver runs it
            module = importlib.import_module(experiment.module)
            sub = subparsers.add_parser(name, help=help_line, description=module.__doc__)
            module.add_arguments(sub)
            compile_cache.add_argument(sub)
            sub.set_defaults(experiment=name, parser=sub)
        else:
            _run_parser(subparsers.add_parser(name, help=help_line, description=experiment_description(
                experiment, f"{prog} {command}")), experiment.scenarios, default_seeds=experiment.default_seeds,
                experiment=name)

    experiment_command(commands, REPRODUCE, REPRODUCE)
    run = commands.add_parser("run", help="run a follow-up experiment (run --help lists them)", description=(
        f"Run one follow-up experiment (listed below).\n\n  {prog} run NAME --help   # its options and scenarios"))
    names = run.add_subparsers(dest="experiment", metavar="NAME", required=True, parser_class=raw)
    for name in FOLLOW_UPS:
        experiment_command(names, name, f"run {name}")
    add_user_commands(commands, prog)

    report = commands.add_parser(
        "report", help="rewrite a finished run's reports from its per-seed files (no training)", description=(
        "Rewrite every scenario report of a finished run (summary.json, report.md, figures, REPORT.md) from its "
        "per_seed.npz files with the current statistics, without training. The run's own command, run time, device "
        "and code are kept; the rewrite is recorded under 'resummarised'.\n\n"
        f"  {prog} report context --out experiments/results/context_256"))
    report.add_argument("experiment", choices=list(EXPERIMENTS), metavar="NAME",
                        help="the experiment that wrote the run (one with scenarios: reproduce, context, regime, ...)")
    report.add_argument("--out", required=True, help="the run's output folder")
    report.add_argument("--no-plots", action="store_true", help="do not draw the figures again")
    compile_cache.add_argument(report)
    report.set_defaults(parser=report)

    bench = commands.add_parser("bench", help="run a benchmark suite (source checkout only)", description=(
        "Run python -m benchmarks.SUITE [ARGS...] from the source checkout (the folder above the lstm_ar package, "
        "which holds benchmarks/); benchmarks are not part of an installed package. Relative paths in ARGS are "
        f"relative to the current folder.\n\n  {prog} bench rollout --quick\n  {prog} bench train --help"))
    compile_cache.add_argument(bench)  # accepted for every subcommand; a benchmark never uses the cache
    bench.add_argument("suite", choices=BENCH_SUITES, metavar="SUITE", help=f"one of: {', '.join(BENCH_SUITES)}")
    extra = bench.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                               help="optional: passed to the benchmark (e.g. --quick, --help)")
    extra.required = False  # a REMAINDER positional counts as required; none is fine (the suite's defaults)
    return top


def experiment_parser(description: str, catalogue: Catalogue | Callable[[], Iterable[str]], *, default_seeds: int,
                      prog: str | None = None) -> argparse.ArgumentParser:
    """A stand-alone parser for one experiment (``experiments/*.py``); ``catalogue``: a mapping or a names function."""
    parser = CatalogueParser(prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    return _run_parser(parser, catalogue, default_seeds=default_seeds)


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace, scenarios: Iterable[str],
                    default_seeds: int) -> list[str]:
    """Check what argparse alone cannot, before anything runs (a bad value exits with status 2); fill ``args.seeds``.
    Returns the scenario names to run: the catalogue's in order, or ``--only``'s in its order (duplicates dropped)."""
    try:
        valid = list(scenarios)
    except ImportError as err:  # an optional dependency of the catalogue is missing
        parser.error(f"this experiment cannot run here: {err}")
    if args.seeds is None:
        args.seeds = QUICK_SEEDS if args.quick else default_seeds
    unknown = [name for name in args.only or () if name not in valid]
    if unknown:
        parser.error(f"--only: unknown scenario(s) {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
    _check_processes(parser, args)
    check_out(parser, args.out)
    return list(dict.fromkeys(args.only)) if args.only is not None else valid


def check_out(parser: argparse.ArgumentParser, out: str) -> pathlib.Path:
    """``--out`` must name a folder that exists or can be created (else exit status 2)."""
    if not out:
        parser.error("--out must name a folder, got ''")
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        parser.error(f"--out {out} exists and is not a folder; choose another output folder")
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():  # a file where a parent folder should be: cannot be created
        parser.error(f"--out {out} cannot be created: {parent} is not a folder")
    return path


def _check_processes(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """All three process flags (or their ``JAX_*`` variables) or none, unless ``--distributed`` detects them."""
    given = {flag: os.environ.get(env) or None if value is None else value for flag, value, env in (
        ("--coordinator", args.coordinator or None, ENV_COORDINATOR),
        ("--num-processes", args.num_processes, ENV_NUM_PROCESSES), ("--process-id", args.process_id, ENV_PROCESS_ID))}
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
    """The options of ``study`` and ``diagnose`` (``model``: its window and activations describe the user's
    model): the data, the split, the variants, the run."""
    from lstm_ar.scenarios.panel import DEFAULT_RECIPES, RECIPES
    from lstm_ar.user.io import DECIMALS, FILLS, MAX_ROWS, THOUSANDS
    from lstm_ar.user.recommend import SEEDS as ENSEMBLE_SEEDS
    from lstm_ar.user.study import (
        DEFAULT_EPOCHS,
        DEFAULT_REMEDIES,
        DEFAULT_WINDOWS,
        FULL_SEEDS,
        QUICK_EPOCHS,
        QUICK_SEEDS,
        REMEDIES,
    )

    data = parser.add_argument_group("the series")
    add = data.add_argument
    add("--csv", "--data", dest="data", metavar="FILE", required=True,
        help="the series' file: CSV (any delimiter), Parquet (.parquet) or NumPy (.npy)")
    add("--column", default=None, help="the series' column (default: the only one besides --time-column; "
                                       "for a 2-D .npy: 0, 1, ...)")
    add("--time-column", default=None,
        help="the column of dates or times (sorted if out of order; irregular steps are reported)")
    add("--fill", choices=FILLS, default=None,
        help="what to do with missing values (default: refuse them; an empty cell or a blank line is one): "
             "interpolate linearly, or drop them")
    add("--decimal", choices=DECIMALS, default=None, help="the decimal mark (default '.', or ',' where only that "
        "reading fits the values, with a note)")
    add("--thousands", choices=THOUSANDS, default=None, help="the thousands separator of the values (default: none; "
        "a value such as 3,035 is refused until --decimal or --thousands says what its comma is)")
    add("--max-rows", type=positive_int, default=MAX_ROWS,
        help=f"refuse a longer series before reading it (default {MAX_ROWS:,})")
    add = data.add_mutually_exclusive_group().add_argument
    add("--test-fraction", type=fraction, default=None,
        help="share of the values held out at the end to judge the rollouts (default 0.2)")
    add("--test-from", default=None, metavar="DATE|INDEX", help="hold out every value from this date (or number) of "
        "--time-column on; without --time-column, from this index on (the first held-out value, counted from 0: the "
        "number of training values)")
    add = parser.add_argument_group("the models").add_argument
    if model:
        add("--window", type=positive_int, default=None,
            help="the model's input length (needed for .npz weights, or a model built with Input((None, 1)))")
        add("--activation", default=None, help="the LSTM's activation (.npz weights only; default tanh, Keras's)")
        add("--recurrent-activation", default=None,
            help="the LSTM's recurrent activation (.npz weights only; default sigmoid)")
        add("--scaling", choices=("raw", "standard", "minmax"), default="raw",
            help="what the model was trained on: the raw values (default), values standardised "
                 "or min-max scaled with the training part's statistics")
        add("--no-retrain", action="store_true",
            help="only diagnose the model; do not retrain its architecture with the remedies")
    else:
        add("--window", default=",".join(map(str, DEFAULT_WINDOWS)), metavar="W[,W...]",
            help=f"LSTM windows to compare (default {','.join(map(str, DEFAULT_WINDOWS))})")
        add("--units", type=positive_int, default=32, help="LSTM units (default 32)")
        add("--activation", default="tanh", help="LSTM cell activation (default tanh)")
    add("--epochs", type=positive_int, default=None,
        help=f"training epochs (default {DEFAULT_EPOCHS}; {QUICK_EPOCHS} with --quick)")
    add("--remedies", default=None, metavar="default|none|LIST",
        help=f"remedies trained beside the {'model' if model else 'windows'}: default ({', '.join(DEFAULT_REMEDIES)}; "
             f"none with --quick), none, or a comma-separated list of {', '.join(list(REMEDIES))} (direct: the direct "
             "multi-horizon head, the measured cure; with --quick at test-suite size)")
    add("--season", type=positive_int, default=None, help="season length in steps: adds the seasonal naive reference")
    add("--backtests", type=non_negative_int, default=20, metavar="K",
        help="rolling forecast origins over the held-out part (default 20), where the harness supports them; the "
             "recommendation's too, on its validation tail and on the held-out part (0: 20)")
    add = parser.add_argument_group("the recommendation").add_argument
    add("--recipes", default=None, metavar="default|none|LIST",
        help="LSTM recipes the recommendation chooses among, with every classical reference, on the last 20%% of the "
             "training part: default (" + ",".join(DEFAULT_RECIPES) + "), none (no recommendation; the default of "
             + ("diagnose" if model else "--quick") + "), or a comma-separated list of " + ", ".join(RECIPES))
    add("--ensemble-seeds", type=seed_count, default=None,
        help=f"models per recipe; the median of their forecasts is the recipe's forecast (default {ENSEMBLE_SEEDS}; "
             f"{QUICK_SEEDS} with --quick)")
    add("--export", default=None, metavar="DIR",
        help="write the recommended forecaster there as forecaster.keras (keras.saving.load_model reads it, no custom "
             "objects) with a usage example")
    run = parser.add_argument_group("the run")
    add = run.add_argument
    add("--seeds", type=seed_count, default=None, help=f"seeds per variant (default {FULL_SEEDS}; {QUICK_SEEDS} with --quick)")
    add("--root-seed", type=root_seed, default=0, help="seed i uses fold_in(key(root_seed), i) (default 0)")
    add("--lanes", type=positive_int, default=None, help="seeds trained at once on each device")
    _chunk_options(add)
    add("--out", default="results", help="output folder (default: results/); locked while the run lasts")
    add("--name", default=None, help="the report's folder name (default: from the column)")
    add("--quick", action="store_true", help=f"smoke run: {QUICK_SEEDS} seeds, {QUICK_EPOCHS} epochs, no remedies "
        "unless given")
    _outputs(run)


def add_user_commands(commands, prog: str) -> None:
    """The ``study`` and ``diagnose`` subcommands, added to the top parser's ``commands``."""
    study = commands.add_parser(
        "study", help="your own series: train LSTMs and remedies on it, say whether and why they collapse",
        description=(
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
        "diagnose", help="your own Keras model: does its rollout collapse, why, and what fixes it",
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
    fix = commands.add_parser(
        "fix", help="your own Keras model: diagnose it, then hand back the forecaster to use instead (.keras)",
        description=(
            "Diagnose your model on your series (as diagnose --no-retrain), then choose a forecaster without peeking "
            "(every classical reference and the LSTM recipes measured on the real-series panel, scored on the last "
            "20% of the training part) and write it as <export>/forecaster.keras, which keras.saving.load_model reads "
            "with no custom objects (raw values in, raw forecasts out), with a usage example.\n\n"
            f"  {prog} fix model.keras --csv sales.csv --column units\n"
            f"  {prog} fix model.keras --csv sales.csv --column units --export fixed/ --quick"))
    fix.add_argument("model", metavar="MODEL", help="a .keras, .h5 or .npz file")
    add_user_options(fix, model=True)
    fix.set_defaults(parser=fix)
