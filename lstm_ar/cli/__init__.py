"""The ``lstm-ar`` command (also ``python -m lstm_ar``): run the experiments, write their reports.

    lstm-ar reproduce [options]         the article's three examples, 1,024 seeds -> results/
    lstm-ar run NAME [options]          a follow-up experiment (``lstm-ar run --help`` lists them)
    lstm-ar study --csv FILE [options]  your own series: LSTMs and remedies, a verdict in plain words
    lstm-ar diagnose MODEL --csv FILE   your own Keras model: does it collapse, why, what fixes it
    lstm-ar fix MODEL --csv FILE        your own Keras model: the forecaster to use instead, as forecaster.keras
    lstm-ar report NAME --out DIR       a finished run's reports rewritten from its per-seed files
    lstm-ar bench SUITE [args]          a benchmark suite: rollout, train, sequence, tune_lanes (source checkout)

Arguments are checked (``lstm_ar.cli.arguments``) and ``--out`` locked (``lstm_ar.runtime.fs.OutputLock``) before
any compute; a bad argument, a refused folder and the errors a user can fix (``USER_ERRORS``,
``lstm_ar.user.io.InputError``) exit with status 2 and a message. Runs use every device and process, stream
finished chunks to ``<out>/<scenario>/.chunks/`` (``--resume``; deleted once reported), and only process 0
writes, after all have computed. Compiled programs stay in JAX's persistent cache (``--no-compile-cache``).
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

import numpy as np

from lstm_ar.cli.arguments import (
    PROG,
    Catalogue,
    build_parser,
    check_arguments,
    check_out,
    experiment_description,
    experiment_parser,
)
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
LONG_FIT = 100_000  # training values beyond which the references' fit is announced (18 s per 100,000 measured)
DIAGNOSIS = "diagnosis.json"  # diagnose --no-retrain's summary: the last file of its set
USAGE_ERROR = 2  # argparse's exit status for bad arguments; also a refused output folder
# Errors a run reports as usage errors (exit status 2, "lstm-ar: error: ..."), not tracebacks: stored
# chunks of another run or unreadable ones (--resume), more seeds than memory holds, a path that would
# leave --out, a locked --out. Anything else is a bug and keeps its traceback.
USER_ERRORS = (StoreMismatch, NotEnoughMemory, UnsafePath, FolderLocked)


def default_cpu_devices(seeds: int, lanes: int | None, cores: int | None = None, max_lanes: int | None = None) -> int:
    """One CPU device per core (default: this process's), but no more than blocks of ``lanes`` seeds (a device
    beyond would train padding); ``lanes`` None: the default, at most ``max_lanes`` (``scenario_max_lanes``)."""
    cores = distributed.available_cores() if cores is None else cores
    return max(1, min(cores, -(-seeds // (lanes or default_lanes(seeds, max_lanes)))))


@contextlib.contextmanager
def _usage_errors(parser: argparse.ArgumentParser, errors=InputError):
    """Turn ``errors`` raised in the block into exit status 2 with their message."""
    try:
        yield
    except errors as err:
        parser.error(str(err))


def execute(parser: argparse.ArgumentParser, args: argparse.Namespace, scenarios: Catalogue, *, default_seeds: int,
            command: Sequence[str], index_title: str = "") -> list[dict]:
    """Check the arguments, lock ``--out``, run the chosen scenarios (name -> ``f(quick) -> Scenario``), print
    each verdict, write every report; ``command`` (words) is recorded in every summary. Returns the summaries
    written (none off process 0); ``USER_ERRORS`` exit with status 2 after ``REPORT.md`` indexes those written."""
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
        unwritten = lambda: [s.name for s in built if s.name not in {d["scenario"] for d in summaries}]
        index = lambda: write_index(out_dir, summaries, command_line, title=index_title, pending=unwritten())

        def report(result: ScenarioResult) -> None:
            summaries.append(_report(result, args, command_line, record, out_dir))
            index()  # a run stopped from here on leaves an index saying which scenarios are whose

        if writer:
            index()  # marked incomplete until the last scenario is written
        finished = False
        try:
            for scenario in built:
                result = run_scenario(scenario, args.seeds, root_seed=args.root_seed, chunk=args.chunk,
                                      lanes=args.lanes, progress=not args.no_progress,
                                      store_dir=out_dir / scenario.name / CHUNKS_DIR, resume=args.resume)
                if result is not None:  # None: not process 0, which only computes; with several processes,
                    (pending.append if multi else report)(result)  # report once all are done: none waits on 0
            if multi:
                distributed.finish()
            for result in pending:
                report(result)
            finished = True
        finally:  # REPORT.md lists the scenarios written so far, marked incomplete if a later one failed
            if writer:
                path = index()
                if finished:
                    print(f"\nAll reports: {path}  (total {time.perf_counter() - start:.1f} s)")
    return summaries


def _print_claims(claims: Sequence[dict]) -> None:
    for claim in claims:
        print(f"  [{claim['verdict']:>14}] {claim['id']}: {claim['evidence']}")


def _drop_chunks(out_dir: pathlib.Path, name: str) -> None:
    """Delete a reported scenario's stored chunks (never following a link out of ``out_dir``)."""
    chunks = out_dir / name / CHUNKS_DIR
    if os.path.lexists(chunks):
        remove_tree(chunks, inside=out_dir)


def _report(result: ScenarioResult, args: argparse.Namespace, command: str, record: dict | None,
            out_dir: pathlib.Path) -> dict:
    """Summarise one scenario, write its files, print its verdicts, then drop its stored chunks."""
    summary = summarise(result)
    summary["command"] = command
    if record is not None:
        summary["provenance"] = record
    out = write_scenario(out_dir, result, summary, plots=not args.no_plots)
    print(f"\n{result.scenario.title} ({args.seeds} seeds, {result.runtime_s:.1f} s) -> {out}/report.md")
    _print_claims(summary["claims"])
    _drop_chunks(out_dir, result.scenario.name)
    return summary


def run_cli(script: str, doc: str, scenarios: Catalogue, *, default_seeds: int, argv: Sequence[str] | None = None,
            index_title: str = "") -> list[dict]:
    """Run a catalogue from a script's command line (``python <script> [options]``, recorded so): ``execute``'s."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = experiment_parser(doc, scenarios, default_seeds=default_seeds, prog=f"python {script}")
    args = parser.parse_args(words)
    compile_cache.configure(args)
    return execute(parser, args, scenarios, default_seeds=default_seeds,
                   command=recorded_words(["python", script, *words]), index_title=index_title)


def run_experiment(name: str, argv: Sequence[str] | None = None, *, script: str | None = None,
                   doc: str | None = None) -> list[dict]:
    """Run a registered experiment (an unknown ``name`` is a ValueError listing them) from a script's command line
    (``script``: default ``experiments/<name>.py``; ``doc``: the help, default its question): the summaries."""
    experiment = get_experiment(name)
    script = script or f"experiments/{name}.py"
    return run_cli(script, doc or experiment_description(experiment, f"python {script}"), _LazyCatalogue(experiment),
                   default_seeds=experiment.default_seeds, argv=argv, index_title=experiment.title)


class _LazyCatalogue(Mapping):
    """An experiment's catalogue, imported on first use (so ``--help`` and bad arguments stay quick)."""

    def __init__(self, experiment: Experiment):
        self.experiment = experiment

    def __getitem__(self, key):
        return self.experiment.scenarios()[key]

    def __iter__(self):
        return iter(self.experiment.scenarios())

    def __len__(self) -> int:
        return len(self.experiment.scenarios())


def source_checkout() -> pathlib.Path | None:
    """The source checkout (the folder above ``lstm_ar`` holding ``benchmarks/``), or None when installed."""
    root = pathlib.Path(__file__).resolve().parents[2]
    return root if (root / "benchmarks" / "__init__.py").is_file() else None


def run_bench(suite: str, args: Sequence[str]) -> int:
    """``python -m benchmarks.<suite> <args>`` with the source checkout first on ``PYTHONPATH`` (the working folder
    stays the caller's: relative paths in ``args`` mean what they say): its exit status, 2 without a checkout."""
    root = source_checkout()
    if root is None:
        print(f"{PROG} bench: the benchmarks live in the source checkout (benchmarks/ beside lstm_ar/), which this "
              "installed package does not have: clone the repository and run it from there", file=sys.stderr)
        return USAGE_ERROR
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.call([sys.executable, "-m", f"benchmarks.{suite}", *args], env=env)


def run_report_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> list:
    """``lstm-ar report NAME --out DIR``: the reports of every finished scenario of NAME in DIR rewritten with the
    current statistics (``lstm_ar.report.resummarise``; ``command`` under ``resummarised``): the new summaries."""
    from lstm_ar.report.resummarise import rewrite_reports, scenario_as_run, scenario_names

    experiment = get_experiment(args.experiment)
    module = importlib.import_module(experiment.module)
    if hasattr(module, "resummarise"):  # a custom experiment that rewrites its own report from its per-seed file
        if not (pathlib.Path(args.out) / "summary.json").is_file():
            parser.error(f"no finished run of {args.experiment} in {args.out}: no summary.json there")
        with locked_output(parser, pathlib.Path(args.out), command_text(command)), \
                _usage_errors(parser, (OSError, ValueError, KeyError)):
            summary = module.resummarise(pathlib.Path(args.out), command_text(command))
        print(f"{args.experiment}: {pathlib.Path(args.out) / 'report.md'} rewritten from its per-seed file")
        return [summary]
    if not hasattr(module, "SCENARIOS"):
        parser.error(f"{args.experiment} writes its own reports (no per-seed scenario files): run "
                     f"'lstm-ar run {args.experiment}' again instead")
    catalogue = experiment.scenarios()
    names = scenario_names(args.out, catalogue)
    if not names:
        parser.error(f"no finished run of {args.experiment} in {args.out}: none of {', '.join(catalogue)} has a "
                     "summary.json there")
    with locked_output(parser, pathlib.Path(args.out), command_text(command)), _usage_errors(parser, (OSError, ValueError)):
        # a per-seed file of another scenario, unreadable, truncated or edited (resummarise.load_result)
        built = [scenario_as_run(catalogue[n], pathlib.Path(args.out) / n) for n in names]
        summaries = rewrite_reports(args.out, built, command, title=experiment.title, plots=not args.no_plots)
    for summary in summaries:
        print(f"{summary['scenario']}: rewritten ({len(summary['claims'])} claims)")
        _print_claims(summary["claims"])
    return summaries


def run_custom(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> None:
    """``lstm-ar run NAME`` for an experiment with its own options (``Experiment.custom``): its module checks them
    (``prepare``: exit 2 before any compute), then the driver sets its CPU devices, locks ``--out``, runs its body."""
    body, devices = importlib.import_module(get_experiment(args.experiment).module).prepare(parser, args)
    out_dir = check_out(parser, args.out)
    distributed.use_cpu_cores(max(1, min(distributed.available_cores(), devices)), warn=False)
    command_line = command_text(command)
    with locked_output(parser, out_dir, command_line):
        body(out_dir, command_line)


def _run_catalogue(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> None:
    """``lstm-ar reproduce`` or ``lstm-ar run NAME`` for an experiment of scenarios (``execute``)."""
    experiment = get_experiment(args.experiment)
    execute(parser, args, _LazyCatalogue(experiment), default_seeds=experiment.default_seeds, command=command,
            index_title=experiment.title)


@contextlib.contextmanager
def locked_output(parser: argparse.ArgumentParser, out_dir: pathlib.Path, command_line: str,
                  scenarios: Sequence[Scenario] = (), *, multi: bool = False):
    """The one driver's frame around every run that writes into ``--out``: lock it (no scenario or chunk folder may
    lead out of it), run the body; a refusal and ``USER_ERRORS`` exit with status 2. In a multi-process run only
    process 0 locks; the others learn whether it refused."""
    with contextlib.ExitStack() as stack:
        refusal = None
        if distributed.is_writer():
            try:
                stack.enter_context(OutputLock(out_dir, command=command_line))
                for scenario in scenarios:
                    scenario_folder(out_dir, scenario.name)
                    check_inside(out_dir / scenario.name / CHUNKS_DIR, inside=out_dir)
            except (FolderLocked, UnsafePath, ValueError, OSError) as err:
                refusal = str(err)
        if multi and distributed.broadcast_int(int(refusal is not None)) and refusal is None:
            refusal = "process 0 refused the output folder (its message says why)"
        if refusal is not None:
            parser.error(refusal)
        with _usage_errors(parser, USER_ERRORS):
            yield


def _user_defaults(args: argparse.Namespace) -> None:
    """Fill ``--seeds``, ``--epochs`` and ``--remedies`` from ``--quick``."""
    from lstm_ar.user import study

    for name, quick, full in (("seeds", study.QUICK_SEEDS, study.FULL_SEEDS),
                              ("epochs", study.QUICK_EPOCHS, study.DEFAULT_EPOCHS), ("remedies", "none", "default")):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)


def _warn(parser: argparse.ArgumentParser, notes: Sequence[str]) -> None:
    for note in notes:
        print(f"{parser.prog}: warning: {note}", file=sys.stderr)


def _verdict(head: str, sentences: Sequence[str]) -> None:
    print(f"\nVerdict{head}/report.md")
    for sentence in sentences:
        print(f"  - {sentence}")


def _recommend(parser: argparse.ArgumentParser, args: argparse.Namespace, name: str, train, heldout,
               season: int | None, *, default_none: bool = False):
    """The recommendation's plan (``lstm_ar.user.recommend``) from ``--recipes``, or None (none asked, or a note
    said why not); exit 2 for bad options, before any compute."""
    from lstm_ar.user import recommend
    from lstm_ar.user.recommend import parse_recipes, plan_recommendation

    with _usage_errors(parser):
        recipes = parse_recipes(args.recipes, default_none=default_none)
    if args.export is not None:
        if not recipes:
            parser.error("--export writes the recommended forecaster: it needs --recipes (not none)")
        check_out(parser, args.export)
    if args.ensemble_seeds is None:
        from lstm_ar.user import study

        args.ensemble_seeds = study.QUICK_SEEDS if args.quick else recommend.SEEDS
    if not recipes:
        return None
    rplan, note = plan_recommendation(name, train, heldout, season, recipes, quick=args.quick,
                                      origins=args.backtests or recommend.ORIGINS)
    _warn(parser, [note] if note else [])
    return rplan


def _run_recommendation(args: argparse.Namespace, rplan, summary: dict) -> list[str]:
    """Run the recommendation into ``summary["user"]`` (its section, verdict lines; ``--export``): report lines."""
    from lstm_ar.user import recommend

    print(f"Choosing a forecaster: {len(rplan.test.variants)} recipes x {args.ensemble_seeds} seeds on the validation "
          "tail and the held-out part", file=sys.stderr)
    rec = recommend.run_recommendation(rplan, args.ensemble_seeds, progress=not args.no_progress)
    if rec is None:
        return []
    user = summary["user"]
    user["recommendation"] = section = recommend.section(rec, float(rplan.test.standardisation[1]))
    user["verdict"] += recommend.sentences(section, section["heldout_backtest"]["n_train"],
                                           float(user.get("data", {}).get("explained_one_step", 1.0)))
    if args.export is not None:
        out = pathlib.Path(args.export)
        out.mkdir(parents=True, exist_ok=True)
        paths, sentence = recommend.export(rec, out, root_seed=args.root_seed)
        section["exported"] = [str(p) for p in paths]
        user["verdict"].append(sentence)
        if paths:  # the usage example in the report too
            return [*recommend.markdown(section), f"Written to `{paths[0]}`; to use it:", "", "```python",
                    paths[1].read_text().rstrip(), "```", ""]
    return recommend.markdown(section)


def _run_user(parser: argparse.ArgumentParser, args: argparse.Namespace, plan, command: Sequence[str], *,
              extra=None, rplan=None) -> dict:
    """Lock ``--out``, run the plan's study, write its report, print the verdict (study and diagnose);
    ``extra(result, summary) -> (markdown lines, own map or None)`` adds diagnose's section; ``rplan``: the
    recommendation's plan."""
    from lstm_ar.user.report import write_user_report
    from lstm_ar.user.study import run_study

    out_dir = check_out(parser, args.out)
    distributed.use_cpu_cores(default_cpu_devices(args.seeds, args.lanes, max_lanes=scenario_max_lanes(plan.scenario)),
                              warn=False)
    command_line = command_text(command)
    start = time.perf_counter()
    with locked_output(parser, out_dir, command_line, [plan.scenario]):
        variants = len(plan.scenario.variants)
        print(f"Training {variants} variant{'s' * (variants > 1)} x {args.seeds} seeds on {plan.train.size} values, "
              f"judged on {plan.heldout.size} held-out values", file=sys.stderr)
        result, summary = run_study(plan, args.seeds, root_seed=args.root_seed, chunk=args.chunk, lanes=args.lanes,
                                    progress=not args.no_progress, store_dir=out_dir / plan.scenario.name / CHUNKS_DIR,
                                    resume=args.resume)
        summary["command"] = command_line
        summary["provenance"] = provenance(command)
        lines, own_map = extra(result, summary) if extra is not None else ([], None)
        if rplan is not None:
            lines = [*lines, *_run_recommendation(args, rplan, summary)]
        out = write_user_report(out_dir, result, summary, plots=not args.no_plots, extra=lines, own_map=own_map)
        _drop_chunks(out_dir, plan.scenario.name)
        write_index(out_dir, [summary], command_line, title="lstm_ar: your own series")
    _verdict(f" ({args.seeds} seeds, {time.perf_counter() - start:.1f} s) -> {out}", summary["user"]["verdict"])
    return summary


def _load(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The user's series and the number of training values, or exit status 2 with the reason."""
    from lstm_ar.user.io import load_series, split_point

    with _usage_errors(parser):
        data = load_series(args.data, column=args.column, time_column=args.time_column, fill=args.fill,
                           decimal=args.decimal, thousands=args.thousands, max_rows=args.max_rows)
        n_train = split_point(data, test_fraction=args.test_fraction, test_from=args.test_from)
    if n_train > LONG_FIT:  # the references' least-squares fits come before the progress bars
        print(f"{parser.prog}: fitting the references on {n_train:,} training values (least squares for every AR "
              f"order; about 20 s per 100,000 values on a 2-core CPU) before training", file=sys.stderr)
    return data, n_train


def run_study_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> dict:
    """``lstm-ar study``: check everything (exit 2), then train, judge, report (``lstm_ar.user.study``): the summary."""
    from lstm_ar.user.study import parse_remedies, parse_windows, plan_study

    _user_defaults(args)
    check_out(parser, args.out)
    data, n_train = _load(parser, args)
    with _usage_errors(parser):
        plan = plan_study(data, n_train, windows=parse_windows(args.window), units=args.units,
                          activation=args.activation, epochs=args.epochs, remedies=parse_remedies(args.remedies),
                          season=args.season, backtest_origins=args.backtests, name=args.name, quick=args.quick)
    _warn(parser, plan.notes)
    rplan = _recommend(parser, args, plan.scenario.name, plan.train, plan.heldout, plan.season,
                       default_none=args.quick)
    return _run_user(parser, args, plan, command, rplan=rplan)


def run_diagnose_command(parser: argparse.ArgumentParser, args: argparse.Namespace, *, command: Sequence[str]) -> dict:
    """``lstm-ar diagnose``: check the model and the series, diagnose, retrain, report (``lstm_ar.user.diagnose``)."""
    from lstm_ar.user import diagnose
    from lstm_ar.user.model_file import load_model
    from lstm_ar.user.study import scenario_name

    fix = args.command == "fix"  # the diagnosis, then the recommended forecaster written as forecaster.keras
    if fix:
        args.no_retrain = True
    _user_defaults(args)
    out_dir = check_out(parser, args.out)
    with _usage_errors(parser):
        model = load_model(args.model, window=args.window, activation=args.activation,
                           recurrent_activation=args.recurrent_activation)
    data, n_train = _load(parser, args)
    name = args.name or scenario_name(data.column)
    if fix and args.export is None:
        args.export = str(out_dir / name)
    with _usage_errors(parser):
        plan, diagnosis = diagnose.prepare(model, data, n_train, scaling=args.scaling, remedies=args.remedies,
                                           retrain=not args.no_retrain, epochs=args.epochs, season=args.season,
                                           backtest_origins=args.backtests, name=args.name, quick=args.quick)
    values = np.asarray(data.values, np.float64)
    rplan = _recommend(parser, args, name, values[:n_train], values[n_train:], args.season, default_none=not fix)
    if fix and rplan is None:
        parser.error("fix needs a recommendation: the series is too short for one (see the warning)")
    print(diagnosis.agreement_line, file=sys.stderr)
    if plan is not None:
        _warn(parser, plan.notes)
        return _run_user(parser, args, plan, command, extra=diagnosis.report, rplan=rplan)
    return _write_diagnosis(parser, args, diagnosis, data, command, out_dir, rplan=rplan)


def _write_diagnosis(parser: argparse.ArgumentParser, args: argparse.Namespace, diagnosis, data, command: Sequence[str],
                     out_dir: pathlib.Path, rplan=None) -> dict:
    """``diagnose --no-retrain``: the diagnosis alone, in ``<out>/<name>/{diagnosis.json,report.md,learned_map.png}``,
    written as a set (a folder without ``diagnosis.json`` was stopped while writing)."""
    from lstm_ar.report.scenario import STAGING, commit_stage, remove_stale_staging, write_json
    from lstm_ar.user.diagnose import diagnosis_markdown
    from lstm_ar.user.study import scenario_name

    _warn(parser, data.notes)
    command_line = command_text(command)
    name = args.name or scenario_name(data.column)
    summary = {"scenario": name, "command": command_line, "provenance": provenance(command),
               "user": {"diagnosis": diagnosis.summary(), "verdict": diagnosis.lines, "notes": list(data.notes)}}
    with _usage_errors(parser, ValueError):
        folder = scenario_folder(out_dir, name)
    with locked_output(parser, out_dir, command_line):
        lines = list(diagnosis.lines)
        if rplan is not None:  # the recommendation's section and verdict lines beside the diagnosis
            summary["user"]["verdict"] = lines
            extra = _run_recommendation(args, rplan, summary)
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(folder, inside=out_dir)
        (stage := folder / f"{STAGING}{os.getpid()}").mkdir()
        try:  # staged, then replacing the old files as a set (diagnosis.json last)
            own = diagnosis.own_map()
            if own is not None and not args.no_plots:
                from lstm_ar.report.answer_figures import plot_cobweb

                plot_cobweb(stage / "learned_map.png", own[0], own[1][None], own[2][None],
                            title="your model: learned map, fixed points and cobweb of its rollout")
            text = diagnosis_markdown(diagnosis, command_line)
            if rplan is not None:
                text = "\n".join([text, "", "Also:", *(f"- {line}" for line in lines[len(diagnosis.lines):]), "",
                                  *extra])
            atomic_write_text(stage / "report.md", text)
            write_json(stage / DIAGNOSIS, summary)
            commit_stage(stage, folder, key=DIAGNOSIS)
        finally:
            if os.path.lexists(stage):
                remove_tree(stage, inside=out_dir)
    _verdict(f" -> {folder}", lines)
    return summary


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """``lstm-ar`` (``prog``: ``python -m lstm_ar`` from ``__main__``): the exit status, 0 on success, 2 for bad
    arguments or a refused output folder, else the benchmark's."""
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(prog)
    command = recorded_words([*prog.split(), *words])
    try:
        args = parser.parse_args(words)
        if args.command == "bench":  # a benchmark runs in its own process, without the cache
            return run_bench(args.suite, [w for w in args.args if w != compile_cache.FLAG])
        compile_cache.configure(args)
        run = {"study": run_study_command, "report": run_report_command, "diagnose": run_diagnose_command,
               "fix": run_diagnose_command}.get(
            args.command) or (run_custom if get_experiment(args.experiment).custom else _run_catalogue)
        run(args.parser, args, command=command)
    except SystemExit as exit_:  # argparse: --help (0) or a bad argument (2)
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
