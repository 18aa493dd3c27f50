"""End to end: the main job at a tiny seed count writes valid, complete files."""

import importlib.util
import json
import pathlib

import numpy as np
import pytest

from lstm_ar.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED

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
    summaries = _load_script("reproduce").main(["--quick", "--seeds", "3", "--out", str(out), "--no-progress"])
    return out, summaries


def test_every_scenario_writes_its_files(run):
    out, summaries = run
    assert [s["scenario"] for s in summaries] == ["diversity", "activation", "dropout"]
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
    s = json.loads((out / "dropout" / "summary.json").read_text())
    data = np.load(out / "dropout" / "per_seed.npz")
    for variant in ("no_dropout", "dropout"):
        collapsed = data[f"{variant}/collapsed"]
        assert collapsed.shape == (3,)
        assert s["variants"][variant]["collapse_rate"]["value"] == pytest.approx(collapsed.mean())
        assert data[f"{variant}/rollouts"].shape == (3, 200)
        np.testing.assert_allclose(s["variants"][variant]["metrics"]["train_mse"]["median"],
                                   np.median(data[f"{variant}/train_mse"]), rtol=1e-6)
    header = (out / "dropout" / "per_seed.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["variant", "seed"] and "tail_std_ratio" in header


def test_bad_arguments_exit_with_a_message(capsys):
    with pytest.raises(SystemExit):
        _load_script("reproduce").main(["--seeds", "0"])
    assert "--seeds must be >= 1" in capsys.readouterr().err


def test_context_experiment_runs_end_to_end(tmp_path):
    summaries = _load_script("context").main(["--quick", "--seeds", "2", "--out", str(tmp_path), "--no-progress",
                                               "--no-plots"])
    s = json.loads((tmp_path / "context" / "summary.json").read_text())
    assert s["rollout"]["modes"]["stateful_50"] == "stateful" and s["rollout"]["modes"]["window_5"] == "window"
    assert set(s["variants"]) == {"window_1", "window_5", "window_20", "window_50", "stateful_50"}
    assert any(c["metric"] == "valid_horizon" and not c["lower_is_better"] for c in s["comparisons"])
    data = np.load(tmp_path / "context" / "per_seed.npz")
    # one training run serves both rollout modes of the window-50 model: same training losses
    np.testing.assert_array_equal(data["window_50/epoch_loss"], data["stateful_50/epoch_loss"])
    assert not np.array_equal(data["window_50/rollouts"], data["stateful_50/rollouts"])
    assert summaries[0]["scenario"] == "context"
