"""The one harness, tested as optax tests its optimisers: every model variant (each head, residual
prediction, window scaling and the hybrid's linear skip, each regime, the curriculum, Data as Demonstrator,
input noise, dropout) goes through
the same checks, then each remedy's own behaviour is pinned.

Common checks (``VARIANTS``): the training program traces once for any number of seeds and any
data of its shape; data given as an argument (traced, e.g. a noise realisation under vmap) gives
the same bits as concrete data; the entry's choice (fast or plain) equals the plain reference;
the loss is finite; the head has its width; the rollout the config is judged on has the requested
length; and a remedy switched on changes what is learned.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.realisations import sine_realisations
from lstm_ar.data.series import gather_sequences, noisy_sine, sequences
from lstm_ar.dynamics.collapse import DIVERGENCE_BOUND
from lstm_ar.dynamics.judge import judge_origins, judge_path, judge_rollout
from lstm_ar.dynamics.rollout import rollout, rollout_mode, rollouts
from lstm_ar.model.forecaster import gaussian, gaussian_nll, outputs, point
from lstm_ar.training import dad, make_train, plain, seed_keys
from lstm_ar.training.regimes import curriculum_weights, sequence_loss

MODEL = ModelConfig(units=4, window=3)
BASE = TrainConfig(model=MODEL, epochs=2, batch_size=8)
SERIES = (np.sin(np.linspace(0, 6 * np.pi, 60)) + 0.1 * np.random.RandomState(0).randn(60)).astype(np.float32)
KEYS = seed_keys(3, 0, 2)


def _variant(model=None, **train_fields) -> TrainConfig:
    return TrainConfig(model=dataclasses.replace(MODEL, **(model or {})), **{"epochs": 2, "batch_size": 8, **train_fields})


VARIANTS = {
    "plain": _variant(),
    "dropout": _variant(hyper=Hyper(dropout=0.2, output_dropout=0.1)),
    "residual": _variant({"residual": True}),
    "input_noise": _variant(hyper=Hyper(input_noise=0.2)),
    "direct": _variant({"head": "direct", "horizon": 5}),
    "scaled_direct_skip": _variant({"head": "direct", "horizon": 5, "window_scaling": True, "linear_skip": True}),
    "gaussian_residual": _variant({"head": "gaussian", "residual": True}),
    "teacher_forcing_k4": _variant(horizon=4),
    "scheduled_k4": _variant(regime="scheduled_inverse_sigmoid", horizon=4),
    "free_running_curriculum_k4": _variant(regime="free_running", horizon=4, curriculum=True),
    "dad": _variant(dad_rounds=1, dad_starts=2, dad_length=4),
}


# Traced data (a series gathered inside the program) against concrete data, where the training
# reads its data differently: the fast path, k-step sequences, a direct head's block, DaD's series.
TRACED_DATA = ("plain", "direct", "teacher_forcing_k4", "dad")


def _data(config: TrainConfig):
    return sequences(SERIES, config.model.window, config.horizon)


@pytest.fixture(scope="module")
def runs():
    """Per variant: (seeds trained on concrete data, on traced data (``TRACED_DATA``, else None),
    by the plain path)."""
    out = {}
    for name, config in VARIANTS.items():
        data = _data(config)
        train = make_train(config, data)
        concrete = jax.jit(jax.vmap(train, in_axes=(0, None)))(KEYS, data)
        w, k = config.model.window, config.horizon
        traced = None if name not in TRACED_DATA else jax.jit(jax.vmap(
            lambda key, s: train(key, gather_sequences(s, w, k)), in_axes=(0, None)))(KEYS, jnp.asarray(SERIES))
        reference = concrete  # the entry chose the plain path itself: nothing else to compare
        if train.__module__ != plain.__name__:
            reference = jax.jit(jax.vmap(make_train(config, data, fast=False), in_axes=(0, None)))(KEYS, data)
        out[name] = (concrete, traced, reference)
    return out


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_passes_the_common_checks(name, runs):
    config = VARIANTS[name]
    concrete, traced, reference = runs[name]
    if traced is not None:
        chex.assert_trees_all_equal(concrete, traced)  # the data is an argument: same program, same bits
    chex.assert_trees_all_close(concrete, reference, rtol=1e-5, atol=1e-6)  # fast choice == plain
    chex.assert_tree_all_finite(concrete.epoch_loss)
    chex.assert_shape(concrete.epoch_loss, (2, config.epochs))
    chex.assert_shape(concrete.params["dense"]["kernel"], (2, MODEL.units, config.model.outputs))
    params = jax.tree.map(lambda a: a[0], concrete.params)
    paths = rollouts(params, jnp.asarray(SERIES), 7, config, jax.random.key(0))
    chex.assert_shape(paths["point"], (7,))
    assert ("sample" in paths) == (config.model.head == "gaussian")
    if name != "plain":  # each remedy changes what is learned
        plain_params = runs["plain"][0].params
        assert not np.allclose(concrete.params["lstm"]["kernel"], plain_params["lstm"]["kernel"])


def test_the_training_program_is_traced_once_per_shape():
    data = _data(BASE)
    train = chex.assert_max_traces(make_train(BASE, data), n=1)
    run = jax.jit(jax.vmap(train, in_axes=(0, None)))
    first = run(KEYS, data)
    shifted = run(KEYS, data._replace(x=data.x + 1.0))  # other data: no retrace, and it is what is trained on
    assert not np.allclose(first.epoch_loss, shifted.epoch_loss)
    run(seed_keys(9, 0, 2), data)
    with pytest.raises(ValueError, match="built for 57 training examples"):
        make_train(BASE, data)(KEYS[0], sequences(SERIES[:40], 3, 1))


def test_the_rollout_is_traced_once_for_any_model_and_context(runs):
    config = VARIANTS["direct"]
    roll = jax.jit(chex.assert_max_traces(lambda p, c: rollouts(p, c, 12, config)["point"], n=1))
    params = runs["direct"][0].params
    for seed in range(2):  # other parameters, another context of the same shape: one compile
        one, context = jax.tree.map(lambda a, s=seed: a[s], params), jnp.asarray(SERIES) + seed
        np.testing.assert_allclose(roll(one, context), rollouts(one, context, 12, config)["point"], rtol=1e-6)
    with pytest.raises(AssertionError, match="traced > 1 times"):
        roll(jax.tree.map(lambda a: a[0], params), jnp.asarray(SERIES[:-1]))  # another shape: a second trace


def test_the_entry_chooses_plain_for_every_remedy():
    for name, config in VARIANTS.items():
        module = make_train(config, _data(config)).__module__
        assert (module == plain.__name__) == bool(config.remedies), name


def test_rollout_mode_follows_the_config():
    assert [rollout_mode(VARIANTS[n]) for n in ("plain", "direct", "gaussian_residual", "teacher_forcing_k4")] == \
        ["window", "direct", "sampled", "stateful"]


def test_rollouts_are_the_one_rollout_module(runs):
    params = jax.tree.map(lambda a: a[0], runs["plain"][0].params)
    context = jnp.asarray(SERIES)
    np.testing.assert_array_equal(rollouts(params, context, 9, BASE)["point"], rollout(params, context, 9, MODEL))
    np.testing.assert_array_equal(rollouts(params, context, 9, VARIANTS["teacher_forcing_k4"])["point"],
                                  rollout(params, context[-3:], 9, MODEL, mode="stateful"))
    direct = VARIANTS["direct"]
    params = jax.tree.map(lambda a: a[0], runs["direct"][0].params)
    block = rollouts(params, context, 5, direct)["point"]
    longer = rollouts(params, context, 12, direct)["point"]  # blocks after the first read the predictions
    np.testing.assert_array_equal(longer[:5], block)
    np.testing.assert_array_equal(longer[5:10], rollouts(params, jnp.concatenate([context, block]), 5, direct)["point"])
    with pytest.raises(ValueError, match="give a key"):
        rollouts(jax.tree.map(lambda a: a[0], runs["gaussian_residual"][0].params), context, 3,
                 VARIANTS["gaussian_residual"])


# --- each remedy's own behaviour ---

class HeadTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_point_of_each_head(self):
        out = jnp.asarray([0.5, -1.0])
        last = jnp.float32(2.0)
        next_head = self.variant(lambda o, x: point(o, x, MODEL))
        residual = self.variant(lambda o, x: point(o, x, dataclasses.replace(MODEL, residual=True)))
        gauss = self.variant(lambda o, x: point(o, x, dataclasses.replace(MODEL, head="gaussian", residual=True)))
        np.testing.assert_array_equal(next_head(out[:1], last), [0.5])
        np.testing.assert_array_equal(residual(out[:1], last), [2.5])
        np.testing.assert_array_equal(gauss(out, last), [2.5])  # the Gaussian's mean, shifted

    @chex.variants(with_jit=True, without_jit=True)
    def test_curriculum_grows_the_counted_horizon(self):
        weights = self.variant(lambda p: curriculum_weights(5, True, p))
        counted = [int(weights(jnp.float32(p)).sum()) for p in (0.0, 0.25, 0.5, 0.9)]
        assert counted == [1, 3, 5, 5]
        assert curriculum_weights(5, False, 0.0) is None


def test_gaussian_loss_is_the_negative_log_likelihood(runs):
    from scipy.stats import norm

    config = VARIANTS["gaussian_residual"]
    params = jax.tree.map(lambda a: a[0], runs["gaussian_residual"][0].params)
    x, y = jnp.asarray(SERIES[:3, None]), float(SERIES[3])
    out = outputs(params, x, config.model)
    mean, std = gaussian(out)
    nll = gaussian_nll(out, x[-1, 0], jnp.float32(y), config.model)
    np.testing.assert_allclose(nll, -norm.logpdf(y, float(mean) + float(SERIES[2]), float(std)), rtol=1e-5)


def test_curriculum_weights_reach_the_loss(runs):
    params = jax.tree.map(lambda a: a[0], runs["plain"][0].params)
    x, y = jnp.asarray(SERIES[:3, None]), jnp.asarray(SERIES[3:7])
    key = jax.random.key(0)
    first_only = sequence_loss(params, x, y, 0.0, key, MODEL, weights=jnp.asarray([1.0, 0, 0, 0]))
    one_step = (outputs(params, x, MODEL)[0] - y[0]) ** 2
    np.testing.assert_allclose(first_only, one_step, rtol=1e-6)
    assert not np.isclose(sequence_loss(params, x, y, 0.0, key, MODEL), first_only)


def test_dad_pairs_are_the_models_own_windows_and_the_true_next_value(runs):
    config = VARIANTS["dad"]
    params = jax.tree.map(lambda a: jnp.zeros_like(a[0]), runs["plain"][0].params)
    params["dense"]["bias"] = jnp.full((1,), 7.0)  # predicts 7 whatever it reads
    xs, ys = dad.dad_pairs(params, jnp.asarray(SERIES), jax.random.key(0), config)
    xs, ys = np.asarray(xs).reshape(2, 4, 3), np.asarray(ys).reshape(2, 4)
    for start in range(2):
        p = int(np.flatnonzero(SERIES == xs[start, 0, 0])[0]) - 1  # after one prediction: [x_p+1, x_p+2, 7]
        np.testing.assert_array_equal(xs[start, 0], [SERIES[p + 1], SERIES[p + 2], 7.0])
        for j in range(4):
            assert xs[start, j, -1] == 7.0  # the window ends with the model's own prediction
            assert ys[start, j] == SERIES[p + 3 + j + 1]  # the value after the one it estimated
    data = _data(config)
    np.testing.assert_array_equal(dad.series_of(jnp.asarray(data.x), jnp.asarray(data.y)), SERIES)


def test_bad_configs_are_refused_before_any_compute():
    with pytest.raises(ValueError, match="head"):
        ModelConfig(head="mlp")
    with pytest.raises(ValueError, match="horizon counts the direct head"):
        ModelConfig(horizon=3)
    with pytest.raises(ValueError, match="residual"):
        ModelConfig(head="direct", horizon=3, residual=True)
    with pytest.raises(ValueError, match="curriculum"):
        TrainConfig(curriculum=True)
    with pytest.raises(ValueError, match="Data as Demonstrator"):
        TrainConfig(model=ModelConfig(head="direct", horizon=10), dad_rounds=1)
    with pytest.raises(ValueError, match="direct head trains on its 10 outputs"):
        TrainConfig(model=ModelConfig(head="direct", horizon=10), horizon=4)
    with pytest.raises(ValueError, match="Gaussian head"):
        TrainConfig(model=ModelConfig(head="gaussian"), regime="free_running", horizon=4)
    with pytest.raises(ValueError, match="input_noise must be finite and >= 0"):
        TrainConfig(hyper=Hyper(input_noise=-1.0))
    with pytest.raises(ValueError, match="noisy_inputs is False"):
        TrainConfig(hyper=Hyper(input_noise=0.1), noisy_inputs=False)
    with pytest.raises(ValueError, match="input_noise .* noisy_inputs"):
        make_train(BASE, _data(BASE))(KEYS[0], _data(BASE), Hyper(input_noise=0.1))
    with pytest.raises(ValueError, match="too short"):
        make_train(_variant(dad_rounds=1, dad_length=50), _data(BASE))
    assert TrainConfig(model=ModelConfig(head="direct", horizon=10)).horizon == 10  # resolved from the head


# --- the one judge ---

class JudgeTest(chex.TestCase):

    @chex.variants(with_jit=True, without_jit=True)
    def test_a_diverged_rollout_is_the_worst_and_never_collapsed(self):
        truth = jnp.zeros(60)
        judge = self.variant(lambda ys: judge_path(ys, truth, 1.0))
        blow = jnp.float32(1.2) ** jnp.arange(60, dtype=jnp.float32)  # reaches 5e4: finite, far out
        m = judge(blow)
        assert bool(m["diverged"]) and not bool(m["collapsed"]) and np.isinf(m["rollout_rmse"])
        stay = jnp.full(60, 0.5 * DIVERGENCE_BOUND)  # far, flat, inside the bound: collapsed, not diverged
        m = judge(stay)
        assert not bool(m["diverged"]) and bool(m["collapsed"]) and np.isfinite(m["rollout_rmse"])
        assert float(m["valid_full"]) == 0.0
        m = judge(jnp.full(60, jnp.nan))
        assert bool(m["diverged"]) and np.isinf(m["max_abs_deviation"]) and np.isinf(m["rollout_rmse"])
        assert float(judge(truth + 0.1)["valid_full"]) == 1.0

    @chex.variants(with_jit=True, without_jit=True)
    def test_origins_are_judged_one_by_one(self):
        truths = jnp.zeros((3, 8))
        ys = jnp.stack([jnp.full(8, 0.1), jnp.full(8, 0.2), jnp.full(8, 1e4)])
        m = self.variant(lambda y: judge_origins(y, truths, 1.0))(ys)
        np.testing.assert_allclose(m["origin_rmse"][:2], [0.1, 0.2], rtol=1e-6)
        assert np.isinf(m["backtest_rmse"]) and np.isclose(m["backtest_diverged_rate"], 1 / 3)
        for i in range(3):
            single = judge_rollout(ys[i], truths[i], 1.0)
            np.testing.assert_array_equal(m["origin_rmse"][i], single["rollout_rmse"])


# --- noise realisations and the crossed design ---

def test_realisation_zero_is_the_articles_series_and_others_differ():
    from lstm_ar.scenarios.reproduce import activation

    data = sine_realisations(3, steps=200)
    np.testing.assert_array_equal(data.series[0], noisy_sine().values)
    assert not np.allclose(data.series[1], data.series[2])
    article = activation(True)
    np.testing.assert_array_equal(data.context[0], article.context)
    np.testing.assert_allclose(data.truth[0], article.truth, rtol=1e-6)
    np.testing.assert_allclose(data.scale[0], article.scale, rtol=1e-6)
    clean = sine_realisations(2, steps=10, noise=0.0)
    np.testing.assert_allclose(clean.series[0], clean.series[1])
    with pytest.raises(ValueError, match="noise"):
        sine_realisations(1, noise=-0.1)


def test_realisations_in_cache_sized_blocks_equal_one_vmap(monkeypatch):
    from lstm_ar.study.experiment import cache_layout, map_draws

    w50 = _variant({"window": 50, "units": 32}, batch_size=32)
    assert cache_layout(w50, 16) == (4, 1) and cache_layout(BASE, 16) == (8, 1)
    stateful = dataclasses.replace(w50, regime="free_running", horizon=40)
    assert stateful.lstm_steps == 90 and cache_layout(stateful, 16) == (2, 1)
    assert cache_layout(w50, 12) == (4, 1) and cache_layout(w50, 7) == (1, 4)  # a divisor of the draws that fits
    with monkeypatch.context() as m:  # an accelerator has no cache to fit: one block
        m.setattr(jax, "default_backend", lambda: "gpu")
        assert cache_layout(w50, 16)[0] == 16
    series = jnp.stack([jnp.asarray(SERIES) + 0.05 * k for k in range(4)])

    def one(d):  # a pytree of outputs per draw
        return {"path": jnp.cumsum(jnp.tanh(d["s"])) * d["shift"], "total": jnp.sum(d["s"]) + d["shift"]}

    draws = {"s": series, "shift": jnp.arange(4, dtype=jnp.float32)}
    whole = jax.vmap(one)(draws)
    blocks = jax.jit(lambda d: map_draws(one, d, 2))(draws)
    chex.assert_trees_all_equal_shapes(whole, blocks)
    chex.assert_trees_all_close(whole, blocks, atol=1e-6)
    assert map_draws(one, draws, 4)["path"].shape == (4, SERIES.shape[0])
