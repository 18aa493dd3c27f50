"""Configuration: static fields that shape the compiled program, numeric ones that may be vmapped.

``ModelConfig`` and ``TrainConfig`` are frozen dataclasses (any change recompiles); ``Hyper`` is a
pytree of numbers, one setting per ``train`` or a stack for ``lstm_ar.training.train_many``. Where
dropout masks exist and whether input noise is added is static, their rates are ``Hyper``'s; a
nonzero rate the program would ignore is an error wherever it is concrete. Every remedy is a field,
neutral at its default (Keras's one-step training).
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
REGIMES = ("teacher_forcing", "scheduled_linear", "scheduled_exponential", "scheduled_inverse_sigmoid", "free_running")
# Output heads (see lstm_ar.model.forecaster): the next value, the next H values at once (direct
# multi-horizon, nothing fed back), or the mean and scale of a Gaussian for the next value.
HEADS = ("next", "direct", "gaussian")


class Hyper(NamedTuple):
    """Numeric hyper-parameters (vmappable leaves), Keras's names and defaults; ``output_dropout`` is a
    Dropout layer before the Dense head, ``input_noise`` the std of noise on the training inputs."""

    learning_rate: Number = 1e-3
    dropout: Number = 0.0
    recurrent_dropout: Number = 0.0
    output_dropout: Number = 0.0
    weight_decay: Number = 0.0
    global_clipnorm: Number = math.inf
    input_noise: Number = 0.0


# Dropout sites of the forecaster and the Hyper field holding each one's rate.
DROPOUT_SITES = {"input": "dropout", "recurrent": "recurrent_dropout", "output": "output_dropout"}


# The valid range of each Hyper leaf: (in words, test of an array with the array module xp: numpy on concrete
# values, jax.numpy on traced ones inside the compiled program; NaN fails every test).
HYPER_RANGES = {
    "learning_rate": ("finite and > 0", lambda v, xp: xp.isfinite(v) & (v > 0)),
    "weight_decay": ("finite and >= 0", lambda v, xp: xp.isfinite(v) & (v >= 0)),
    "input_noise": ("finite and >= 0", lambda v, xp: xp.isfinite(v) & (v >= 0)),
    "global_clipnorm": ("> 0 (inf: no clipping)", lambda v, xp: v > 0),
    **{rate: ("in [0, 1)", lambda v, xp: (v >= 0) & (v < 1)) for rate in DROPOUT_SITES.values()},
}


def is_concrete(value) -> bool:
    """True unless ``value`` is a JAX tracer (a value known only when the program runs)."""
    return not isinstance(value, jax.core.Tracer)


def _checked_leaf(name: str, value) -> np.ndarray | None:
    """The concrete value as float64 (any shape), None for a tracer; TypeError for non-numbers."""
    if not is_concrete(value):
        return None
    array = np.asarray(value)
    if array.dtype == bool or array.dtype.kind not in "fiu":
        raise TypeError(f"Hyper.{name} must be a real number or array of them, got {value!r} (dtype {array.dtype})")
    return array.astype(np.float64)


def validate_hyper(hyper: Hyper, *, dropout_sites: tuple[str, ...] | None = None,
                   noisy_inputs: bool | None = None) -> None:
    """Check every concrete leaf of ``hyper`` (a number or a stack); tracers pass. A nonzero rate at a site
    not in ``dropout_sites``, or ``input_noise`` with ``noisy_inputs=False``, is an error (it would be ignored)."""
    if not isinstance(hyper, Hyper):
        raise TypeError(f"hyper must be a Hyper, got {type(hyper).__name__}")
    values = {name: _checked_leaf(name, getattr(hyper, name)) for name in Hyper._fields}

    def fail(name: str, valid: str, bad: np.ndarray) -> None:
        shown = values[name] if values[name].ndim == 0 else f"{values[name].tolist()} (bad at {np.argwhere(bad).tolist()})"
        raise ValueError(f"Hyper.{name} must be {valid}, got {shown}")

    for name, value in values.items():
        if value is not None and np.any(np.isnan(value)):
            fail(name, "a number (not NaN)", np.isnan(value))
    for name, (valid, ok) in HYPER_RANGES.items():
        value = values[name]
        if value is not None and not np.all(ok(value, np)):
            fail(name, valid, ~ok(value, np))
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
    """The sorted distinct ``sites`` (names from ``DROPOUT_SITES``), or for None those with a nonzero
    concrete rate in ``hyper``. TypeError for a string; ValueError for an unknown name."""
    if sites is None:
        traced = [name for name in DROPOUT_SITES.values() if not is_concrete(getattr(hyper, name))]
        if traced:
            raise TypeError(f"dropout_sites=None reads the sites from concrete rates; {traced} are traced: "
                            f"give dropout_sites explicitly")
        return tuple(sorted(site for site, name in DROPOUT_SITES.items() if np.any(np.asarray(getattr(hyper, name)) != 0)))
    if isinstance(sites, str):
        raise TypeError(f"dropout_sites must be a tuple of site names, got the string {sites!r}; e.g. ({sites!r},)")
    sites = tuple(sites)
    unknown = [s for s in sites if s not in DROPOUT_SITES]
    if unknown:
        raise ValueError(f"unknown dropout site(s) {unknown}; valid: {', '.join(DROPOUT_SITES)}")
    return tuple(sorted(set(sites)))


def require_scalar_hyper(hyper: Hyper, owner: str = "Hyper") -> None:
    """ValueError for a concrete leaf that is not 0-d (one run, one setting); ``owner`` names ``hyper``."""
    for name in Hyper._fields:
        value = getattr(hyper, name)
        if is_concrete(value) and np.ndim(value) != 0:
            raise ValueError(f"{owner}.{name} must be a single number (0-d), got an array of shape {np.shape(value)}; "
                             f"to train several settings use lstm_ar.training.train_many(config, data, keys, hyper) "
                             f"or jax.vmap(train, in_axes=(None, Hyper(0, ...)))")


def _int_field(config, name: str, low: int = 1) -> None:
    """Check ``config.<name>`` is an int >= ``low`` (not bool); store it as int."""
    value = getattr(config, name)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be {'a positive int' if low == 1 else f'an int >= {low}'}, got {value!r}")
    object.__setattr__(config, name, int(value))


def _real(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating, np.integer))


def _flag(config, name: str) -> None:
    if not isinstance(getattr(config, name), bool):
        raise TypeError(f"{name} must be True or False, got {getattr(config, name)!r}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The forecaster's static shape: LSTM(units) over ``window`` values -> Dense(outputs). head: "next"
    (Keras's model), "direct" (the next ``horizon`` values at once; MQ-RNN / N-BEATS) or "gaussian"
    (mean and scale by likelihood; DeepAR). residual: ``x_{t+1} = x_t + g(window)``. window_scaling: each input
    window is scaled by its own mean and std, the output scaled back (RevIN-like; a next-value or direct head read
    from a window). linear_skip: the hybrid, a linear map of the (scaled) window added to the Dense outputs
    (LSTNet's autoregressive highway): the LSTM learns what a direct linear forecast leaves."""

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
    window_scaling: bool = False
    linear_skip: bool = False

    def __post_init__(self):
        for name in ("units", "window", "horizon", "samples"):
            _int_field(self, name)
        get_activation(self.activation)
        get_activation(self.recurrent_activation)
        _flag(self, "residual")
        _flag(self, "window_scaling")
        _flag(self, "linear_skip")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; valid: {', '.join(HEADS)}")
        if self.head != "direct" and self.horizon != 1:
            raise ValueError(f"horizon counts the direct head's outputs; the {self.head!r} head has one, got horizon "
                             f"{self.horizon} (for a k-step loss set TrainConfig.horizon)")
        if self.head == "direct" and self.residual:
            raise ValueError("a direct head predicts a whole block: residual prediction applies to one-value heads")
        if self.window_scaling and self.head == "gaussian":
            raise ValueError("window_scaling scales a point forecast back: it applies to the next-value and direct heads")
        if self.linear_skip and (self.head == "gaussian" or self.residual):
            raise ValueError("linear_skip adds a linear forecast of the window to the outputs: it applies to the "
                             "next-value and direct heads without residual")

    @property
    def reads_window(self) -> bool:
        """True when the model reads each input window as a whole (``window_scaling`` or ``linear_skip``): no
        stateful rollout, map or diagnostics, which feed values through the cell one by one."""
        return self.window_scaling or self.linear_skip

    @property
    def outputs(self) -> int:
        """Width of the Dense head: 1 (next), horizon (direct) or 2 (Gaussian)."""
        return {"next": 1, "direct": self.horizon, "gaussian": 2}[self.head]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Keras ``fit`` defaults: batch 32, shuffle every epoch, partial last batch kept. regime, horizon:
    how targets are fed (``lstm_ar.training.regimes``; teacher forcing, horizon 1 is Keras's; horizon
    None: the model's). dad_*: Data as Demonstrator (``lstm_ar.training.dad``). dropout_sites,
    noisy_inputs: None resolves to what ``hyper`` has nonzero. validation_tail: early stopping, the share of the
    training windows (the last ones in time) held out to choose the epoch whose parameters are kept (0: off)."""

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
    validation_tail: float = 0.0

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"model must be a ModelConfig, got {type(self.model).__name__}")
        if self.regime not in REGIMES:
            raise ValueError(f"unknown regime {self.regime!r}; valid: {', '.join(REGIMES)}")
        if self.horizon is None:
            object.__setattr__(self, "horizon", self.model.horizon)
        for name in ("epochs", "batch_size", "horizon", "dad_starts", "dad_length"):
            _int_field(self, name)
        _int_field(self, "dad_rounds", 0)
        for name in ("beta_1", "beta_2"):
            if not (_real(getattr(self, name)) and 0.0 <= float(getattr(self, name)) < 1.0):
                raise ValueError(f"{name} must be a number in [0, 1), got {getattr(self, name)!r}")
        if not (_real(self.epsilon) and math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"epsilon must be a finite number > 0, got {self.epsilon!r}")
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"shuffle must be True or False, got {self.shuffle!r}")
        _flag(self, "curriculum")
        if not (_real(self.validation_tail) and 0.0 <= float(self.validation_tail) < 0.5):
            raise ValueError(f"validation_tail must be a number in [0, 0.5), got {self.validation_tail!r}")
        if self.validation_tail and self.dad_rounds:
            raise ValueError("validation_tail holds the last windows out; Data as Demonstrator rolls over all of them: "
                             "use one of the two")
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
        if self.model.reads_window and self.stateful:
            raise ValueError("window_scaling and linear_skip read each input window whole: they need one-step training "
                             "or a direct head "
                             f"(a window read at once), got regime {self.regime!r}, horizon {self.horizon}")
        if self.dad_rounds and not (self.one_step and head == "next"):
            raise ValueError("Data as Demonstrator adds one-step pairs: it needs the next-value head trained one step "
                             f"ahead, got head {head!r}, regime {self.regime!r}, horizon {self.horizon}")

    @property
    def one_step(self) -> bool:
        """True for Keras's one-step teacher-forced training (a next-value or Gaussian head)."""
        return self.regime == "teacher_forcing" and self.horizon == 1

    @property
    def stateful(self) -> bool:
        """True when the loss runs ``horizon`` stateful steps after the window (next-value head, k-step regime)."""
        return self.model.head == "next" and not self.one_step

    def validation_windows(self, n: int) -> int:
        """Of ``n`` training windows, how many (the last) ``validation_tail`` holds out: 0 when off, else at least 1."""
        return max(1, round(self.validation_tail * n)) if self.validation_tail else 0

    @property
    def lstm_steps(self) -> int:
        """LSTM steps per training example: the window, plus a k-step regime's stateful steps."""
        return self.model.window + (self.horizon if self.stateful else 0)

    @property
    def remedies(self) -> tuple[str, ...]:
        """The remedies beyond Keras's plain training this config switches on (names; () for none)."""
        m = self.model
        return tuple(name for name, on in (
            ("direct head", m.head == "direct"), ("Gaussian head", m.head == "gaussian"), ("residual", m.residual),
            ("window scaling", m.window_scaling), ("linear skip", m.linear_skip), ("early stopping", self.validation_tail > 0),
            ("curriculum", self.curriculum), ("DaD", self.dad_rounds > 0), ("input noise", self.noisy_inputs)) if on)

    def describe(self) -> str:
        """Short words for reports, e.g. 'LSTM(32, tanh) w50, direct head H200, 100 epochs'."""
        m = self.model
        regime = "free-running" if self.regime == "free_running" else self.regime.replace("_", " ")
        parts = [f"LSTM({m.units}, {m.activation}) w{m.window}",
                 {"direct": f"direct head H{m.horizon}", "gaussian": "Gaussian head"}.get(m.head),
                 f"{regime} k={self.horizon}" + (" curriculum" if self.curriculum else "") if self.stateful else None,
                 "residual" if m.residual else None, "window-scaled" if m.window_scaling else None,
                 "linear skip" if m.linear_skip else None,
                 f"DaD x{self.dad_rounds}" if self.dad_rounds else None,
                 f"{self.epochs} epochs" + (f", best on the last {self.validation_tail:.0%}" if self.validation_tail else "")]
        return ", ".join(part for part in parts if part)

    def to_dict(self) -> dict:
        """JSON-ready view (for summary files); an infinite value (no clipping) becomes None."""
        out = dataclasses.asdict(self)
        out["dropout_sites"] = list(self.dropout_sites)
        out["hyper"] = {k: float(v) if math.isfinite(float(v)) else None for k, v in self.hyper._asdict().items()}
        return out
