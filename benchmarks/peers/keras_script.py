"""The Keras peer for the benchmarks: the seed article's Keras code, run and timed in Keras itself.

Runs on whichever backend ``KERAS_BACKEND`` names, unchanged: ``tensorflow`` (Keras's default; a
Python with TensorFlow, a separate venv: the project's own venv has no TensorFlow) or ``jax``
(Keras 3 on JAX, no TensorFlow: the project's own venv, ``KERAS_BACKEND=jax``). It imports only
the standard library, numpy, keras and its backend, and prints ONE JSON object on the last line
of stdout; everything else (Keras progress bars, backend logs) goes to stderr.

``benchmarks/peers/keras.py`` (``run_peer``) runs it. By hand, keep this folder off the import
path (its ``keras.py`` would shadow the keras package): ``python -P`` (Python >= 3.11), e.g.
``KERAS_BACKEND=jax python -P benchmarks/peers/keras_script.py train --seeds 2``.

  keras_script.py train --seeds K [--examples 1,2,3] [--epochs-scale F] [--threads N]
      The article's three examples for seeds 0..K-1, faithfully: keras.utils.set_random_seed(seed)
      at the top of each example (as if each example script were run with that seed), Keras
      defaults (batch 32, Adam lr 1e-3), and the predict call each example makes. The article's
      label bug (999 inputs, 998 labels: a crash under Keras 3) is fixed as intended, series[:-1]
      -> series[1:] (999 examples, as lstm_ar.data.series.windows). Per seed and variant: build+compile,
      fit and predict seconds and the final training loss. --epochs-scale runs a fraction of each
      variant's epochs (at least 2: the first epoch also traces the train step, so the full fit is
      extrapolated from the median of the later epochs).

  keras_script.py rollout --weights W.npz --mode window|stateful --steps N
                                 [--x0 0.5] [--activation tanh] [--budget-s 20]
      One forecaster LSTM(u) -> Dense(1) loaded from W.npz (Keras layout: kernel [1,4u], recurrent
      [u,4u], bias [4u], dense [u,1], dense_bias [1]; a leading model axis of size 1, as in
      benchmarks/peers/numpy_rollout.py, is accepted) and rolled out from x0, each prediction fed back.
      window: the model(x) of a non-stateful LSTM, zero state every step; stateful: an LSTM with
      stateful=True and batch size 1 carries (h, c). Timed as model(x) in an eager loop, as
      model.predict_on_batch, and as a compiled step: a tf.function-wrapped model(x) on
      TensorFlow, jax.jit of model(x) in a keras.StatelessScope on JAX (weights and the stateful
      layer's (h, c) passed in and out explicitly). The figure is the fastest way whose
      predictions agree with model(x)'s (on JAX, predict_on_batch does not carry a stateful
      layer's state from call to call).

--threads sets TensorFlow's op thread pools; on JAX it is recorded and not applied (XLA:CPU
picks its threads).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np

BATCH = 32  # Keras's default fit batch size, which the article leaves as is
# (example, name, activation, dropout, epochs, data) in the article's order within each example;
# names are the project's scenario/variant names (benchmarks/suite.py)
VARIANTS = ((1, "diversity/relu", "relu", 0.0, 100, "linspace"),
            (2, "activation/sigmoid", "sigmoid", 0.0, 20, "sine"),
            (2, "activation/relu", "relu", 0.0, 20, "sine"),
            (3, "dropout/no_dropout", "relu", 0.0, 50, "sine"),
            (3, "dropout/dropout", "relu", 0.2, 50, "sine"))


class Backend:
    """The imported Keras and its backend: ``name`` ("tensorflow" or "jax"), ``module`` (tf or
    jax), ``version`` (the backend's), ``threads`` (what the op pools are), ``import_s``."""

    def __init__(self, name, module, keras, threads, import_s):
        self.name, self.module, self.keras, self.threads, self.import_s = name, module, keras, threads, import_s
        self.version = module.__version__


def import_keras(threads):
    """Import Keras (its backend from ``KERAS_BACKEND``) quietly; on TensorFlow set the op thread
    pools (before any op runs). Returns a ``Backend``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t0 = time.perf_counter()
    import keras
    if not hasattr(keras, "backend"):
        raise SystemExit(f"'import keras' found {keras.__file__}, not the keras package: run this script with "
                         "python -P (or through benchmarks/peers/keras.py) so its folder is not on the import path")
    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as module
        module.get_logger().setLevel("ERROR")  # e.g. predict retracing warnings (one per new model)
        if threads:
            module.config.threading.set_intra_op_parallelism_threads(threads)
            module.config.threading.set_inter_op_parallelism_threads(threads)
        info = {"requested": threads, "intra_op": module.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": module.config.threading.get_inter_op_parallelism_threads(),
                "cpu_count": os.cpu_count(), "note": "0 = TensorFlow picks (its default)"}
    elif name == "jax":
        import jax as module
        info = {"requested": threads, "cpu_count": os.cpu_count(), "devices": [str(d) for d in module.devices()],
                "note": "XLA picks its threads (--threads applies to TensorFlow only)"}
    else:
        raise SystemExit(f"KERAS_BACKEND={name!r}: this peer runs on 'tensorflow' or 'jax'")
    return Backend(name, module, keras, info, time.perf_counter() - t0)


def article_data(kind):
    """(inputs, labels, predict input) exactly as the article builds them (float64 numpy)."""
    if kind == "linspace":
        x = np.linspace(0.4, 0.6, 100).reshape(100, 1, 1)
        return x, x, np.array([0.6]).reshape(1, 1, 1)
    np.random.seed(42)
    s = np.sin(np.linspace(0, 10 * np.pi, 1000)) + 0.1 * np.random.randn(1000)
    s = (s - np.mean(s)) / np.std(s)
    x, y = s[:-1].reshape(-1, 1, 1), s[1:].reshape(-1, 1)  # the intended x[:-1] -> x[1:]
    return x, y, x[-1].reshape(1, 1, 1)


def run_variant(keras, variant, scale):
    """Build, compile, fit and predict one of the article's models; seconds and final loss."""
    _, name, act, dropout, epochs, kind = variant
    x, y, test = article_data(kind)
    epochs_run = min(epochs, max(2, round(epochs * scale)))  # 2: a traced and a steady epoch
    t0 = time.perf_counter()
    layers = [keras.layers.LSTM(32, activation=act, input_shape=(1, 1))]
    layers += [keras.layers.Dropout(dropout)] if dropout else []
    model = keras.Sequential(layers + [keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    t1 = time.perf_counter()
    ends = []
    timer = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: ends.append(time.perf_counter()))
    hist = model.fit(x, y, epochs=epochs_run, verbose=0, callbacks=[timer])
    t2 = time.perf_counter()
    model.predict(test)
    t3 = time.perf_counter()
    epoch_s = np.diff([t1] + ends)
    later = epoch_s[1:] if len(epoch_s) > 1 else epoch_s  # the first epoch also traces the step
    fit_full = (t2 - t1) + (epochs - epochs_run) * float(np.median(later))
    return {"variant": name, "build_compile_s": t1 - t0, "fit_s": t2 - t1, "predict_s": t3 - t2,
            "fit_s_full": fit_full, "first_epoch_s": float(epoch_s[0]),
            "epochs": epochs, "epochs_run": epochs_run, "samples": int(x.shape[0]),
            "steps_full": math.ceil(x.shape[0] / BATCH) * epochs,
            "steps_run": math.ceil(x.shape[0] / BATCH) * epochs_run,
            "final_loss": float(hist.history["loss"][-1]), "extrapolated": epochs_run != epochs}


def train(args):
    """The ``train`` subcommand: the article's examples for seeds 0..K-1; returns the result object."""
    be = import_keras(args.threads)
    keras = be.keras
    import warnings
    warnings.filterwarnings("ignore", message=".*input_shape.*")  # Keras 3 on the article's style
    examples = args.examples
    per_seed = []
    for seed in range(args.seeds):
        rows = []
        for ex in examples:
            keras.utils.set_random_seed(seed)  # the top of the example's script
            rows += [run_variant(keras, v, args.epochs_scale) for v in VARIANTS if v[0] == ex]
        total = sum(r["build_compile_s"] + r["fit_s"] + r["predict_s"] for r in rows)
        full = sum(r["build_compile_s"] + r["fit_s_full"] + r["predict_s"] for r in rows)
        per_seed.append({"seed": seed, "seconds": total, "seconds_full": full, "variants": rows})
        print(f"seed {seed}: {total:.1f} s ({full:.1f} s full)", file=sys.stderr)
    per_variant = {}
    for name in [r["variant"] for r in per_seed[0]["variants"]]:
        rs = [r for s in per_seed for r in s["variants"] if r["variant"] == name]
        med = {k: statistics.median(r[k] for r in rs) for k in
               ("build_compile_s", "fit_s", "fit_s_full", "predict_s", "first_epoch_s")}
        per_variant[name] = {
            "seconds_median": statistics.median(r["build_compile_s"] + r["fit_s_full"] + r["predict_s"]
                                                for r in rs),  # full epochs (extrapolated if scaled)
            "final_loss_median": statistics.median(r["final_loss"] for r in rs), **med,
            **{k: rs[0][k] for k in ("epochs", "epochs_run", "samples", "steps_full", "steps_run")}}
    return {"mode": "train", **_versions(be), "seeds": args.seeds, "examples": examples,
            "epochs_scale": args.epochs_scale, "extrapolated": args.epochs_scale != 1.0,
            "import_s": be.import_s, "per_seed": per_seed, "per_variant": per_variant,
            "seconds_per_seed_median": statistics.median(s["seconds"] for s in per_seed),
            "seconds_per_seed_full_suite": statistics.median(s["seconds_full"] for s in per_seed),
            "steps_per_seed": sum(v["steps_full"] for v in per_variant.values()),
            "steps_per_seed_run": sum(v["steps_run"] for v in per_variant.values()),
            "threads": be.threads,
            "note": "seconds = build+compile + fit + predict over the variants; the first seed also "
                    "pays the backend's one-off start-up; *_full extrapolates scaled epochs"}


def _versions(be):
    """The result's version fields: keras, backend, and the backend's own version."""
    return {"keras": be.keras.__version__, "backend": be.name, "backend_version": be.version,
            "tensorflow": be.version if be.name == "tensorflow" else None}


def load_weights(path):
    """The npz as Keras get_weights() order, reshaped to Keras layout; clear errors if malformed."""
    if not os.path.isfile(path):
        raise SystemExit(f"weights file not found: {path}")
    with np.load(path) as f:
        missing = {"kernel", "recurrent", "bias", "dense", "dense_bias"} - set(f.files)
        if missing:
            raise SystemExit(f"{path} lacks {sorted(missing)} (has {sorted(f.files)})")
        w = {k: np.asarray(f[k], np.float32) for k in ("kernel", "recurrent", "bias", "dense", "dense_bias")}
    rec = w["recurrent"]
    if rec.ndim == 3:  # the rollout peers' layout, with a leading model axis
        if rec.shape[0] != 1:
            raise SystemExit(f"one model per run: recurrent has {rec.shape[0]} models")
        rec = rec[0]
    if rec.ndim != 2 or rec.shape[1] != 4 * rec.shape[0]:
        raise SystemExit(f"recurrent must be [u, 4u], got {w['recurrent'].shape}")
    u = rec.shape[0]
    sizes = {"kernel": 4 * u, "bias": 4 * u, "dense": u, "dense_bias": 1}
    for k, n in sizes.items():
        if w[k].size != n:
            raise SystemExit(f"{k} has shape {w[k].shape}: expected {n} values for {u} units")
    return [w["kernel"].reshape(1, 4 * u), rec, w["bias"].reshape(4 * u),
            w["dense"].reshape(u, 1), w["dense_bias"].reshape(1)]


def rollout_fns(be, model, stateful):
    """name -> run(n, x0) returning n predictions fed back from x0 (state reset at the start).

    ``eager_call`` (model(x) in a Python loop) and ``predict_on_batch`` on both backends; the
    compiled step is ``tf_function`` (a tf.function of model(x)) on TensorFlow and ``jax_jit``
    (jax.jit of model.stateless_call, the stateful layer's (h, c) carried as its non-trainable
    variables) on JAX.
    """
    lstm = model.layers[0]
    reset = lstm.reset_state if stateful else (lambda: None)

    def loop(step, to_input):
        def run(n, x0):
            reset()
            y, out = np.full((1, 1, 1), x0, np.float32), []
            for _ in range(n):
                y = step(to_input(y))
                out.append(y)
            return np.asarray([float(np.asarray(v).reshape(())) for v in out], np.float32)
        return run

    to_numpy = lambda y: np.asarray(y).reshape(1, 1, 1)  # noqa: E731
    if be.name == "tensorflow":
        tf = be.module
        as_tensor = lambda y: tf.reshape(y, (1, 1, 1))  # noqa: E731
        step_tf = tf.function(lambda x: model(x, training=False))
        return {"eager_call": loop(lambda x: model(x, training=False), as_tensor),
                "predict_on_batch": loop(model.predict_on_batch, to_numpy),
                "tf_function": loop(step_tf, as_tensor)}
    jax, jnp = be.module, be.module.numpy
    as_array = lambda y: jnp.reshape(y, (1, 1, 1))  # noqa: E731
    fns = {"eager_call": loop(lambda x: model(x, training=False), as_array),
           "predict_on_batch": loop(model.predict_on_batch, to_numpy)}
    # The stateful layer's (h, c) variables are not among model.non_trainable_variables (Keras
    # creates them untracked), so stateless_call would drop their update: carry them explicitly.
    carried = list(lstm.states) if stateful else []
    keras = be.keras

    @jax.jit
    def jit_step(trainable, state, y):
        mapping = list(zip(model.trainable_variables, trainable)) + list(zip(carried, state))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            out = model(jnp.reshape(y, (1, 1, 1)), training=False)
        return [scope.get_current_value(v) for v in carried], out

    def run_jit(n, x0):
        reset()
        trainable = [v.value for v in model.trainable_variables]  # read now: predict_on_batch may replace them
        state = [v.value for v in carried]  # the layer's reset (h, c), if stateful
        y, out = jnp.full((1, 1), x0, jnp.float32), []
        for _ in range(n):
            state, y = jit_step(trainable, state, y)
            out.append(y)
        return np.asarray([float(np.asarray(v).reshape(())) for v in out], np.float32)

    fns["jax_jit"] = run_jit
    return fns


def agreement(entries, tol=1e-5):
    """Mark each entry's agreement with ``eager_call`` (the layer's own ``model(x)``, the reference);
    returns the names that agree.

    On the JAX backend ``predict_on_batch`` of a stateful LSTM does not carry (h, c) from one call
    to the next (Keras 3.15.1: the state variables are untracked, so the compiled predict step's
    update is dropped): its rollout is the window one. Such an entry is kept in the JSON with
    ``agrees_with_model_call: false`` and is not the peer's figure.
    """
    ref = np.asarray(entries["eager_call"]["first_predictions"], np.float32)
    ok = []
    for name, e in entries.items():
        got = np.asarray(e["first_predictions"], np.float32)
        k = min(len(got), len(ref))
        e["max_abs_diff_vs_model_call"] = float(np.max(np.abs(got[:k] - ref[:k]))) if k else 0.0
        e["agrees_with_model_call"] = bool(e["max_abs_diff_vs_model_call"] <= tol)
        if e["agrees_with_model_call"]:
            ok.append(name)
    return ok


def rollout(args):
    """The ``rollout`` subcommand: one model's rollout, timed three ways; returns the result object."""
    weights = load_weights(args.weights)  # before the slow TensorFlow import: fail fast
    be = import_keras(args.threads)
    keras = be.keras
    u, stateful = weights[1].shape[0], args.mode == "stateful"
    model = keras.Sequential([keras.Input(batch_shape=(1, 1, 1)),
                              keras.layers.LSTM(u, activation=args.activation, stateful=stateful),
                              keras.layers.Dense(1)])
    model.set_weights(weights)
    entries, fns = {}, rollout_fns(be, model, stateful)
    for name, run in fns.items():
        run(args.warmup, args.x0)  # traces tf.function / jax.jit, warms caches
        t0 = time.perf_counter()
        run(args.warmup, args.x0)
        per = (time.perf_counter() - t0) / args.warmup
        n = min(args.steps, max(20, int(args.budget_s / len(fns) / max(per, 1e-9))))
        t0 = time.perf_counter()
        preds = run(n, args.x0)
        dt = time.perf_counter() - t0
        entries[name] = {"us_per_step": dt / n * 1e6, "steps": args.steps, "steps_measured": n,
                         "seconds": dt, "first_predictions": preds[:20].tolist()}
        print(f"{name}: {entries[name]['us_per_step']:.0f} us/step over {n} steps", file=sys.stderr)
    agree = agreement(entries)
    best = min(agree, key=lambda k: entries[k]["us_per_step"])
    return {"mode": "rollout", "rollout_mode": args.mode, **_versions(be), "units": u,
            "activation": args.activation, "x0": args.x0, "import_s": be.import_s, "threads": be.threads,
            "entries": entries, "best": best, "excluded": sorted(set(entries) - set(agree)),
            "note": ("Sequential([Input(batch_shape=(1,1,1)), LSTM(u%s), Dense(1)]): %s; "
                     "predictions[0] = f(x0), each fed back; one model call per step; best = the fastest "
                     "entry whose predictions agree with model(x)'s (eager_call)"
                     % ((", stateful=True", "the stateful layer carries (h, c), reset before each run")
                        if stateful else ("", "zero state every call (window 1)")))}


def main(argv=None):
    """Parse the subcommand, run it with stdout kept for the one JSON line, print that line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="time the article's three examples over seeds")
    t.add_argument("--seeds", type=int, required=True)
    t.add_argument("--examples", default="1,2,3")
    t.add_argument("--epochs-scale", type=float, default=1.0)
    r = sub.add_parser("rollout", help="time one model's free-running rollout")
    r.add_argument("--weights", required=True)
    r.add_argument("--mode", choices=("window", "stateful"), required=True)
    r.add_argument("--steps", type=int, required=True)
    r.add_argument("--x0", type=float, default=0.5)
    r.add_argument("--activation", default="tanh")
    r.add_argument("--warmup", type=int, default=5, help="untimed steps per entry (>= 1)")
    r.add_argument("--budget-s", type=float, default=20.0, help="about the total timed seconds")
    for s in (t, r):
        s.add_argument("--threads", type=int, default=None, help="TF intra/inter-op threads (TensorFlow only)")
    args = p.parse_args(argv)
    if args.cmd == "train":
        try:
            args.examples = sorted({int(e) for e in args.examples.split(",")})
        except ValueError:
            args.examples = []
        if not args.examples or not set(args.examples) <= {1, 2, 3}:
            p.error("--examples must be a subset of 1,2,3 (comma-separated)")
    if args.cmd == "train" and (args.seeds < 1 or not 0 < args.epochs_scale <= 1):
        p.error("--seeds must be >= 1 and --epochs-scale in (0, 1]")
    if args.cmd == "rollout" and (args.steps < 1 or args.warmup < 1):
        p.error("--steps and --warmup must be >= 1")
    stdout, sys.stdout = sys.stdout, sys.stderr  # keep stdout for the JSON line alone
    try:
        result = train(args) if args.cmd == "train" else rollout(args)
    finally:
        sys.stdout = stdout
    print(json.dumps(result))


if __name__ == "__main__":
    main()
