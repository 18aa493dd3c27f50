"""Report files: written whole (temporary name and rename), never through a symbolic link, merged
into one index, with the run's provenance. Small hand-made results; no training."""

import csv
import json
import pathlib
import re
import subprocess
import types

import numpy as np
import pytest

from lstm_ar.report import index as report_index
from lstm_ar.report import scenario as report
from lstm_ar.runtime import provenance
from lstm_ar.study.experiment import ScenarioResult, VariantResult

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "experiments" / "results" / "reproduce_1024" / "activation" / "per_seed.csv"


def _result(name="toy", seeds=3, offset=0.0):
    rng = np.random.default_rng(1)
    variants = {}
    for variant in ("a", "b"):
        metrics = {"tail_std_ratio": rng.lognormal(size=seeds) + offset, "collapsed": np.ones(seeds),
                   "diverged": np.zeros(seeds), "train_mse": rng.uniform(size=seeds)}
        variants[variant] = VariantResult(metrics, rng.standard_normal((seeds, 10)), rng.uniform(size=(seeds, 2)))
    scenario = types.SimpleNamespace(name=name, title=f"Toy {name}", context=np.sin(np.arange(30.0)), truth=None,
                                     key_metric="tail_std_ratio")
    return ScenarioResult(scenario, seeds, 0, variants, 1.5, {})


def _summary(name="toy", seeds=3, command="lstm-ar run toy", root_seed=0, verdict="reproduced"):
    stat = {"median": 1.0, "iqm": 1.0, "ci95": [0.5, 1.5], "n_nonfinite": 0}
    rate = {"value": 1.0, "ci95": [0.4, 1.0]}
    return {"scenario": name, "title": f"Toy {name}", "source": "tests", "seeds": seeds, "root_seed": root_seed,
            "device": "cpu", "jax_version": "0", "runtime_s": 1.5,
            "rollout": {"steps": 10, "modes": {"a": "window", "b": "window"}, "collapse_threshold": 0.1, "scale": 1.0},
            "references": {}, "comparisons": [],
            "variants": {v: {"metrics": {"tail_std_ratio": stat}, "collapse_rate": rate, "diverged_rate": rate}
                         for v in ("a", "b")},
            "claims": [{"id": f"{name}-1", "text": f"claim of {name}", "verdict": verdict, "evidence": "e"}],
            "command": command}


def _leftovers(folder):
    return sorted(p.name for p in pathlib.Path(folder).rglob("*") if p.name.startswith(".") or ".tmp" in p.name)


def test_write_scenario_writes_every_file_and_leaves_no_temporary(tmp_path):
    out = report.write_scenario(tmp_path, _result(), _summary(), plots=False)
    assert out == tmp_path / "toy"
    assert sorted(p.name for p in out.iterdir()) == ["per_seed.csv", "per_seed.npz", "report.md", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["seeds"] == 3
    data = np.load(out / "per_seed.npz")
    assert int(data["root_seed"]) == 0 and data["a/rollouts"].shape == (3, 10)
    assert _leftovers(tmp_path) == []


def test_a_symlinked_report_file_is_replaced_and_its_target_left_alone(tmp_path):
    """Written in place, a symlinked report.md overwrote its target outside the output folder."""
    outside = tmp_path / "outside"
    outside.mkdir()
    targets = {name: outside / name for name in ("report.md", "per_seed.csv", "summary.json")}
    folder = tmp_path / "out" / "toy"
    folder.mkdir(parents=True)
    for name, target in targets.items():
        target.write_text("precious\n")
        (folder / name).symlink_to(target)
    report.write_scenario(tmp_path / "out", _result(), _summary(), plots=False)
    for name, target in targets.items():
        assert target.read_text() == "precious\n", name
        assert not (folder / name).is_symlink()
    assert (folder / "report.md").read_text().startswith("# Toy toy")


def test_a_symlinked_scenario_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "toy").symlink_to(outside)
    with pytest.raises(ValueError, match="symbolic link"):
        report.write_scenario(tmp_path / "out", _result(), _summary(), plots=False)
    assert list(outside.iterdir()) == []


def test_a_failed_write_leaves_the_previous_files_whole(tmp_path, monkeypatch):
    """Files were overwritten one by one: a run killed midway left a new summary.json beside an old
    report.md. Now every file is staged and the set is renamed in, summary.json last."""
    report.write_scenario(tmp_path, _result(), _summary(seeds=3), plots=False)
    before = {p.name: p.read_bytes() for p in (tmp_path / "toy").iterdir()}

    def broken(summary, figures):
        raise OSError("disk full")

    monkeypatch.setattr(report, "markdown", broken)
    with pytest.raises(OSError, match="disk full"):
        report.write_scenario(tmp_path, _result(seeds=4, offset=1.0), _summary(seeds=4), plots=False)
    assert {p.name: p.read_bytes() for p in (tmp_path / "toy").iterdir()} == before
    assert _leftovers(tmp_path) == []


def test_a_writer_that_raises_leaves_no_half_npz(tmp_path, monkeypatch):
    folder = tmp_path / "toy"
    folder.mkdir()

    def half(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez_compressed", half)
    with pytest.raises(OSError, match="No space"):
        report.write_per_seed(folder, _result())
    assert not (folder / "per_seed.npz").exists()
    assert _leftovers(tmp_path) == []


def test_rewriting_drops_the_previous_runs_figures_but_not_other_files(tmp_path):
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "gradient_flow.png").write_bytes(b"old figure")
    (folder / "notes.txt").write_text("mine")
    report.write_scenario(tmp_path, _result(), _summary(), plots=False)
    assert not (folder / "gradient_flow.png").exists()
    assert (folder / "notes.txt").read_text() == "mine"


def test_stale_staging_folders_are_removed(tmp_path):
    stale = tmp_path / "toy" / f"{report.STAGING}12345"
    stale.mkdir(parents=True)
    (stale / "summary.json").write_text("{}")
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    (outside / "keep").write_text("precious")
    (tmp_path / "toy" / f"{report.STAGING}777").symlink_to(outside)
    report.write_scenario(tmp_path, _result(), _summary(), plots=False)
    assert not stale.exists() and _leftovers(tmp_path) == []
    assert (outside / "keep").read_text() == "precious"


def _old_per_seed_csv(path, result):
    """The writer before files were written atomically (the oracle for byte identity)."""
    rows = []
    for name, v in result.variants.items():
        keys = sorted(v.metrics)
        for i in range(result.seeds):
            rows.append({"variant": name, "seed": i, **{k: float(v.metrics[k][i]) for k in keys}})
    fields = ["variant", "seed"] + sorted({k for r in rows for k in r} - {"variant", "seed"})
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def test_per_seed_csv_bytes_are_unchanged(tmp_path):
    result = _result(seeds=5)
    result.variants["a"].metrics["tail_std_ratio"][:3] = [np.nan, np.inf, 1e-30]
    _old_per_seed_csv(tmp_path / "old.csv", result)
    report.write_per_seed(tmp_path, result)
    assert (tmp_path / "per_seed.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


@pytest.mark.skipif(not COMMITTED.is_file(), reason="committed results not in this checkout")
def test_the_committed_per_seed_csv_is_written_back_byte_for_byte(tmp_path):
    raw = COMMITTED.read_bytes()
    rows = list(csv.DictReader(raw.decode().splitlines()))
    keys = [k for k in rows[0] if k not in ("variant", "seed")]
    variants = {}
    for name in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == name]
        metrics = {k: np.array([float(r[k]) for r in mine]) for k in keys}
        variants[name] = VariantResult(metrics, np.zeros((len(mine), 1)), np.zeros((len(mine), 1)))
    result = ScenarioResult(types.SimpleNamespace(name="activation"), len(rows) // len(variants), 0, variants, 0.0)
    assert report.per_seed_csv(result) == raw


def test_the_index_merges_the_scenarios_already_in_the_folder(tmp_path):
    """``--quick --only X`` into a folder rewrote REPORT.md without the other scenarios."""
    report.write_scenario(tmp_path, _result("other"), _summary("other", seeds=1024, command="lstm-ar reproduce"),
                          plots=False)
    report.write_scenario(tmp_path, _result("same"), _summary("same", command="lstm-ar run toy --quick"), plots=False)
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "report.md").write_text("# half")  # a run stopped before its summary.json
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{not json")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    report.write_scenario(outside, _result("linked"), _summary("linked"), plots=False)
    (tmp_path / "linked").symlink_to(outside / "linked")
    mine = _summary("toy", command="lstm-ar run toy --quick")
    report.write_scenario(tmp_path, _result(), mine, plots=False)

    text = report_index.write_index(tmp_path, [mine], "lstm-ar run toy --quick", title="Toys").read_text()
    assert text.index("(toy/report.md)") < text.index("(other/report.md)")  # this run first
    assert "claim of other" in text and "(same/report.md)" in text
    assert "From an earlier run: `lstm-ar reproduce`, 1024 seeds" in text
    assert text.count("From an earlier run") == 1  # same command and seeds: not flagged
    assert re.search(r"## half\n\n> Not indexed: incomplete", text)
    assert re.search(r"## broken\n\n> Not indexed: summary.json is unreadable", text)
    assert "linked" not in text


def test_the_index_of_a_single_run_has_its_title_and_replaces_a_symlink(tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text("precious")
    out = tmp_path / "out"
    summary = _summary()
    report.write_scenario(out, _result(), summary, plots=False)
    (out / "REPORT.md").symlink_to(outside)
    path = report_index.write_index(out, [summary], "lstm-ar run toy", title="Toys")
    assert outside.read_text() == "precious" and not path.is_symlink()
    text = path.read_text()
    assert text.startswith("# Toys\n") and "Command: `lstm-ar run toy`" in text and "earlier run" not in text


def test_provenance_records_the_command_the_versions_and_the_commit():
    record = provenance.provenance(["lstm-ar", "reproduce", "--seeds", "8"])
    assert record["argv"] == ["lstm-ar", "reproduce", "--seeds", "8"]
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", record["python"])
    assert set(record["versions"]) == {"jax", "jaxlib", "numpy", "flax", "optax"}
    assert all(isinstance(v, str) for v in record["versions"].values())
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        if head.returncode == 0:
            assert record["git"]["commit"] == head.stdout.strip()
            assert isinstance(record["git"]["dirty"], bool)
    json.dumps(record)


def test_git_state_is_absent_outside_a_checkout_or_when_git_hangs(tmp_path, monkeypatch):
    assert provenance.git_state(tmp_path) is None
    (tmp_path / ".git").mkdir()

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs.get("timeout"))

    monkeypatch.setattr(subprocess, "run", hang)
    assert provenance.git_state(tmp_path) is None
    monkeypatch.undo()
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no git at all
    assert provenance.git_state(tmp_path) is None



def test_the_report_says_which_command_and_commit_made_it():
    summary = {**_summary(), "provenance": {"git": {"commit": "0123456789abcdef" * 2 + "01234567", "dirty": True}}}
    text = report.markdown(summary, [])
    assert "Command: `lstm-ar run toy`; code at commit `0123456789ab` with uncommitted changes." in text
    del summary["provenance"]
    assert "Command: `lstm-ar run toy`." in report.markdown(summary, [])


def test_figures_are_staged_and_renamed_in_like_the_other_files(tmp_path):
    pytest.importorskip("matplotlib")
    result = _result()
    result.scenario.context = None  # a scenario without a context to draw
    out = report.write_scenario(tmp_path, result, _summary(), plots=True)
    assert {"rollouts.png", "tail_std_ratio.png"} <= {p.name for p in out.iterdir()}
    assert "![rollouts.png](rollouts.png)" in (out / "report.md").read_text()
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# report.md: glossary words, missing metrics, standardisation; a figure per figure metric


def _stat(median):
    return {"median": median, "iqm": median, "ci95": [median / 2, median * 2], "n_nonfinite": 0}


def _table_rows(text, variant):
    section = text.split(f"### {variant}\n")[1].split("\n### ")[0].split("\n## ")[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_the_tables_show_every_metric_with_its_glossary_words_and_identifier():
    """The tables listed a fixed set of 22 names: a from_series study's *_raw metrics, a derive's
    own metrics and final_train_loss never appeared, and no row said what its metric means."""
    summary = _summary()
    names = ["collapsed", "my_score", "grad_k7", "rollout_rmse_raw", "seed_prediction_error", "final_train_loss",
             "grad_k0", "grad_k3", "f(0.6)", "tail_std_ratio"]
    summary["variants"]["a"]["metrics"] = {name: _stat(0.25) for name in names}
    rows = _table_rows(report.markdown(summary, []), "a")
    shown = [row.split("`")[1] for row in rows]
    assert shown == ["tail_std_ratio", "final_train_loss", "seed_prediction_error", "rollout_rmse_raw", "f(0.6)",
                     "grad_k0", "grad_k7", "my_score"]  # glossary order; grad_k3 thinned; collapsed is a rate
    words = {row.split("`")[1]: row for row in rows}
    assert ("| `seed_prediction_error` | 0.25 | 0.25 | [0.125, 0.5] | 0 | 0 | model units | "
            "\\|prediction - the value after the test input\\|; higher is worse |") in words["seed_prediction_error"]
    assert "| data units | rollout_rmse on the series' own scale" in words["rollout_rmse_raw"]
    assert "the trained model's prediction for the single input x (a probe)" in words["f(0.6)"]
    assert words["my_score"].endswith("|  | defined by the scenario's derive |")
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 9 for row in rows)  # 8 cells: no pipe splits a cell


def test_a_statistic_made_infinite_by_diverged_seeds_reads_diverged():
    summary = _summary()
    summary["rollout"]["divergence_bound"] = 100.0
    summary["variants"]["a"]["metrics"]["rollout_rmse"] = {
        "median": "inf", "iqm": "inf", "ci95": [12.5, "inf"], "n_nonfinite": 9, "n_worst": 70, "n_left_out": 0}
    summary["variants"]["a"]["metrics"]["settle_value"] = {**_stat(0.5), "n_worst": 0, "n_left_out": 70}
    text = report.markdown(summary, [])
    words = {row.split("`")[1]: row for row in _table_rows(text, "a")}
    assert words["rollout_rmse"].startswith("| `rollout_rmse` | diverged | diverged | [12.5, diverged] | 9 | 70 |")
    assert "| 0 (70 left out) |" in words["settle_value"]
    assert "diverged = a value beyond 100 stds of the training mean or not finite" in text


def test_the_report_shows_the_linear_references_and_p_beats():
    summary = _summary()
    summary["linear_references"] = {
        "persistence": {"rollout_rmse": 1.0, "valid_horizon": 9.0, "collapsed": 1.0},
        "ar_30": {"order": 30, "rollout_rmse": 0.059, "valid_horizon": 200.0, "collapsed": 0.0,
                  "spectral_radius": 0.9993},
        "ar_aic": {"order": 38, "rollout_rmse": 0.0216, "valid_horizon": 200.0, "collapsed": 0.0},
        "best_ar": {"of": "ar_30", "chosen_on": "truth", "order": 30, "rollout_rmse": 0.059}}
    beats = {"prob_a_better": 0.25, "ci95": [0.1, 0.4], "n": 8, "n_dropped": 0, "lower_is_better": True}
    for v in ("a", "b"):
        summary["variants"][v]["vs_references"] = {"best_ar": {"rollout_rmse": beats}, "persistence": {"rollout_rmse": beats}}
    text = report.markdown(summary, [])
    section = text.split("## Linear references\n")[1].split("\n## ")[0]
    assert "`best_ar` = `ar_30`) is chosen on the truth itself: an optimistic reference" in section
    assert "| reference | order | rollout_rmse | valid_horizon | collapsed | spectral_radius |" in section
    assert "| **ar_30** | 30 | 0.059 | 200 | 0 | 0.9993 |" in section
    assert "| persistence | n/a | 1 | 9 | 1 | n/a |" in section
    assert "| variant | rollout_rmse vs best_ar | rollout_rmse vs persistence |" in section
    assert "| a | 0.25 [0.1, 0.4] | 0.25 [0.1, 0.4] |" in section
    assert "Linear references" not in report.markdown(_summary(), [])


def test_the_report_says_why_a_variant_lacks_a_metric():
    summary = _summary()
    summary["variants"]["a"]["missing"] = {"grad_k1": "window 1 has inputs k = 0..0 only",
                                          "grad_k10": "window 1 has inputs k = 0..0 only",
                                          "grad_k2": "window 1 has inputs k = 0..0 only",
                                          "heldout_mse": "no held-out data (give heldout_series)",
                                          "rollout_rmse": "no truth to judge the rollout against"}
    summary["variants"]["b"]["missing"] = {}
    text = report.markdown(summary, [])
    section_a = text.split("### a\n")[1].split("### b\n")[0]
    assert "Not computed for this variant (other variants have them):" in section_a
    assert "- `heldout_mse`: no held-out data (give heldout_series)" in section_a
    assert "- `rollout_rmse`: no truth to judge the rollout against" in section_a
    assert "- `grad_k1`, `grad_k2`, `grad_k10`: window 1 has inputs k = 0..0 only" in section_a  # one line per reason
    assert "Not computed" not in text.split("### b\n")[1]


def test_the_report_gives_the_standardisation_in_the_users_units():
    summary = _summary()
    assert "standardised" not in report.markdown(summary, [])
    summary["standardisation"] = {"mean": 1234.5, "std": 0.0123}
    summary["variants"]["a"]["metrics"]["rollout_rmse_raw"] = _stat(3.0)
    text = report.markdown(summary, [])
    assert ("a value v in model units is mean + std x v in the series' own units, with mean = 1234.5 and "
            "std = 0.0123; metrics ending in `_raw` are already in the series' own units.") in text
    assert text.index("standardised") < text.index("## Claims")


def test_a_report_without_claims_says_so_instead_of_an_empty_table():
    text = report.markdown({**_summary(), "claims": []}, [])
    assert "## Claims\n\nThe scenario states no claims.\n\n## Per variant" in text
    assert "| id | claim | verdict | evidence |" in report.markdown(_summary(), [])


def test_a_figure_is_drawn_for_every_figure_metric(tmp_path):
    """Only the first of Scenario.figures was drawn."""
    pytest.importorskip("matplotlib")
    result = _result()
    result.scenario.figures = ("tail_std_ratio", "train_mse", "odd/name", "rollouts")
    for v in result.variants.values():
        v.metrics["odd/name"] = -v.metrics["train_mse"]  # negative: a linear axis
        v.metrics["rollouts"] = v.metrics["train_mse"] * 1e4
    out = report.write_scenario(tmp_path, result, _summary(), plots=True)
    files = {p.name for p in out.iterdir()}
    assert {"rollouts.png", "tail_std_ratio.png", "train_mse.png", "odd_name.png", "metric_rollouts.png"} <= files
    text = (out / "report.md").read_text()
    for name in ("tail_std_ratio.png", "train_mse.png", "odd_name.png", "metric_rollouts.png"):
        assert f"![{name}]({name})" in text
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    assert not (out / "odd").exists() and _leftovers(tmp_path) == []


def test_the_gradient_figure_takes_variants_of_different_windows(tmp_path):
    """A window-1 and a window-4 variant with diagnostics: the curves had different lengths from
    the shared x axis and matplotlib refused them after all the training."""
    pytest.importorskip("matplotlib")
    result = _result()
    for name, window in (("a", 1), ("b", 4)):
        result.variants[name].metrics.update({f"grad_k{k}": np.full(3, 0.5 ** k) for k in range(window)})
    out = report.write_scenario(tmp_path, result, _summary(), plots=True)
    assert (out / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"
    assert "![gradient_flow.png](gradient_flow.png)" in (out / "report.md").read_text()


def test_a_config_field_added_since_a_run_matches_only_at_its_default():
    """``lstm-ar report`` on an older run: a field the run's record lacks is no difference at its default; at
    any other value, or with a recorded field changed, the configs differ (the run is not rewritten)."""
    import dataclasses

    from lstm_ar.config import ModelConfig, TrainConfig
    from lstm_ar.report.resummarise import same_configs

    config = TrainConfig(model=ModelConfig(units=4, window=3), epochs=2)
    recorded = config.to_dict()
    del recorded["validation_tail"], recorded["model"]["window_scaling"]  # as a run before these fields recorded it
    assert same_configs({"a": config.to_dict()}, {"a": recorded})
    scaled = dataclasses.replace(config, model=dataclasses.replace(config.model, window_scaling=True))
    assert not same_configs({"a": scaled.to_dict()}, {"a": recorded})
    assert not same_configs({"a": dataclasses.replace(config, epochs=3).to_dict()}, {"a": recorded})
    assert not same_configs({"b": config.to_dict()}, {"a": recorded})
