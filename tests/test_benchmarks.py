"""The benchmarks run as ``python -m benchmarks.<name>`` in --quick mode and write valid JSON.

No timing is asserted: only that each benchmark ran, wrote its JSON with the machine, the command,
the hardware limit and one measured row per configuration, and that the peers it ran agree with
ours on the first predictions. ``benchmarks`` is imported as a package from the repository root
(the root is on the path because ``tests`` is a package; the subprocesses run from the root).
"""

import ast
import importlib
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def run_quick(module: str, out: Path) -> dict:
    run_module(module, "--quick", "--out", str(out))
    return json.loads(out.read_text())


def test_benchmarks_run_as_modules_with_help():
    for module in ("rollout", "train"):
        proc = run_module(module, "--help", timeout=120)
        assert f"usage: python -m benchmarks.{module}" in proc.stdout, proc.stdout
        assert "--quick" in proc.stdout and "--out" in proc.stdout and "--peers" in proc.stdout


def _edits_sys_path(path: Path) -> bool:
    """Whether the file touches ``sys.path`` (an attribute access, not a mention in a string)."""
    return any(isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
               and node.value.id == "sys" for node in ast.walk(ast.parse(path.read_text())))


def _imports(path: Path) -> set[str]:
    """The modules a file imports (``from a.b import c`` gives a.b and a.b.c)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return out


def test_benchmarks_layout_no_path_edits_no_mutual_imports():
    files = sorted(BENCHMARKS.rglob("*.py"))
    assert {"suite.py", "train.py", "train_costs.py", "rollout.py"} <= {f.name for f in files}
    for f in files + [Path(__file__)]:
        assert not _edits_sys_path(f), f"{f} edits the import path"
    # the shared suite definition lives in suite.py: train and train_costs do not import each other
    assert "benchmarks.train" not in _imports(BENCHMARKS / "train_costs.py")
    assert "benchmarks.train_costs" not in _imports(BENCHMARKS / "suite.py")
    assert "benchmarks.suite" in _imports(BENCHMARKS / "train_costs.py")
    # lstm_ar.training and lstm_ar.scenarios are imported in one place (the adapter in suite.py)
    for package in ("lstm_ar.training", "lstm_ar.scenarios"):
        users = {f.name for f in files if any(m.startswith(package) for m in _imports(f))}
        assert users == {"suite.py"}, (package, users)
    # peers are all under benchmarks/peers/
    assert not [f.name for f in BENCHMARKS.glob("*.py") if "peer" in f.name], "peers belong in benchmarks/peers/"
    # every module imports (optional packages such as torch and tensorflow are imported only when used)
    for f in files:
        module = ".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        importlib.import_module(module)


def test_rollout_peers_say_why_they_cannot_run(monkeypatch):
    from benchmarks import peers
    from benchmarks.peers.numpy_rollout import numpy_loop

    u = 3
    rng = np.random.default_rng(0)
    w = {"kernel": rng.normal(size=(2, 4 * u)), "recurrent": rng.normal(size=(2, u, 4 * u)),
         "bias": rng.normal(size=(2, 4 * u)), "dense": rng.normal(size=(2, u)), "dense_bias": rng.normal(size=(2,))}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    with pytest.raises(ValueError, match="numpy_loop"):
        peers.rollout_peer("torch_eagre", w, "window", 0.5)
    with pytest.raises(ValueError, match="stateful"):
        peers.rollout_peer("numpy_loop", w, "statefull", 0.5)
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    for name in ("torch_eager", "torch_lstmcell", "torch_compile"):
        with pytest.raises(peers.PeerUnavailable, match="torch not installed"):
            peers.rollout_peer(name, w, "stateful", 0.5)
    # the registry builds the same numpy peer as the module itself
    got = peers.rollout_peer("numpy_loop", w, "stateful", 0.5).run(4)
    np.testing.assert_array_equal(got, numpy_loop(w, "stateful", 0.5).run(4))
    assert got.shape == (2, 4) and np.isfinite(got).all()


def test_rollout_quick_writes_valid_json(tmp_path):
    doc = run_quick("rollout", tmp_path / "rollout.json")
    assert doc["benchmark"] == "rollout" and doc["quick"] is True
    assert doc["command"].startswith("python -m benchmarks.rollout")
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
    from benchmarks.plot_rollout import plot  # matplotlib is in the test extra
    png = plot(doc, doc["hidden"][0], tmp_path / "rollout.png")
    assert png.stat().st_size > 1000
    # The peers that need nothing optional ran, so the agreement check above ran for them.
    assert {"ours_vmap", "jit_step_loop", "numpy_loop"} <= {r["impl"] for r in records if r["status"] == "ok"}
    # The targets are stated for hidden 32; --quick uses smaller models, so none apply.
    assert 32 not in doc["hidden"] and doc["results"]["targets"] == []


def test_rollout_targets_are_judged_on_the_measured_figures():
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
    doc = run_quick("train", tmp_path / "train.json")
    assert doc["benchmark"] == "train" and doc["quick"] is True and "--quick" in doc["command"]
    assert doc["command"].startswith("python -m benchmarks.train")
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
    from benchmarks.peers import keras as keras_runner

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
    from benchmarks.train import ours_layout

    for devices in range(1, 9):
        for n in (1, 4, 16, 100, 256, 1024, 4096):
            used, lanes = ours_layout(n, devices)
            assert 1 <= used <= devices and lanes <= 256 and n % (used * lanes) == 0, (n, devices)
    assert ours_layout(1024, 2) == (2, 256) and ours_layout(16, 2) == (2, 8) and ours_layout(1, 2) == (1, 1)
    assert ours_layout(1024, 3) == (2, 256) and ours_layout(4096, 6) == (4, 256)


def test_every_library_name_the_benchmarks_import_exists():
    # Most imports sit inside functions (so --help needs no JAX) and some scripts (profile_rollout,
    # tune_blocking) are not run by the tests: resolve every ``from lstm_ar... import name`` here.
    for f in sorted(BENCHMARKS.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lstm_ar"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                        f"{f.relative_to(ROOT)}: {node.module} has no {alias.name}"


@pytest.mark.parametrize("module, args, message", [
    ("rollout", ["--steps", "0"], "--steps must be >= 1"),
    ("rollout", ["--hidden", "4,0"], "--hidden must be positive"),
    ("rollout", ["--peers", "torch"], "unknown peers"),
    ("rollout", ["--budget-s", "nan"], "--budget-s must be > 0"),
    ("train", ["--seeds", "0"], "--seeds must be positive"),
    ("train", ["--peers", "keras,pytorch"], "unknown peers"),
    ("train", ["--peer-budget-s", "-1"], "--peer-budget-s must be > 0"),
    ("train", ["--torch-threads", "0"], "--torch-threads must be >= 1"),
])
def test_bad_arguments_are_refused_before_any_measurement(module, args, message):
    main = importlib.import_module(f"benchmarks.{module}").main
    with pytest.raises(SystemExit, match=message):
        main(["--quick", "--out", "/nonexistent/never-written.json", *args])
