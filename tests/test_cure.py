"""``lstm-ar run cure --quick`` and ``lstm-ar run cause --quick`` end to end, in seconds: every
remedy's code path trains, the report and the per-pair file are written, a rerun reuses the saved
candidates, and bad arguments are refused before any compute."""

from __future__ import annotations

import csv
import json

import pytest

from lstm_ar import cli
from lstm_ar.cli.arguments import build_parser
from lstm_ar.scenarios import cure
from lstm_ar.scenarios.candidates import CANDIDATES, QUICK
from lstm_ar.study.pairs import setting_names


@pytest.fixture(scope="module")
def cure_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cure") / "quick"
    assert cli.main(["run", "cure", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out


def test_cure_quick_writes_every_remedy_row(cure_run):
    summary = json.loads((cure_run / "summary.json").read_text())
    expected = [row for name in QUICK for row in setting_names(name, CANDIDATES[name]).values()]
    assert sorted(summary["rows"]) == sorted(expected)
    assert sorted(summary["frontier"]) == sorted(expected)
    for row in summary["rows"].values():
        assert row["pairs"] == 4 and row["valid_full"]["n"] == 4
        assert 0.0 <= row["beats_best_ar"]["prob_a_better"] <= 1.0
    assert "sample_valid_full" in summary["rows"]["gaussian_residual_w50"]
    with open(cure_run / "pairs.csv") as f:
        lines = list(csv.DictReader(f))
    assert len(lines) == 4 * len(expected)
    report = (cure_run / "report.md").read_text()
    assert "**Goal**" in report and "AR(AIC)" in report
    assert summary["figures"] == ["forest.png", "survival.png", "epoch_loss.png", "rollouts.png"]
    for name in summary["figures"]:
        assert (cure_run / name).stat().st_size > 1000 and f"]({name})" in report


def test_cure_rerun_reuses_saved_candidates(cure_run, capsys):
    before = (cure_run / "pairs.csv").read_text()
    assert cli.main(["run", "cure", "--quick", "--out", str(cure_run)]) == 0
    assert capsys.readouterr().err.count("reusing the saved result") == len(QUICK)
    assert (cure_run / "pairs.csv").read_text() == before


def _close(a, b) -> bool:
    """Equal JSON, numbers to 1e-6 relative: pairs.csv holds 9 significant digits."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_close, a, b))
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return a == pytest.approx(b, rel=1e-6)
    return a == b


def test_cure_report_is_rewritten_from_its_pairs_file_alone(cure_run, tmp_path, monkeypatch):
    """``lstm-ar report cure``: the same tables from pairs.csv and the recorded realisations, no training."""
    import shutil

    from lstm_ar.study import experiment

    copy = tmp_path / "copy"
    shutil.copytree(cure_run, copy, ignore=shutil.ignore_patterns("candidates"))
    monkeypatch.setattr(experiment, "make_train", lambda *a, **k: pytest.fail("trained"))
    assert cli.main(["report", "cure", "--out", str(copy), "--no-plots"]) == 0
    before, after = (json.loads((d / "summary.json").read_text()) for d in (cure_run, copy))
    assert (copy / "report.md").read_text() == (cure_run / "report.md").read_text()
    assert _close(after["rows"], before["rows"]) and after["goal"] == before["goal"]
    assert after["resummarised"]["argv"][1] == "report" and "resummarised" not in before
    lines = (copy / "pairs.csv").read_text().splitlines()
    (copy / "pairs.csv").write_text("\n".join(lines[:-1]) + "\n")  # one pair short: refused, nothing written
    assert cli.main(["report", "cure", "--out", str(copy)]) == 2
    assert json.loads((copy / "summary.json").read_text()) == after


def test_cure_defaults_run_the_answer_and_all_runs_the_search():
    parser = build_parser()
    args = parser.parse_args(["run", "cure"])
    assert cure.check_arguments(parser, args) == list(cure.DEFAULT_CANDIDATES)
    assert (args.seeds, args.realisations) == (16, 4) and args.out.endswith("cure_16x4")
    assert args.lanes is None  # blocks sized to the CPU caches per candidate (search.cache_layout)
    assert {"article_w1_relu", "direct_w50"} <= set(cure.DEFAULT_CANDIDATES) <= set(CANDIDATES)
    args = parser.parse_args(["run", "cure", "--only", "all", "--seeds", "8"])
    assert cure.check_arguments(parser, args) == list(CANDIDATES) and args.out.endswith("cure_8x4")


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--only", "magic"], "unknown candidate"),
    (["--noise", "-1"], "--noise"),
])
def test_cure_refuses_bad_arguments(tmp_path, capsys, argv, message):
    assert cli.main(["run", "cure", *argv, "--quick", "--out", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cause_quick_measures_the_formula_and_both_grids(tmp_path):
    out = tmp_path / "cause"
    assert cli.main(["run", "cause", "--quick", "--out", str(out), "--no-progress", "--no-plots"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["windows"] == [1, 5] and summary["noise_levels"] == [0.0, 0.1]
    rho = summary["formula_rho"]
    assert rho[0] > rho[1] and abs(rho[1] - 0.980) < 5e-4
    ols = summary["ar"]["slope1"]
    assert abs(ols[1][0] - rho[1]) < 0.01  # least squares on the article's noise level agrees with the formula
    for family in ("ar", "lstm"):
        assert len(summary[family]["valid_full"]) == 2 and len(summary[family]["valid_full"][0]) == 2
    assert "formula rho" in (out / "report.md").read_text()
    with open(out / "pairs.csv") as f:  # every LSTM pair: 2 windows x 2 levels x 2 seeds x 1 realisation
        pairs = list(csv.DictReader(f))
    assert len(pairs) == 8 and {"rho_end", "valid_full", "collapsed"} <= set(pairs[0])
    # lstm-ar report cause: every table rebuilt from pairs.csv and the recorded draws, no training
    report, cells = (out / "report.md").read_text(), (out / "cells.csv").read_text()
    (out / "report.md").write_text("")
    assert cli.main(["report", "cause", "--out", str(out), "--no-plots"]) == 0
    assert (out / "report.md").read_text() == report and (out / "cells.csv").read_text() == cells
    (out / "pairs.csv").write_text("\n".join((out / "pairs.csv").read_text().splitlines()[:-1]) + "\n")
    assert cli.main(["report", "cause", "--out", str(out)]) == 2  # a pair missing: refused
