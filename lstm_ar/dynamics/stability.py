"""Gradient and stability diagnostics of one forecaster (vmap them over seeds).

Vanishing gradients (the article's claim): ``input_gradient_norms`` and ``state_gradient_norms``.
Window mode iterates ``F(x_1..x_w) = (x_2..x_w, f(x_1..x_w))``, whose Jacobian is a companion matrix::

    J = [[0, 1, 0, .., 0], .., [0, .., 0, 1], g]      g = grad f (oldest input first)

``rho(J) = max |eig J|`` < 1 means nearby windows converge (locally); ``sigma_max(J) >= rho(J)``
is a device-native bound (non-symmetric ``eigvals`` has no TPU kernel and runs on the host on
GPU). The largest Lyapunov exponent uses one tangent vector, no QR::

    u_t = J(s_t) v_t,  v_{t+1} = u_t / ||u_t||,  lambda = mean_t log ||u_t||

lambda < 0: contraction (collapse to a fixed point); ~0: neutral or periodic; > 0: chaos or
divergence. A zero ``u_t`` counts as ``log(FLOOR)`` (about -87), not -inf, so means over seeds
stay finite. The stateful map is ``(h, c, y) -> (h', c', head(h'))``, dimension 2u + 1. Step t is
taken at the state *before* the t-th prediction (t = 0: after the context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.rollout import as_column, check_real_finite, check_steps, check_unscaled
from lstm_ar.kernels import linalg as host_linalg
from lstm_ar.model.cell import LSTMCarry, lstm_step
from lstm_ar.model.forecaster import Params, encode, forecast, head

FLOOR = float(jnp.finfo(jnp.float32).tiny)  # smallest growth counted by the Lyapunov sums


def input_gradient_norms(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """f32[time], index k = |d forecast / d window[time-1-k]|. window: f32[time, 1] or f32[time]."""
    grad = jax.grad(lambda w: forecast(params, w, model)[0])(as_column(window))
    return jnp.abs(grad[::-1, 0])


def state_gradient_norms(params: Params, xs: jax.Array, model: ModelConfig) -> jax.Array:
    """f32[T], index k = ||d h_T / d xs[T-1-k]||_2 for xs: f32[T, 1] or f32[T] run from the zero state."""
    jac = jax.jacrev(lambda s: encode(params, s, model).h)(as_column(xs))  # f32[u, T, 1]
    return jnp.linalg.norm(jac[:, ::-1, 0], axis=0)


def window_map(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """The window-mode map F: f32[w] (oldest first) -> f32[w], drop the oldest value, append the forecast."""
    return jnp.concatenate([window[1:], forecast(params, window[:, None], model)])


def window_map_jacobian(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """dF/dwindow f32[w, w] (rows = outputs) of ``window_map``, a companion matrix; window f32[w] or f32[w, 1]."""
    return jax.jacfwd(lambda w: window_map(params, w, model))(as_column(window)[:, 0])


def spectral_radius(jac: jax.Array) -> jax.Array:
    """max |eigenvalue| of jac: f32[n, n] (non-symmetric eig: host LAPACK on GPU, no TPU kernel)."""
    return jnp.max(jnp.abs(host_linalg.eigvals(jac)))


def max_singular(jac: jax.Array) -> jax.Array:
    """Largest singular value of jac: f32[n, n], an upper bound on the spectral radius."""
    return host_linalg.singular_values(jac)[0]


def _start_window(context: jax.Array, model: ModelConfig) -> jax.Array:
    return as_column(context, model.window)[-model.window:, 0]


def _along_window_rollout(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                          reduce: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """reduce(J_t) for t < steps along the window-mode rollout, in one scan -> f32[steps]."""
    def map_twice(window: jax.Array):  # (F, F): jacfwd differentiates one, keeps the other
        nxt = window_map(params, window, model)
        return nxt, nxt

    def step(window: jax.Array, _):
        jac, nxt = jax.jacfwd(map_twice, has_aux=True)(window)
        return nxt, reduce(jac)

    return jax.lax.scan(step, _start_window(context, model), None, length=check_steps(steps))[1]


def rollout_spectral_radius(params: Params, context: jax.Array, steps: int, model: ModelConfig) -> jax.Array:
    """rho(J_t) f32[steps] along the window-mode rollout from context f32[C >= window] (or f32[C, 1])."""
    return _along_window_rollout(params, context, steps, model, spectral_radius)


def rollout_max_singular(params: Params, context: jax.Array, steps: int, model: ModelConfig) -> jax.Array:
    """sigma_max(J_t) >= rho(J_t) f32[steps] along the window-mode rollout (runs on any device)."""
    return _along_window_rollout(params, context, steps, model, max_singular)


def _lyapunov(step_map: Callable[[jax.Array], jax.Array], state: jax.Array, steps: int,
              tangent: jax.Array | None) -> jax.Array:
    """Single-vector Lyapunov estimate of the map state: f32[n] -> f32[n] over ``steps``."""
    steps = check_steps(steps, minimum=1)
    if tangent is not None:
        check_real_finite(tangent, "tangent")
        if np.shape(tangent) != state.shape:
            raise ValueError(f"tangent must have the state's shape {state.shape}, got {np.shape(tangent)}")
        if not isinstance(tangent, jax.core.Tracer) and not np.any(np.asarray(tangent)):
            raise ValueError("tangent must not be all zeros (it is normalised)")
    v = jnp.ones_like(state) if tangent is None else jnp.asarray(tangent, state.dtype)
    v = v / jnp.linalg.norm(v)

    def step(carry, _):
        nxt, v_next, log_growth = _lyapunov_step(step_map, *carry)  # u = J(state) v, normalised
        return (nxt, v_next), log_growth

    return jnp.mean(jax.lax.scan(step, (state, v), None, length=steps)[1])


def lyapunov_exponent(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                      tangent: jax.Array | None = None) -> jax.Array:
    """Largest Lyapunov exponent f32[] of the window-mode rollout; tangent: f32[w] (default ones)."""
    return _lyapunov(lambda w: window_map(params, w, model), _start_window(context, model), steps, tangent)


def _stateful_map(params: Params, state: jax.Array, model: ModelConfig) -> jax.Array:
    """f32[2u+1] = (h, c, y) -> (h', c', head(h'))."""
    u = model.units
    carry, h = lstm_step(params["lstm"], LSTMCarry(h=state[:u], c=state[u:2 * u]), state[2 * u:],
                         activation=model.activation, recurrent_activation=model.recurrent_activation)
    return jnp.concatenate([carry.h, carry.c, head(params, h)])


def stateful_map_jacobian(params: Params, carry: LSTMCarry, y: jax.Array, model: ModelConfig) -> jax.Array:
    """Jacobian f32[2u+1, 2u+1] of the stateful map (h, c, y) -> (h', c', y'); h, c: f32[u], y: f32[] or f32[1]."""
    check_unscaled(model, "the stateful map")
    state = jnp.concatenate([carry.h, carry.c, jnp.reshape(y, (1,))])
    return jax.jacfwd(lambda s: _stateful_map(params, s, model))(state)


def stateful_lyapunov_exponent(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                               tangent: jax.Array | None = None) -> jax.Array:
    """Largest Lyapunov exponent f32[] of the stateful rollout; tangent: f32[2u+1] in (h, c, y) (default ones)."""
    check_unscaled(model, "the stateful map")
    carry = encode(params, as_column(context), model)
    state = jnp.concatenate([carry.h, carry.c, head(params, carry.h)])
    return _lyapunov(lambda s: _stateful_map(params, s, model), state, steps, tangent)


class RolloutDiagnostics(NamedTuple):
    """ys: f32[steps] the rollout; lyapunov: f32[]; rho: f32[steps] (window mode with spectral, else None)."""

    ys: jax.Array
    lyapunov: jax.Array
    rho: jax.Array | None


def _lyapunov_step(step_map: Callable[[jax.Array], jax.Array], state: jax.Array, v: jax.Array):
    """One step of ``_lyapunov``'s sum: (next state, next tangent, log growth)."""
    nxt, u = jax.jvp(step_map, (state,), (v,))
    norm = jnp.maximum(jnp.linalg.norm(u), FLOOR)
    return nxt, u / norm, jnp.log(norm)


def rollout_with_diagnostics(params: Params, context: jax.Array, steps: int, model: ModelConfig, *,
                             mode: str = "window", spectral: bool = True) -> RolloutDiagnostics:
    """The rollout, its Lyapunov exponent and (window mode, ``spectral``) rho(J_t) in one scan: bit for bit
    those of ``rollout``, ``lyapunov_exponent`` and ``rollout_spectral_radius`` (``tests/test_diagnostics.py``)."""
    steps = check_steps(steps, minimum=1)
    if mode == "window":
        state = _start_window(context, model)
        step_map = lambda w: window_map(params, w, model)  # noqa: E731
    elif mode == "stateful":
        carry = encode(params, as_column(context), model)
        state = jnp.concatenate([carry.h, carry.c, head(params, carry.h)])
        step_map = lambda s: _stateful_map(params, s, model)  # noqa: E731
        spectral = False
    else:
        raise ValueError(f"unknown rollout mode {mode!r}; valid: 'window', 'stateful'")
    v = jnp.ones_like(state) / jnp.linalg.norm(jnp.ones_like(state))
    # the rollout's own state and step (``lstm_ar.dynamics.rollout``), so its values are its own
    walk = (state[:, None], None) if mode == "window" else (carry, head(params, carry.h))

    def rollout_step(walk):
        if mode == "window":
            window, _ = walk
            y = forecast(params, window, model)
            return (jnp.concatenate([window[1:], y[None, :]], axis=0), None), y[0]
        lstm_carry, y = walk
        lstm_carry, h = lstm_step(params["lstm"], lstm_carry, y, activation=model.activation,
                                  recurrent_activation=model.recurrent_activation)
        return (lstm_carry, head(params, h)), y[0]

    def step(carry, _):
        walk, state, v = carry
        walk, y = rollout_step(walk)
        nxt, v_next, log_growth = _lyapunov_step(step_map, state, v)
        out = (y, log_growth) + ((spectral_radius(jax.jacfwd(step_map)(state)),) if spectral else ())
        return (walk, nxt, v_next), out

    _, outs = jax.lax.scan(step, (walk, state, v), None, length=steps)
    return RolloutDiagnostics(ys=outs[0], lyapunov=jnp.mean(outs[1]), rho=outs[2] if spectral else None)
