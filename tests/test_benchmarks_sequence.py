"""The sequence benchmark: its --quick run end to end, the hand FLOP count, and the PyTorch peer
trains the same model as ours (same weights and batch -> same loss and gradients).

No timing is asserted. The quick run is one subprocess (one workload, N = 4, the Keras
peer pointed at a missing interpreter so its skip reason is recorded without paying for Keras).
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import sequence, sequence_suite
from benchmarks.sequence_suite import flops_per_seed_step

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("sequence") / "sequence_quick.json"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.sequence", "--quick", "--workloads", "context_w50",
                           "--seeds", "4", "--peers", "torch_loop,keras", "--keras-python", "/nonexistent/python",
                           "--peer-budget-s", "0.2", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout, out


def doc_path(quick) -> Path:
    return quick[2]


def test_quick_run_writes_json_and_says_it_cannot_judge_speed(quick):
    doc, stdout, _ = quick
    assert doc["benchmark"] == "sequence" and doc["quick"] is True
    assert doc["command"].startswith("python -m benchmarks.sequence --quick")
    m = doc["machine"]
    for field in ("cpu", "jax", "loadavg_start", "loadavg_end", "torch", "keras_installed"):
        assert field in m, field
    assert doc["hardware_limit"]["flops_per_s"] > 0
    ours = [r for r in doc["results"]["rows"] if r["impl"] == "ours"]
    assert [r["n_seeds"] for r in ours] == [4]
    for r in ours:
        assert r["workload"] == "context_w50" and r["compile_s"] > 0 and r["us_per_seed_step"] > 0
        assert r["seeds_per_s_full"] > 0 and "extrapolated_from" in r and r["peak_rss_mib"] > 0
        assert 0 < r["gemm_fraction"] and r["finite_fraction"] == 1.0
    cost = doc["results"]["step_cost"]["context_w50"]
    assert cost["hand"]["total"] > 0 and cost["xla_flops"] > 0
    loop = [r for r in doc["results"]["rows"] if r["impl"] == "torch_loop"]
    skipped = {s["impl"]: s["reason"] for s in doc["results"]["skipped"]}
    if importlib.util.find_spec("torch") is not None:
        assert len(loop) == 1 and loop[0]["ratio_vs_ours_best"] > 0 and loop[0]["peer"]["impl"] == "cell"
    else:  # PyTorch is optional (CI installs only .[test]): skipped, with the reason
        assert not loop and "torch" in skipped["torch_loop"].lower()
    assert "no Python interpreter" in skipped["keras"] and "not in --peers" in skipped["torch_vmap"]
    assert "cannot judge speed" in stdout.lower()
    assert "committed full run" in stdout
    assert "keras: no Python interpreter" in stdout and "torch_vmap: not in --peers" in stdout
    assert "peak resident memory:" in stdout and "MiB" in stdout
    assert doc_path(quick).with_suffix(".png").is_file()  # the plot


def test_quick_refuses_to_overwrite_the_committed_run():
    with pytest.raises(SystemExit, match="would overwrite"):
        sequence.main(["--quick", "--out", str(ROOT / "benchmarks" / "results" / "sequence.json")])
    with pytest.raises(SystemExit, match="unknown workloads"):
        sequence.main(["--quick", "--workloads", "nope"])


def test_headline_of_a_full_run():
    doc = {"results": {"headline": [{"workload": "context_w50", "n_seeds": 1024, "us_per_seed_step": 12.5,
                                     "seeds_per_s_full": 3.2, "gemm_fraction": 0.25, "x_torch_loop": 40.0}],
                       "targets": [{"target": ">= 10x", "met": True}], "peak_rss_mib": 900.0}}
    lines = sequence.headline_lines(doc)
    assert "context_w50: N = 1024: 12.5 us per seed-step" in lines[0] and "torch_loop 40x" in lines[0]
    assert lines[1] == "target: >= 10x: met=True" and lines[2] == "peak resident memory: 900 MiB"
    assert sequence.headline_lines({}) == []


def test_flop_count_by_hand():
    # one-step, u = 2, w = 3, b = 1, d = 1. Forward:
    #   step 1 (zero state): x @ kernel 2*1*8 = 16; elementwise 10u = 20
    #   steps 2, 3: 16 + h @ recurrent 2*2*8 = 32 -> 48 each; elementwise 17u = 34 each
    #   head: 2*u*1 = 4; its bias 1 and the squared error 3
    # forward matmul 16 + 96 + 4 = 116, elementwise 20 + 68 + 4 = 92; x3 for forward + backward
    # Adam: 12 per parameter, 4*2*(1 + 2 + 1) + 2 + 1 = 35 parameters
    f = flops_per_seed_step("one_step", units=2, window=3, horizon=1, batch=1)
    assert (f["matmul"], f["elementwise"], f["adam"], f["lstm_steps"]) == (348, 276, 420, 3)
    assert f["total"] == 348 + 276 + 420
    # free running, k = 2: 4 LSTM steps (3 + one fed), two predictions; batch 5
    f = flops_per_seed_step("free_running", units=2, window=3, horizon=2, batch=5)
    assert f["matmul"] == 3 * 5 * (4 * 16 + 3 * 32 + 2 * 4)
    assert f["elementwise"] == 3 * 5 * (20 + 3 * 34 + 2 * 4)
    # direct head H = 4: one prediction of 4 values, head 2*2*4 = 16, its bias 4 and errors 12
    f = flops_per_seed_step("direct", units=2, window=3, horizon=4, batch=1)
    assert f["matmul"] == 3 * (16 + 2 * 48 + 16) and f["elementwise"] == 3 * (20 + 68 + 16)
    assert f["adam"] == 12 * (32 + 2 * 4 + 4)
    with pytest.raises(ValueError, match="units"):
        flops_per_seed_step("one_step", units=0, window=3, horizon=1, batch=1)
    with pytest.raises(ValueError, match="unknown kind"):
        flops_per_seed_step("sideways", units=2, window=3, horizon=1, batch=1)


# --------------------------------------------------------------------------- the PyTorch peer = ours

U, W, B = 4, 5, 6


def _ours(kind: str, activation: str, horizon: int, x: np.ndarray, y: np.ndarray):
    """Our initial weights (seed 3) and our loss and gradients on the batch, in Keras's layout."""
    from lstm_ar.config import ModelConfig
    from lstm_ar.model.forecaster import DropoutMasks, init_params
    from lstm_ar.training.plain import Batch, batch_loss

    model = ModelConfig(units=U, window=W, activation=activation,
                        **({"head": "direct", "horizon": horizon} if kind == "direct" else {}))
    key = jax.random.key(3)
    xb, yb, mask = jnp.asarray(x)[..., None], jnp.asarray(y), jnp.ones((x.shape[0],), jnp.float32)
    params = init_params(key, model)
    coins = None if kind in ("one_step", "direct") else jax.random.split(key, x.shape[0])
    masks = DropoutMasks(None, None, None)
    teacher = 1.0 if kind in ("one_step", "teacher_forcing", "direct") else 0.0
    loss, grads = jax.jit(jax.value_and_grad(lambda p: batch_loss(p, Batch(xb, yb, mask), masks, coins, teacher,
                                                                  model)))(params)

    def keras(tree):
        return {"kernel": tree["lstm"]["kernel"], "recurrent_kernel": tree["lstm"]["recurrent_kernel"],
                "bias": tree["lstm"]["bias"], "dense_kernel": tree["dense"]["kernel"], "dense_bias": tree["dense"]["bias"]}

    return ({k: np.asarray(v) for k, v in keras(params).items()}, float(loss),
            {k: np.asarray(v) for k, v in keras(grads).items()})


@pytest.mark.parametrize("kind, activation, horizon, impls", [
    ("one_step", "relu", 1, ("cell",)),
    ("teacher_forcing", "tanh", 3, ("cell", "nn_lstm")),
    ("free_running", "relu", 3, ("cell",)),
    ("direct", "tanh", 4, ("cell", "nn_lstm")),
])
def test_torch_peer_has_our_loss_and_gradients(kind, activation, horizon, impls):
    pytest.importorskip("torch")
    from benchmarks.peers import torch_sequence

    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, W)).astype(np.float32)
    y = rng.standard_normal((B, horizon)).astype(np.float32)
    weights, loss, grads = _ours(kind, activation, horizon, x, y)
    spec = {"kind": kind, "units": U, "activation": activation, "window": W, "horizon": horizon}
    for impl in impls:
        peer_loss, peer_grads = torch_sequence.loss_and_grads(spec, weights, x, y, impl)
        np.testing.assert_allclose(peer_loss, loss, rtol=1e-5, err_msg=impl)
        for name, g in grads.items():
            np.testing.assert_allclose(peer_grads[name], g, rtol=1e-4, atol=1e-6, err_msg=f"{impl} {name}")
    assert torch_sequence.uses_nn_lstm(spec) == ("nn_lstm" in impls)


def test_peer_spec_matches_the_library_workloads():
    (w,) = sequence_suite.workloads(quick=True, names=("regime_free_k40",))
    spec = sequence_suite.peer_spec(w)
    assert spec["kind"] == "free_running" and spec["x"].shape == (w.examples, w.window)
    assert spec["y"].shape == (w.examples, w.horizon) and w.full_steps == w.epochs * -(-w.examples // 32)


def test_keras_peer_models_have_our_loss():
    """The Keras peer's four models, given our initial weights, have our loss on the batch (the mean
    squared error of their predictions): they compute the same forecaster, fed back as ours is.
    Needs only Keras (in the test extra), so it runs in CI."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("keras was imported with another backend")
    from benchmarks.peers import keras_sequence

    rng = np.random.default_rng(1)
    for kind, activation, horizon in (("one_step", "relu", 1), ("teacher_forcing", "relu", 3),
                                      ("free_running", "relu", 3), ("direct", "tanh", 4)):
        spec = {"kind": kind, "units": U, "activation": activation, "window": W, "horizon": horizon}
        x = rng.standard_normal((B, W)).astype(np.float32)
        y = rng.standard_normal((B, horizon)).astype(np.float32)
        weights, loss, _ = _ours(kind, activation, horizon, x, y)
        with jax.numpy_rank_promotion("allow"):  # Keras broadcasts implicitly
            model = keras_sequence._model(keras, spec)
            inputs = keras_sequence._inputs(spec, x, y)
            model(inputs)
            lstm = next(layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.LSTM))
            dense = next(layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Dense))
            lstm.set_weights([weights["kernel"], weights["recurrent_kernel"], weights["bias"]])
            dense.set_weights([weights["dense_kernel"], weights["dense_bias"]])
            predictions = np.asarray(model(inputs)).reshape(y.shape)
        np.testing.assert_allclose(np.mean(np.square(predictions - y)), loss, rtol=1e-5, err_msg=kind)
