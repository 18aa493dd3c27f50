"""Keras weights in and out: ``from_keras(model)`` or ``from_keras(model.get_weights())``, ``to_keras(params)``.

Supported: a univariate ``LSTM(u) -> [Dropout] -> Dense(1)`` with biases, the LSTM returning only its last output,
the head linear; ``get_weights()`` is ``[kernel f32[1, 4u], recurrent_kernel f32[u, 4u], bias f32[4u],
dense_kernel f32[u, 1], dense_bias f32[1]]``. Our layout is Keras's (gates i, f, c, o): the conversion is a
relabelling, anything else a ValueError saying what was found. Keras is not imported: a model is read through
``layers``, ``get_config()`` and ``get_weights()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.model.forecaster import Params

SUPPORTED = "a univariate LSTM(u) -> [Dropout] -> Dense(1) forecaster (input f32[batch, window, 1])"
_NAMES = ("LSTM kernel", "LSTM recurrent_kernel", "LSTM bias", "Dense kernel", "Dense bias")


def _keras_layers(model: Any) -> tuple[Any, Any]:
    """(LSTM layer, Dense layer) of a supported Keras model, or a ValueError naming what was found."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    kinds = [type(layer).__name__ for layer in layers]
    if kinds not in (["LSTM", "Dense"], ["LSTM", "Dropout", "Dense"]):
        raise ValueError(f"Keras model has layers {kinds}; supported: {SUPPORTED}")
    lstm, dense = layers[0], layers[-1]
    lstm_cfg, dense_cfg = lstm.get_config(), dense.get_config()
    wrong = {key: lstm_cfg.get(key) for key, ok in
             (("use_bias", True), ("return_sequences", False), ("return_state", False),
              ("go_backwards", False), ("stateful", False)) if lstm_cfg.get(key, ok) != ok}
    if wrong:
        raise ValueError(f"Keras LSTM has {wrong}; supported: {SUPPORTED} with use_bias=True, "
                         "return_sequences=False, return_state=False, go_backwards=False, stateful=False")
    if dense_cfg.get("units") != 1 or dense_cfg.get("activation", "linear") not in ("linear", None) \
            or not dense_cfg.get("use_bias", True):
        raise ValueError(f"Keras Dense head has units={dense_cfg.get('units')}, "
                         f"activation={dense_cfg.get('activation')!r}, use_bias={dense_cfg.get('use_bias')}; "
                         f"supported: {SUPPORTED} with a linear Dense(1) with bias")
    return lstm, dense


def model_config_from_keras(model: Any, *, window: int | None = None) -> ModelConfig:
    """The ``ModelConfig`` of a supported built Keras model (``window`` only for ``Input((None, 1))``)."""
    lstm, _ = _keras_layers(model)
    cfg = lstm.get_config()
    if window is None:
        if len(shape := tuple(model.input_shape)) != 3 or shape[2] != 1:
            raise ValueError(f"Keras model input shape is {shape}; supported: {SUPPORTED}")
        if (window := shape[1]) is None:
            raise ValueError("Keras model has no fixed input length (Input((None, 1))): pass window=")
    for key in ("activation", "recurrent_activation"):
        if not isinstance(cfg[key], str):
            raise ValueError(f"Keras LSTM {key} {cfg[key]!r} is not a built-in activation name")
    return ModelConfig(units=int(cfg["units"]), window=int(window), activation=cfg["activation"],
                       recurrent_activation=cfg["recurrent_activation"],
                       unit_forget_bias=bool(cfg.get("unit_forget_bias", True)))


def _float32(w: Any, name: str) -> np.ndarray:
    arr = np.asarray(w)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} has dtype {arr.dtype}; supported: real (float or int) weights")
    with np.errstate(over="ignore"):  # too large for float32 -> inf, refused below
        arr = arr.astype(np.float32)
    if bad := int(np.size(arr) - np.count_nonzero(np.isfinite(arr))):
        raise ValueError(f"{name} has {bad} non-finite value(s) (nan/inf, or too large for float32) "
                         f"of {arr.size}; weights must be finite")
    return arr


def from_keras(weights: Sequence[np.ndarray] | Any) -> Params:
    """The float32 parameter tree of a supported Keras model or its ``get_weights()``; ValueError for
    anything outside ``SUPPORTED`` (layers, shapes, nan/inf), TypeError for non-real weights."""
    if hasattr(weights, "layers") and hasattr(weights, "get_weights"):  # a Keras model
        _keras_layers(weights)
        weights = weights.get_weights()
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise TypeError(f"from_keras takes a Keras model or its get_weights() list, got {type(weights).__name__}")
    if len(weights) != 5:
        raise ValueError(f"expected 5 arrays ({', '.join(_NAMES)}), got {len(weights)}; supported: {SUPPORTED}")
    kernel, recurrent, bias, dense_kernel, dense_bias = (_float32(w, n) for w, n in zip(weights, _NAMES))
    for name, w, ndim in zip(_NAMES, (kernel, recurrent, bias, dense_kernel, dense_bias), (2, 2, 1, 2, 1)):
        if w.ndim != ndim:
            raise ValueError(f"{name} has shape {w.shape}, expected {ndim} axes; supported: {SUPPORTED}")
    units = recurrent.shape[0]
    if units < 1 or recurrent.shape[1] != 4 * units:
        raise ValueError(f"LSTM recurrent_kernel has shape {recurrent.shape}, expected (u, 4u) for u units")
    if kernel.shape[1] != 4 * units:
        raise ValueError(f"LSTM kernel has shape {kernel.shape}, expected (1, {4 * units}) for {units} units")
    if kernel.shape[0] != 1:
        raise ValueError(f"LSTM kernel has shape {kernel.shape}: {kernel.shape[0]} input features; "
                         f"supported: {SUPPORTED}")
    if dense_kernel.shape[0] == units and dense_kernel.shape[1] != 1:
        raise ValueError(f"Dense kernel has shape {dense_kernel.shape}: a head with {dense_kernel.shape[1]} "
                         f"outputs; supported: {SUPPORTED}")
    expected = {"LSTM bias": (4 * units,), "Dense kernel": (units, 1), "Dense bias": (1,)}
    for (name, shape), w in zip(expected.items(), (bias, dense_kernel, dense_bias)):
        if w.shape != shape:
            raise ValueError(f"{name} has shape {w.shape}, expected {shape} for {units} units")
    return {"lstm": {"kernel": jnp.asarray(kernel), "recurrent_kernel": jnp.asarray(recurrent),
                     "bias": jnp.asarray(bias)},
            "dense": {"kernel": jnp.asarray(dense_kernel), "bias": jnp.asarray(dense_bias)}}


def to_keras(params: Params) -> list[np.ndarray]:
    """The inverse of ``from_keras`` for one model (not layer-normalised): arrays for ``model.set_weights``."""
    if "ln_scale" in params["lstm"]:
        raise ValueError("a layer-normalised LSTM has no Keras LSTM equivalent")
    if "skip" in params:
        raise ValueError("to_keras gives the weights of Sequential([LSTM, Dense]); a linear_skip model has a second "
                         "branch (lstm_ar.user.keras_export writes it as a functional model)")
    if np.ndim((lstm := params["lstm"])["kernel"]) != 2:
        raise ValueError(f"to_keras takes one model's params (LSTM kernel f32[d, 4u]), got kernel shape "
                         f"{np.shape(lstm['kernel'])}: index a stacked tree first, e.g. jax.tree.map(lambda a: a[i], params)")
    dense = params["dense"]
    return [np.asarray(a) for a in (lstm["kernel"], lstm["recurrent_kernel"], lstm["bias"], dense["kernel"],
                                    dense["bias"])]
