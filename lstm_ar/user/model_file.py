"""Load a user's saved Keras forecaster: a Keras 3 ``.keras`` file, a legacy ``.h5`` file, or an ``.npz`` of
``model.get_weights()``'s arrays, for ``lstm_ar.model.keras_io.SUPPORTED`` models (``Input((window, 1)) -> LSTM ->
[Dropout] -> Dense(1)``). Keras files are read by Keras 3 on the JAX backend; anything unsupported or unreadable is an
``InputError`` naming what was found. An ``.npz`` needs the window; its activations default to Keras's.
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import Any, NamedTuple

import jax
import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.model.forecaster import Params
from lstm_ar.model.keras_io import SUPPORTED, from_keras, model_config_from_keras, to_keras
from lstm_ar.user.io import InputError, check_readable

KINDS = {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".npz": "npz"}


class LoadedModel(NamedTuple):
    """A user's model: ``config`` (units, window, activations), ``params`` (our layout, float32), ``keras_model``
    (to check the rollout against; for an ``.npz`` built when Keras is installed, else None), ``path``, ``kind``."""

    config: ModelConfig
    params: Params
    keras_model: Any
    path: str
    kind: str


def import_keras():
    """Keras 3, on the JAX backend unless ``KERAS_BACKEND`` says otherwise (else an ``InputError`` naming the extra)."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    try:
        import keras
    except ImportError as err:
        raise InputError(f"reading a Keras model needs Keras 3: pip install 'lstm_ar[keras]' ({err})") from None
    return keras


def keras_side():
    """A context for Keras's own JAX code, which broadcasts implicitly: rank promotion allowed
    (a user or a test suite may have set ``jax_numpy_rank_promotion="raise"``)."""
    return jax.numpy_rank_promotion("allow")


def _keras_file(path: pathlib.Path, kind: str, window: int | None) -> LoadedModel:
    keras = import_keras()
    try:
        with keras_side():
            model = keras.models.load_model(path, compile=False)
    except Exception as err:  # a corrupt archive, a foreign file, a custom layer: Keras raises many kinds
        message = re.sub(r"\s+", " ", str(err)).strip()[:400]
        raise InputError(f"{path}: not a readable Keras {'.keras' if kind == 'keras' else '.h5'} model "
                         f"({type(err).__name__}: {message}); supported: {SUPPORTED}") from None
    try:
        shape = tuple(getattr(model, "input_shape", ()) or ())
        fixed = shape[1] if len(shape) == 3 else None
        if fixed is not None and window is not None and fixed != window:
            raise ValueError(f"the model reads windows of {fixed} values, but --window is {window}")
        if fixed is None and len(shape) == 3 and window is None:
            raise ValueError("the model has no fixed input length (Input((None, 1))): give --window")
        config = model_config_from_keras(model, window=None if fixed is not None else window)
        params = from_keras(model)
    except (TypeError, ValueError) as err:
        raise InputError(f"{path}: {err}") from None
    return LoadedModel(config=config, params=params, keras_model=model, path=str(path), kind=kind)


def _npz_arrays(path: pathlib.Path) -> list[np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            order = sorted(names, key=lambda n: int(n[4:])) if all(re.fullmatch(r"arr_\d+", n) for n in names) else names
            return [archive[n] for n in order]
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npz archive of weight arrays ({err})") from None
    except Exception as err:  # zipfile.BadZipFile and friends
        raise InputError(f"{path}: not a readable .npz archive ({type(err).__name__}: {err})") from None


def keras_twin(config: ModelConfig, params: Params):
    """A ``keras.Sequential`` with the same layers and weights, to check a rollout against (None without Keras)."""
    try:
        keras = import_keras()
    except InputError:
        return None
    with keras_side():
        model = keras.Sequential([keras.Input((config.window, 1)),
                                  keras.layers.LSTM(config.units, activation=config.activation,
                                                    recurrent_activation=config.recurrent_activation),
                                  keras.layers.Dense(1)])
        model.set_weights(to_keras(params))
    return model


def load_model(path: str | os.PathLike, *, window: int | None = None, activation: str | None = None,
               recurrent_activation: str | None = None) -> LoadedModel:
    """Load and check a user's model file (an ``InputError`` for anything the user can fix). ``window``: the input
    length, required for an ``.npz`` and for a Keras model built with ``Input((None, 1))``, else it must agree with
    the model's. ``activation``, ``recurrent_activation``: an ``.npz`` model's (default tanh, sigmoid; a Keras file
    records its own: giving them is an error)."""
    p = pathlib.Path(path)
    kind = KINDS.get(p.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: unknown model file kind {p.suffix!r}; supported: .keras (Keras 3), .h5 (legacy Keras) "
                         "and .npz (the arrays of model.get_weights())")
    check_readable(p)
    if kind == "npz":
        if window is None:
            raise InputError(f"{path}: an .npz of weights does not record the model's input length: give --window")
        try:
            config = ModelConfig(units=1, window=window, activation=activation or "tanh",
                                 recurrent_activation=recurrent_activation or "sigmoid")
            params = from_keras(_npz_arrays(p))
        except (TypeError, ValueError) as err:
            raise InputError(f"{path}: {err}") from None
        config = ModelConfig(units=int(params["lstm"]["recurrent_kernel"].shape[0]), window=window,
                             activation=config.activation, recurrent_activation=config.recurrent_activation)
        return LoadedModel(config=config, params=params, keras_model=keras_twin(config, params), path=str(p), kind=kind)
    if activation is not None or recurrent_activation is not None:
        raise InputError(f"{path}: a Keras file records its activations; --activation and --recurrent-activation are "
                         "for .npz weights only")
    return _keras_file(p, kind, window)
