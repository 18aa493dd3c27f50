"""Noise realisations as a second random axis: scenarios rebuilt on another draw of the noise,
per-realisation results pooled into (realisation, seed) pairs, verdicts per realisation; and the
rolling-origin backtests of the remedies on a real series."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_ar import cli
from lstm_ar.data.realisations import realisation_seed
from lstm_ar.scenarios import reproduce
from lstm_ar.scenarios.common import heldout_seed
from lstm_ar.study.claims import RateClaim
from lstm_ar.study.experiment import ScenarioResult, VariantResult
from lstm_ar.study.realisations import claim_table, pool
from lstm_ar.study.recipe_backtest import make_backtest


def test_a_scenario_on_another_realisation_has_other_noise_and_its_own_heldout_draw():
    article = reproduce.activation(True)
    other = reproduce.activation(True, noise_seed=realisation_seed(3))
    assert not np.allclose(article.series, other.series)
    np.testing.assert_allclose(article.truth, other.truth, atol=0.05)  # same sine, each on its own scale
    assert heldout_seed() == 43 and heldout_seed(realisation_seed(3)) not in {realisation_seed(r) for r in range(100)}
    assert [c.id for c in article.claims] == [c.id for c in other.claims]


def _result(scenario, collapsed):
    metrics = {"collapsed": np.asarray(collapsed, np.float64), "diverged": np.zeros(len(collapsed))}
    variant = VariantResult(metrics=metrics, rollouts=np.zeros((len(collapsed), 3)), epoch_loss=np.zeros((len(collapsed), 2)))
    return ScenarioResult(scenario=scenario, seeds=len(collapsed), root_seed=0,
                          variants={"sigmoid": variant, "relu": variant}, runtime_s=1.0)


def test_pool_stacks_realisations_and_claims_are_judged_on_each():
    scenario = reproduce.activation(True)
    claim = RateClaim("c", "collapses", "sigmoid", "collapsed", ">", 0.5, "collapses", source="user")
    scenario = type(scenario).__new__(type(scenario))  # a bare copy whose claims we set
    object.__setattr__(scenario, "claims", (claim,))
    results = [_result(scenario, [1] * 30), _result(scenario, [0] * 30), _result(scenario, [1] * 30)]
    pooled = pool(results)
    assert pooled.seeds == 90 and pooled.variants["sigmoid"].metrics["collapsed"].shape == (90,)
    np.testing.assert_array_equal(pooled.variants["sigmoid"].metrics["collapsed"][30:60], 0)
    (row,) = claim_table(results)
    assert row["pooled"]["verdict"] == "holds"  # 60 of 90 pairs
    assert row["per_realisation"] == ["holds", "does not hold", "holds"] and row["agree"] == 2
    assert row["opposite"] == 1 and row["undecided"] == 0
    with pytest.raises(ValueError, match="same variants"):
        pool([results[0], _result(scenario, [1] * 10)])


def test_backtest_origins_hold_a_horizon_each_and_bad_requests_are_refused():
    raw = np.sin(np.arange(200) * 0.3) + 0.01 * np.arange(200)
    bt = make_backtest("toy", raw, origins=5, horizon=10)
    assert bt.n_train == 160 and bt.origins[0] == 0 and bt.origins[-1] == 40 - 10
    assert len(bt.origins) == 5 and np.all(np.diff(bt.origins) > 0)
    with pytest.raises(ValueError, match="toy: 40 backtest origins do not fit.*only 31 distinct origins"):
        make_backtest("toy", raw, origins=40, horizon=10)


def test_backtest_contexts_end_before_each_origin_and_truths_start_at_it():
    from lstm_ar.study.recipe_backtest import _contexts

    bt = make_backtest("toy", np.arange(100, dtype=np.float64) ** 1.5, origins=3, horizon=4)
    ctx, truth = _contexts(bt, 5)
    for k, origin in enumerate(bt.origins):
        s = bt.n_train + origin
        np.testing.assert_array_equal(ctx[k], bt.values[s - 5:s])
        np.testing.assert_array_equal(truth[k], bt.values[s:s + 4])


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


@pytest.mark.parametrize("name, option", [("realisations", "--realisations"), ("transfer", "--origins"),
                                          ("cure", "--reuse-any-code"), ("cause", "--noise-levels")])
def test_lstm_ar_run_dispatches_to_each_custom_experiment(name, option, capsys):
    from lstm_ar import cli

    assert cli.main(["run", name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lstm-ar run {name}") and option in out
