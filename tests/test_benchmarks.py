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
import os
import re
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
    return run_quick_with_output(module, out)[0]


def run_quick_with_output(module: str, out: Path) -> tuple[dict, str]:
    proc = run_module(module, "--quick", "--out", str(out))
    return json.loads(out.read_text()), proc.stdout


def committed(name: str) -> dict | None:
    path = BENCHMARKS / "results" / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def assert_quick_says_what_it_is(stdout: str, name: str, skipped: set[str]) -> None:
    """--quick says it cannot judge speed, gives the committed full run's date, machine and
    headline (or says there is none), lists the skipped peers with their reasons, memory in MiB."""
    assert "CANNOT JUDGE SPEED" in stdout, stdout[-2000:]
    doc = committed(name)
    if doc is None:
        assert "committed full run: none" in stdout
    else:
        assert f"committed full run (benchmarks/results/{name}.json): {doc['timestamp']}, {doc['machine_name']}" in stdout
        assert " MiB" in stdout.split("committed full run", 1)[1]
    listed = stdout.split("skipped peers:", 1)[1].splitlines()
    for impl in skipped:
        assert any(line.strip().startswith(impl) and ": " in line for line in listed), (impl, listed)
    # memory figures in MiB: no other unit, except in a target's own statement ("< 4 GiB") and the
    # machine's name (its RAM)
    text = stdout.replace(doc["machine_name"], "") if doc else stdout
    assert "MiB" in text and not re.findall(r"(?<!< )\b\d[\d.,]* ?(?:GiB|GB|bytes)\b", text), text
    assert "_bytes" not in text


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
    # lstm_ar.training and lstm_ar.scenarios are imported only by the suites' adapters (suite.py for
    # the seed suite, sequence_suite.py for the sequence suite)
    for package in ("lstm_ar.training", "lstm_ar.scenarios"):
        users = {f.name for f in files if any(m.startswith(package) for m in _imports(f))}
        assert "suite.py" in users and users <= {"suite.py", "sequence_suite.py"}, (package, users)
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
    doc, stdout = run_quick_with_output("rollout", tmp_path / "rollout.json")
    assert_quick_says_what_it_is(stdout, "rollout", {"torch_compile", "keras", "keras_jax"})
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
    doc, stdout = run_quick_with_output("train", tmp_path / "train.json")
    assert_quick_says_what_it_is(stdout, "train", {"ours_1device", "keras", "keras_jax"})
    assert "peak RSS MiB" in stdout
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
    assert all(any(s["impl"] == k and s["reason"] for s in res["skipped"]) for k in ("keras", "keras_jax"))
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
    # on a GPU all of a device's seeds in one vmapped block; --lanes caps it anywhere
    from benchmarks.train import default_max_lanes
    assert ours_layout(10_000, 1, default_max_lanes("gpu")) == (1, 10_000)
    assert default_max_lanes("cpu") is None and default_max_lanes("gpu", 64) == 64
    assert ours_layout(10_000, 1, default_max_lanes("cpu")) == (1, 250)
    with pytest.raises(ValueError, match="max_lanes"):
        ours_layout(16, 1, 0)


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


# --------------------------------------------------------------------------- Keras on the JAX backend

HAS_KERAS = importlib.util.find_spec("keras") is not None


def test_keras_peers_are_found_or_skipped_with_the_reason(tmp_path, monkeypatch):
    from benchmarks.peers import keras as keras_runner

    with pytest.raises(ValueError, match="keras_jax"):
        keras_runner.find_python("keras_tf")
    with pytest.raises(ValueError, match="backend"):
        keras_runner.run_peer(sys.executable, ["train"], backend="theano")
    if HAS_KERAS:  # the project's venv: keras 3 and jax, so keras_jax runs here, in this python
        python, how = keras_runner.find_python("keras_jax")
        assert python == sys.executable and "KERAS_BACKEND=jax" in how
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(keras_runner.importlib.util, "find_spec",
                        lambda name, *a: None if name == "keras" else real_find_spec(name, *a))
    python, why = keras_runner.find_python("keras_jax")
    assert python is None and "keras is not installed" in why
    monkeypatch.setattr(keras_runner.importlib.util, "find_spec", lambda name, *a: object())
    monkeypatch.setattr(keras_runner.metadata, "version", lambda name: "2.15.0")
    python, why = keras_runner.find_python("keras_jax")
    assert python is None and "no JAX backend" in why
    monkeypatch.undo()
    # the peer runs with the backend asked for, and its folder does not shadow the keras package
    monkeypatch.setattr(keras_runner, "PEER", tmp_path / "peer.py")
    (tmp_path / "keras.py").write_text("")
    shadow = str(tmp_path / "keras.py")
    (tmp_path / "peer.py").write_text(
        "import importlib.util, json, os\n"
        "spec = importlib.util.find_spec('keras')\n"
        "print(json.dumps({'backend': os.environ['KERAS_BACKEND'],\n"
        f"                  'shadowed': spec is not None and spec.origin == {shadow!r}}}))\n")
    assert keras_runner.run_peer(sys.executable, ["train"], backend="jax") == {"backend": "jax", "shadowed": False}
    assert keras_runner.run_peer(sys.executable, ["train"])["backend"] == "tensorflow"


def test_keras_peers_are_skipped_in_quick_runs_and_run_on_their_backend(monkeypatch):
    from argparse import Namespace

    from benchmarks.peers import keras as keras_runner
    from benchmarks.train import run_keras

    for peer in ("keras", "keras_jax"):
        row, why = run_keras([], Namespace(quick=True, keras_python=None, keras_seeds=None), peer)
        assert row is None and "not run with --quick" in why
    # a full run: the peer's backend is passed on, and the steady per-seed time skips the first seed
    calls = []

    def fake_peer(python, args, timeout_s=3600.0, backend="tensorflow"):
        calls.append((python, args, backend))
        variant = {"seconds_median": 9.0, "final_loss_median": 0.037, "steps_full": 640, "epochs": 20}
        return {"seeds": 3, "backend": backend, "per_variant": {"activation/relu": variant},
                "per_seed": [{"seconds_full": s} for s in (20.0, 10.0, 12.0)]}

    monkeypatch.setattr(keras_runner, "run_peer", fake_peer)
    monkeypatch.setattr(keras_runner, "keras_jax_python", lambda: ("/some/python", "this python"))
    row, how = run_keras([], Namespace(quick=False, keras_python=None, keras_seeds=None), "keras_jax")
    assert calls == [("/some/python", ["train", "--seeds", "3"], "jax")] and how == "this python"
    assert row["impl"] == "keras_jax" and row["keras_backend"] == "jax" and row["first_seed_s"] == 20.0
    assert row["s_per_seed_steady"] == 11.0 and math.isclose(row["run_s"], 33.0)
    assert row["per_variant"][0]["final_loss_median"] == 0.037 and row["steps_per_seed"] == 640


@pytest.mark.skipif(not HAS_KERAS, reason="keras is not installed (pip install '.[keras]')")
def test_keras_jax_peer_trains_the_article_model_and_reports_its_loss():
    # Example 1 (100 examples) for 2 of its 100 epochs: the article's script as written, on JAX.
    from benchmarks.peers import keras as keras_runner
    from benchmarks.train import keras_row

    out = keras_runner.run_peer(sys.executable, ["train", "--seeds", "1", "--examples", "1", "--epochs-scale", "0.02"],
                                backend="jax", timeout_s=240)
    assert out["backend"] == "jax" and out["tensorflow"] is None and out["keras"].startswith("3.")
    rec = out["per_variant"]["diversity/relu"]
    assert rec["epochs_run"] == 2 and rec["epochs"] == 100 and out["extrapolated"] is True
    assert math.isfinite(rec["final_loss_median"]) and 0 < rec["final_loss_median"] < 1  # x -> x on [0.4, 0.6]
    row = keras_row("keras_jax", out, [], "this python")
    assert row["impl"] == "keras_jax" and row["keras_backend"] == "jax" and row["n_seeds"] == 1
    assert row["per_variant"][0]["final_loss_median"] == rec["final_loss_median"] and row["run_s"] > 0


@pytest.mark.skipif(not HAS_KERAS, reason="keras is not installed (pip install '.[keras]')")
def test_keras_jax_rollout_carries_the_state_and_matches_numpy():
    # Stateful mode: the compiled step must carry (h, c) from step to step; Keras-JAX's
    # predict_on_batch does not, so it is excluded (its predictions differ from model(x)'s).
    from benchmarks.peers.numpy_rollout import numpy_loop
    from benchmarks.rollout_worker import measure_keras

    u, steps = 3, 6
    rng = np.random.default_rng(1)
    w = {"kernel": rng.normal(size=(1, 4 * u)), "recurrent": rng.normal(size=(1, u, 4 * u)),
         "bias": rng.normal(size=(1, 4 * u)), "dense": rng.normal(size=(1, u)), "dense_bias": rng.normal(size=(1,))}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    oracle = numpy_loop(w, "stateful", 0.5).run(steps)
    rec = measure_keras(w, "stateful", steps, {"budget_s": 0.01, "keras_python": None, "keras_warmup": 1},
                        oracle, peer="keras_jax")
    assert rec["status"] == "ok", rec
    assert rec["max_abs_diff_vs_ours"] < 1e-5 and rec["s_per_step"] > 0
    assert "(jax)" in rec["note"] and "jax_jit" in rec["keras"] and "excluded" in rec["note"]
    assert rec["keras"]["jax_jit"]["agrees_with_model_call"] is True
    assert rec["keras"]["predict_on_batch"]["agrees_with_model_call"] is False
    # B > 1: one Keras model per seed, measured at B = 1 only
    w2 = {k: np.concatenate([v, v]) for k, v in w.items()}
    assert measure_keras(w2, "window", steps, {"budget_s": 0.01}, oracle, peer="keras_jax")["status"] == "skipped"


def test_headline_ratio_is_against_the_fastest_keras():
    from benchmarks.rollout import summarise
    from benchmarks.train import targets

    ours = {"impl": "ours", "n_seeds": 1024, "run_s": 12.8, "s_per_1000_seeds": 12.5}
    rows = [ours, {"impl": "keras", "n_seeds": 3, "run_s": 60.0}, {"impl": "keras_jax", "n_seeds": 3, "run_s": 30.0}]
    keras_target = next(t for t in targets(rows, {}, on_gpu=False) if "Keras" in t["target"])
    assert keras_target["fastest_keras"] == "keras_jax" and "keras_jax" in keras_target["target"]
    assert math.isclose(keras_target["ratio"], 10.0 / 0.0125) and keras_target["met"] is False  # 800x
    assert math.isclose(keras_target["ratio_per_keras"]["keras"], 1600.0)
    base = {"hidden": 32, "batch": 1, "mode": "window", "status": "ok", "compile_s": None, "peak_rss_bytes": 1}
    records = [dict(base, impl="ours", s_per_step=1e-6, cpu_s_per_step=1e-6),
               dict(base, impl="keras", s_per_step=4e-4, cpu_s_per_step=None),
               dict(base, impl="keras_jax", s_per_step=5e-5, cpu_s_per_step=None)]
    limit = {"flops_per_s": 1e11, "bytes_per_s": 5e10, "cache_bytes_per_s": 2e11}
    (row,) = summarise(records, limit)
    assert row["ratio_vs_fastest_keras"]["impl"] == "keras_jax"
    assert math.isclose(row["ratio_vs_fastest_keras"]["ratio"], 50.0)


# --------------------------------------------------------------------------- quick modes

def test_quick_never_writes_over_a_full_run(tmp_path):
    from benchmarks import common

    for name in ("train", "rollout"):
        with pytest.raises(SystemExit, match="would overwrite the full run"):
            common.parse_args(name, "", ["--quick", "--out", str(common.RESULTS_DIR / f"{name}.json")])
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"benchmark": "train", "quick": False, "results": {}}))
    with pytest.raises(SystemExit, match="would overwrite"):
        common.parse_args("train", "", ["--quick", "--out", str(full)])
    common.parse_args("train", "", ["--out", str(full)])  # a full run may rewrite it
    earlier_quick = tmp_path / "quick.json"
    earlier_quick.write_text(json.dumps({"benchmark": "train", "quick": True}))
    assert common.parse_args("train", "", ["--quick", "--out", str(earlier_quick)]).out == earlier_quick
    assert common.parse_args("train", "", ["--quick"]).out.parent != common.RESULTS_DIR


def test_quick_report_says_when_there_is_no_committed_run(tmp_path, monkeypatch, capsys):
    from benchmarks import common, train

    skipped = [{"impl": "keras", "reason": "TensorFlow is not installed"},
               {"impl": "torch_lstmcell", "hidden": 4, "batch": 3, "mode": "window", "reason": "B = 1 only"},
               {"impl": "torch_lstmcell", "hidden": 4, "batch": 3, "mode": "stateful", "reason": "B = 1 only"}]
    text = common.quick_report("train", train.headline, skipped)
    assert text == capsys.readouterr().out.strip() and "CANNOT JUDGE SPEED" in text
    assert "keras: TensorFlow is not installed" in text
    assert "torch_lstmcell (hidden=4 batch=3 mode=window; hidden=4 batch=3 mode=stateful): B = 1 only" in text
    if committed("train") is not None:  # the committed run's headline, memory in MiB
        assert "ours: " in text and " s per 1000 seeds at N = " in text and " MiB" in text
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    text = common.quick_report("train", train.headline, [])
    assert "committed full run: none: no committed full run (benchmarks/results/train.json does not exist)" in text
    assert "skipped peers: none" in text
    (tmp_path / "train.json").write_text(json.dumps({"quick": True, "results": {}}))
    assert "is not a full run's document" in common.quick_report("train", train.headline, [])
    assert common.mib(3 * 2 ** 20) == 3.0 and common.mib(None) is None
    assert common.figure(1894.34) == "1,894" and common.figure(12.74) == "12.7" and common.figure(None) == "-"


# --------------------------------------------------------------------------- the GPU check

def test_gpu_check_quick_runs_every_part_on_the_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(["bash", str(BENCHMARKS / "gpu_check.sh"), "--quick", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["benchmark"] == "gpu_check" and doc["quick"] is True and "--quick" in doc["command"]
    assert doc["machine"]["jax_devices"] and doc["machine"]["cpu"] and doc["timestamp"]
    parts = doc["parts"]
    assert list(parts) == ["device", "equality", "train", "rollout", "sequence"]
    dev = parts["device"]
    assert dev["status"] == "ok" and dev["backend"] == "cpu" and dev["on_gpu"] is False
    assert dev["devices"] and doc["summary"]["device"] and "nvidia_smi" in dev
    eq = parts["equality"]
    assert eq["status"] == "ok" and eq["passed"] is True and doc["summary"]["equality_passed"] is True
    assert len(eq["checks"]) == 4 and {c["program"].split()[0] for c in eq["checks"]} == {"train", "rollout_batched"}
    assert all(c["within_tolerance"] and c["max_abs_diff"] == 0.0 for c in eq["checks"])  # the CPU against itself
    tr = parts["train"]
    assert tr["status"] == "ok" and tr["s_per_10000_seeds"] > 0 and tr["met"] is False  # no GPU: not judged
    assert tr["complete"] is True and math.isfinite(tr["per_variant"][0]["final_loss_median"])
    ro = parts["rollout"]
    assert ro["status"] == "ok" and {(r["impl"], r["mode"]) for r in ro["summary"]} == \
        {(i, m) for i in ("ours", "ours_vmap") for m in ("window", "stateful")}
    assert all(r["status"] == "ok" and r["seed_steps_per_s"] > 0 for r in ro["summary"])
    assert parts["sequence"]["status"] == "skipped" and parts["sequence"]["reason"]  # benchmarks/sequence.py is here
    assert "CANNOT JUDGE SPEED" in proc.stdout


def test_gpu_check_time_boxes_parts_and_records_failures(tmp_path, monkeypatch):
    from benchmarks import gpu_check

    out = tmp_path / "part.json"
    rec = gpu_check._subprocess_part([sys.executable, "-c", "import time; time.sleep(30)"], out, 0.5)
    assert rec["status"] == "timed_out" and rec["limit_s"] == 0.5
    rec = gpu_check._subprocess_part([sys.executable, "-c", "raise SystemExit('no GPU here')"], out, 30)
    assert rec["status"] == "failed" and "no GPU here" in rec["stderr_tail"]
    out.write_text(json.dumps({"status": "ok", "x": 1}))
    assert gpu_check._subprocess_part([sys.executable, "-c", "pass"], out, 30)["x"] == 1
    # a part stopped by its time box keeps what it had measured
    out.write_text(json.dumps({"status": "partial", "variants_done": ["a"]}))
    rec = gpu_check._subprocess_part([sys.executable, "-c", "import time; time.sleep(30)"], out, 0.5)
    assert rec["status"] == "timed_out" and rec["variants_done"] == ["a"]
    # a part that raises is recorded as failed (with the error), in its file too, not fatal
    def broken(quick, save):
        save({"n": 1})
        return 1 / 0

    monkeypatch.setitem(gpu_check.PART_FUNCTIONS, "train", broken)
    rec = gpu_check.run_part("train", True, tmp_path / "train.json")
    assert rec["status"] == "failed" and "ZeroDivisionError" in rec["reason"] and "traceback" in rec
    assert json.loads((tmp_path / "train.json").read_text())["status"] == "failed"
    rec = gpu_check._sequence(False, tmp_path, 30, module="benchmarks.no_such_suite")
    assert rec["status"] == "not available" and "benchmarks/no_such_suite.py" in rec["reason"]
    # the equality check can fail: beyond float32 tolerance, or not finite
    assert gpu_check._compare([1.0, 2.0], [1.0, 2.0 + 1e-6])["within_tolerance"] is True
    assert gpu_check._compare([1.0, 2.0], [1.0, 2.001])["within_tolerance"] is False
    assert gpu_check._compare([float("nan")], [1.0])["within_tolerance"] is False
    summary = gpu_check.summarise({"device": {"status": "failed"}, "train": {"status": "timed_out"}})
    assert summary["device"] == "unknown" and summary["statuses"] == {"device": "failed", "train": "timed_out"}
    with pytest.raises(SystemExit, match="--parts"):
        gpu_check.main(["--quick", "--parts", "device,gpu"])
