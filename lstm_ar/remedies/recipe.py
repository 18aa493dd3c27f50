"""A recipe: one LSTM forecaster with any combination of the remedies the literature names.

Static choices (they shape the compiled program) live in the frozen ``Recipe``; numeric ones
(learning rate, input-noise level, gradient clipping) in ``RemedyHyper``, a pytree that may be
vmapped, so recipes that differ only in numbers train in one program.

Remedies, each neutral at its default (the recipe is then exactly Keras's one-step training of
``lstm_ar.training.plain``, tested equal):

* ``head="direct"``: LSTM -> Dense(H) predicts the next H values at once, no feedback (MQ-RNN,
  N-BEATS style); ``horizon`` is H. Rolled out as one block of H values.
* ``head="gaussian"``: LSTM -> Dense(2) gives the mean and the scale of a Gaussian for the next
  value, trained by its negative log-likelihood (DeepAR style); rolled out by ancestral sampling
  (``samples`` paths), judged on the pointwise median of the paths and on a single path.
* ``residual=True``: predict the change, ``x_{t+1} = x_t + g(window)`` (the identity is the
  default map).
* ``RemedyHyper.input_noise``: Gaussian noise of this std (model units) added to the inputs
  during training only (0: none).
* ``horizon=k > 1`` with the next-value head: a stateful k-step free-running loss (the model's
  own predictions fed back for k steps, as ``lstm_ar.training.regimes`` with no teacher), rolled
  out statefully. ``curriculum=True`` grows the horizon the loss counts from 1 to k over the
  first half of training.
* ``dad_rounds=R > 0``: Data as Demonstrator (Venkatraman, Hebert and Bagnell, AAAI 2015): after
  every epoch the model is rolled out on the training series from ``dad_starts`` points for
  ``dad_length`` steps, and each (window of its own predictions -> true next value) pair is kept;
  the pairs of the last R epochs are trained on as extra batches after the original ones.
* the plain levers: ``activation``, ``epochs``, ``RemedyHyper.global_clipnorm``, ``window``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.config import Hyper, ModelConfig, TrainConfig

HEADS = ("next", "direct", "gaussian")


class RemedyHyper(NamedTuple):
    """Numeric settings (vmappable leaves): Adam's step size, the std of the Gaussian noise added
    to training inputs (model units; 0: none), the global gradient-norm clip (inf: none)."""

    learning_rate: float = 1e-3
    input_noise: float = 0.0
    global_clipnorm: float = math.inf


NEUTRAL = RemedyHyper()  # every numeric remedy off: Keras's Adam at 1e-3, no input noise, no clipping


def check_remedy_hyper(hyper: RemedyHyper) -> None:
    """Check every concrete leaf (scalars or stacks): learning rate finite > 0, noise finite >= 0,
    clip > 0. Raises TypeError / ValueError naming the field and value."""
    if not isinstance(hyper, RemedyHyper):
        raise TypeError(f"hyper must be a RemedyHyper, got {type(hyper).__name__}")
    rules = {"learning_rate": ("finite and > 0", lambda v: np.isfinite(v) & (v > 0)),
             "input_noise": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
             "global_clipnorm": ("> 0 (inf: no clipping)", lambda v: v > 0)}
    for name, (valid, ok) in rules.items():
        value = np.asarray(getattr(hyper, name))
        if value.dtype == bool or value.dtype.kind not in "fiu":
            raise TypeError(f"RemedyHyper.{name} must be a real number, got {value!r}")
        if np.any(np.isnan(value)) or not np.all(ok(value.astype(np.float64))):
            raise ValueError(f"RemedyHyper.{name} must be {valid}, got {value.tolist()}")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One forecaster and its remedies (module docstring). Frozen: a field change is a new program."""

    model: ModelConfig = ModelConfig(units=32, window=50, activation="tanh")
    epochs: int = 100
    batch_size: int = 32
    head: str = "next"
    horizon: int = 1
    residual: bool = False
    curriculum: bool = False
    dad_rounds: int = 0
    dad_starts: int = 16
    dad_length: int = 32
    samples: int = 32

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        for name in ("epochs", "batch_size", "horizon", "dad_starts", "dad_length", "samples"):
            object.__setattr__(self, name, check_int(getattr(self, name), name, 1))
        object.__setattr__(self, "dad_rounds", check_int(self.dad_rounds, "dad_rounds", 0))
        for name in ("residual", "curriculum"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.curriculum and (self.head != "next" or self.horizon == 1):
            raise ValueError("curriculum grows a k-step loss: it needs head='next' and horizon > 1, "
                             f"got head={self.head!r}, horizon={self.horizon}")
        if self.dad_rounds and not self.one_step:
            raise ValueError("Data as Demonstrator adds one-step pairs: it needs head='next' with horizon 1, "
                             f"got head={self.head!r}, horizon={self.horizon}")
        if self.head == "gaussian" and self.horizon != 1:
            raise ValueError(f"the Gaussian head predicts one step (horizon 1), got horizon {self.horizon}")
        if self.head == "direct" and self.residual:
            raise ValueError("a direct head predicts a whole block: residual prediction applies to one-step heads")

    @property
    def one_step(self) -> bool:
        """Trained on (window -> next value) pairs (next or Gaussian head, horizon 1)."""
        return self.horizon == 1 and self.head != "direct"

    @property
    def stateful(self) -> bool:
        """Trained with a k-step free-running loss and rolled out carrying (h, c)."""
        return self.head == "next" and self.horizon > 1

    @property
    def lstm_steps(self) -> int:
        """LSTM steps per training example: the window, plus the k stateful steps of a k-step loss
        (``TrainConfig.lstm_steps`` of the same training)."""
        return self.model.window + (self.horizon if self.stateful else 0)

    @property
    def targets(self) -> int:
        """Values after each training window: the horizon (1 for one-step recipes)."""
        return self.horizon

    def train_config(self, hyper: RemedyHyper = NEUTRAL) -> TrainConfig:
        """The ``TrainConfig`` of ``lstm_ar.training`` this recipe equals at its neutral settings
        (next head, no residual, no curriculum, no DaD, zero input noise): one-step Keras training,
        or for ``horizon > 1`` the free-running regime with that horizon."""
        regime = "teacher_forcing" if self.horizon == 1 else "free_running"
        return TrainConfig(model=self.model, epochs=self.epochs, batch_size=self.batch_size, regime=regime,
                           horizon=self.horizon,
                           hyper=Hyper(learning_rate=float(hyper.learning_rate),
                                       global_clipnorm=float(hyper.global_clipnorm)))

    def describe(self) -> str:
        """Short words for reports, e.g. 'LSTM(32, tanh) w50, direct head H200, 100 epochs'."""
        m = self.model
        parts = [f"LSTM({m.units}, {m.activation}) w{m.window}"]
        if self.head == "direct":
            parts.append(f"direct head H{self.horizon}")
        elif self.head == "gaussian":
            parts.append("Gaussian head")
        if self.stateful:
            parts.append(f"free-running k={self.horizon}" + (" curriculum" if self.curriculum else ""))
        if self.residual:
            parts.append("residual")
        if self.dad_rounds:
            parts.append(f"DaD x{self.dad_rounds}")
        parts.append(f"{self.epochs} epochs")
        return ", ".join(parts)
