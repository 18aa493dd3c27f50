import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.rollout import rollout_stateful
from lstm_ar.dynamics.stability import (
    FLOOR,
    input_gradient_norms,
    lyapunov_exponent,
    rollout_max_singular,
    rollout_spectral_radius,
    state_gradient_norms,
    stateful_lyapunov_exponent,
    stateful_map_jacobian,
    window_map_jacobian,
)
from lstm_ar.model.cell import LSTMCarry
from lstm_ar.model.forecaster import init_params
from lstm_ar.model.keras_io import to_keras
from tests import keras_numpy

U, W, STEPS = 4, 4, 6
M1 = ModelConfig(units=U, window=1)
MW = ModelConfig(units=U, window=W)
CONTEXT = jnp.asarray([0.3, -0.5, 0.9, 0.2, -0.1])

# Jitted once per (function, model); `steps` and the model are static.
spectral = jax.jit(rollout_spectral_radius, static_argnums=(2, 3))
singular = jax.jit(rollout_max_singular, static_argnums=(2, 3))
lyapunov = jax.jit(lyapunov_exponent, static_argnums=(2, 3))
jacobian = jax.jit(jax.vmap(window_map_jacobian, (None, 0, None)), static_argnums=2)
input_grads = jax.jit(input_gradient_norms, static_argnums=2)
state_grads = jax.jit(state_gradient_norms, static_argnums=2)


# --- an independent oracle: the numpy (float64) Keras transcription, differentiated by central
# finite differences. Nothing below calls the JAX code under test.

def np_forecast(params, window):
    """f(window) in float64: window f64[time] -> float."""
    return float(keras_numpy.forecaster(np.asarray(window, np.float64)[:, None], to_keras(params))[0])


def np_jacobian(f, x, eps=1e-5):
    """Central differences of f: f64[n] -> f64[m] at x -> f64[m, n]."""
    x = np.asarray(x, np.float64)
    cols = [(np.atleast_1d(f(x + eps * e)) - np.atleast_1d(f(x - eps * e))) / (2 * eps) for e in np.eye(x.size)]
    return np.stack(cols, axis=1)


def np_window_rollout(params, context, steps, window):
    """The window-mode rollout in float64 -> (windows f64[steps, window] before each step, ys f64[steps])."""
    series, windows = list(np.asarray(context, np.float64)), []
    for _ in range(steps):
        windows.append(series[-window:])
        series.append(np_forecast(params, series[-window:]))
    return np.asarray(windows), np.asarray(series[len(series) - steps:])


def companion(grad):
    """The window map's Jacobian from the forecast's gradient (oldest input first)."""
    w = grad.size
    return np.vstack([np.eye(w, k=1)[:-1], grad[None, :]])


def np_lyapunov(jacobians):
    v = np.ones(jacobians[0].shape[0]) / np.sqrt(jacobians[0].shape[0])
    logs = []
    for jac in jacobians:
        u = jac @ v
        logs.append(np.log(np.linalg.norm(u)))
        v = u / np.linalg.norm(u)
    return np.mean(logs)


@jax.jit
def _scaled(key, scale=3.0):
    """Random Keras-initialised params (fit M1 and MW alike), scaled so the maps are non-trivial."""
    return jax.tree_util.tree_map(lambda a: scale * a, init_params(key, MW))


# A hand-built linear LSTM: linear activation, hard-sigmoid gates with input and output gates
# saturated at exactly 1, forget gate exactly FORGET, no recurrent kernel. Then
# h_T = KC * sum_k FORGET^k x_{T-k} and forecast = A * sum_k FORGET^k x_{T-k} + B, A = KC . DK.
KC, DK, FORGET, B = np.asarray([0.5, -0.25, 0.3, 0.1]), np.asarray([0.8, -0.4, 0.5, 1.0]), 0.5, 0.2
A = float(KC @ DK)
LIN1 = ModelConfig(units=U, window=1, activation="linear", recurrent_activation="hard_sigmoid")
LINW = ModelConfig(units=U, window=W, activation="linear", recurrent_activation="hard_sigmoid")


def linear_params():
    z = np.zeros(U, np.float32)
    kernel = np.concatenate([z, z, KC, z])[None, :]
    bias = np.concatenate([z + 10.0, z + 6.0 * (FORGET - 0.5), z, z + 10.0])
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), {
        "lstm": {"kernel": kernel, "recurrent_kernel": np.zeros((U, 4 * U)), "bias": bias},
        "dense": {"kernel": DK[:, None], "bias": np.asarray([B])}})


def test_linear_model_gradients_decay_as_forget_powers():
    params, k = linear_params(), np.arange(W + 2)
    window = jnp.linspace(-1.0, 1.0, W + 2)[:, None]
    np.testing.assert_allclose(input_grads(params, window, LINW), abs(A) * FORGET ** k,
                               rtol=1e-5)
    np.testing.assert_allclose(state_grads(params, window, LINW),
                               np.linalg.norm(KC) * FORGET ** k, rtol=1e-5)


def test_linear_window1_map_has_known_radius_and_exponent():
    params = linear_params()
    np.testing.assert_allclose(spectral(params, CONTEXT, STEPS, LIN1), np.full(STEPS, abs(A)),
                               rtol=1e-6)
    np.testing.assert_allclose(lyapunov(params, CONTEXT, STEPS, LIN1), np.log(abs(A)), rtol=1e-5)


def test_linear_window_map_radius_is_the_companion_root():
    # x_new = A * sum_k FORGET^k x_{t-k}: l^W - A (l^(W-1) + FORGET l^(W-2) + ..) = 0
    roots = np.roots(np.concatenate([[1.0], -A * FORGET ** np.arange(W)]))
    rho = spectral(linear_params(), CONTEXT, STEPS, LINW)
    np.testing.assert_allclose(rho, np.full(STEPS, np.max(np.abs(roots))), rtol=1e-5)


def test_window1_jacobian_is_the_map_slope():
    params = _scaled(jax.random.key(0))
    xs = np.linspace(-1.5, 1.5, 7)
    jac = jacobian(params, jnp.asarray(xs, jnp.float32)[:, None], M1)
    assert jac.shape == (7, 1, 1)
    slopes = [np_jacobian(lambda w: np_forecast(params, w), [x])[0, 0] for x in xs]
    np.testing.assert_allclose(jac[:, 0, 0], slopes, rtol=1e-4, atol=1e-6)
    assert np.ptp(slopes) > 0.1  # a non-trivial map


def test_window_jacobian_is_a_companion_matrix():
    params = _scaled(jax.random.key(1))
    windows = np.asarray(jax.random.normal(jax.random.key(2), (3, W)), np.float64)
    jac = jacobian(params, jnp.asarray(windows, jnp.float32), MW)
    for j, window in zip(np.asarray(jac), windows):
        grad = np_jacobian(lambda w: np_forecast(params, w), window)[0]
        np.testing.assert_allclose(j, companion(grad), rtol=1e-4, atol=1e-6)
        assert np.any(np.abs(grad) > 1e-2)  # not a trivial check


def test_rollout_spectra_follow_the_rollout_and_companion_roots():
    params = _scaled(jax.random.key(3))
    windows, _ = np_window_rollout(params, CONTEXT, STEPS, W)
    jacs = [companion(np_jacobian(lambda v: np_forecast(params, v), w)[0]) for w in windows]
    rho, sigma = spectral(params, CONTEXT, STEPS, MW), singular(params, CONTEXT, STEPS, MW)
    # the companion matrix's eigenvalues are the roots of l^W - g_W l^(W-1) - .. - g_1
    roots = [np.max(np.abs(np.roots(np.concatenate([[1.0], -j[-1, ::-1]])))) for j in jacs]
    np.testing.assert_allclose(rho, roots, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(sigma, [np.linalg.norm(j, 2) for j in jacs], rtol=1e-4)
    assert np.all(np.asarray(sigma) >= np.asarray(rho) - 1e-6)
    np.testing.assert_allclose(lyapunov(params, CONTEXT, STEPS, MW), np_lyapunov(jacs), atol=1e-4)


def test_constant_forecast_is_a_total_contraction():
    params = _scaled(jax.random.key(4), 1.0)
    params["dense"] = {"kernel": jnp.zeros((U, 1)), "bias": jnp.asarray([0.3])}
    np.testing.assert_allclose(spectral(params, CONTEXT, STEPS, MW), np.zeros(STEPS), atol=1e-6)
    # the shift part keeps the largest singular value at 1: a loose bound here
    np.testing.assert_allclose(singular(params, CONTEXT, STEPS, MW), np.ones(STEPS), rtol=1e-6)
    # tangent ones/2 -> shifted out in W - 1 steps (total growth 1/2), then exactly 0 (FLOOR)
    expected = (np.log(0.5) + (STEPS - W + 1) * np.log(FLOOR)) / STEPS
    np.testing.assert_allclose(lyapunov(params, CONTEXT, STEPS, MW), expected, rtol=1e-5)
    # window 1 (same parameter shapes): J = 0 at every step
    np.testing.assert_allclose(lyapunov(params, CONTEXT, STEPS, M1), np.log(FLOOR), rtol=1e-6)


def test_window1_lyapunov_is_mean_log_slope_along_rollout():
    params = _scaled(jax.random.key(5))
    windows, _ = np_window_rollout(params, CONTEXT, STEPS, 1)
    slopes = [np_jacobian(lambda v: np_forecast(params, v), w)[0, 0] for w in windows]
    np.testing.assert_allclose(lyapunov(params, CONTEXT, STEPS, M1), np.mean(np.log(np.abs(slopes))), atol=1e-4)


def test_input_gradient_norms_match_finite_differences():
    params = _scaled(jax.random.key(6), 2.0)
    window = np.asarray(jax.random.normal(jax.random.key(7), (W + 2,)), np.float64)
    norms = input_grads(params, jnp.asarray(window, jnp.float32)[:, None], MW)
    fd = np_jacobian(lambda w: np_forecast(params, w), window)[0]  # oldest first
    np.testing.assert_allclose(norms, np.abs(fd)[::-1], rtol=1e-4, atol=1e-6)


def np_final_h(params, xs):
    """h_T of the LSTM run over xs: f64[T] from the zero state (float64 numpy)."""
    kernel, recurrent, bias, _, _ = (np.asarray(a, np.float64) for a in to_keras(params))
    h = c = np.zeros(recurrent.shape[0])
    for x in xs:
        h, c = keras_numpy.lstm_cell(np.asarray([x]), h, c, kernel, recurrent, bias)
    return h


def test_state_gradient_norms_match_finite_differences():
    params = _scaled(jax.random.key(8), 1.0)
    xs = np.asarray(jax.random.normal(jax.random.key(9), (W + 2,)), np.float64)
    norms = state_grads(params, jnp.asarray(xs, jnp.float32)[:, None], MW)
    fd = np_jacobian(lambda s: np_final_h(params, s), xs)  # f64[u, T]
    np.testing.assert_allclose(norms, np.linalg.norm(fd, axis=0)[::-1], rtol=1e-4, atol=1e-7)


def test_state_gradient_vanishes_without_recurrence_or_memory():
    params = _scaled(jax.random.key(8), 1.0)
    xs = jax.random.normal(jax.random.key(9), (W + 2, 1))
    lstm = dict(params["lstm"], recurrent_kernel=jnp.zeros((U, 4 * U)),
                bias=params["lstm"]["bias"].at[U:2 * U].set(-20.0))  # forget gate ~ 2e-9
    norms = state_grads(dict(params, lstm=lstm), xs, MW)
    assert float(norms[0]) > 1e-2 and np.all(np.asarray(norms[1:]) < 1e-7)


def test_spectral_radius_vmaps_over_seeds():
    seeds = [_scaled(k) for k in jax.random.split(jax.random.key(10), 3)]
    params = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *seeds)
    batched = jax.jit(jax.vmap(lambda p: rollout_spectral_radius(p, CONTEXT, STEPS, MW)))(params)
    assert batched.shape == (3, STEPS)
    for i in range(3):
        one = jax.tree_util.tree_map(lambda a: a[i], params)
        np.testing.assert_allclose(batched[i], spectral(one, CONTEXT, STEPS, MW), rtol=1e-5)


def test_stateful_jacobian_and_lyapunov_follow_the_stateful_rollout():
    params = _scaled(jax.random.key(11), 2.0)
    kernel, recurrent, bias, dense_kernel, dense_bias = (np.asarray(a, np.float64) for a in to_keras(params))

    def step(state):  # (h, c, y) -> (h', c', y') in float64, written from the Keras transcription
        h, c = keras_numpy.lstm_cell(state[2 * U:], state[:U], state[U:2 * U], kernel, recurrent, bias)
        return np.concatenate([h, c, h @ dense_kernel + dense_bias])

    h = c = np.zeros(U)
    for x in np.asarray(CONTEXT, np.float64):
        h, c = keras_numpy.lstm_cell(np.asarray([x]), h, c, kernel, recurrent, bias)
    state, jacs, ys = np.concatenate([h, c, h @ dense_kernel + dense_bias]), [], []
    jac_fn = jax.jit(stateful_map_jacobian, static_argnums=3)
    for _ in range(STEPS):
        jacs.append(np_jacobian(step, state))
        carry = LSTMCarry(jnp.asarray(state[:U], jnp.float32), jnp.asarray(state[U:2 * U], jnp.float32))
        jac = jac_fn(params, carry, jnp.asarray(state[2 * U:], jnp.float32), MW)
        np.testing.assert_allclose(jac, jacs[-1], rtol=1e-4, atol=1e-6)
        ys.append(state[-1])
        state = step(state)
    np.testing.assert_allclose(rollout_stateful(params, CONTEXT, STEPS, MW), ys, rtol=1e-5, atol=1e-6)
    lam = jax.jit(stateful_lyapunov_exponent, static_argnums=(2, 3))(params, CONTEXT, STEPS, MW)
    np.testing.assert_allclose(lam, np_lyapunov(jacs), atol=1e-4)


def test_short_context_is_an_error():
    with pytest.raises(ValueError, match="needs"):
        rollout_spectral_radius(linear_params(), CONTEXT[:2], STEPS, MW)


@pytest.mark.parametrize("mode", ["window", "stateful"])
def test_one_scan_gives_the_rollout_and_its_diagnostics_bit_for_bit(mode):
    from lstm_ar.dynamics.rollout import rollout
    from lstm_ar.dynamics.stability import rollout_with_diagnostics

    params = _scaled(jax.random.key(11))
    separate_lyapunov = lyapunov_exponent if mode == "window" else stateful_lyapunov_exponent

    @jax.jit
    def separate(params):  # three passes over the same trajectory, as the study ran them before
        rho = rollout_spectral_radius(params, CONTEXT, STEPS, MW) if mode == "window" else None
        return (rollout(params, CONTEXT, STEPS, MW, mode=mode), separate_lyapunov(params, CONTEXT, STEPS, MW), rho)

    one = jax.jit(lambda p: tuple(rollout_with_diagnostics(p, CONTEXT, STEPS, MW, mode=mode)))(params)
    two = separate(params)
    for got, want in zip(one, two):
        if want is None:
            assert got is None
        else:
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert np.all(np.isfinite(np.asarray(one[0]))) and np.asarray(one[0]).shape == (STEPS,)
    with pytest.raises(ValueError, match="mode"):
        rollout_with_diagnostics(params, CONTEXT, STEPS, MW, mode="windowed")
