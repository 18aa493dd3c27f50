"""Gradient and stability diagnostics of one forecaster (vmap them over seeds).

Vanishing gradients (the article's claim), for ``window: f32[time, 1]``:

* ``input_gradient_norms[k] = |d forecast / d window[time-1-k]|``: how much the prediction
  still depends on the input k steps back (k = 0: the most recent).
* ``state_gradient_norms[k] = ||d h_T / d x_{T-k}||_2`` for a sequence ``xs: f32[T, 1]`` run from
  the zero state: the same decay seen through the recurrent state, before the Dense head.

Stability of the free-running rollout (see ``lstm_ar.dynamics.rollout``). Window mode iterates
``F(x_1..x_w) = (x_2..x_w, f(x_1..x_w))`` with f the forecast; its Jacobian is a companion matrix::

    J = [[0, 1, 0, .., 0], .., [0, .., 0, 1], g]      g = grad f (oldest input first)

whose eigenvalues are the roots of ``l^w - g_w l^(w-1) - .. - g_1``. Its spectral radius
``rho(J) = max |eig J|`` < 1 means nearby windows converge (locally). The largest singular value
``sigma_max(J) >= rho(J)`` is a device-native bound: ``jnp.linalg.eigvals`` of a non-symmetric
matrix has no TPU kernel, and on GPU JAX runs it with LAPACK on the host. Along a trajectory
s_0, s_1 = F(s_0), .. the largest Lyapunov exponent is estimated with one tangent vector, no QR::

    u_t = J(s_t) v_t,  v_{t+1} = u_t / ||u_t||,  lambda = mean_t log ||u_t||

lambda < 0: contraction (collapse to a fixed point); ~0: a neutral or periodic orbit;
> 0: chaos or divergence. A step whose ``u_t`` is exactly 0 (e.g. a constant forecast) counts
as ``log(FLOOR)`` (about -87) instead of -inf, so means over seeds stay finite.
In stateful mode the map is ``(h, c, y) -> (h', c', head(h'))`` with
``(h', c') = lstm_step((h, c), y)``: state dimension 2u + 1.

Step t of ``rollout_spectral_radius`` / the Lyapunov sums is taken at the state *before* the
t-th prediction of ``rollout_window`` / ``rollout_stateful`` (t = 0: the state after the context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.config import ModelConfig
from lstm_ar.dynamics.rollout import as_column, check_real_finite, check_steps
from lstm_ar.kernels import linalg as host_linalg
from lstm_ar.model.cell import LSTMCarry, lstm_step
from lstm_ar.model.forecaster import Params, encode, forecast, head

FLOOR = float(jnp.finfo(jnp.float32).tiny)  # smallest growth counted by the Lyapunov sums


# --- vanishing gradients ---------------------------------------------------------------------

def input_gradient_norms(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """How much the forecast depends on each input, most recent first.

    Args:
      params: one forecaster's parameters.
      window: f32[time, 1] (or f32[time]).
      model: the forecaster's static configuration.

    Returns:
      f32[time]; index k = |d forecast / d window[time-1-k]|.
    """
    grad = jax.grad(lambda w: forecast(params, w, model)[0])(as_column(window))
    return jnp.abs(grad[::-1, 0])


def state_gradient_norms(params: Params, xs: jax.Array, model: ModelConfig) -> jax.Array:
    """How much the final hidden state depends on each input, most recent first.

    Args:
      params: one forecaster's parameters.
      xs: f32[T, 1] (or f32[T]) run from the zero state.
      model: the forecaster's static configuration.

    Returns:
      f32[T]; index k = ||d h_T / d xs[T-1-k]||_2.
    """
    jac = jax.jacrev(lambda s: encode(params, s, model).h)(as_column(xs))  # f32[u, T, 1]
    return jnp.linalg.norm(jac[:, ::-1, 0], axis=0)


# --- window-mode map -------------------------------------------------------------------------

def window_map(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """The window-mode rollout map F: drop the oldest value, append the forecast.

    Args:
      params: one forecaster's parameters.
      window: f32[w], oldest first.
      model: the forecaster's static configuration.

    Returns:
      f32[w].
    """
    y = forecast(params, window[:, None], model)
    return jnp.concatenate([window[1:], y])


def window_map_jacobian(params: Params, window: jax.Array, model: ModelConfig) -> jax.Array:
    """The Jacobian of ``window_map`` (a companion matrix).

    Args:
      params: one forecaster's parameters.
      window: f32[w] or f32[w, 1], oldest first.
      model: the forecaster's static configuration.

    Returns:
      f32[w, w], dF/dwindow, rows = outputs.
    """
    window = as_column(window)[:, 0]
    return jax.jacfwd(lambda w: window_map(params, w, model))(window)


def spectral_radius(jac: jax.Array) -> jax.Array:
    """Spectral radius (non-symmetric eig: host LAPACK on GPU, no TPU kernel).

    Args:
      jac: f32[n, n].

    Returns:
      f32[], max |eigenvalue|.
    """
    return jnp.max(jnp.abs(host_linalg.eigvals(jac)))


def max_singular(jac: jax.Array) -> jax.Array:
    """Largest singular value, an upper bound on the spectral radius.

    Args:
      jac: f32[n, n].

    Returns:
      f32[].
    """
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

    start = _start_window(context, model)
    _, out = jax.lax.scan(step, start, None, length=check_steps(steps))
    return out


def rollout_spectral_radius(params: Params, context: jax.Array, steps: int,
                            model: ModelConfig) -> jax.Array:
    """rho(J_t) along the window-mode rollout.

    Args:
      params: one forecaster's parameters.
      context: f32[C] or f32[C, 1], real and finite, C >= model.window.
      steps: an int >= 0.
      model: the forecaster's static configuration.

    Returns:
      f32[steps]; step t at the window before the t-th prediction.
    """
    return _along_window_rollout(params, context, steps, model, spectral_radius)


def rollout_max_singular(params: Params, context: jax.Array, steps: int,
                         model: ModelConfig) -> jax.Array:
    """sigma_max(J_t) >= rho(J_t) along the window-mode rollout (runs on any device).

    Args:
      params: one forecaster's parameters.
      context: f32[C] or f32[C, 1], real and finite, C >= model.window.
      steps: an int >= 0.
      model: the forecaster's static configuration.

    Returns:
      f32[steps].
    """
    return _along_window_rollout(params, context, steps, model, max_singular)


# --- Lyapunov exponents ----------------------------------------------------------------------

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

    _, logs = jax.lax.scan(step, (state, v), None, length=steps)
    return jnp.mean(logs)


def lyapunov_exponent(params: Params, context: jax.Array, steps: int, model: ModelConfig,
                      tangent: jax.Array | None = None) -> jax.Array:
    """Largest Lyapunov exponent of the window-mode rollout.

    Args:
      params: one forecaster's parameters.
      context: f32[C] or f32[C, 1], real and finite, C >= model.window.
      steps: an int >= 1.
      model: the forecaster's static configuration.
      tangent: f32[w] starting direction (default: all ones, normalised).

    Returns:
      f32[], mean log growth per step.
    """
    return _lyapunov(lambda w: window_map(params, w, model), _start_window(context, model),
                     steps, tangent)


def _stateful_map(params: Params, state: jax.Array, model: ModelConfig) -> jax.Array:
    """f32[2u+1] = (h, c, y) -> (h', c', head(h'))."""
    u = model.units
    carry = LSTMCarry(h=state[:u], c=state[u:2 * u])
    carry, h = lstm_step(params["lstm"], carry, state[2 * u:], activation=model.activation,
                         recurrent_activation=model.recurrent_activation)
    return jnp.concatenate([carry.h, carry.c, head(params, h)])


def stateful_map_jacobian(params: Params, carry: LSTMCarry, y: jax.Array,
                          model: ModelConfig) -> jax.Array:
    """Jacobian of the stateful rollout map (h, c, y) -> (h', c', y').

    Args:
      params: one forecaster's parameters.
      carry: ``LSTMCarry`` with h, c: f32[u].
      y: f32[] or f32[1], the value fed back.
      model: the forecaster's static configuration.

    Returns:
      f32[2u+1, 2u+1], coordinates ordered (h, c, y).
    """
    state = jnp.concatenate([carry.h, carry.c, jnp.reshape(y, (1,))])
    return jax.jacfwd(lambda s: _stateful_map(params, s, model))(state)


def stateful_lyapunov_exponent(params: Params, context: jax.Array, steps: int,
                               model: ModelConfig,
                               tangent: jax.Array | None = None) -> jax.Array:
    """Largest Lyapunov exponent of the stateful rollout.

    Args:
      params: one forecaster's parameters.
      context: f32[C] or f32[C, 1] warm-up inputs, real and finite, C >= 1.
      steps: an int >= 1.
      model: the forecaster's static configuration.
      tangent: f32[2u+1] starting direction in (h, c, y) coordinates (default: all ones).

    Returns:
      f32[], mean log growth per step.
    """
    carry = encode(params, as_column(context), model)
    state = jnp.concatenate([carry.h, carry.c, head(params, carry.h)])
    return _lyapunov(lambda s: _stateful_map(params, s, model), state, steps, tangent)


# --- one pass: the rollout and its diagnostics ----------------------------------------------

class RolloutDiagnostics(NamedTuple):
    """A rollout and its stability diagnostics, from one scan.

    ys: f32[steps] the predictions (``rollout_window`` / ``rollout_stateful``); lyapunov: f32[]
    (``lyapunov_exponent`` / ``stateful_lyapunov_exponent``); rho: f32[steps]
    (``rollout_spectral_radius``; window mode only, else None).
    """

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
    """The rollout, its largest Lyapunov exponent and (window mode) rho(J_t) along it, in one scan.

    The same numbers, bit for bit, as ``rollout``, ``lyapunov_exponent`` (or
    ``stateful_lyapunov_exponent``) and ``rollout_spectral_radius`` run one after another, each of
    which walks the same trajectory again (``tests/test_diagnostics.py``).

    Args:
      params: one forecaster's parameters.
      context: f32[C] or f32[C, 1], real and finite (window mode: C >= model.window).
      steps: an int >= 1.
      model: the forecaster's static configuration.
      mode: "window" or "stateful" (``lstm_ar.dynamics.rollout``).
      spectral: also rho(J_t) (window mode; its Jacobian costs w tangents per step).

    Returns:
      ``RolloutDiagnostics``.
    """
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
    v = jnp.ones_like(state)
    v = v / jnp.linalg.norm(v)
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
        out = (y, log_growth)
        if spectral:
            out += (spectral_radius(jax.jacfwd(step_map)(state)),)
        return (walk, nxt, v_next), out

    _, outs = jax.lax.scan(step, (walk, state, v), None, length=steps)
    return RolloutDiagnostics(ys=outs[0], lyapunov=jnp.mean(outs[1]), rho=outs[2] if spectral else None)
