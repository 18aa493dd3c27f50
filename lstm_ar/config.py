"""Configuration: static fields that shape the compiled program, numeric ones that may be vmapped.

* ``ModelConfig`` and ``TrainConfig`` are frozen (hashable) dataclasses: changing any field
  changes the compiled program (shapes, activations, epochs, batch size).
* ``Hyper`` is a NamedTuple of numbers (a pytree): learning rate, dropout rates, weight decay,
  clipping. ``train(key, hyper)`` takes one setting (0-d leaves); to sweep a hyper-parameter
  without recompiling give a stack (1-D leaves) to ``lstm_ar.training.train_many``, which checks
  it with ``validate_hyper`` and vmaps ``train`` over it.
* Which dropout masks exist is static (``TrainConfig.dropout_sites``, names in
  ``DROPOUT_SITES``); their rates are ``Hyper``'s numbers. A nonzero rate at a site the config
  does not have is an error wherever the rate is concrete. Input noise likewise: whether the
  program adds it is static (``TrainConfig.noisy_inputs``), its level is ``Hyper.input_noise``.
* Every remedy the project measured is a field here, neutral at its default (the config is then
  Keras's one-step training): the head (``ModelConfig.head``: next value, direct multi-horizon,
  Gaussian), residual prediction (``ModelConfig.residual``), the k-step regimes and their
  curriculum, Data as Demonstrator (``TrainConfig.dad_rounds``), input noise and clipping
  (``Hyper``). A recipe is a ``TrainConfig`` and a ``Hyper``.

Nothing here is mutated after construction; ``dataclasses.replace`` makes variants.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple, Union

import jax
import numpy as np

from lstm_ar.activations import get_activation

Number = Union[float, "np.ndarray", "jax.Array"]  # noqa: F821  (jax arrays when vmapped)

# Training regimes (see lstm_ar.training.regimes): how the targets after a window are fed during training.
REGIMES = ("teacher_forcing", "scheduled_linear", "scheduled_exponential", "scheduled_inverse_sigmoid",
           "free_running")
# Output heads (see lstm_ar.model.forecaster): the next value, the next H values at once (direct
# multi-horizon, nothing fed back), or the mean and scale of a Gaussian for the next value.
HEADS = ("next", "direct", "gaussian")


class Hyper(NamedTuple):
    """Numeric hyper-parameters (vmappable leaves).

    learning_rate: Adam step size (Keras default 1e-3).
    dropout: LSTM input dropout rate (Keras ``LSTM(dropout=...)``).
    recurrent_dropout: LSTM recurrent dropout rate on h (Keras ``recurrent_dropout``).
    output_dropout: rate of a ``Dropout`` layer between the LSTM and the Dense head.
    weight_decay: decoupled (AdamW-style, Keras ``weight_decay``) decay coefficient.
    global_clipnorm: clip the global gradient norm to this value (``inf``: no clipping).
    input_noise: std of the Gaussian noise added to the training inputs (model units; 0: none),
      where ``TrainConfig.noisy_inputs`` is set.
    """

    learning_rate: Number = 1e-3
    dropout: Number = 0.0
    recurrent_dropout: Number = 0.0
    output_dropout: Number = 0.0
    weight_decay: Number = 0.0
    global_clipnorm: Number = math.inf
    input_noise: Number = 0.0


# Dropout sites of the forecaster and the Hyper field holding each one's rate.
DROPOUT_SITES = {"input": "dropout", "recurrent": "recurrent_dropout", "output": "output_dropout"}


def is_concrete(value) -> bool:
    """True unless ``value`` is a JAX tracer (a value known only when the program runs)."""
    return not isinstance(value, jax.core.Tracer)


def _checked_leaf(name: str, value) -> np.ndarray | None:
    """The concrete value as float64 (any shape), None for a tracer; TypeError for non-numbers."""
    if not is_concrete(value):
        return None
    array = np.asarray(value)
    if array.dtype == bool or array.dtype.kind not in "fiu":
        raise TypeError(f"Hyper.{name} must be a real number or array of them, got {value!r} "
                        f"(dtype {array.dtype})")
    return array.astype(np.float64)


def validate_hyper(hyper: Hyper, *, dropout_sites: tuple[str, ...] | None = None,
                   noisy_inputs: bool | None = None) -> None:
    """Check every concrete leaf of ``hyper``: scalars, or arrays of stacked values (for vmap).

    Valid: ``learning_rate`` finite and > 0; ``weight_decay`` and ``input_noise`` finite and >= 0;
    ``global_clipnorm`` > 0 (``inf``: no clipping); the three dropout rates in [0, 1); no NaN anywhere. Leaves that are
    tracers (inside ``jit``/``vmap``) cannot be checked here: validate a stack before vmapping it.

    Args:
      hyper: a ``Hyper``; each leaf a number or an array (e.g. f32[variants]).
      dropout_sites: when given, a nonzero rate at a site not listed is an error too (the program
        built for those sites would ignore it).
      noisy_inputs: when False, a nonzero ``input_noise`` is an error (the program adds none).

    Raises:
      TypeError: ``hyper`` is not a Hyper, or a leaf is not a real number.
      ValueError: a value out of range; the message names the field, the value and the range.
    """
    if not isinstance(hyper, Hyper):
        raise TypeError(f"hyper must be a Hyper, got {type(hyper).__name__}")
    values = {name: _checked_leaf(name, getattr(hyper, name)) for name in Hyper._fields}

    def fail(name: str, valid: str, bad: np.ndarray) -> None:
        shown = values[name] if values[name].ndim == 0 else f"{values[name].tolist()} (bad at {np.argwhere(bad).tolist()})"
        raise ValueError(f"Hyper.{name} must be {valid}, got {shown}")

    for name, value in values.items():
        if value is not None and np.any(np.isnan(value)):
            fail(name, "a number (not NaN)", np.isnan(value))
    checks = {
        "learning_rate": ("finite and > 0", lambda v: np.isfinite(v) & (v > 0)),
        "weight_decay": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
        "input_noise": ("finite and >= 0", lambda v: np.isfinite(v) & (v >= 0)),
        "global_clipnorm": ("> 0 (inf: no clipping)", lambda v: v > 0),
        **{rate: ("in [0, 1)", lambda v: (v >= 0) & (v < 1)) for rate in DROPOUT_SITES.values()},
    }
    for name, (valid, ok) in checks.items():
        value = values[name]
        if value is not None and not np.all(ok(value)):
            fail(name, valid, ~ok(value))
    if dropout_sites is not None:
        for site, name in DROPOUT_SITES.items():
            value = values[name]
            if site not in dropout_sites and value is not None and np.any(value != 0):
                raise ValueError(f"Hyper.{name} is {value.tolist()} but the dropout site {site!r} is not among "
                                 f"dropout_sites {tuple(dropout_sites)}; add {site!r} to TrainConfig.dropout_sites "
                                 f"(the rate would otherwise be ignored)")
    noise = values["input_noise"]
    if noisy_inputs is False and noise is not None and np.any(noise != 0):
        raise ValueError(f"Hyper.input_noise is {noise.tolist()} but TrainConfig.noisy_inputs is False; set "
                         f"noisy_inputs=True (the noise would otherwise be ignored)")


def resolve_dropout_sites(sites, hyper: Hyper) -> tuple[str, ...]:
    """The sorted tuple of dropout sites: ``sites`` checked, or (None) those whose rate in
    ``hyper`` is nonzero.

    Args:
      sites: None, or an iterable of names from ``DROPOUT_SITES`` ("input", "recurrent", "output").
      hyper: a Hyper with concrete (scalar) rates, read only when ``sites`` is None.

    Returns:
      tuple[str, ...] of distinct site names in sorted order.

    Raises:
      TypeError: ``sites`` is a string (not a tuple of names).
      ValueError: an unknown site name; the message lists the valid ones.
    """
    if sites is None:
        traced = [name for name in DROPOUT_SITES.values() if not is_concrete(getattr(hyper, name))]
        if traced:
            raise TypeError(f"dropout_sites=None reads the sites from concrete rates; {traced} are traced: "
                            f"give dropout_sites explicitly")
        return tuple(sorted(site for site, name in DROPOUT_SITES.items() if np.any(np.asarray(getattr(hyper, name)) != 0)))
    if isinstance(sites, str):
        raise TypeError(f"dropout_sites must be a tuple of site names, got the string {sites!r}; "
                        f"e.g. ({sites!r},)")
    sites = tuple(sites)
    unknown = [s for s in sites if s not in DROPOUT_SITES]
    if unknown:
        raise ValueError(f"unknown dropout site(s) {unknown}; valid: {', '.join(DROPOUT_SITES)}")
    return tuple(sorted(set(sites)))


def require_scalar_hyper(hyper: Hyper, owner: str = "Hyper") -> None:
    """Refuse a concrete leaf of ``hyper`` that is not 0-d: one training run takes one setting.

    Args:
      hyper: a ``Hyper``; tracers (under ``jit``/``vmap``) are left alone.
      owner: how the message names ``hyper`` (e.g. "TrainConfig.hyper").

    Raises:
      ValueError: a leaf with a shape; the message names the field and its shape and says how to
        train several settings.
    """
    for name in Hyper._fields:
        value = getattr(hyper, name)
        if is_concrete(value) and np.ndim(value) != 0:
            raise ValueError(f"{owner}.{name} must be a single number (0-d), got an array of shape {np.shape(value)}; "
                             f"to train several settings use lstm_ar.training.train_many(config, data, keys, hyper) "
                             f"or jax.vmap(train, in_axes=(None, Hyper(0, ...)))")


def _positive_int(config, name: str) -> None:
    """Check ``config.<name>`` is a positive int (Python or numpy, not bool); store it as int."""
    value = getattr(config, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    object.__setattr__(config, name, int(value))


def _unit_interval_float(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")


def _flag(config, name: str) -> None:
    if not isinstance(getattr(config, name), bool):
        raise TypeError(f"{name} must be True or False, got {getattr(config, name)!r}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The forecaster's static shape: LSTM(units) over a window of ``window`` values -> Dense(outputs).

    activation / recurrent_activation: names from ``lstm_ar.activations.ACTIVATIONS``.
    layer_norm: layer-normalise the gate pre-activations (off, as in Keras).
    head: "next" (Dense(1): the next value, Keras's model), "direct" (Dense(horizon): the next
      ``horizon`` values at once, nothing fed back; MQ-RNN / N-BEATS style) or "gaussian" (Dense(2):
      the mean and scale of a Gaussian for the next value, trained by its likelihood; DeepAR style).
    horizon: the direct head's outputs (1 for the other heads).
    residual: predict the change, ``x_{t+1} = x_t + g(window)`` (one-value heads only).
    samples: paths drawn when a Gaussian head is rolled out (its forecast is their pointwise median).
    """

    units: int = 32
    window: int = 1
    activation: str = "tanh"
    recurrent_activation: str = "sigmoid"
    layer_norm: bool = False
    unit_forget_bias: bool = True
    head: str = "next"
    horizon: int = 1
    residual: bool = False
    samples: int = 32

    def __post_init__(self):
        for name in ("units", "window", "horizon", "samples"):
            _positive_int(self, name)
        get_activation(self.activation)
        get_activation(self.recurrent_activation)
        _flag(self, "residual")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        if self.head != "direct" and self.horizon != 1:
            raise ValueError(f"horizon counts the direct head's outputs; the {self.head!r} head has one, got horizon "
                             f"{self.horizon} (for a k-step loss set TrainConfig.horizon)")
        if self.head == "direct" and self.residual:
            raise ValueError("a direct head predicts a whole block: residual prediction applies to one-value heads")

    @property
    def outputs(self) -> int:
        """Width of the Dense head: 1 (next), horizon (direct) or 2 (Gaussian)."""
        return {"next": 1, "direct": self.horizon, "gaussian": 2}[self.head]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Keras ``fit`` defaults: batch 32, shuffle every epoch, partial last batch kept.

    hyper: default numeric hyper-parameters; ``train(key, data, hyper)`` may override them.
    beta_1, beta_2, epsilon: Keras Adam's constants (static).
    regime, horizon: how targets are fed (``lstm_ar.training.regimes``). The default, teacher forcing with
    horizon 1, is Keras's one-step training; with the next-value head any other choice trains a
    stateful model on ``horizon`` values after each window. A direct head trains on its
    ``model.horizon`` values (``horizon`` None resolves to it; another value is an error).
    curriculum: grow the k-step loss from 1 to ``horizon`` steps over the first half of training.
    dad_rounds, dad_starts, dad_length: Data as Demonstrator (Venkatraman, Hebert and Bagnell, AAAI
    2015; ``lstm_ar.training.dad``): after every epoch the model is rolled out on the training series
    from ``dad_starts`` points for ``dad_length`` steps, and the (window of its own predictions ->
    true next value) pairs of the last ``dad_rounds`` epochs are trained on as extra batches
    (0: off; one-step training on consecutive windows of one series).
    dropout_sites: where dropout masks exist in the compiled program, a sorted tuple of names
    from ``DROPOUT_SITES`` ("input", "output", "recurrent"); their rates stay numeric (in
    ``Hyper``, vmappable). None (the default) resolves to the sites whose rate in ``hyper`` is
    nonzero. A nonzero rate at a site that is not listed is an error, never ignored.
    noisy_inputs: whether the program adds ``Hyper.input_noise`` to the training inputs; None
    resolves to whether ``hyper.input_noise`` is nonzero.
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
    horizon: int | None = None
    dropout_sites: tuple[str, ...] | None = None
    curriculum: bool = False
    dad_rounds: int = 0
    dad_starts: int = 16
    dad_length: int = 32
    noisy_inputs: bool | None = None

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        if self.regime not in REGIMES:
            raise ValueError(f"unknown regime {self.regime!r}; valid: {', '.join(REGIMES)}")
        if self.horizon is None:
            object.__setattr__(self, "horizon", self.model.horizon)
        for name in ("epochs", "batch_size", "horizon", "dad_starts", "dad_length"):
            _positive_int(self, name)
        if isinstance(self.dad_rounds, (bool, np.bool_)) or not isinstance(self.dad_rounds, (int, np.integer)) \
                or self.dad_rounds < 0:
            raise ValueError(f"dad_rounds must be an int >= 0, got {self.dad_rounds!r}")
        object.__setattr__(self, "dad_rounds", int(self.dad_rounds))
        _unit_interval_float("beta_1", self.beta_1)
        _unit_interval_float("beta_2", self.beta_2)
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float, np.floating, np.integer)) \
                or not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"epsilon must be a finite number > 0, got {self.epsilon!r}")
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"shuffle must be True or False, got {self.shuffle!r}")
        _flag(self, "curriculum")
        self._check_head()
        if not isinstance(self.hyper, Hyper):
            raise TypeError(f"hyper must be a Hyper, got {type(self.hyper).__name__}")
        require_scalar_hyper(self.hyper, "TrainConfig.hyper")
        validate_hyper(self.hyper)
        object.__setattr__(self, "dropout_sites", resolve_dropout_sites(self.dropout_sites, self.hyper))
        if self.noisy_inputs is None:
            object.__setattr__(self, "noisy_inputs", bool(float(self.hyper.input_noise) != 0))
        _flag(self, "noisy_inputs")
        validate_hyper(self.hyper, dropout_sites=self.dropout_sites, noisy_inputs=self.noisy_inputs)

    def _check_head(self) -> None:
        head = self.model.head
        if head == "direct" and (self.horizon != self.model.horizon or self.regime != "teacher_forcing"):
            raise ValueError(f"a direct head trains on its {self.model.horizon} outputs with teacher forcing; got "
                             f"horizon {self.horizon}, regime {self.regime!r}")
        if head == "gaussian" and not self.one_step:
            raise ValueError(f"the Gaussian head is trained one step ahead (teacher forcing, horizon 1), got regime "
                             f"{self.regime!r}, horizon {self.horizon}")
        if self.curriculum and not (self.stateful and self.horizon > 1):
            raise ValueError("curriculum grows a k-step loss: it needs the next-value head and horizon > 1, "
                             f"got head {head!r}, horizon {self.horizon}")
        if self.dad_rounds and not (self.one_step and head == "next"):
            raise ValueError("Data as Demonstrator adds one-step pairs: it needs the next-value head trained one step "
                             f"ahead, got head {head!r}, regime {self.regime!r}, horizon {self.horizon}")

    @property
    def one_step(self) -> bool:
        """True for Keras's one-step teacher-forced training (a next-value or Gaussian head)."""
        return self.regime == "teacher_forcing" and self.horizon == 1

    @property
    def stateful(self) -> bool:
        """True when the batch loss runs ``horizon`` stateful steps after the window (the next-value
        head under a k-step regime; ``lstm_ar.training.regimes``), rolled out carrying (h, c)."""
        return self.model.head == "next" and not self.one_step

    @property
    def lstm_steps(self) -> int:
        """LSTM steps each training example's program runs: the window, plus the stateful steps of a
        k-step regime (``lstm_ar.training.regimes``; what sizes a cache-fitting block)."""
        return self.model.window + (self.horizon if self.stateful else 0)

    @property
    def remedies(self) -> tuple[str, ...]:
        """The remedies beyond Keras's plain training this config switches on (names; () for none)."""
        m = self.model
        return tuple(name for name, on in (
            ("direct head", m.head == "direct"), ("Gaussian head", m.head == "gaussian"), ("residual", m.residual),
            ("curriculum", self.curriculum), ("DaD", self.dad_rounds > 0), ("input noise", self.noisy_inputs)) if on)

    def describe(self) -> str:
        """Short words for reports, e.g. 'LSTM(32, tanh) w50, direct head H200, 100 epochs'."""
        m = self.model
        parts = [f"LSTM({m.units}, {m.activation}) w{m.window}"]
        if m.head == "direct":
            parts.append(f"direct head H{m.horizon}")
        elif m.head == "gaussian":
            parts.append("Gaussian head")
        if self.stateful:
            regime = "free-running" if self.regime == "free_running" else self.regime.replace("_", " ")
            parts.append(f"{regime} k={self.horizon}" + (" curriculum" if self.curriculum else ""))
        if m.residual:
            parts.append("residual")
        if self.dad_rounds:
            parts.append(f"DaD x{self.dad_rounds}")
        parts.append(f"{self.epochs} epochs")
        return ", ".join(parts)

    def to_dict(self) -> dict:
        """JSON-ready view (for summary files); an infinite value (no clipping) becomes None."""
        out = dataclasses.asdict(self)
        out["dropout_sites"] = list(self.dropout_sites)
        out["hyper"] = {k: float(v) if math.isfinite(float(v)) else None
                        for k, v in self.hyper._asdict().items()}
        return out
