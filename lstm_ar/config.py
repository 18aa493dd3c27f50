"""Configuration: static fields that shape the compiled program, numeric ones that may be vmapped.

* ``ModelConfig`` and ``TrainConfig`` are frozen (hashable) dataclasses: changing any field
  changes the compiled program (shapes, activations, epochs, batch size).
* ``Hyper`` is a NamedTuple of numbers (a pytree): learning rate, dropout rates, weight decay,
  clipping. Pass one to ``train(key, hyper)`` with array leaves and ``jax.vmap`` over them to
  sweep a hyper-parameter without recompiling.

Nothing here is mutated after construction; ``dataclasses.replace`` makes variants.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Union

import numpy as np

from lstm_ar.model.activations import get_activation

Number = Union[float, "np.ndarray", "jax.Array"]  # noqa: F821  (jax arrays when vmapped)

# Training regimes (see lstm_ar.training.regimes): how the targets after a window are fed during training.
REGIMES = ("teacher_forcing", "scheduled_linear", "scheduled_exponential", "scheduled_inverse_sigmoid",
           "free_running")


class Hyper(NamedTuple):
    """Numeric hyper-parameters (vmappable leaves).

    learning_rate: Adam step size (Keras default 1e-3).
    dropout: LSTM input dropout rate (Keras ``LSTM(dropout=...)``).
    recurrent_dropout: LSTM recurrent dropout rate on h (Keras ``recurrent_dropout``).
    output_dropout: rate of a ``Dropout`` layer between the LSTM and the Dense head.
    weight_decay: decoupled (AdamW-style, Keras ``weight_decay``) decay coefficient.
    global_clipnorm: clip the global gradient norm to this value (``inf``: no clipping).
    """

    learning_rate: Number = 1e-3
    dropout: Number = 0.0
    recurrent_dropout: Number = 0.0
    output_dropout: Number = 0.0
    weight_decay: Number = 0.0
    global_clipnorm: Number = math.inf


def validate_hyper(hyper: Hyper) -> None:
    """Raise ValueError for out-of-range values (checked only where values are concrete)."""
    for name in ("dropout", "recurrent_dropout", "output_dropout"):
        value = _concrete(getattr(hyper, name))
        if value is not None and not np.all((value >= 0.0) & (value < 1.0)):
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    for name in ("learning_rate", "global_clipnorm"):
        value = _concrete(getattr(hyper, name))
        if value is not None and not np.all(value > 0.0):
            raise ValueError(f"{name} must be > 0, got {value}")
    value = _concrete(hyper.weight_decay)
    if value is not None and not np.all(value >= 0.0):
        raise ValueError(f"weight_decay must be >= 0, got {value}")


def _concrete(value):
    try:
        return np.asarray(value, dtype=np.float64)
    except Exception:  # a tracer: not checkable here
        return None


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The forecaster's static shape: LSTM(units) over a window of ``window`` values -> Dense(1).

    activation / recurrent_activation: names from ``lstm_ar.model.activations.ACTIVATIONS``.
    layer_norm: layer-normalise the gate pre-activations (off, as in Keras).
    """

    units: int = 32
    window: int = 1
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    layer_norm: bool = False
    unit_forget_bias: bool = True

    def __post_init__(self):
        if not (isinstance(self.units, int) and self.units > 0):
            raise ValueError(f"units must be a positive int, got {self.units!r}")
        if not (isinstance(self.window, int) and self.window > 0):
            raise ValueError(f"window must be a positive int, got {self.window!r}")
        get_activation(self.activation)
        get_activation(self.recurrent_activation)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Keras ``fit`` defaults: batch 32, shuffle every epoch, partial last batch kept.

    hyper: default numeric hyper-parameters; ``train(key, hyper)`` may override them.
    beta_1, beta_2, epsilon: Keras Adam's constants (static).
    regime, horizon: how targets are fed (``lstm_ar.training.regimes``). The default, teacher forcing with
    horizon 1, is Keras's one-step training; any other choice trains a stateful model on
    ``horizon`` values after each window.
    """

    model: ModelConfig = ModelConfig()
    epochs: int = 20
    batch_size: int = 32
    shuffle: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7
    hyper: Hyper = Hyper()
    regime: str = "teacher_forcing"
    horizon: int = 1

    def __post_init__(self):
        if self.regime not in REGIMES:
            raise ValueError(f"unknown regime {self.regime!r}; valid: {', '.join(REGIMES)}")
        if not (isinstance(self.horizon, int) and self.horizon > 0):
            raise ValueError(f"horizon must be a positive int, got {self.horizon!r}")
        if not (isinstance(self.epochs, int) and self.epochs > 0):
            raise ValueError(f"epochs must be a positive int, got {self.epochs!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size > 0):
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size!r}")
        validate_hyper(self.hyper)

    @property
    def one_step(self) -> bool:
        """True for Keras's one-step teacher-forced training."""
        return self.regime == "teacher_forcing" and self.horizon == 1

    def to_dict(self) -> dict:
        """JSON-ready view (for summary files); an infinite value (no clipping) becomes None."""
        out = dataclasses.asdict(self)
        out["hyper"] = {k: float(v) if math.isfinite(float(v)) else None
                        for k, v in self.hyper._asdict().items()}
        return out
