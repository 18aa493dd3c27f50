"""The ``lstm-ar`` command: subcommands and their help, bad input refused before any compute, the
output folder locked, reports merged and kept inside ``--out``. One tiny run in all (module fixture)."""

import contextlib
import dataclasses
import importlib.util
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from lstm_ar import cli
from lstm_ar.runtime.fs import OutputLock
from lstm_ar.scenarios import EXPERIMENTS, FOLLOW_UPS
from tests.conftest import compilation_cache as conftest_compilation_cache

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY = ["reproduce", "--quick", "--seeds", "2", "--only", "activation", "--no-progress", "--no-plots"]


@pytest.fixture(scope="module", autouse=True)
def one_variant_activation():
    """The runs here test the command, not the catalogue (tests/test_experiment.py runs the scenario
    as it is): Example 2 with its sigmoid model only and the claim on it, one compile per run."""
    from lstm_ar.scenarios import reproduce

    def activation(quick=False):
        sc = reproduce.activation(quick)
        return dataclasses.replace(sc, variants={"sigmoid": sc.variants["sigmoid"]},
                                   claims=tuple(c for c in sc.claims if getattr(c, "variant", None) == "sigmoid"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(reproduce.SCENARIOS, "activation", activation)
        yield


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
    """JAX's persistent compilation cache in a temporary folder, for this module's runs only: the
    script's run loads the programs the command's run compiled (the same executables, so the same
    bytes either way) instead of compiling them again."""
    with conftest_compilation_cache(tmp_path_factory.mktemp("xla_cache")):
        yield


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if anything would train."""
    def refuse(*args, **kwargs):
        raise AssertionError("computation started although the input is invalid")

    monkeypatch.setattr(cli, "run_scenario", refuse)


def _load_script(name):
    spec = importlib.util.spec_from_file_location(f"script_{name}", ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------------------------------------
# Help


def test_top_level_help_lists_the_subcommands(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: lstm-ar")
    for word in ("reproduce", "run", "study", "diagnose", "bench"):
        assert re.search(rf"^\s+{word}\b", text, re.M), word


def test_run_help_lists_every_follow_up_with_its_question_and_seeds(capsys):
    assert cli.main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in FOLLOW_UPS:
        experiment = EXPERIMENTS[name]
        assert f"{name} {experiment.question} (default {experiment.default_seeds} seeds)" in text


def has_scenarios(name: str) -> bool:
    """Whether the experiment is a catalogue of scenarios (not one with its own ``main``)."""
    import importlib

    return hasattr(importlib.import_module(EXPERIMENTS[name].module), "SCENARIOS")


@pytest.mark.parametrize("name", [n for n in FOLLOW_UPS if has_scenarios(n)])
def test_run_name_help_shows_its_options_and_scenarios(name, capsys):
    assert cli.main(["run", name, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: lstm-ar run {name}")
    assert "--root-seed" in text and "--resume" in text and "--num-processes" in text
    assert f"default {EXPERIMENTS[name].default_seeds}" in text
    scenarios = text.split("scenarios (for --only):")[1].split(", ")
    assert [s.strip() for s in scenarios] == list(EXPERIMENTS[name].scenarios())


def test_python_dash_m_lstm_ar_runs_the_same_command():
    done = subprocess.run([sys.executable, "-m", "lstm_ar", "reproduce", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m lstm_ar reproduce")
    assert "scenarios (for --only): diversity, activation, dropout" in done.stdout


def test_the_scripts_take_the_same_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        _load_script("context").main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: python experiments/context.py") and "--cpu-devices" in text


# ----------------------------------------------------------------------------------------------
# Bad input: exit status 2 and a message, before anything is computed


@pytest.mark.parametrize("words, message", [
    (["reproduce", "--root-seed", "4294967296"], "4294967296 is outside [0, 2**32)"),  # ran root seed 0
    (["reproduce", "--root-seed", "-1"], "-1 is outside [0, 2**32)"),  # equalled 4294967295
    (["reproduce", "--root-seed", "1.5"], "'1.5' is not an integer"),
    (["reproduce", "--seeds", "0"], "--seeds: 0 is not a positive integer"),
    (["reproduce", "--lanes", "0"], "--lanes: 0 is not a positive integer"),
    (["reproduce", "--chunk", "-4"], "--chunk: -4 is not a positive integer"),
    (["run", "context", "--cpu-devices", "0"], "--cpu-devices: 0 is not a positive integer"),
    (["run", "context", "--num-processes", "2", "--process-id", "2"], "--process-id 2 must be below"),
    (["run", "nope"], "invalid choice: 'nope' (choose from " + ", ".join(map(repr, FOLLOW_UPS)) + ")"),
    (["run", "data", "--only", "random_walk", "brownian"], "unknown scenario(s) 'brownian'; valid: training_range,"),
    (["reproduce", "--only", "activation", "Dropout"], "valid: diversity, activation, dropout"),
    # these used to end in a traceback (ValueError from run_seeds / jax.distributed)
    (["reproduce", "--seeds", "5000000000"], "--seeds: 5000000000 is outside [1, 2**32]"),
    (["run", "context", "--num-processes", "2"], "missing: --coordinator, --process-id"),
    (["run", "context", "--coordinator", "localhost:1234"], "missing: --num-processes, --process-id"),
    (["run", "context", "--coordinator", "localhost", "--num-processes", "2", "--process-id", "0"],
     "--coordinator must be host:port"),
])
def test_bad_arguments_exit_2_before_any_compute(words, message, tmp_path, capsys, no_compute):
    assert cli.main([*words, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "out").exists()


def test_a_partial_process_group_from_the_environment_is_refused(tmp_path, monkeypatch, capsys, no_compute):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    assert cli.main([*TINY, "--out", str(tmp_path / "out")]) == 2
    assert "JAX_NUM_PROCESSES must be an integer, got 'two'" in capsys.readouterr().err
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    assert cli.main([*TINY, "--process-id", "0", "--out", str(tmp_path / "out")]) == 2
    assert "missing: --coordinator" in capsys.readouterr().err


def test_an_empty_out_is_refused(tmp_path, monkeypatch, capsys, no_compute):
    """``--out ''`` wrote the reports into the working folder."""
    monkeypatch.chdir(tmp_path)
    assert cli.main([*TINY, "--out", ""]) == 2
    assert "--out must name a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_is_a_file_or_cannot_be_created_is_refused(tmp_path, capsys, no_compute):
    """Used to fail with a traceback after compiling and training."""
    (tmp_path / "file").write_text("not a folder")
    assert cli.main([*TINY, "--out", str(tmp_path / "file")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert cli.main([*TINY, "--out", str(tmp_path / "file" / "sub")]) == 2
    assert f"{tmp_path / 'file'} is not a folder" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "not a folder"


@pytest.mark.parametrize("case", ["root seed 2**32", "root seed -1", "out is a file", "out is locked"])
def test_the_scripts_refuse_bad_input_the_same_way(case, tmp_path, capsys, no_compute):
    """Through ``experiments/reproduce.py``: each of these used to start training."""
    out = tmp_path / "out"
    words = {"root seed 2**32": ["--root-seed", "4294967296"], "root seed -1": ["--root-seed", "-1"]}.get(case, [])
    if case == "out is a file":
        out.write_text("")
    lock = OutputLock(out, command="the first run") if case == "out is locked" else contextlib.nullcontext()
    with lock, pytest.raises(SystemExit) as exit_:
        _load_script("reproduce").main(["--quick", "--seeds", "2", "--only", "activation", "--out", str(out), *words])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert {"root seed 2**32": "4294967296 is outside [0, 2**32)", "root seed -1": "-1 is outside [0, 2**32)",
            "out is a file": "exists and is not a folder", "out is locked": "in use by another run"}[case] in err


def test_a_second_run_on_the_same_out_is_refused_naming_the_first(tmp_path, capsys, no_compute):
    """Two runs on one --out mixed their chunks and reports; the second is now refused at once."""
    out = tmp_path / "out"
    with OutputLock(out, command="lstm-ar reproduce --seeds 4096 (the first run)"):
        assert cli.main([*TINY, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "is in use by another run" in err and "(the first run)" in err and "pid" in err
    assert not any(p.name != ".lock" for p in out.iterdir())


def test_a_symlinked_chunk_folder_is_refused_before_computing(tmp_path, capsys, no_compute):
    """A symlinked <out>/<scenario>/.chunks made the run write, then delete, a folder outside --out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("precious")
    (tmp_path / "out" / "activation").mkdir(parents=True)
    (tmp_path / "out" / "activation" / ".chunks").symlink_to(outside)
    assert cli.main([*TINY, "--out", str(tmp_path / "out")]) == 2
    assert "symlink" in capsys.readouterr().err
    assert [p.name for p in outside.iterdir()] == ["keep"]


def test_a_symlinked_scenario_folder_is_refused_before_computing(tmp_path, capsys, no_compute):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "activation").symlink_to(outside)
    assert cli.main([*TINY, "--out", str(tmp_path / "out")]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert list(outside.iterdir()) == []


# ----------------------------------------------------------------------------------------------
# An experiment with its own options: ``lstm-ar run NAME`` parses them in the one parser tree, and
# the one driver locks --out and runs the body its module's ``prepare`` returns


@pytest.fixture
def custom_experiment(monkeypatch):
    """A registered custom experiment ``fake``: its module declares ``add_arguments`` and ``prepare``."""
    import types

    from lstm_ar import scenarios
    from lstm_ar.cli import arguments as cli_arguments

    calls = []
    module = types.ModuleType("lstm_ar.scenarios.fake")
    module.__doc__ = "The fake experiment."
    module.add_arguments = lambda parser: (parser.add_argument("--x", type=int, required=True),
                                           parser.add_argument("--out", required=True))

    def prepare(parser, args):
        if args.x < 0:
            parser.error("--x must be >= 0")
        return (lambda out, command: calls.append((args.x, out, command))), 1

    module.prepare = prepare
    monkeypatch.setitem(sys.modules, "lstm_ar.scenarios.fake", module)
    monkeypatch.setitem(scenarios.EXPERIMENTS, "fake",
                        scenarios.Experiment("fake", 8, "fake", "Does the fake cure it?", custom=True))
    monkeypatch.setattr(cli_arguments, "FOLLOW_UPS", (*cli_arguments.FOLLOW_UPS, "fake"))
    return calls


def test_run_parses_a_custom_experiment_in_the_one_tree_and_locks_its_folder(custom_experiment, capsys, tmp_path,
                                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "fake", "--x", "1", "--out", "o", "--no-compile-cache"]) == 0
    assert custom_experiment == [(1, pathlib.Path("o"), "lstm-ar run fake --x 1 --out o --no-compile-cache")]
    assert cli.main(["run", "fake", "--x", "-1", "--out", "o"]) == 2  # refused by prepare: the body never runs
    assert "--x must be >= 0" in capsys.readouterr().err and len(custom_experiment) == 1
    from lstm_ar.runtime.fs import OutputLock

    with OutputLock(tmp_path / "o", command="another run"):  # a locked folder: exit 2, the body never runs
        assert cli.main(["run", "fake", "--x", "2", "--out", "o"]) == 2
    assert len(custom_experiment) == 1
    assert cli.main(["run", "fake", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: lstm-ar run fake")
    assert cli.main(["run", "--help"]) == 0
    assert "fake Does the fake cure it? (default 8 seeds)" in " ".join(capsys.readouterr().out.split())


# ----------------------------------------------------------------------------------------------
# bench


def test_bench_runs_the_benchmark_module_from_the_source_checkout(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda command, **kw: calls.append((command, kw)) or 0)
    assert cli.main(["bench", "rollout", "--quick", "--hidden", "32"]) == 0
    (command, kw), = calls
    assert command == [sys.executable, "-m", "benchmarks.rollout", "--quick", "--hidden", "32"]
    assert "cwd" not in kw  # relative paths in the arguments stay the caller's
    assert kw["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)


def test_bench_without_a_suite_names_only_the_suite_as_required(capsys):
    """It said "the following arguments are required: SUITE, args"; ARGS are optional."""
    assert cli.main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: SUITE\n" in err and "args" not in err.lower().split("required")[-1]
    assert cli.main(["bench", "--help"]) == 0
    text = capsys.readouterr().out
    assert "SUITE ..." in text and "ARGS" in text and "optional: passed to the benchmark" in " ".join(text.split())


def test_bench_without_a_source_checkout_says_where_benchmarks_live(monkeypatch, capsys):
    monkeypatch.setattr(cli, "source_checkout", lambda: None)
    assert cli.main(["bench", "train"]) == 2
    assert "benchmarks live in the source checkout" in capsys.readouterr().err
    assert cli.main(["bench", "nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# One tiny run into a folder that already holds another command's scenario and a symlinked report.md


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, compilation_cache):
    base = tmp_path_factory.mktemp("cli")
    out, outside = base / "out", base / "outside.md"
    outside.write_text("precious\n")
    (out / "activation").mkdir(parents=True)
    (out / "activation" / "report.md").symlink_to(outside)
    (out / "diversity").mkdir()
    earlier = {"scenario": "diversity", "title": "Example 1 from before", "seeds": 1024, "root_seed": 0,
               "device": "cpu", "runtime_s": 3.9, "command": "python experiments/reproduce.py",
               "claims": [{"id": "E1-mean", "text": "converges to ~0.5", "verdict": "reproduced", "evidence": ""}]}
    (out / "diversity" / "summary.json").write_text(json.dumps(earlier))
    code = cli.main([*TINY, "--root-seed", "4294967295", "--out", str(out)])
    return code, out, outside


def test_a_run_writes_its_files_and_releases_the_lock(tiny_run):
    code, out, _ = tiny_run
    assert code == 0
    assert sorted(p.name for p in (out / "activation").iterdir()) == ["per_seed.csv", "per_seed.npz", "report.md",
                                                                      "summary.json"]
    assert not (out / ".lock").exists()
    summary = json.loads((out / "activation" / "summary.json").read_text())
    assert summary["root_seed"] == 4294967295 and summary["seeds"] == 2
    assert set(summary["variants"]) == {"sigmoid"} and [c["id"] for c in summary["claims"]] == ["E2-sigmoid-flat"]


def test_a_symlinked_report_md_is_not_followed(tiny_run):
    _, out, outside = tiny_run
    assert outside.read_text() == "precious\n"
    report_md = out / "activation" / "report.md"
    assert not report_md.is_symlink() and report_md.read_text().startswith("# Example 2")


def test_the_index_keeps_the_other_scenarios_in_the_folder(tiny_run):
    """``--only X`` into an existing folder rewrote REPORT.md without the other scenarios."""
    _, out, _ = tiny_run
    text = (out / "REPORT.md").read_text()
    assert "(activation/report.md)" in text and "(diversity/report.md)" in text
    assert "From an earlier run: `python experiments/reproduce.py`, 1024 seeds" in text
    assert "Command: `lstm-ar reproduce --quick --seeds 2 --only activation" in text


def test_the_summary_records_provenance(tiny_run):
    _, out, _ = tiny_run
    summary = json.loads((out / "activation" / "summary.json").read_text())
    record = summary["provenance"]
    assert record["argv"][:2] == ["lstm-ar", "reproduce"] and "--root-seed" in record["argv"]
    assert summary["command"].startswith("lstm-ar reproduce --quick --seeds 2")
    assert set(record["versions"]) == {"jax", "jaxlib", "numpy", "flax", "optax"}
    assert all(isinstance(v, str) for v in record["versions"].values())
    assert record["python"].count(".") == 2
    report_md = (out / "activation" / "report.md").read_text()
    assert "Command: `lstm-ar reproduce --quick --seeds 2" in report_md
    if (ROOT / ".git").is_dir():
        assert re.fullmatch(r"[0-9a-f]{40}", record["git"]["commit"]) and isinstance(record["git"]["dirty"], bool)
        assert f"code at commit `{record['git']['commit'][:12]}`" in report_md


def test_the_script_and_the_command_write_the_same_per_seed_csv(tiny_run, compilation_cache, tmp_path):
    """``python experiments/reproduce.py`` and ``lstm-ar reproduce`` are one code path: same bytes."""
    _, out, _ = tiny_run
    words = [*TINY[1:], "--root-seed", "4294967295", "--out", str(tmp_path / "script")]
    _load_script("reproduce").main(words)
    assert (tmp_path / "script" / "activation" / "per_seed.csv").read_bytes() == \
        (out / "activation" / "per_seed.csv").read_bytes()


# ----------------------------------------------------------------------------------------------
# Errors of the stored chunks, the memory or a later scenario: exit status 2 and a message


DIVERSITY = ["reproduce", "--quick", "--seeds", "2", "--only", "diversity", "--no-progress", "--no-plots"]


def test_an_unreadable_store_on_resume_is_a_usage_error(tmp_path, capsys):
    """A corrupt or foreign chunk store on --resume ended in a traceback (exit 1)."""
    chunks = tmp_path / "out" / "diversity" / ".chunks" / "relu"  # the scenario's one variant
    chunks.mkdir(parents=True)
    (chunks / "manifest.json").write_text("{half a manif")
    assert cli.main([*DIVERSITY, "--resume", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "lstm-ar reproduce: error:" in err and "manifest.json cannot be read" in err and "Traceback" not in err
    assert not (tmp_path / "out" / ".lock").exists()


def test_more_seeds_than_memory_holds_is_a_usage_error(tmp_path, capsys):
    """--seeds 3000000000 raised NotEnoughMemory (before compiling) as a traceback."""
    assert cli.main([*DIVERSITY, "--seeds", "3000000000", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "lstm-ar reproduce: error:" in err and "3000000000" in err


def test_a_bug_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "run_scenario", broken)
    with pytest.raises(KeyError, match="a bug"):
        cli.main([*DIVERSITY, "--out", str(tmp_path / "out")])


def test_report_md_lists_the_scenarios_done_when_a_later_one_fails(tmp_path, monkeypatch, capsys):
    """Scenario 1 was written and its chunks deleted, scenario 2 failed, and REPORT.md never listed scenario 1."""
    from lstm_ar.runtime.chunk_store import StoreMismatch

    def run_scenario(scenario, *args, **kwargs):
        if scenario.name == "dropout":
            raise StoreMismatch("the dropout chunks belong to another run")
        return scenario

    def report(scenario, args, command, record, out_dir):
        summary = {"scenario": scenario.name, "title": scenario.title, "seeds": args.seeds, "root_seed": 0,
                   "device": "cpu", "runtime_s": 1.0, "command": command, "claims": []}
        (out_dir / scenario.name).mkdir(parents=True)
        (out_dir / scenario.name / "summary.json").write_text(json.dumps(summary))
        return summary

    monkeypatch.setattr(cli, "run_scenario", run_scenario)
    monkeypatch.setattr(cli, "_report", report)
    out = tmp_path / "out"
    assert cli.main([*TINY[:4], "--only", "diversity", "dropout", "--no-progress", "--out", str(out)]) == 2
    assert "the dropout chunks belong to another run" in capsys.readouterr().err
    text = (out / "REPORT.md").read_text()
    assert "(diversity/report.md)" in text and "(dropout/report.md)" not in text


def test_a_catalogue_name_that_would_leave_the_folder_is_refused(tmp_path):
    """A variant named '../../../victim' deleted <out>/../victim when its chunk store started."""
    import numpy as np

    from lstm_ar.config import ModelConfig, TrainConfig
    from lstm_ar.study.scenario import Scenario

    victim = tmp_path / "out" / "victim"  # <out>/evil/.chunks/../../../victim with --out tmp/out/x
    victim.mkdir(parents=True)
    (victim / "keep").write_text("precious")
    config = TrainConfig(model=ModelConfig(units=2), epochs=1)

    def evil(quick):
        return Scenario(name="evil", variants={"../../../victim": config}, series=np.sin(np.arange(60.0)))

    with pytest.raises(ValueError, match=r"variant name .* \(no '/', no leading '\.'\), got '\.\./\.\./\.\./victim'"):
        cli.run_cli("evil.py", "", {"evil": evil}, default_seeds=2, argv=["--out", str(tmp_path / "out" / "x")])
    assert (victim / "keep").read_text() == "precious"


def test_report_rewrites_a_finished_run_without_training(tiny_run, tmp_path, capsys, monkeypatch):
    import shutil

    from lstm_ar.study import experiment

    _, out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out / "activation", copy / "activation", symlinks=False, ignore=shutil.ignore_patterns("report.md"))
    before = json.loads((copy / "activation" / "summary.json").read_text())
    monkeypatch.setattr(experiment, "make_train", lambda *a, **k: pytest.fail("trained"))
    assert cli.main(["report", "reproduce", "--out", str(copy), "--no-plots"]) == 0
    after = json.loads((copy / "activation" / "summary.json").read_text())
    assert after["claims"] == before["claims"] and after["resummarised"]["argv"][1] == "report"
    assert "E2-sigmoid-flat" in capsys.readouterr().out and (copy / "REPORT.md").is_file()
    assert cli.main(["report", "cure", "--out", str(copy)]) == 2  # no cure run there (no summary.json)
    assert cli.main(["report", "context", "--out", str(copy)]) == 2  # no run of it there
    assert "no finished run of context" in capsys.readouterr().err


def test_report_refuses_per_seed_files_edited_together_and_accepts_an_old_summary(tiny_run, tmp_path, capsys):
    """per_seed.csv and per_seed.npz edited alike (the same number halved in both) agreed with each other and were
    reported; now summary.json's sha256 of them (written with them) refuses it. A summary without the entry (every
    report committed before it) is still rewritten, and the rewrite records it."""
    import csv
    import hashlib
    import shutil

    import numpy as np

    _, out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out / "activation", copy / "activation", symlinks=False, ignore=shutil.ignore_patterns("report.md"))
    folder = copy / "activation"
    report = ["report", "reproduce", "--out", str(copy), "--no-plots"]
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["sha256"]) == {"per_seed.csv", "per_seed.npz"}
    good = {name: (folder / name).read_bytes() for name in ("per_seed.csv", "per_seed.npz", "summary.json")}
    with np.load(folder / "per_seed.npz") as data:
        arrays = {k: data[k] for k in data.files}
    name = next(k for k in arrays if k.endswith("/final_train_loss"))
    arrays[name] = arrays[name] * 0.5
    np.savez(folder / "per_seed.npz", **arrays)
    with open(folder / "per_seed.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    variant, metric = name.split("/")
    for row in rows:
        if row["variant"] == variant:
            row[metric] = float(arrays[name][int(row["seed"])].astype(np.float64))
    with open(folder / "per_seed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert cli.main(report) == 2
    err = capsys.readouterr().err
    assert "per_seed.csv is not the file this run wrote: its sha256" in err and "Traceback" not in err, err
    for name, data in good.items():
        (folder / name).write_bytes(data)
    del summary["sha256"]
    (folder / "summary.json").write_text(json.dumps(summary))
    assert cli.main(report) == 0
    rewritten = json.loads((folder / "summary.json").read_text())["sha256"]
    assert rewritten["per_seed.csv"] == hashlib.sha256((folder / "per_seed.csv").read_bytes()).hexdigest()
    assert (folder / "per_seed.csv").read_bytes() == good["per_seed.csv"]


def _fake_report(scenario, args, command, record, out_dir):
    summary = {"scenario": scenario.name, "title": scenario.title, "seeds": args.seeds, "root_seed": args.root_seed,
               "device": "cpu", "runtime_s": 1.0, "command": command, "claims": []}
    (out_dir / scenario.name).mkdir(parents=True, exist_ok=True)
    (out_dir / scenario.name / "summary.json").write_text(json.dumps(summary))
    return summary


def test_a_run_stopped_midway_leaves_an_index_marked_incomplete(tmp_path, monkeypatch):
    """Rerun with --root-seed 9 and killed in scenario 2: REPORT.md was the old run's, scenario 2 held seed 0."""
    out, seen = tmp_path / "out", {}
    words = [*TINY[:4], "--only", "diversity", "dropout", "--no-progress", "--out", str(out)]

    def run_scenario(scenario, *args, **kwargs):
        seen[scenario.name] = (out / "REPORT.md").read_text()  # what a kill here would leave
        return scenario

    monkeypatch.setattr(cli, "run_scenario", run_scenario)
    monkeypatch.setattr(cli, "_report", _fake_report)
    assert cli.main(words) == 0
    assert "Incomplete" not in (out / "REPORT.md").read_text()
    assert cli.main([*words, "--root-seed", "9"]) == 0
    before_first, before_second = seen["diversity"], seen["dropout"]
    assert "**Incomplete**" in before_first and "2 of its scenarios are not written yet (diversity, dropout)" \
        in before_first and before_first.count("From an earlier run") == 2
    assert "1 of its scenarios are not written yet (dropout)" in before_second
    mine, earlier = before_second.split("(dropout/report.md)")
    assert "(diversity/report.md)" in mine and "root seed 0" in earlier and "--root-seed 9" not in earlier
    assert "Incomplete" not in (out / "REPORT.md").read_text()


def test_report_takes_the_lock_and_refuses_tampered_files(tiny_run, tmp_path, capsys, monkeypatch):
    """lstm-ar report wrote into a folder another run held; a truncated per_seed.npz or summary.json was a
    traceback; edited per-seed numbers were reported."""
    import shutil

    import numpy as np

    _, out, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out / "activation", copy / "activation", symlinks=False, ignore=shutil.ignore_patterns("report.md"))
    report = ["report", "reproduce", "--out", str(copy), "--no-plots"]
    with OutputLock(copy, command="lstm-ar reproduce --root-seed 3"):
        assert cli.main(report) == 2
    assert "is in use by another run" in capsys.readouterr().err
    npz, summary = copy / "activation" / "per_seed.npz", copy / "activation" / "summary.json"
    good_npz, good_summary = npz.read_bytes(), summary.read_text()
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    name = next(k for k in arrays if k.endswith("/final_train_loss"))
    arrays[name] = arrays[name] * 0.5
    np.savez(npz, **arrays)
    for tamper, message in ((lambda: None, "per_seed.npz and per_seed.csv disagree"),
                            (lambda: npz.write_bytes(good_npz[:200]), "per_seed.npz cannot be read (BadZipFile"),
                            (lambda: summary.write_text(good_summary[:50]), "summary.json is not readable JSON"),
                            (lambda: summary.write_text(json.dumps({**json.loads(good_summary), "seeds": "2"})),
                             "summary.json is not a run's summary (missing or wrong: seeds)")):
        tamper()
        assert cli.main(report) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()[-1]) > 20, err
        npz.write_bytes(good_npz) if "npz" in message else summary.write_text(good_summary)
