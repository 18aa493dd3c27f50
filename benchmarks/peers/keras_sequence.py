"""The sequence suite's Keras peer: Keras 3 on the JAX backend, ``model.fit`` on the same windows, per seed.

Keras must pick its backend before it is imported, so the peer runs in a subprocess of this
Python with ``KERAS_BACKEND=jax`` set (``run``); the child (``python -m
benchmarks.peers.keras_sequence SPECS.npz OUT.json``) builds each workload's model as a Keras
user would, compiles it with Keras's Adam and ``"mse"`` and calls
``fit(x, y, batch_size=32, epochs=1 + timed_epochs, shuffle=True, verbose=0)``, timing every epoch
with a callback. The first epoch also traces and compiles the training step; the figure is the
median of the later epochs, per Adam step. Models (Keras's default initialisers):

* one-step / direct: ``Sequential([Input((w, 1)), LSTM(u, activation), Dense(1 or H)])``;
* teacher forcing: ``LSTM(u, return_sequences=True)`` over the window and the first k - 1
  targets, ``Cropping1D((w - 1, 0))`` (the k outputs after the window), ``Dense(1)``;
* free running: a ``keras.Model`` subclass: ``LSTM(u, return_state=True)`` over the window, then
  ``keras.ops.scan`` of k - 1 calls of the same layer's cell, each fed the previous prediction of
  ``Dense(1)`` (a Python loop of k - 1 calls compiled in 50-100 s).

This module imports only the standard library and numpy at the top (``keras`` in the child only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.peers import PeerUnavailable

ARRAYS = ("x", "y")


def run(specs: list[dict], *, python: str | None = None, timed_epochs: int = 2, seed: int = 0,
        timeout_s: float = 900.0) -> dict[str, Any]:
    """Run the Keras peer on the workloads in a subprocess with ``KERAS_BACKEND=jax``.

    Args:
      specs: ``benchmarks.sequence_suite.peer_spec`` of each workload (names unique).
      python: the interpreter (default this one, ``sys.executable``).
      timed_epochs: epochs timed after the first (compile) epoch, >= 1.
      seed: ``keras.utils.set_random_seed``.
      timeout_s: the subprocess's limit.

    Returns:
      ``{"keras": version, "backend": ..., "workloads": {name: record}}``; a record has
      ``first_epoch_s, epoch_s (list), steps_per_epoch, s_per_step, last_loss``.

    Raises:
      PeerUnavailable: no such interpreter, Keras missing there, or the child failed (the reason).
    """
    if timed_epochs < 1:
        raise ValueError(f"timed_epochs must be >= 1, got {timed_epochs}")
    python = sys.executable if python is None else python
    if shutil.which(python) is None and not Path(python).is_file():
        raise PeerUnavailable(f"no Python interpreter at {python!r}")
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as d:
        specs_path, out_path = Path(d) / "specs.npz", Path(d) / "out.json"
        meta = [{k: v for k, v in s.items() if k not in ARRAYS} for s in specs]
        arrays = {f"{k}_{i}": np.asarray(s[k], np.float32) for i, s in enumerate(specs) for k in ARRAYS}
        np.savez(specs_path, meta=json.dumps({"specs": meta, "timed_epochs": timed_epochs, "seed": seed}), **arrays)
        env = dict(os.environ, KERAS_BACKEND="jax")
        try:
            proc = subprocess.run([python, "-m", "benchmarks.peers.keras_sequence", str(specs_path), str(out_path)],
                                  cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"the Keras peer ran past {timeout_s:.0f} s") from None
        except OSError as e:
            raise PeerUnavailable(f"cannot start {python!r}: {e}") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PeerUnavailable(f"the Keras peer failed (exit {proc.returncode}): {tail[0]}")
        return json.loads(out_path.read_text())


# --------------------------------------------------------------------------- the child

def _model(keras, spec: dict):
    layers = keras.layers
    kind, u, act, w, k = spec["kind"], spec["units"], spec["activation"], spec["window"], spec["horizon"]
    if kind in ("one_step", "direct"):
        return keras.Sequential([keras.Input((w, 1)), layers.LSTM(u, activation=act),
                                 layers.Dense(k if kind == "direct" else 1)])
    if kind == "teacher_forcing":
        return keras.Sequential([keras.Input((w + k - 1, 1)), layers.LSTM(u, activation=act, return_sequences=True),
                                 layers.Cropping1D((w - 1, 0)), layers.Dense(1), layers.Reshape((k,))])
    if kind != "free_running":
        raise ValueError(f"unknown kind {kind!r}")

    class FreeRunning(keras.Model):
        def __init__(self):
            super().__init__()
            self.lstm = layers.LSTM(u, activation=act, return_state=True)
            self.dense = layers.Dense(1)

        def call(self, x):
            _, h, c = self.lstm(x)
            first = self.dense(h)

            def step(carry, _):  # the model's own prediction fed back, (h, c) carried
                y, h, c = carry
                h, (h, c) = self.lstm.cell(y, [h, c])
                y = self.dense(h)
                return (y, h, c), y

            _, rest = keras.ops.scan(step, (first, h, c), None, length=k - 1)  # [k - 1, b, 1]
            return keras.ops.concatenate([first, keras.ops.transpose(rest[..., 0])], axis=1)

    model = FreeRunning()
    model(np.zeros((1, w, 1), np.float32))
    return model


def _inputs(spec: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if spec["kind"] == "teacher_forcing":
        x = np.concatenate([x, y[:, :-1]], axis=1)
    return x[..., None]


def child(specs_path: str, out_path: str) -> None:
    """The subprocess: fit each workload's Keras model and write the timings as JSON.

    Args:
      specs_path: the ``.npz`` ``run`` wrote (``meta`` JSON and each workload's ``x_i``, ``y_i``).
      out_path: where the JSON goes.
    """
    if os.environ.get("KERAS_BACKEND") != "jax":
        raise SystemExit("KERAS_BACKEND=jax must be set before keras is imported")
    import keras

    data = np.load(specs_path)
    meta = json.loads(str(data["meta"]))
    out = {"keras": keras.__version__, "backend": keras.backend.backend(), "workloads": {}}
    for i, spec in enumerate(meta["specs"]):
        x, y = data[f"x_{i}"], data[f"y_{i}"]
        keras.utils.set_random_seed(meta["seed"])
        model = _model(keras, spec)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=spec["learning_rate"]), loss="mse")
        times: list[float] = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.start)

        history = model.fit(_inputs(spec, x, y), y, batch_size=spec["batch_size"], epochs=1 + meta["timed_epochs"],
                            shuffle=True, verbose=0, callbacks=[Timer()])
        steps = -(-x.shape[0] // spec["batch_size"])
        later = sorted(times[1:])
        median = later[len(later) // 2] if len(later) % 2 else 0.5 * (later[len(later) // 2 - 1] + later[len(later) // 2])
        out["workloads"][spec["name"]] = {"first_epoch_s": times[0], "epoch_s": times, "steps_per_epoch": steps,
                                          "s_per_step": median / steps,
                                          "last_loss": float(history.history["loss"][-1])}
        print(f"keras {spec['name']}: first epoch {times[0]:.2f}s, then {median:.3f}s per epoch", file=sys.stderr)
    Path(out_path).write_text(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m benchmarks.peers.keras_sequence SPECS.npz OUT.json")
    child(sys.argv[1], sys.argv[2])
