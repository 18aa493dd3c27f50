"""Keras weights in and out: ``from_keras(model.get_weights())`` and ``to_keras(params)``.

Keras's ``get_weights()`` for ``Sequential([LSTM(u), (Dropout(r),) Dense(1)])`` is
``[kernel f32[d, 4u], recurrent_kernel f32[u, 4u], bias f32[4u], dense_kernel f32[u, 1],
dense_bias f32[1]]`` (Dropout has no weights). Our layout is Keras's, so this is a relabelling.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp
import numpy as np

from lstm_ar.model.forecaster import Params


def from_keras(weights: Sequence[np.ndarray]) -> Params:
    """Params from ``model.get_weights()`` of LSTM -> [Dropout] -> Dense(1)."""
    if len(weights) != 5:
        raise ValueError(f"expected 5 arrays (LSTM kernel, recurrent kernel, bias, Dense kernel, "
                         f"Dense bias), got {len(weights)}")
    kernel, recurrent, bias, dense_kernel, dense_bias = (np.asarray(w, np.float32) for w in weights)
    units = recurrent.shape[0]
    expected = {"kernel": (kernel.shape[0], 4 * units), "recurrent_kernel": (units, 4 * units),
                "bias": (4 * units,), "dense kernel": (units, 1), "dense bias": (1,)}
    for (name, shape), w in zip(expected.items(), (kernel, recurrent, bias, dense_kernel, dense_bias)):
        if w.shape != shape:
            raise ValueError(f"{name} has shape {w.shape}, expected {shape} for {units} units")
    return {"lstm": {"kernel": jnp.asarray(kernel), "recurrent_kernel": jnp.asarray(recurrent),
                     "bias": jnp.asarray(bias)},
            "dense": {"kernel": jnp.asarray(dense_kernel), "bias": jnp.asarray(dense_bias)}}


def to_keras(params: Params) -> list[np.ndarray]:
    """The inverse: a list for ``model.set_weights`` (layer norm has no Keras LSTM equivalent)."""
    if "ln_scale" in params["lstm"]:
        raise ValueError("a layer-normalised LSTM has no Keras LSTM equivalent")
    lstm, dense = params["lstm"], params["dense"]
    return [np.asarray(a) for a in (lstm["kernel"], lstm["recurrent_kernel"], lstm["bias"],
                                    dense["kernel"], dense["bias"])]
