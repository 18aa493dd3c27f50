"""Noise realisations as a second random axis: scenarios rebuilt on another draw of the noise,
per-realisation results pooled into (realisation, seed) pairs, verdicts per realisation; and the
rolling-origin backtests of the remedies on a real series."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_ar import cli
from lstm_ar.data.realisations import realisation_seed
from lstm_ar.scenarios import reproduce, transfer
from lstm_ar.scenarios.common import heldout_seed
from lstm_ar.study.claims import RateClaim
from lstm_ar.study.experiment import ScenarioResult, VariantResult
from lstm_ar.study.realisations import claim_table


def test_a_scenario_on_another_realisation_has_other_noise_and_its_own_heldout_draw():
    article = reproduce.activation(True)
    other = reproduce.activation(True, noise_seed=realisation_seed(3))
    assert not np.allclose(article.series, other.series)
    np.testing.assert_allclose(article.truth, other.truth, atol=0.05)  # same sine, each on its own scale
    assert heldout_seed() == 43 and heldout_seed(realisation_seed(3)) not in {realisation_seed(r) for r in range(100)}
    assert [c.id for c in article.claims] == [c.id for c in other.claims]


def _result(scenario, collapsed):
    """A run over draws: ``collapsed`` f[seeds, draws] for both variants."""
    collapsed = np.asarray(collapsed, np.float64)
    metrics = {"collapsed": collapsed, "diverged": np.zeros(collapsed.shape)}
    variant = VariantResult(metrics=metrics, rollouts=np.zeros((*collapsed.shape, 3)),
                            epoch_loss=np.zeros((*collapsed.shape, 2)))
    return ScenarioResult(scenario=scenario, seeds=collapsed.shape[0], root_seed=0,
                          variants={"sigmoid": variant, "relu": variant}, runtime_s=1.0, draws=collapsed.shape[1])


def test_claims_over_draws_are_judged_with_crossed_intervals_and_on_each_draw():
    scenario = reproduce.activation(True)
    claim = RateClaim("c", "collapses", "sigmoid", "collapsed", ">", 0.5, "collapses", source="user")
    scenario = type(scenario).__new__(type(scenario))  # a bare copy whose claims we set
    object.__setattr__(scenario, "claims", (claim,))
    (row,) = claim_table(_result(scenario, np.tile([1, 0, 1], (30, 1))))
    # 60 of 90 pairs, but every seed of one draw fails: as independent pairs (Wilson: 56-76%) it would hold;
    # crossed, three draws cannot tell 2/3 from chance
    assert row["pooled"]["rate"]["k"] == 60 and row["pooled"]["rate"]["draws_above_half"] == 2
    assert row["pooled"]["verdict"] == "inconclusive" and "2 of 3 draws" in row["pooled"]["evidence"]
    assert row["per_realisation"] == ["holds", "does not hold", "holds"] and row["agree"] == 0
    assert row["opposite"] == 0 and row["undecided"] == 0  # against an undecided pooled verdict nothing is opposite
    # ... but the verdict flips with the draw: one draw decides the other way from the two others
    assert row["per_verdict"] == {"holds": 2, "does not hold": 1, "inconclusive": 0} and row["flips"] == 1
    flipping = row
    (row,) = claim_table(_result(scenario, np.tile([[1]] * 28 + [[0]] * 2, (1, 4))))  # every draw agrees
    assert row["pooled"]["verdict"] == "holds" and row["agree"] == 4 and row["flips"] == 0
    from lstm_ar.scenarios.realisations import markdown

    text = markdown({"title": "t", "seeds": 30, "realisations": 3, "realisation_seeds": [42, 10001, 10002],
                     "device": "cpu", "command": "c", "runtime_s": 1.0,
                     "scenarios": {"s": {"title": "s", "claims": [flipping]}}})
    assert "| holds 2, does not hold 1, inconclusive 0 | 1 of 3 |" in text


@pytest.mark.parametrize("name", ["realisations_32x8", "realisations_64x16"])
def test_committed_realisations_reports_are_rewritten_from_their_per_seed_files_alone(name, tmp_path):
    """``lstm-ar report realisations``: every table of the committed report from its per_seed.csv files."""
    import pathlib
    import shutil

    committed = pathlib.Path(__file__).parents[1] / "experiments" / "results" / name
    copy = tmp_path / name
    shutil.copytree(committed, copy)
    (copy / "report.md").write_text("")
    assert cli.main(["report", "realisations", "--out", str(copy)]) == 0
    assert (copy / "report.md").read_text() == (committed / "report.md").read_text()
    before, after = (json.loads((d / "summary.json").read_text()) for d in (committed, copy))
    assert after["scenarios"] == before["scenarios"]


def test_transfer_builds_each_series_as_a_scenario_with_its_backtest():
    """A real series is a scenario: its recipes are variants, its origins the study's backtest's."""
    sc = transfer.scenario("co2", ["plain_w50", "noise_w50"], origins=20, quick=True)
    bt = sc.backtest()
    assert bt.horizon == 48 and len(bt.origins) == 20 and np.all(np.diff(bt.origins) > 0)
    assert list(sc.variants) == ["plain_w50", "noise_w50_0.05", "noise_w50_0.2"]
    assert {c.model.window for c in sc.variants.values()} == {5}
    assert sc.variants["noise_w50_0.2"].hyper.input_noise == 0.2
    with pytest.raises(ValueError, match="co2: 10000 backtest origins do not fit"):
        transfer.scenario("co2", ["plain_w50"], origins=10_000, quick=True)


def test_transfer_quick_backtests_a_recipe_against_the_references(tmp_path):
    out = tmp_path / "t"
    assert cli.main(["run", "transfer", "--quick", "--series", "co2", "--only", "direct_w50", "--out", str(out),
                     "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    co2 = summary["series"]["co2"]
    assert len(co2["origins"]) == 20 and co2["horizon"] == 48
    assert {"persistence", "training mean", "AR(AIC)", "seasonal naive (12)"} <= set(co2["references"])
    row = co2["rows"]["direct_w50"]
    assert row["beats"]["persistence"]["n"] == 2 and 0 <= row["backtest_collapse_rate"] <= 1
    assert "P(beats" in (out / "report.md").read_text()
    with open(out / "co2" / "per_seed.csv") as f:  # every seed's backtest values
        assert len(f.read().splitlines()) == 1 + 2
    report = (out / "report.md").read_text()  # lstm-ar report transfer: every table again from per_seed.csv alone
    (out / "report.md").write_text("stale")
    assert cli.main(["report", "transfer", "--out", str(out)]) == 0
    assert (out / "report.md").read_text() == report
    assert json.loads((out / "summary.json").read_text())["resummarised"]["argv"][-3:-1] == ["transfer", "--out"]
    table = (out / "co2" / "per_seed.csv").read_text().splitlines()
    (out / "co2" / "per_seed.csv").write_text("\n".join(table[:-1]) + "\n")  # a seed's line lost
    assert cli.main(["report", "transfer", "--out", str(out)]) == 2  # refused, one line, nothing written
    assert (out / "report.md").read_text() == report


@pytest.mark.parametrize("name, option", [("realisations", "--realisations"), ("transfer", "--origins"),
                                          ("cure", "--reuse-any-code"), ("cause", "--noise-levels")])
def test_lstm_ar_run_dispatches_to_each_custom_experiment(name, option, capsys):
    from lstm_ar import cli

    assert cli.main(["run", name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lstm-ar run {name}") and option in out


def test_panel_quick_writes_the_table_with_the_classical_references(tmp_path):
    import json

    from lstm_ar import cli

    out = tmp_path / "panel"
    assert cli.main(["run", "panel", "--quick", "--series", "nile", "--only", "scaled_direct_skip", "--seeds", "2",
                     "--origins", "4", "--out", str(out), "--no-progress"]) == 0
    s = json.loads((out / "summary.json").read_text())["series"]["nile"]
    assert {"ETS", "Theta", "AR(AIC)", "training mean", "persistence"} <= set(s["references"])
    assert s["best_reference"] == min(s["references"], key=lambda r: s["references"][r]["backtest_rmse"])
    row = s["rows"]["scaled_direct_skip"]
    assert row["seeds"] == 2 and 0 <= row["beats_best"] <= 2 and row["median_rmse"] > 0 and row["ensemble_rmse"] > 0
    # chosen without peeking: on the training part's last 20% (64 + 16 values), every candidate scored there
    v, c = s["validation"], s["choice"]
    assert (v["n_train"], v["n_test"]) == (64, 16) and set(c["validation"]) == {*s["references"], "LSTM scaled_direct_skip"}
    assert c["chosen"] == min(c["validation"], key=c["validation"].get)
    held = {**{n: r["backtest_rmse"] for n, r in s["references"].items()}, "LSTM scaled_direct_skip": row["ensemble_rmse"]}
    assert c["chosen_rmse"] == held[c["chosen"]] and c["best_classical"] == s["best_reference"]
    assert (out / "nile" / "per_seed.csv").exists() and (out / "nile" / "validation" / "per_seed.csv").exists()
    report = (out / "report.md").read_text()
    assert "| nile (80 / 20, 4 x 10" in report and "## Chosen without peeking" in report
    (out / "report.md").write_text("stale")  # lstm-ar report panel: the tables again from the files alone
    assert cli.main(["report", "panel", "--out", str(out)]) == 0 and (out / "report.md").read_text() == report
    summary = json.loads((out / "summary.json").read_text())
    with np.load(out / "nile" / "ensembles.npz") as z:  # an edited ensemble forecast is refused, not reported
        arrays = dict(z)
    arrays["scaled_direct_skip"] = arrays["scaled_direct_skip"] + 1.0
    np.savez(out / "nile" / "ensembles.npz", **arrays)
    assert cli.main(["report", "panel", "--out", str(out)]) == 2 and (out / "report.md").read_text() == report
    del summary["series"]["nile"]["sha256"]  # a run that recorded no digests: the edit is read (and changes the choice)
    (out / "summary.json").write_text(json.dumps(summary))
    assert cli.main(["report", "panel", "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["series"]["nile"]["rows"]["scaled_direct_skip"][
        "ensemble_rmse"] != s["rows"]["scaled_direct_skip"]["ensemble_rmse"]
