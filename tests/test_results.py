"""The committed results under ``experiments/results``: each report comes from the committed code at the commit
its provenance names, on a clean tree (and so does each rewrite of it, ``resummarised``); a cure report's rows
were all computed by the run's own code (no ``--reuse-any-code``)."""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).parents[1]
RESULTS = ROOT / "experiments" / "results"
SUMMARIES = sorted(RESULTS.glob("**/summary.json"))


def _history() -> set[str]:
    """Every commit of this checkout's history (full hashes); skips outside a git checkout."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "rev-list", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def problems(name: str, summary: dict, history: set[str]) -> list[str]:
    """What is wrong with a committed summary's provenance (empty: nothing)."""
    bad, found = [], {key: summary[key] for key in ("provenance", "resummarised") if key in summary}
    if "provenance" not in found:
        bad.append(f"{name}: no provenance")
    for key, record in found.items():
        git = record.get("git") or {}
        if git.get("commit") not in history:
            bad.append(f"{name}: {key} names commit {git.get('commit')}, not of this history")
        if git.get("dirty") is not False:
            bad.append(f"{name}: {key} made on a tree with uncommitted changes")
    if summary.get("experiment") == "cure":
        if "--reuse-any-code" in summary.get("command", "").split():
            bad.append(f"{name}: made with --reuse-any-code")
        if other := sorted(r for r, row in summary["rows"].items() if row.get("computed_with_code") != summary["code"]):
            bad.append(f"{name}: rows {other} computed by other code than the run's")
    return bad


def test_results_are_found():
    assert len(SUMMARIES) >= 20 and {p.relative_to(RESULTS).parts[0] for p in SUMMARIES} >= {
        "reproduce_1024", "cure_64x16", "realisations_64x16", "cause_4x2", "transfer_16"}


def test_every_committed_report_names_a_commit_of_this_history_and_a_clean_tree():
    history = _history()
    bad = [line for path in SUMMARIES
           for line in problems(str(path.relative_to(RESULTS)), json.loads(path.read_text()), history)]
    assert not bad, "\n".join(bad)


def test_the_check_finds_each_fault():
    head = next(iter(_history()))
    clean = {"git": {"commit": head, "dirty": False}}
    assert problems("x", {"provenance": clean}, {head}) == []
    assert problems("x", {}, {head}) == ["x: no provenance"]
    assert "not of this history" in problems("x", {"provenance": {"git": {"commit": "0" * 40, "dirty": False}}},
                                             {head})[0]
    assert "uncommitted" in problems("x", {"provenance": clean, "resummarised": {"git": {"commit": head,
                                                                                       "dirty": True}}}, {head})[0]
    cure = {"experiment": "cure", "provenance": clean, "code": "a", "command": "lstm-ar run cure --reuse-any-code",
            "rows": {"r1": {"computed_with_code": "a"}, "r2": {"computed_with_code": "b"}}}
    assert problems("x", cure, {head}) == ["x: made with --reuse-any-code", "x: rows ['r2'] computed by other code "
                                           "than the run's"]


def _close(a, b) -> bool:
    """Equal JSON, numbers to 1e-4 relative: the linear references are refitted, and under the test suite's
    configuration their float32 fits differ from the command line's by about 1e-5."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return a == pytest.approx(b, rel=1e-4, abs=1e-12)
    return a == b


@pytest.mark.parametrize("experiment, name", [("diagnostics", "diagnostics_128")])
def test_a_committed_report_is_rewritten_from_its_per_seed_csv_alone(experiment, name, tmp_path):
    """``lstm-ar report NAME``: per_seed.npz is not committed; from per_seed.csv every table comes back the same
    (report.md, REPORT.md, summary.json but for the rewrite's record, which says it was rewritten), and the
    figures stay as drawn."""
    from lstm_ar import cli

    copy = tmp_path / name
    shutil.copytree(RESULTS / name, copy, ignore=shutil.ignore_patterns("per_seed.npz"))
    assert cli.main(["report", experiment, "--out", str(copy)]) == 0
    for path in sorted((RESULTS / name).glob("**/*")):
        if path.is_file() and path.suffix != ".npz":
            again = copy / path.relative_to(RESULTS / name)
            if path.name == "summary.json":
                summary = json.loads(again.read_text())
                assert summary.pop("resummarised")["argv"][1] == "report"
                committed = json.loads(path.read_text())
                committed.pop("resummarised", None)  # the committed report may itself be a rewrite
                if "sha256" not in committed:  # written before it was recorded: the rewrite adds it
                    assert summary.pop("sha256") == {"per_seed.csv": hashlib.sha256((path.parent / "per_seed.csv")
                                                                                    .read_bytes()).hexdigest()}
                assert _close(summary, committed), path
            else:
                assert again.read_bytes() == path.read_bytes(), path
