import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.data.series import sequences
from lstm_ar.dynamics.rollout import rollout_stateful
from lstm_ar.model.cell import lstm_step
from lstm_ar.model.forecaster import encode, head, init_params
from lstm_ar.training.regimes import EXPONENTIAL_FINAL, inverse_sigmoid_constant, sequence_loss, teacher_probability
from lstm_ar.training.train import make_train

MODEL = ModelConfig(units=4, window=3, activation="tanh")
WINDOW = jnp.asarray([[0.2], [-0.1], [0.4]])
TARGETS = jnp.asarray([0.3, -0.2, 0.1, 0.5, -0.4])


@pytest.fixture(scope="module")
def params():
    return init_params(jax.random.key(0), MODEL)


def test_schedules_follow_their_formulas():
    total = 200
    steps = np.arange(0, total, 17)
    p = lambda r: np.asarray([float(teacher_probability(r, i, total)) for i in steps])  # noqa: E731
    np.testing.assert_allclose(p("teacher_forcing"), 1.0)
    np.testing.assert_allclose(p("free_running"), 0.0)
    np.testing.assert_allclose(p("scheduled_linear"), 1 - steps / total, rtol=1e-6)
    k = EXPONENTIAL_FINAL ** (1 / total)
    np.testing.assert_allclose(p("scheduled_exponential"), k ** steps, rtol=1e-5)
    c = inverse_sigmoid_constant(total)
    assert c * math.log(c) == pytest.approx(total / 2)
    np.testing.assert_allclose(p("scheduled_inverse_sigmoid"), c / (c + np.exp(steps / c)), rtol=1e-5)
    assert float(teacher_probability("scheduled_inverse_sigmoid", total // 2, total)) == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="unknown regime"):
        teacher_probability("sometimes", 0, 10)


def _teacher_forced_loss(params, window, targets):
    carry = encode(params, window, MODEL)
    y, errs = head(params, carry.h), []
    for t in targets:
        errs.append((float(y[0]) - float(t)) ** 2)
        carry, h = lstm_step(params["lstm"], carry, jnp.asarray([t]))
        y = head(params, h)
    return np.mean(errs)


def test_probability_one_is_teacher_forcing(params):
    loss = sequence_loss(params, WINDOW, TARGETS, 1.0, jax.random.key(1), MODEL)
    np.testing.assert_allclose(loss, _teacher_forced_loss(params, WINDOW, TARGETS), rtol=1e-5)


def test_probability_zero_is_free_running(params):
    loss = sequence_loss(params, WINDOW, TARGETS, 0.0, jax.random.key(1), MODEL)
    ys = rollout_stateful(params, WINDOW[:, 0], TARGETS.shape[0], MODEL)
    np.testing.assert_allclose(loss, jnp.mean((ys - TARGETS) ** 2), rtol=1e-5)
    assert abs(float(loss) - _teacher_forced_loss(params, WINDOW, TARGETS)) > 1e-6


def test_free_running_gradient_matches_finite_difference(params):
    p64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    # one compiled loss, called for every finite difference (eager, each call runs op by op)
    loss = jax.jit(lambda p: sequence_loss(p, WINDOW, TARGETS, 0.0, jax.random.key(1), MODEL))
    grad = jax.grad(loss)(params)
    eps = 1e-2
    for path, idx in ((("lstm", "recurrent_kernel"), (1, 5)), (("lstm", "kernel"), (0, 2)), (("dense", "kernel"), (3, 0))):
        plus, minus = jax.tree.map(np.copy, p64), jax.tree.map(np.copy, p64)
        plus[path[0]][path[1]][idx] += eps
        minus[path[0]][path[1]][idx] -= eps
        to32 = lambda p: jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), p)  # noqa: E731
        fd = (float(loss(to32(plus))) - float(loss(to32(minus)))) / (2 * eps)
        np.testing.assert_allclose(grad[path[0]][path[1]][idx], fd, rtol=2e-2, atol=1e-4)


def test_coin_is_flipped_per_step(params):
    loss = jax.jit(lambda k: sequence_loss(params, WINDOW, TARGETS, 0.5, k, MODEL))  # one program, 20 keys
    losses = {float(loss(jax.random.key(i))) for i in range(20)}
    assert len(losses) > 4  # different coin sequences give different losses


def test_sequences_pair_windows_with_the_next_values():
    data = sequences(np.arange(10.0), 3, 2)
    assert data.x.shape == (6, 3, 1) and data.y.shape == (6, 2)
    np.testing.assert_array_equal(data.x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(data.y[0], [3, 4])
    np.testing.assert_array_equal(data.y[-1], [8, 9])


def test_training_with_a_regime_runs_and_checks_its_data():
    config = TrainConfig(model=MODEL, epochs=2, batch_size=8, regime="scheduled_linear", horizon=4)
    data = sequences(np.sin(np.linspace(0, 6, 40)), 3, 4)
    result = jax.jit(make_train(config, data))(jax.random.key(0), data)
    assert result.epoch_loss.shape == (2,) and np.all(np.isfinite(result.epoch_loss))
    with pytest.raises(ValueError, match="horizon 4"):
        make_train(config, sequences(np.arange(40.0), 3, 2))
    with pytest.raises(ValueError, match="unknown regime"):
        TrainConfig(regime="sometimes")
