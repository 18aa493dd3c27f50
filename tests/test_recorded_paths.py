"""Recorded commands name no folder of the machine that ran them (``lstm_ar.runtime.provenance.recorded_words``):
a path under the current folder is recorded relative to it, another under the home folder with ``~``;
the command, the experiments with their own command line and the committed reports follow it."""

import json
import pathlib
import re
import subprocess

import pytest

from lstm_ar import cli
from lstm_ar.runtime.provenance import command_text, provenance, recorded_path, recorded_words

ROOT = pathlib.Path(__file__).resolve().parents[1]
CWD, HOME = "/work/repo", "/home/me"


@pytest.mark.parametrize("word, recorded", [
    ("/work/repo/experiments/results/x", "experiments/results/x"),
    ("/work/repo", "."),
    ("/work/repo/", "."),
    ("/work/repo/a/../b", "b"),
    ("/work/repository/x", "/work/repository/x"),  # not under /work/repo
    ("/home/me/runs/x", "~/runs/x"),
    ("/home/me", "~"),
    ("/home/meter/x", "/home/meter/x"),
    ("/tmp/x", "/tmp/x"),
    ("--out=/work/repo/r", "--out=r"),
    ("--out=/home/me/r", "--out=~/r"),
    ("results", "results"),
    ("~/x", "~/x"),
    ("--seeds", "--seeds"),
    ("64", "64"),
])
def test_a_path_is_recorded_relative_to_the_current_folder_or_the_home(word, recorded):
    assert recorded_path(word, cwd=CWD, home=HOME) == recorded


def test_the_current_folder_comes_before_the_home():
    assert recorded_path("/home/me/repo/out", cwd="/home/me/repo", home=HOME) == "out"
    assert recorded_path("/x/y", cwd="/", home="/") == "/x/y"  # a root folder is no base


def test_recording_twice_changes_nothing_and_quotes_the_arguments():
    words = ["lstm-ar", "run", "data", "--out", "/work/repo/a b", "--resume"]
    once = recorded_words(words, cwd=CWD, home=HOME)
    assert once == ["lstm-ar", "run", "data", "--out", "a b", "--resume"]
    assert recorded_words(once, cwd=CWD, home=HOME) == once
    assert command_text(["python -m lstm_ar", "--out", "a b"]) == "python -m lstm_ar --out 'a b'"


def test_provenance_records_the_words_relative(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    record = provenance(["lstm-ar", "reproduce", "--out", str(tmp_path / "results")])
    assert record["argv"] == ["lstm-ar", "reproduce", "--out", "results"]


def test_the_command_records_its_out_folder_relative(monkeypatch, tmp_path):
    """``lstm-ar reproduce --out <absolute path under the current folder>``: every recorder sees the relative one."""
    seen = {}
    monkeypatch.setattr(cli, "execute", lambda parser, args, catalogue, **kw: seen.update(kw))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["reproduce", "--quick", "--out", str(tmp_path / "r"), "--no-compile-cache"]) == 0
    assert seen["command"] == ["lstm-ar", "reproduce", "--quick", "--out", "r", "--no-compile-cache"]


@pytest.mark.parametrize("experiment", ["cause", "cure", "transfer", "realisations"])
def test_the_custom_experiments_record_their_command_relative(experiment, monkeypatch, tmp_path):
    import importlib

    from lstm_ar.runtime import compile_cache

    module = importlib.import_module(f"lstm_ar.scenarios.{experiment}")
    seen = {}
    monkeypatch.setattr(compile_cache, "configure", lambda args: None)
    monkeypatch.setattr(module, "prepare", lambda parser, args: (lambda out, command: seen.setdefault("cmd", command), 1))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", experiment, "--quick", "--out", str(tmp_path / "o")]) == 0
    assert seen["cmd"] == f"lstm-ar run {experiment} --quick --out o"


def _committed(pattern: str) -> list[str]:
    try:
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--", *pattern.split()], capture_output=True,
                                text=True, check=True, timeout=30).stdout.split()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return listed


MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home|tmp|Users)/")


def test_no_committed_report_names_a_folder_of_the_machine_that_ran_it():
    files = _committed("experiments/results README.md docs/findings.md")
    bad = []
    for name in files:
        if not name.endswith((".json", ".md")):
            continue
        text = (ROOT / name).read_text(encoding="utf-8")
        bad += [f"{name}: {m.group(0)}" for m in MACHINE_PATH.finditer(text)]
        if name.endswith(".json"):
            summary = json.loads(text)
            argv = summary.get("provenance", {}).get("argv", []) if isinstance(summary, dict) else []
            bad += [f"{name}: argv {w}" for w in argv if w.startswith("/")]
    assert not bad, bad[:10]
