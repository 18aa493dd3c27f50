"""End to end: the main job at a tiny seed count writes valid, complete files."""

import dataclasses
import importlib.util
import json
import pathlib

import numpy as np
import pytest

from lstm_ar.scenarios import context as context_scenarios
from lstm_ar.scenarios import data as data_scenarios
from lstm_ar.scenarios import diagnostics as diagnostics_scenarios
from lstm_ar.scenarios import real as real_scenarios
from lstm_ar.scenarios import regime as regime_scenarios
from lstm_ar.scenarios import regularisation as regularisation_scenarios
from lstm_ar.scenarios import reproduce as scenarios
from lstm_ar.study.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, RateClaim

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _load_script(name):
    """Import experiments/<name>.py (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    # one of the three scenarios (every scenario is built and checked in test_quick_and_full_scenarios_...;
    # dropout's output dropout runs end to end in the regularisation test)
    summaries = _load_script("reproduce").main(["--quick", "--seeds", "3", "--only", "activation", "--out", str(out),
                                                 "--no-progress"])
    return out, summaries


def test_every_scenario_writes_its_files(run):
    out, summaries = run
    assert [s["scenario"] for s in summaries] == ["activation"]
    assert not (out / "diversity").exists() and not (out / "dropout").exists()
    for s in summaries:
        folder = out / s["scenario"]
        for name in ("summary.json", "per_seed.csv", "per_seed.npz", "report.md", "rollouts.png",
                     "tail_std_ratio.png"):
            assert (folder / name).stat().st_size > 0, name
        assert (folder / "rollouts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    index = (out / "REPORT.md").read_text()
    assert "activation/report.md" in index and "--seeds 3" in index


def test_summary_has_the_documented_shape(run):
    out, _ = run
    s = json.loads((out / "activation" / "summary.json").read_text())
    assert s["scenario"] == "activation" and s["seeds"] == 3
    assert set(s["variants"]) == {"sigmoid", "relu"}
    assert isinstance(s["device"], str) and s["runtime_s"] > 0
    for v in s["variants"].values():
        m = v["metrics"]["tail_std_ratio"]
        assert set(m) >= {"median", "iqm", "ci95"} and len(m["ci95"]) == 2
        assert 0 <= v["collapse_rate"]["value"] <= 1 and len(v["collapse_rate"]["ci95"]) == 2
    comp = s["comparisons"][0]
    assert set(comp) >= {"a", "b", "metric", "prob_a_better", "ci95"}
    for claim in s["claims"]:
        assert set(claim) >= {"id", "text", "verdict", "evidence"}
        assert claim["verdict"] in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)


def test_per_seed_values_recompute_the_summary(run):
    out, _ = run
    s = json.loads((out / "activation" / "summary.json").read_text())
    data = np.load(out / "activation" / "per_seed.npz")
    for variant in ("sigmoid", "relu"):
        collapsed = data[f"{variant}/collapsed"]
        assert collapsed.shape == (3,)
        assert s["variants"][variant]["collapse_rate"]["value"] == pytest.approx(collapsed.mean())
        assert data[f"{variant}/rollouts"].shape == (3, 200)
        np.testing.assert_allclose(s["variants"][variant]["metrics"]["train_mse"]["median"],
                                   np.median(data[f"{variant}/train_mse"]), rtol=1e-6)
    header = (out / "activation" / "per_seed.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["variant", "seed"] and "tail_std_ratio" in header


def test_bad_arguments_exit_with_a_message(capsys):
    with pytest.raises(SystemExit):
        _load_script("reproduce").main(["--seeds", "0"])
    err = capsys.readouterr().err
    assert "--seeds" in err and ">= 1" in err


# --quick trains fewer variants than a full run where variants are separate compiled programs (the
# end-to-end tests below run quick mode); the full runs' variants and claims are checked here.
FULL_VARIANTS = {
    "context": {"window_1", "window_5", "window_20", "window_50", "stateful_50"},
    "regime": {f"{r}_k{k}" for r in ("tf", "ss_linear", "ss_exp", "ss_invsig", "free") for k in (10, 40)},
    "gradient_flow": {"sigmoid", "tanh", "relu"},
    "sunspots": {"window_1", "window_20", "stateful_20", "tf_k20", "free_k20"},
    "co2": {"window_1", "window_20", "stateful_20", "tf_k20", "free_k20"},
    "training_range": {"width_0.2", "width_0.5", "width_1", "width_0.2_epochs_1000"},
}
ALL_SCENARIOS = {**scenarios.SCENARIOS, **context_scenarios.SCENARIOS, **regime_scenarios.SCENARIOS,
                 **regularisation_scenarios.SCENARIOS, **data_scenarios.SCENARIOS, **diagnostics_scenarios.SCENARIOS,
                 **real_scenarios.SCENARIOS}


@pytest.mark.parametrize("name", sorted(ALL_SCENARIOS))
def test_quick_and_full_scenarios_name_only_variants_they_have(name):
    full = ALL_SCENARIOS[name](False)
    for quick in (False, True):
        sc = ALL_SCENARIOS[name](quick)
        for claim in sc.claims:
            named = [claim.variant] if isinstance(claim, RateClaim) else [claim.a, claim.b]
            assert set(named) <= set(sc.variants), (quick, claim.id)
        assert set(sc.rollout_modes) <= set(sc.variants) and (sc.baseline is None or sc.baseline in sc.variants)
        if quick:
            assert set(sc.variants) <= set(full.variants) and all(c.epochs <= 2 for c in sc.variants.values())
        else:
            if name in FULL_VARIANTS:
                assert set(sc.variants) == FULL_VARIANTS[name]
    if name == "regime":
        assert {c.id for c in full.claims} >= {"R-scheduled", "R-free", "R-horizon"}
        assert {c.regime for c in full.variants.values()} == set(regime_scenarios.SHORT)
    if name == "gradient_flow":
        assert "V-relu-tanh" in {c.id for c in full.claims}
    if name in ("sunspots", "co2"):
        assert f"{name}-free" in {c.id for c in full.claims}
        assert full.rollout_modes == {"stateful_20": "stateful", "tf_k20": "stateful", "free_k20": "stateful"}
        assert full.variants["free_k20"].regime == "free_running" and full.variants["tf_k20"].horizon == 20


def test_sequence_models_train_in_cache_sized_lane_blocks_on_a_cpu():
    from lstm_ar.study.experiment import group_max_lanes

    context = context_scenarios.SCENARIOS["context"](False).variants
    assert [group_max_lanes(context[f"window_{w}"]) for w in (1, 5, 20, 50)] == [256, 8, 8, 4]
    assert group_max_lanes(context["window_50"], settings=4) == 1
    regime = regime_scenarios.SCENARIOS["regime"](False).variants
    assert group_max_lanes(regime["tf_k10"]) == 8 and group_max_lanes(regime["free_k40"]) == 4  # 20 + k steps
    seed_suite = scenarios.SCENARIOS["activation"]().variants["relu"]
    assert group_max_lanes(seed_suite) == 256  # the main job keeps its 256 lanes (its results bit for bit)


def test_context_experiment_runs_end_to_end(tmp_path):
    summaries = _load_script("context").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress",
                                               "--no-plots"])
    s = json.loads((tmp_path / "context" / "summary.json").read_text())
    assert s["rollout"]["modes"]["stateful_50"] == "stateful" and s["rollout"]["modes"]["window_50"] == "window"
    # quick mode: the two windows the claims compare (the full set: test_quick_and_full_scenarios_...)
    assert set(s["variants"]) == {"window_1", "window_50", "stateful_50"}
    assert any(c["metric"] == "valid_horizon" and not c["lower_is_better"] for c in s["comparisons"])
    data = np.load(tmp_path / "context" / "per_seed.npz")
    # one training run serves both rollout modes of the window-50 model: same training losses
    np.testing.assert_array_equal(data["window_50/epoch_loss"], data["stateful_50/epoch_loss"])
    assert not np.array_equal(data["window_50/rollouts"], data["stateful_50/rollouts"])
    assert summaries[0]["scenario"] == "context"


def test_regime_experiment_runs_end_to_end(tmp_path):
    _load_script("regime").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress", "--no-plots"])
    s = json.loads((tmp_path / "regime" / "summary.json").read_text())
    # quick mode: teacher forcing, one scheduled-sampling schedule (inverse sigmoid), free running
    assert set(s["variants"]) == {"tf_k10", "ss_invsig_k10", "free_k10"}
    assert s["config"]["ss_invsig_k10"]["regime"] == "scheduled_inverse_sigmoid"
    assert s["config"]["free_k10"]["regime"] == "free_running" and s["config"]["free_k10"]["horizon"] == 10
    assert all(mode == "stateful" for mode in s["rollout"]["modes"].values())
    assert {c["id"] for c in s["claims"]} >= {"R-scheduled", "R-free"}


def test_regularisation_experiment_runs_end_to_end(tmp_path, monkeypatch):
    # quick mode's four variants; output_dropout_0.2 (the same program as output_dropout_0.1 at another
    # rate, in no claim) is left out of the run: one compile fewer
    quick = regularisation_scenarios.regularisation(quick=True)
    assert set(quick.variants) == {"baseline", "layer_norm", "output_dropout_0.1", "output_dropout_0.2"}
    kept = {k: v for k, v in quick.variants.items() if k != "output_dropout_0.2"}
    assert all({c.a, c.b} <= set(kept) for c in quick.claims)
    monkeypatch.setitem(regularisation_scenarios.SCENARIOS, "regularisation",
                        lambda q: dataclasses.replace(regularisation_scenarios.regularisation(q), variants=kept))
    _load_script("regularisation").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress",
                                         "--no-plots"])
    s = json.loads((tmp_path / "regularisation" / "summary.json").read_text())
    assert set(s["variants"]) == {"baseline", "layer_norm", "output_dropout_0.1"}
    assert {c["id"] for c in s["claims"]} == {c.id for c in quick.claims}
    assert s["config"]["output_dropout_0.1"]["hyper"]["output_dropout"] == pytest.approx(0.1)
    assert s["comparisons"] and all(c["b"] == "baseline" for c in s["comparisons"])


def test_data_experiment_runs_end_to_end(tmp_path):
    # one of the script's seven scenarios (tests/test_data_scenarios.py runs white_noise, a DataScenario,
    # end to end and summarises it)
    _load_script("data").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress", "--no-plots",
                               "--only", "training_range"])
    assert not (tmp_path / "random_walk").exists() and not (tmp_path / "white_noise").exists()
    s = json.loads((tmp_path / "training_range" / "summary.json").read_text())
    assert set(s["variants"]) == {"width_0.2", "width_1", "width_0.2_epochs_1000"}  # quick: two widths
    data = np.load(tmp_path / "training_range" / "per_seed.npz")
    # different training data, so different trained maps, from the same initialisation
    assert not np.allclose(data["width_0.2/f(0.6)"], data["width_1/f(0.6)"])


def test_diagnostics_experiment_runs_end_to_end(tmp_path):
    _load_script("diagnostics").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress"])
    s = json.loads((tmp_path / "gradient_flow" / "summary.json").read_text())
    assert set(s["variants"]) == {"sigmoid", "relu"}  # quick: tanh only in full runs
    metrics = s["variants"]["relu"]["metrics"]
    # the names listed without training are the ones computed (collapsed, diverged: as rates)
    listed = diagnostics_scenarios.gradient_flow(quick=True).metric_names()["relu"]
    assert set(metrics) | {"collapsed", "diverged"} == set(listed)
    assert {"grad_k0", "grad_k19", "grad_ratio", "lyapunov", "rho_start", "rho_tail", "contraction_fraction",
            "rho_agrees"} <= set(metrics)
    assert metrics["rho_start"]["median"] > 0 and 0 <= metrics["contraction_fraction"]["median"] <= 1
    assert {c["id"] for c in s["claims"]} >= {"V-rho-sigmoid", "V-rho-relu"}
    assert (tmp_path / "gradient_flow" / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"


def test_real_experiment_runs_end_to_end(tmp_path):
    _load_script("real").main(["--quick", "--seeds", "2", "--only", "sunspots", "--out", str(tmp_path),
                               "--no-progress", "--no-plots"])
    s = json.loads((tmp_path / "sunspots" / "summary.json").read_text())
    assert s["references"]["persistence_rmse"] > 0 and s["rollout"]["steps"] == 62
    # quick: the training regimes on real data run only in full runs (regime.py smoke-runs them)
    assert set(s["variants"]) == {"window_1", "window_20", "stateful_20"}
    assert s["rollout"]["modes"] == {"window_1": "window", "window_20": "window", "stateful_20": "stateful"}
    assert "rmse_minus_persistence" in s["variants"]["window_20"]["metrics"]


def test_reports_are_rewritten_from_the_per_seed_files_without_training(run, tmp_path, monkeypatch):
    import shutil

    from lstm_ar.report import resummarise
    from lstm_ar.study import experiment

    out = tmp_path / "copy"
    shutil.copytree(run[0], out)
    before = json.loads((out / "activation" / "summary.json").read_text())
    csv = (out / "activation" / "per_seed.csv").read_bytes()
    monkeypatch.setattr(experiment, "make_train", lambda *a, **k: pytest.fail("trained"))
    sc = scenarios.SCENARIOS["activation"](True)
    assert resummarise.scenario_names(out, scenarios.SCENARIOS) == ["activation"]
    (summary,) = resummarise.rewrite_reports(out, [sc], ["lstm-ar", "report", "reproduce"], title="t", plots=False)
    after = json.loads((out / "activation" / "summary.json").read_text())
    assert after["claims"] == before["claims"] and after["comparisons"] == before["comparisons"]
    assert after["variants"] == before["variants"] and after["command"] == before["command"]
    assert after["runtime_s"] == before["runtime_s"] and after["resummarised"]["argv"][:2] == ["lstm-ar", "report"]
    assert (out / "activation" / "per_seed.csv").read_bytes() == csv and summary["seeds"] == 3
    data = dict(np.load(out / "activation" / "per_seed.npz"))
    np.savez(out / "activation" / "per_seed.npz", **{k: v for k, v in data.items() if not k.startswith("relu/")})
    with pytest.raises(ValueError, match="relu"):
        resummarise.rewrite_reports(out, [sc], ["lstm-ar", "report"], title="t", plots=False)
