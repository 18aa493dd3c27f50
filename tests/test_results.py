"""The committed results under ``experiments/results``: each report comes from the committed code at the commit
its provenance names, on a clean tree (and so does each rewrite of it, ``resummarised``); a cure report's rows
were all computed by the run's own code (no ``--reuse-any-code``)."""

from __future__ import annotations

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
