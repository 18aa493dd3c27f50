"""The seed suite the training benchmark trains, and the library entry points it trains with.

The seed suite is the article's five trainings at its settings (``lstm_ar.scenarios.reproduce``):
Example 1 (LSTM(32, relu), x -> x on 100 points, 100 epochs = 400 Adam steps), Example 2's
sigmoid and relu models (999 examples, 20 epochs = 640 steps each), Example 3 without and with
Dropout(0.2) (50 epochs = 1600 steps each): 4880 steps of batch 32 per seed. ``--quick`` trains
Example 3 with dropout for one epoch.

``benchmarks/train.py`` (the timings) and ``benchmarks/train_costs.py`` (FLOPs, bytes, profile)
both import the suite from here. This module is also the one place in ``benchmarks/`` that
imports ``lstm_ar.training`` and ``lstm_ar.scenarios``: ``make_train``, ``seed_keys`` and
``step_program`` wrap the library's training entry points, so a change of the library's API is
adapted here alone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

# (scenario, variant) of lstm_ar.scenarios.reproduce, in the article's order
SUITE = (("diversity", "relu"), ("activation", "sigmoid"), ("activation", "relu"),
         ("dropout", "no_dropout"), ("dropout", "dropout"))
QUICK_SUITE = (("dropout", "dropout"),)
QUICK_EPOCHS = 1


class Variant(NamedTuple):
    """One training of the suite: ``name`` is ``scenario/variant``."""

    name: str
    config: Any   # lstm_ar.config.TrainConfig
    data: Any     # lstm_ar.data.series.Dataset

    @property
    def steps(self) -> int:
        """Adam steps per seed: epochs x ceil(examples / batch size)."""
        return self.config.epochs * -(-self.data.n // self.config.batch_size)


def suite(quick: bool) -> list[Variant]:
    """The seed suite's trainings.

    Args:
      quick: Example 3 with dropout for ``QUICK_EPOCHS`` epoch(s) instead of the five trainings.

    Returns:
      The variants, in the article's order.
    """
    from lstm_ar.scenarios.reproduce import SCENARIOS

    out = []
    for scenario_name, variant in (QUICK_SUITE if quick else SUITE):
        sc = SCENARIOS[scenario_name]()
        config = sc.variants[variant]
        if quick:
            config = dataclasses.replace(config, epochs=QUICK_EPOCHS)
        out.append(Variant(f"{scenario_name}/{variant}", config, sc.training_data(variant)))
    return out


def peer_spec(v: Variant) -> dict[str, Any]:
    """What the PyTorch peers need to train a variant: plain numbers and numpy arrays.

    Args:
      v: a variant of the suite (window-1, one-step model).

    Returns:
      ``units, activation, epochs, batch_size, output_dropout, learning_rate``, and
      ``x: f32[n]`` (the window's one value), ``y: f32[n]``.
    """
    c = v.config
    return {"units": c.model.units, "activation": c.model.activation, "epochs": c.epochs,
            "batch_size": c.batch_size, "output_dropout": float(c.hyper.output_dropout),
            "learning_rate": float(c.hyper.learning_rate),
            "x": v.data.x[:, 0, 0].astype("float32"), "y": v.data.y[:, 0].astype("float32")}


# --------------------------------------------------------------------------- the library's training API

def make_train(config: Any, data: Any, *, plain: bool = False):
    """The library's ``make_train`` on ``data``: ``train(key) -> TrainResult`` for one seed.

    Args:
      config: a ``TrainConfig``.
      data: a ``Dataset`` (the library's ``train(key, data, hyper)`` is called with it).
      plain: the plain implementation (the reference the fast path is tested against) instead of
        the default, fast one.

    Returns:
      ``train(key, hyper=None) -> TrainResult`` (``epoch_loss: f32[epochs]``).
    """
    from lstm_ar.training import make_train as library_make_train

    train = library_make_train(config, data, fast=not plain)
    return lambda key, hyper=None: train(key, data, hyper)


def seed_keys(root: int, start: int, stop: int):
    """Keys of seeds ``start..stop-1`` under root seed ``root``: ``key[stop - start]``."""
    from lstm_ar.training import seed_keys as library_seed_keys

    return library_seed_keys(root, start, stop)


class StepProgram(NamedTuple):
    """One training step of n seeds as the fast ``make_train`` runs it, in pieces to compile.

    parts: ``(fn, args)`` pairs; XLA's costs of ``jax.jit(fn)`` at ``args``, summed, are one step
    of the n seeds (the step, and the dropout masks drawn for it). trainable: parameters per seed
    that go through Adam. layout: ``"first_step"`` (the window-1 layout) or ``"fast"``.
    """

    parts: list
    trainable: int
    layout: str


def step_program(config: Any, data: Any, n: int) -> StepProgram:
    """One training step of ``n`` seeds (vmapped) on the first batch, built from the fast path's
    own step functions, for ``train_costs.step_cost``.

    Args:
      config: a one-step ``TrainConfig`` (the suite's).
      data: its ``Dataset``.
      n: seeds.

    Returns:
      A ``StepProgram``.
    """
    import jax
    import jax.numpy as jnp

    from lstm_ar.model.forecaster import init_params
    from lstm_ar.training import fast, first_step
    from lstm_ar.training.plain import Batch, TrainCarry, make_optimizer, train_step
    from lstm_ar.training.regimes import teacher_probability

    hyper, b = config.hyper, config.batch_size
    tx = make_optimizer(config, hyper)
    keys = jax.random.split(jax.random.key(0), n)
    y, mask = jnp.asarray(data.y[:b], jnp.float32), jnp.ones((b,), jnp.float32)
    if first_step.supports(config):  # as make_train runs it: the epoch's masks drawn before the minibatch loop
        batch = Batch(x=jnp.asarray(data.x[:b, 0, 0], jnp.float32), y=y, mask=mask)

        def init(key):
            theta, frozen = first_step.split(init_params(key, config.model))
            return first_step.FirstStepCarry(theta, tx.init(theta), frozen)

        draw = jax.vmap(lambda k: first_step.batch_masks(k, b, config, hyper))
        masks = draw(keys)
        step = jax.vmap(lambda c, m: first_step.train_step(c, batch, m, model=config.model, hyper=hyper, tx=tx))
        parts = [(step, (jax.vmap(init)(keys), masks))] + ([(draw, (keys,))] if masks is not None else [])
        return StepProgram(parts, 7 * config.model.units + 1, "first_step")

    batch = Batch(x=jnp.asarray(data.x[:b], jnp.float32), y=y, mask=mask)
    total_steps = config.epochs * -(-data.n // b)

    def init(key):
        params = init_params(key, config.model)
        return TrainCarry(params, tx.init(params))

    def one(carry, key):
        masks, coin_keys = fast.draw_batch(key, b, config, hyper)
        teacher_prob = teacher_probability(config.regime, 0, total_steps)
        return train_step(carry, batch, masks, coin_keys, teacher_prob, model=config.model, tx=tx)

    trainable = sum(a.size for a in jax.tree.leaves(init_params(keys[0], config.model)))
    return StepProgram([(jax.vmap(one), (jax.vmap(init)(keys), keys))], trainable, "fast")
