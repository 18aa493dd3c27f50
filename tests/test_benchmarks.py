"""The benchmark scripts run in --quick mode and write valid JSON (one test per script).

No timing is asserted: only that each script ran, wrote its JSON with the machine, the command,
the hardware limit and one measured row per configuration, and that the peers it ran agree with
ours on the first predictions.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_quick(script: str, out: Path) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_rollout_quick_writes_valid_json(tmp_path):
    doc = run_quick("rollout.py", tmp_path / "rollout.json")
    assert doc["benchmark"] == "rollout" and doc["quick"] is True
    assert "--quick" in doc["command"] and doc["machine"]["jax_backend"]
    assert doc["machine"]["loadavg_start"] and doc["machine"]["loadavg_end"]
    limit = doc["hardware_limit"]
    assert limit["flops_per_s"] > 0 and limit["bytes_per_s"] > 0 and limit["cache_bytes_per_s"] > 0
    rows, records = doc["results"]["rows"], doc["results"]["records"]
    configs = {(r["hidden"], r["batch"], r["mode"]) for r in rows}
    assert configs == {(h, b, m) for h in doc["hidden"] for b in doc["batch"] for m in ("window", "stateful")}
    for r in rows:
        assert r["us_per_step"] > 0 and math.isclose(r["seed_steps_per_s"], r["batch"] / (r["us_per_step"] * 1e-6))
        assert r["flops"] > 0 and r["bytes"] > 0 and 0 < r["floor_floor_s"]
        assert r["peak_rss_bytes"] > 0 and "ours_vmap" in r["ratio_vs"]
    for rec in records:
        assert rec["status"] in ("ok", "skipped", "unavailable")
        if rec["status"] != "ok":
            assert rec["reason"]
        elif rec["impl"] != "ours":
            # Same model, same start: the first predictions agree with ours to float32 rounding.
            assert rec["max_abs_diff_vs_ours"] < 1e-4, rec
    sys.path.insert(0, str(ROOT))
    from benchmarks.plot import plot  # matplotlib is in the test extra
    png = plot(doc, doc["hidden"][0], tmp_path / "rollout.png")
    assert png.stat().st_size > 1000
    # The peers that need nothing optional ran, so the agreement check above ran for them.
    assert {"ours_vmap", "jit_step_loop", "numpy_loop"} <= {r["impl"] for r in records if r["status"] == "ok"}
    # The targets are stated for hidden 32; --quick uses smaller models, so none apply.
    assert 32 not in doc["hidden"] and doc["results"]["targets"] == []


def test_rollout_targets_are_judged_on_the_measured_figures():
    sys.path.insert(0, str(ROOT))
    from benchmarks.rollout import check_targets

    def row(batch, mode, us, rss=2 ** 30, **ratios):
        return {"hidden": 32, "batch": batch, "mode": mode, "us_per_step": us,
                "seed_steps_per_s": batch / (us * 1e-6), "peak_rss_bytes": rss, "ratio_vs": ratios}

    rows = [row(1, "window", 0.2, torch_eager=150.0), row(1, "stateful", 0.4, torch_eager=80.0),
            row(64, "window", 2.0), row(16384, "window", 600.0, rss=5 * 2 ** 30)]
    met = {t["target"]: t["met"] for t in check_targets(rows, quick=False)}
    assert met["hidden 32, B = 1, window: <= 0.3 us/step"] is True
    assert met["hidden 32, B = 1, stateful: <= 0.3 us/step"] is False
    assert met["hidden 32, B = 1, window: >= 100x torch_eager"] is True
    assert met["hidden 32, B = 1, stateful: >= 100x torch_eager"] is False
    assert met["hidden 32, window, B = 64..16384: >= 1e7 seed-steps/s"] is True  # 27.3 M and 32 M
    assert met["hidden 32, B = 16384, window: peak RSS < 4 GiB"] is False


def test_train_quick_writes_valid_json(tmp_path):
    doc = run_quick("train.py", tmp_path / "train.json")
    assert doc["benchmark"] == "train" and doc["quick"] is True and "--quick" in doc["command"]
    assert doc["machine"]["loadavg_start"] and doc["machine"]["loadavg_end"]
    assert doc["hardware_limit"]["flops_per_s"] > 0 and doc["hardware_limit"]["bytes_per_s"] > 0
    res = doc["results"]
    steps = sum(s["steps_per_seed"] for s in res["suite"])
    impls = {r["impl"] for r in res["rows"]}
    assert {"ours", "ours_reference", "python_loop"} <= impls
    for r in res["rows"]:
        assert r["run_s"] > 0 and r["steps_per_seed"] == steps and r["peak_rss_bytes"] > 0
        assert math.isclose(r["seeds_per_s"], r["n_seeds"] / r["run_s"])
        assert math.isclose(r["s_per_1000_seeds"], 1000 * r["run_s"] / r["n_seeds"])
        assert r["ratio_vs_ours"] > 0 and r["x_above_floor_ideal"] > 0
        for p in r["per_variant"]:
            assert math.isfinite(p["final_loss_median"]) and p["final_loss_median"] > 0  # a real model trained
        if r["impl"].startswith("ours"):
            assert r["compile_s"] > 0  # compile time reported apart from run time
    # PyTorch is optional (CI installs only .[test]): either measured or skipped with a reason
    for kind in ("torch_loop", "torch_vmap"):
        assert kind in impls or any(s["impl"] == kind and s["reason"] for s in res["skipped"])
    assert any(s["impl"] == "keras" and s["reason"] for s in res["skipped"])
    floor = res["floor"]
    assert 0 < floor["ideal"]["floor_s_per_1000"] and 0 < floor["xla"]["floor_s_per_1000"]
    assert all(c["xla_flops"] > 0 and c["xla_bytes"] > 0 for c in res["step_cost"])
    assert res["targets"] == []  # the targets apply to the full suite only
    assert (tmp_path / "train.png").stat().st_size > 1000


def test_keras_runner_says_why_there_is_no_keras(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT))
    from benchmarks import keras_runner

    monkeypatch.delenv(keras_runner.ENV, raising=False)
    python, why = keras_runner.keras_python(str(tmp_path / "missing" / "python"))
    assert python is None and "does not exist" in why
    monkeypatch.setenv(keras_runner.ENV, sys.executable)
    assert keras_runner.keras_python() == (sys.executable, f"${keras_runner.ENV}")
    # a peer that fails reports its error output, not a JSON decoding error
    monkeypatch.setattr(keras_runner, "PEER", tmp_path / "peer.py")
    (tmp_path / "peer.py").write_text("import sys; sys.exit('no tensorflow here')")
    try:
        keras_runner.run_peer(sys.executable, ["train", "--seeds", "1"])
    except RuntimeError as e:
        assert "no tensorflow here" in str(e) and "exit 1" in str(e)
    else:
        raise AssertionError("a failing peer must raise")
    (tmp_path / "peer.py").write_text("print('log line'); print('{\"mode\": \"train\"}')")
    assert keras_runner.run_peer(sys.executable, ["train"]) == {"mode": "train"}


def test_ours_layout_splits_any_seed_count_over_any_core_count():
    sys.path.insert(0, str(ROOT))
    from benchmarks.train import ours_layout

    for devices in range(1, 9):
        for n in (1, 4, 16, 100, 256, 1024, 4096):
            used, lanes = ours_layout(n, devices)
            assert 1 <= used <= devices and lanes <= 256 and n % (used * lanes) == 0, (n, devices)
    assert ours_layout(1024, 2) == (2, 256) and ours_layout(16, 2) == (2, 8) and ours_layout(1, 2) == (1, 1)
    assert ours_layout(1024, 3) == (2, 256) and ours_layout(4096, 6) == (4, 256)
