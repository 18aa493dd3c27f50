"""The sequence suite's workloads, built by the library, and their FLOPs per seed-step by hand.

Five trainings of LSTM(32) -> Dense forecasters, each what an experiment of the study runs:

* ``context_w20``, ``context_w50``: the ``context`` experiment's one-step models (LSTM(32, relu),
  windows 20 and 50 of the seed's noisy sine, 20 epochs), trained by the library's
  ``make_train(config, data, fast=True)`` (through ``benchmarks.suite.make_train``);
* ``regime_tf_k40``, ``regime_free_k40``: the ``regime`` experiment's stateful k-step models
  (warm-up window 20, then k = 40 predictions carrying (h, c); teacher forcing and free running;
  20 epochs), the same ``make_train``;
* ``direct_w50``: the cure search's best recipe (``lstm_ar.scenarios.candidates.CANDIDATES
  ["direct_w50"]``: LSTM(32, tanh), window 50, a Dense(200) head predicting the next 200 values at
  once, 100 epochs), the same ``make_train`` on the article's noisy sine (realisation 0; the cure
  search vmaps the same program over 16 noise realisations per seed).

A workload is timed on its first ``examples`` training examples for ``epochs`` epoch(s) (the
same program, fewer batches); the per-seed-step time is extrapolated to the full training
(``full_steps`` Adam steps of batch 32). This module and ``benchmarks/suite.py`` are the places in
``benchmarks/`` that import ``lstm_ar.scenarios`` and ``lstm_ar.training``.

``flops_per_seed_step`` counts one Adam step of one seed by hand: the LSTM's forward pass over
every time step the loss needs, the head and the loss, times 3 for forward + backward (the usual
rule: the backward pass does two products for each product of the forward one), plus Adam.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

KINDS = ("one_step", "teacher_forcing", "free_running", "direct")
NAMES = ("context_w20", "context_w50", "regime_tf_k40", "regime_free_k40", "direct_w50")
ADAM_FLOPS_PER_PARAMETER = 12  # two moment updates, sqrt, epsilon, division, step (as train_costs)
QUICK_UNITS = 8


class Workload(NamedTuple):
    """One training of the suite.

    ``kind``: one of ``KINDS``; ``window`` values read from the zero state; ``horizon``: k
    (teacher forcing / free running), H (direct head) or 1; ``x: f32[n, window]`` and
    ``y: f32[n, horizon]`` the full training data; ``epochs`` the full training's;
    ``build(epochs, examples) -> per_seed(key) -> f32[epochs]`` the library's training of one seed
    (epoch losses) on the first ``examples`` examples; ``step_parts(n)`` one training step of n
    seeds as ``(fn, args)`` pairs (for cost analysis); ``variant(epochs, examples)`` the same
    training as a ``benchmarks.suite.Variant`` (for ``train_costs.profile_ours``; None for recipes).
    """

    name: str
    kind: str
    source: str
    units: int
    activation: str
    window: int
    horizon: int
    batch_size: int
    learning_rate: float
    epochs: int
    x: np.ndarray
    y: np.ndarray
    build: Callable[[int, int], Callable]
    step_parts: Callable[[int], list]
    variant: Callable[[int, int], Any] | None = None

    @property
    def examples(self) -> int:
        return int(self.x.shape[0])

    def steps_per_epoch(self, examples: int | None = None) -> int:
        """Adam steps of one epoch on ``examples`` examples (default all): ceil(examples / batch)."""
        return -(-(self.examples if examples is None else examples) // self.batch_size)

    @property
    def full_steps(self) -> int:
        """Adam steps per seed of the full training."""
        return self.epochs * self.steps_per_epoch()

    @property
    def head_width(self) -> int:
        return self.horizon if self.kind == "direct" else 1

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "source": self.source, "units": self.units,
                "activation": self.activation, "window": self.window, "horizon": self.horizon,
                "batch_size": self.batch_size, "epochs": self.epochs, "examples": self.examples,
                "steps_per_epoch": self.steps_per_epoch(), "full_steps_per_seed": self.full_steps,
                "parameters": parameters(self.units, self.head_width)}


# --------------------------------------------------------------------------- FLOPs by hand

def parameters(units: int, head_width: int = 1, input_dim: int = 1) -> int:
    """Trainable numbers of LSTM(units) -> Dense(head_width).

    Args:
      units, head_width, input_dim: u, w, d.

    Returns:
      4u(d + u + 1) + u w + w.
    """
    return 4 * units * (input_dim + units + 1) + units * head_width + head_width


def lstm_steps(kind: str, window: int, horizon: int) -> int:
    """LSTM time steps one example's loss needs.

    Args:
      kind: one of ``KINDS``.
      window, horizon: w and k (or H, or 1).

    Returns:
      The window, plus k - 1 fed steps for the k-step kinds (prediction j + 1 needs one more step
      after prediction j).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    return window + (horizon - 1 if kind in ("teacher_forcing", "free_running") else 0)


def flops_per_seed_step(kind: str, units: int, window: int, horizon: int, batch: int, input_dim: int = 1) -> dict:
    """FLOPs of one Adam step of one seed, counted by hand.

    Forward, per LSTM time step: the products ``x @ kernel`` (2 d 4u) and ``h @ recurrent``
    (2 u 4u; not on the first step, which starts from the zero state), and 17u elementwise
    operations (adding the two products and the bias 8u, four gate activations 4u,
    ``c = f c + i g`` 3u, ``act(c)`` u, ``o act(c)`` u; the first step 10u: bias 4u, three gates 3u,
    ``i g`` u, ``act(c)`` u, ``o act(c)`` u). Per prediction: the head (2 u w + w) and the squared
    error (3 per value). Forward + backward = 3 x forward; Adam ``ADAM_FLOPS_PER_PARAMETER`` per
    trainable number.

    Args:
      kind: one of ``KINDS``.
      units, window, horizon, batch, input_dim: the shapes (u, w, k or H or 1, b, d).

    Returns:
      ``matmul`` (the products, forward + backward), ``elementwise`` (the rest of forward +
      backward), ``adam`` and ``total``, all per seed-step; ``lstm_steps`` per example.
    """
    for name, value in (("units", units), ("window", window), ("horizon", horizon), ("batch", batch),
                        ("input_dim", input_dim)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    u, d = units, input_dim
    steps = lstm_steps(kind, window, horizon)
    width = horizon if kind == "direct" else 1
    predictions = horizon if kind in ("teacher_forcing", "free_running") else 1
    matmul = steps * 2 * d * 4 * u + (steps - 1) * 2 * u * 4 * u + predictions * 2 * u * width
    elementwise = 10 * u + (steps - 1) * 17 * u + predictions * (width + 3 * width)
    out = {"matmul": 3 * batch * matmul, "elementwise": 3 * batch * elementwise,
           "adam": ADAM_FLOPS_PER_PARAMETER * parameters(u, width, d), "lstm_steps": steps}
    out["total"] = out["matmul"] + out["elementwise"] + out["adam"]
    return out


def workload_flops(w: Workload) -> dict:
    """``flops_per_seed_step`` of a workload.

    Args:
      w: the workload.

    Returns:
      ``flops_per_seed_step``'s dict.
    """
    return flops_per_seed_step(w.kind, w.units, w.window, w.horizon, w.batch_size)


# --------------------------------------------------------------------------- the workloads

def _from_config(name: str, kind: str, source: str, config: Any, data: Any) -> Workload:
    """A workload trained by the library's ``make_train(config, data)`` (fast path)."""
    from benchmarks import suite
    from lstm_ar.data.series import Dataset

    def build(epochs: int, examples: int):
        cfg = dataclasses.replace(config, epochs=epochs)
        train = suite.make_train(cfg, Dataset(x=data.x[:examples], y=data.y[:examples]))
        return lambda key: train(key).epoch_loss

    def step_parts(n: int) -> list:
        return suite.step_program(config, data, n).parts

    def variant(epochs: int, examples: int):
        return suite.Variant(name, dataclasses.replace(config, epochs=epochs),
                             Dataset(x=data.x[:examples], y=data.y[:examples]))

    m = config.model
    return Workload(name, kind, source, m.units, m.activation, m.window, int(data.y.shape[1]), config.batch_size,
                    float(config.hyper.learning_rate), config.epochs, np.asarray(data.x[..., 0], np.float32),
                    np.asarray(data.y, np.float32), build, step_parts, variant)


def context_training(window: int, *, units: int = 32, epochs: int = 1, quick: bool = False) -> tuple[Any, Any]:
    """The ``context`` experiment's model, LSTM(units, relu) -> Dense(1), trained one step ahead on
    windows of ``window`` values of its noisy sine (``benchmarks/tune_lanes.py`` sweeps its lanes).

    Args:
      window: values per example (any, not only the experiment's 1, 5, 20, 50).
      units: LSTM units.
      epochs: training epochs.
      quick: the first 16 examples of the quick scenario's series.

    Returns:
      (``TrainConfig``, ``Dataset``).
    """
    import dataclasses

    from lstm_ar.config import ModelConfig
    from lstm_ar.data.series import windows
    from lstm_ar.scenarios.common import fit_config
    from lstm_ar.scenarios.context import SCENARIOS

    scenario = SCENARIOS["context"](quick)
    config = dataclasses.replace(fit_config(ModelConfig(units=units, window=window, activation="relu"), epochs, False),
                                 epochs=epochs)
    data = windows(np.asarray(scenario.series), window)
    if quick:
        data = data._replace(x=data.x[:16], y=data.y[:16])
    return config, data


def workloads(quick: bool = False, names: tuple[str, ...] | None = None) -> list[Workload]:
    """The suite's workloads, in ``NAMES`` order (or the ``names`` asked for).

    Args:
      quick: tiny versions for a smoke run: LSTM(8), windows 5 (context) and 5 (direct), warm-up 5
        and k = 4 (regime), direct head H = 8, one epoch; not the experiments' sizes.
      names: a subset of ``NAMES``.

    Returns:
      The workloads.

    Raises:
      ValueError: an unknown name.
    """
    names = NAMES if names is None else tuple(names)
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise ValueError(f"unknown workloads {unknown}; valid: {', '.join(NAMES)}")
    from lstm_ar.data.realisations import sine_realisations
    from lstm_ar.data.series import sequences, windows
    from lstm_ar.scenarios.candidates import CANDIDATES
    from lstm_ar.scenarios.context import SCENARIOS as CONTEXT
    from lstm_ar.scenarios.regime import SCENARIOS as REGIME

    out = []
    context = CONTEXT["context"]() if any(n.startswith("context") for n in names) else None
    regime = REGIME["regime"]() if any(n.startswith("regime") for n in names) else None

    def shrink(config, window):
        model = dataclasses.replace(config.model, units=QUICK_UNITS, window=window)
        return dataclasses.replace(config, model=model, epochs=1, horizon=min(config.horizon, 4))

    for name in names:
        if name.startswith("context"):
            variant = f"window_{name.removeprefix('context_w')}"
            config = context.variants[variant]
            if quick:
                config = shrink(config, 5)
                data = windows(context.series, 5)
            else:
                data = context.training_data(variant)
            out.append(_from_config(name, "one_step", f"context experiment, variant {variant}", config, data))
        elif name.startswith("regime"):
            variant = name.removeprefix("regime_")
            config = regime.variants[variant]
            if quick:
                config = shrink(config, 5)
                data = sequences(regime.series, 5, config.horizon)
            else:
                data = regime.training_data(variant)
            kind = "teacher_forcing" if config.regime == "teacher_forcing" else "free_running"
            out.append(_from_config(name, kind, f"regime experiment, variant {variant}", config, data))
        else:
            config = CANDIDATES["direct_w50"].config
            if quick:
                model = dataclasses.replace(config.model, units=QUICK_UNITS, window=5, horizon=8)
                config = dataclasses.replace(config, model=model, epochs=1, horizon=8)
            data = sequences(sine_realisations(1).series[0], config.model.window, config.horizon)
            out.append(_from_config(name, "direct", "cure search, candidate direct_w50 (noise realisation 0)", config,
                                    data))
    return out


def peer_spec(w: Workload) -> dict[str, Any]:
    """What the peers need: plain numbers and numpy arrays.

    Args:
      w: the workload.

    Returns:
      ``name, kind, units, activation, window, horizon, batch_size, learning_rate, epochs``,
      ``x: f32[n, window]``, ``y: f32[n, horizon]``.
    """
    return {"name": w.name, "kind": w.kind, "units": w.units, "activation": w.activation, "window": w.window,
            "horizon": w.horizon, "batch_size": w.batch_size, "learning_rate": w.learning_rate, "epochs": w.epochs,
            "x": w.x, "y": w.y}
