"""The recommended forecaster handed back as a Keras 3 file: raw values in, raw forecasts out.

``keras_forecaster(params_or_ensemble, model, mean=, std=)`` builds a functional ``keras.Model`` equal to ours::

    x: f32[batch, window, 1] (or f32[batch, window]), raw values, oldest first
    z = (x - mean) / std                                  the training part's standardisation
    [m, s = mean(z), max(std(z), WINDOW_SCALE_FLOOR); z = (z - m) / s]        window_scaling
    y_k = Dense_k(LSTM_k(z)) [+ Dense_k'(z[..., 0]), no bias]                 seed k; linear_skip
    [y_k = m + s * y_k]                                                        window_scaling
    out = mean + std * median_k(y_k): f32[batch, outputs]       (one seed: no median)

``keras_linear(coefs, intercept, mean=, std=)`` does the same for a linear forecaster (one Dense layer).
``save_forecaster`` writes the ``.keras`` file atomically, with a runnable example (``usage_example``) beside it.

Measured with Keras 3.15.1 (JAX backend): ``keras.ops`` calls on symbolic tensors (``mean``, ``std``,
``maximum``, ``subtract``, ``divide``, ``stack``, ``median``, ...) are nodes of the functional graph, written to
``config.json`` as ``keras.src.ops.numpy`` operations, and ``keras.saving.load_model(path)`` reads them back with
the default ``safe_mode=True`` and no custom objects (no warning), predictions unchanged bit for bit. So the
window statistics and the ensemble median (numpy's: the mean of the two middle values for an even count) are
those ops, and the file holds built-in layers (``LSTM``, ``Dense``, ``Reshape``, ``Add``) and ops only. The op
nodes name private Keras modules: a Keras release that moves them would need the file rebuilt.
A functional model also takes a rank-2 batch f32[batch, window] (Keras adds the trailing axis; measured).
Refused (``ValueError``, before Keras is imported): the Gaussian head, residual and layer-normalised models.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import jax
import numpy as np

from lstm_ar.checks import real_float32
from lstm_ar.config import ModelConfig
from lstm_ar.model.forecaster import WINDOW_SCALE_FLOOR, Params
from lstm_ar.runtime.fs import atomic_path, atomic_write_text
from lstm_ar.user.model_file import import_keras as _keras
from lstm_ar.user.model_file import keras_side

SUFFIX = ".keras"  # Keras 3's native format; ``Model.save`` refuses other suffixes


def check_exportable(model: ModelConfig) -> None:
    """ValueError for a model with no point forecast a Keras file gives back equal: Gaussian head, residual,
    layer norm."""
    if not isinstance(model, ModelConfig):
        raise TypeError(f"model must be a ModelConfig, got {type(model).__name__}")
    refused = [why for on, why in ((model.head == "gaussian", "a Gaussian head (mean and scale)"),
                                   (model.residual, "residual (the last value added back)"),
                                   (model.layer_norm, "a layer-normalised LSTM (no Keras LSTM equivalent)")) if on]
    if refused:
        raise ValueError(f"cannot export {', '.join(refused)} as a Keras model; exportable: the next-value or direct "
                         "head, with or without window_scaling and linear_skip")


def _check_standardisation(mean: float, std: float) -> tuple[float, float]:
    mean, std = (float(real_float32(np.asarray(v, np.float64), name)) for v, name in ((mean, "mean"), (std, "std")))
    if not std > 0:
        raise ValueError(f"std must be > 0 (the training part's standard deviation), got {std}")
    return mean, std


def seed_trees(params_or_ensemble: Params | Sequence[Params]) -> list[Params]:
    """One params tree per seed: a list of trees as given, a tree whose LSTM kernel is f32[seeds, d, 4u] split
    along its leading axis, a single tree (kernel f32[d, 4u]) as a list of one."""
    if isinstance(params_or_ensemble, (list, tuple)):
        trees = list(params_or_ensemble)
        if not trees:
            raise ValueError("an empty ensemble: give at least one params tree")
        return trees
    if not isinstance(params_or_ensemble, dict) or "lstm" not in params_or_ensemble:
        raise TypeError(f"expected a params tree {{'lstm': ..., 'dense': ...}} or a list of them, got "
                        f"{type(params_or_ensemble).__name__}")
    rank = np.ndim(params_or_ensemble["lstm"]["kernel"])
    if rank == 2:
        return [params_or_ensemble]
    if rank == 3:
        seeds = np.shape(params_or_ensemble["lstm"]["kernel"])[0]
        return [jax.tree.map(lambda leaf, i=i: leaf[i], params_or_ensemble) for i in range(seeds)]
    raise ValueError(f"LSTM kernel has shape {np.shape(params_or_ensemble['lstm']['kernel'])}: expected f32[1, 4u] "
                     "(one seed) or f32[seeds, 1, 4u] (a stacked ensemble)")


def _seed_weights(params: Params, model: ModelConfig, seed: int) -> dict[str, list[np.ndarray]]:
    """Checked float32 weights of one seed by Keras layer: lstm, dense [, skip]."""
    u, w, o = model.units, model.window, model.outputs
    expected = {"lstm": {"kernel": (1, 4 * u), "recurrent_kernel": (u, 4 * u), "bias": (4 * u,)},
                "dense": {"kernel": (u, o), "bias": (o,)}}
    if model.linear_skip:
        expected["skip"] = {"kernel": (w, o)}
    if set(params) != set(expected) or any(set(params[k]) != set(v) for k, v in expected.items()):
        found = {k: sorted(v) if isinstance(v, dict) else type(v).__name__ for k, v in params.items()}
        raise ValueError(f"seed {seed}: params hold {found}; the model (linear_skip={model.linear_skip}, "
                         f"layer_norm={model.layer_norm}) needs {({k: sorted(v) for k, v in expected.items()})}")
    out = {}
    for layer, shapes in expected.items():
        out[layer] = []
        for name, shape in shapes.items():
            array = real_float32(np.asarray(params[layer][name]), f"seed {seed} {layer}.{name}")
            if array.shape != shape:
                raise ValueError(f"seed {seed}: {layer}.{name} has shape {array.shape}, expected {shape} for units "
                                 f"{u}, window {w}, outputs {o}")
            out[layer].append(np.asarray(array, np.float32))
    return out


def _standardised_input(keras, window: int, mean: float, std: float, name: str):
    """(Input f32[batch, window, 1], its standardised values (x - mean) / std)."""
    x = keras.Input((window, 1), dtype="float32", name=name)
    return x, keras.ops.divide(keras.ops.subtract(x, np.float32(mean)), np.float32(std))


def keras_forecaster(params_or_ensemble: Params | Sequence[Params], model: ModelConfig, *, mean: float,
                     std: float, name: str = "lstm_ar_forecaster"):
    """Our forecaster (one seed, or the median of an ensemble's) as a functional Keras 3 model on raw values.

    Args:
      params_or_ensemble: one params tree (``lstm_ar.model.forecaster`` layout), a list of them, or a tree
        stacked over seeds (leaves with a leading seed axis), all of ``model``.
      model: their ``ModelConfig`` (next or direct head; ``window_scaling`` and ``linear_skip`` as trained).
      mean: the mean of the standardisation the models were trained in (``SplitSeries.mean``).
      std: its standard deviation (``SplitSeries.std``), > 0.
    Returns:
      ``keras.Model``: f32[batch, window, 1] (or f32[batch, window]) raw values -> f32[batch, outputs] raw forecasts,
      equal to ``mean + std * median_k forecast_batch(params_k, (x - mean) / std, model)``.
    """
    check_exportable(model)
    mean, std = _check_standardisation(mean, std)
    weights = [_seed_weights(tree, model, k) for k, tree in enumerate(seed_trees(params_or_ensemble))]
    keras = _keras()
    ops = keras.ops
    with keras_side():
        x, z = _standardised_input(keras, model.window, mean, std, "window")
        if model.window_scaling:  # forecaster.window_statistics per example, over time
            level = ops.mean(z, axis=1, keepdims=True)
            scale = ops.maximum(ops.std(z, axis=1, keepdims=True), np.float32(WINDOW_SCALE_FLOOR))
            z = ops.divide(ops.subtract(z, level), scale)
        flat = keras.layers.Reshape((model.window,), name="window_values")(z) if model.linear_skip else None
        layers, forecasts = [], []
        for k in range(len(weights)):
            lstm = keras.layers.LSTM(model.units, activation=model.activation, dtype="float32",
                                     recurrent_activation=model.recurrent_activation, name=f"lstm_seed{k}")
            dense = keras.layers.Dense(model.outputs, dtype="float32", name=f"dense_seed{k}")
            y = dense(lstm(z))
            layers += [(lstm, weights[k]["lstm"]), (dense, weights[k]["dense"])]
            if model.linear_skip:
                skip = keras.layers.Dense(model.outputs, use_bias=False, dtype="float32", name=f"skip_seed{k}")
                y = keras.layers.Add(name=f"outputs_seed{k}")([y, skip(flat)])
                layers.append((skip, weights[k]["skip"]))
            if model.window_scaling:
                y = ops.add(level[:, 0], ops.multiply(scale[:, 0], y))
            forecasts.append(y)
        y = forecasts[0] if len(forecasts) == 1 else ops.median(ops.stack(forecasts, axis=-1), axis=-1)
        out = ops.add(np.float32(mean), ops.multiply(np.float32(std), y))
        keras_model = keras.Model(x, out, name=name)
        for layer, arrays in layers:
            layer.set_weights(arrays)
    return keras_model


def keras_linear(coefs, intercept, *, mean: float, std: float, name: str = "lstm_ar_linear"):
    """A linear forecaster on standardised values, ``y = z @ coefs + intercept``, as a Keras 3 model on raw values.

    Args:
      coefs: f[window, outputs], row i multiplying the window's value i (oldest first), as
        ``DirectFit.weights[:-1]``; an AR(p)'s next ``outputs`` values (its rollout): ``ar_window_map_host``.
      intercept: f[outputs] (``DirectFit.weights[-1]``; ``ar_window_map_host``'s second array).
      mean: the mean of the standardisation the coefficients were fitted in.
      std: its standard deviation, > 0.
    Returns:
      ``keras.Model``: f32[batch, window, 1] (or f32[batch, window]) -> f32[batch, outputs], ``mean + std * y``.
    """
    mean, std = _check_standardisation(mean, std)
    coefs = real_float32(np.asarray(coefs), "coefs")
    intercept = real_float32(np.atleast_1d(np.asarray(intercept)), "intercept")
    if coefs.ndim != 2 or intercept.shape != (coefs.shape[-1],):
        raise ValueError(f"coefs must be f[window, outputs] and intercept f[outputs], got shapes {coefs.shape} and "
                         f"{intercept.shape}")
    keras = _keras()
    with keras_side():
        x, z = _standardised_input(keras, coefs.shape[0], mean, std, "window")
        dense = keras.layers.Dense(coefs.shape[1], dtype="float32", name="linear")
        y = dense(keras.layers.Reshape((coefs.shape[0],), name="window_values")(z))
        keras_model = keras.Model(x, keras.ops.add(np.float32(mean), keras.ops.multiply(np.float32(std), y)),
                                  name=name)
        dense.set_weights([np.asarray(coefs, np.float32), np.asarray(intercept, np.float32)])
    return keras_model


def usage_example(filename: str, *, window: int, outputs: int) -> str:
    """A ten-line runnable Python example: load the file, feed the last ``window`` raw values, print the forecast."""
    return "\n".join([
        "import os",
        'os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras 3 on any backend reads the file',
        "import keras",
        "import numpy as np",
        "",
        f"model = keras.saving.load_model({str(filename)!r})  # built-in layers only: no custom objects",
        f"values = np.linspace(0.0, 1.0, {window})  # replace: your series in its own units, oldest first",
        f"window = np.asarray(values[-{window}:], np.float32).reshape(1, {window}, 1)  # the last {window} values",
        f"forecast = model.predict(window, verbose=0)[0]  # the next {outputs} value(s), in the series' units",
        "print(forecast)",
    ]) + "\n"


def save_forecaster(path: str | os.PathLike, keras_model, *, usage: str | None = None) -> tuple[pathlib.Path,
                                                                                                   pathlib.Path]:
    """Write ``keras_model`` to ``path`` (a ``.keras`` file) and the example ``usage`` text (None: ``usage_example``
    for this file) beside it as ``<stem>.usage.py``, each atomically (a temporary name in the same folder, then a
    rename). Returns (model path, usage path). ValueError for another suffix, before anything is written."""
    path = pathlib.Path(path)
    if path.suffix != SUFFIX:
        raise ValueError(f"{path}: a Keras 3 model file must end in {SUFFIX}")
    if not hasattr(keras_model, "save") or not hasattr(keras_model, "input_shape"):
        raise TypeError(f"expected a keras.Model, got {type(keras_model).__name__}")
    if usage is None:
        usage = usage_example(path.name, window=int(keras_model.input_shape[1]),
                              outputs=int(keras_model.output_shape[-1]))
    with keras_side(), atomic_path(path) as tmp:
        keras_model.save(tmp)
    usage_path = path.with_name(f"{path.stem}.usage.py")
    atomic_write_text(usage_path, usage)
    return path, usage_path
