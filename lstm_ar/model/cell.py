"""The LSTM cell: Keras 3's fused maths as a pure step function, and a Flax module around it.

Parameters (Keras 3 layout, gate order [i, f, c, o]): ``kernel`` f32[d, 4u], ``recurrent_kernel``
f32[u, 4u], ``bias`` f32[4u]; with ``layer_norm`` also ``ln_scale``, ``ln_bias`` f32[4u] and
``ln_cell_scale``, ``ln_cell_bias`` f32[u]. Carry: ``LSTMCarry(h, c)`` (Keras's ``[h, c]``). One
step, with dropout masks ``m_x``, ``m_h`` (training only; LN only with ``layer_norm``)::

    z_k = (x * m_x[k]) @ kernel_k + LN((h * m_h[k]) @ recurrent_kernel_k) + bias_k   for k in i, f, c, o
    c' = rec_act(z_f) * c + rec_act(z_i) * act(z_c);   h' = rec_act(z_o) * act(LN(c'))

``act``/``rec_act`` default to tanh/sigmoid. Masks are f32[4, d], f32[4, u], one row per gate: Keras 3
draws four independent ones when ``recurrent_dropout > 0`` (``implementation=1``), else one input
mask shared by the gates. LN (Ba et al. 2016) leaves the carried c and the input term alone: with
one feature ``LN(x * w)`` depends only on ``sign(x)``, blinding a window-1 forecaster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from lstm_ar.activations import ActivationLike, get_activation
from lstm_ar.model import initializers

Params = dict[str, jax.Array]
Initializer = Callable[..., jax.Array]  # (key, shape, dtype) -> array, as flax's initialisers
LN_EPSILON = 1e-3  # Keras LayerNormalization's default epsilon.


class LSTMCarry(NamedTuple):
    """Recurrent state. h: f32[..., u] (hidden/output), c: f32[..., u] (cell)."""

    h: jax.Array
    c: jax.Array


def zero_carry(units: int, batch_shape: tuple[int, ...] = (), dtype=jnp.float32) -> LSTMCarry:
    """Keras's initial state: zeros for both h and c."""
    zeros = jnp.zeros(batch_shape + (units,), dtype)
    return LSTMCarry(h=zeros, c=zeros)


def init_lstm_params(key: jax.Array, input_dim: int, units: int, *, layer_norm: bool = False,
                     unit_forget_bias: bool = True) -> Params:
    """Keras 3 defaults: glorot_uniform kernel, orthogonal recurrent kernel, forget bias 1."""
    kernel_key, recurrent_key = jax.random.split(key)
    return {"kernel": initializers.glorot_uniform(kernel_key, (input_dim, 4 * units)),
            "recurrent_kernel": initializers.orthogonal(recurrent_key, (units, 4 * units)),
            "bias": initializers.lstm_bias(units, unit_forget_bias=unit_forget_bias),
            **(ln_params(units) if layer_norm else {})}


def ln_params(units: int) -> Params:
    """Layer-norm gains (1) and offsets (0) for the recurrent term (4u) and the cell (u)."""
    return {"ln_scale": jnp.ones((4 * units,), jnp.float32), "ln_bias": jnp.zeros((4 * units,), jnp.float32),
            "ln_cell_scale": jnp.ones((units,), jnp.float32), "ln_cell_bias": jnp.zeros((units,), jnp.float32)}


def _lead(v: jax.Array, like: jax.Array) -> jax.Array:
    """v: f32[n] with unit leading axes to the rank of like: f32[..., n] (explicit broadcasting)."""
    return v if v.ndim == like.ndim else v.reshape((1,) * (like.ndim - v.ndim) + v.shape)


def layer_norm(z: jax.Array, scale: jax.Array, offset: jax.Array) -> jax.Array:
    """LN over the last axis with Keras's epsilon. z: f32[..., n]; scale, offset: f32[n]."""
    mean = jnp.mean(z, axis=-1, keepdims=True)
    var = jnp.mean(jnp.square(z - mean), axis=-1, keepdims=True)
    return (z - mean) * jax.lax.rsqrt(var + LN_EPSILON) * _lead(scale, z) + _lead(offset, z)


def _project(v: jax.Array, w: jax.Array, mask: jax.Array | None) -> jax.Array:
    """v: f32[..., n] @ w: f32[n, 4u] -> f32[..., 4u]; gate k sees v * mask[..., k, :] (mask f32[..., 4, n])."""
    if mask is None:
        return v @ w
    n, four_u = w.shape
    per_gate = jnp.einsum("...kn,nku->...ku", v[..., None, :] * mask, w.reshape(n, 4, four_u // 4))
    return per_gate.reshape(per_gate.shape[:-2] + (four_u,))


def _gates_to_carry(params: Params, z: jax.Array, c: jax.Array | None, act, rec_act) -> LSTMCarry:
    z = z + _lead(params["bias"], z)
    z_i, z_f, z_g, z_o = jnp.split(z, 4, axis=-1)
    candidate = rec_act(z_i) * act(z_g)
    # c is None only for the zero initial state: f * 0 + x == x exactly, so skip the product.
    c_new = candidate if c is None else rec_act(z_f) * c + candidate
    c_out = layer_norm(c_new, params["ln_cell_scale"], params["ln_cell_bias"]) if "ln_cell_scale" in params else c_new
    return LSTMCarry(h=rec_act(z_o) * act(c_out), c=c_new)


def lstm_step(params: Params, carry: LSTMCarry, x: jax.Array, *, activation: ActivationLike = "tanh",
              recurrent_activation: ActivationLike = "sigmoid", input_mask: jax.Array | None = None,
              recurrent_mask: jax.Array | None = None) -> tuple[LSTMCarry, jax.Array]:
    """One LSTM step -> (carry', h'). x: f32[..., d]; carry.h, carry.c: f32[..., u]; masks f32[..., 4, d|u]."""
    act, rec_act = get_activation(activation), get_activation(recurrent_activation)
    z, r = _project(x, params["kernel"], input_mask), _project(carry.h, params["recurrent_kernel"], recurrent_mask)
    if "ln_scale" in params:
        r = layer_norm(r, params["ln_scale"], params["ln_bias"])
    new = _gates_to_carry(params, z + r, carry.c, act, rec_act)
    return new, new.h


def lstm_first_step(params: Params, x: jax.Array, *, activation: ActivationLike = "tanh",
                    recurrent_activation: ActivationLike = "sigmoid",
                    input_mask: jax.Array | None = None) -> tuple[LSTMCarry, jax.Array]:
    """``lstm_step`` from the zero state without the (zero) recurrent product; bit-identical."""
    act, rec_act = get_activation(activation), get_activation(recurrent_activation)
    z = _project(x, params["kernel"], input_mask)
    if "ln_bias" in params:  # LN of the zero recurrent term is exactly its offset.
        z = z + _lead(params["ln_bias"], z)
    new = _gates_to_carry(params, z, None, act, rec_act)
    return new, new.h


def lstm_sequence(params: Params, xs: jax.Array, *, activation: ActivationLike = "tanh",
                  recurrent_activation: ActivationLike = "sigmoid", carry: LSTMCarry | None = None,
                  input_mask: jax.Array | None = None, recurrent_mask: jax.Array | None = None) -> LSTMCarry:
    """The final carry (h: f32[u]) after xs: f32[time, d], the same masks at every step (as Keras); from
    the zero state (``carry=None``, Keras's default) the first step skips the recurrent product."""
    kw = dict(activation=activation, recurrent_activation=recurrent_activation, input_mask=input_mask)
    if carry is None:
        carry, _ = lstm_first_step(params, xs[0], **kw)
        xs = xs[1:]
    if xs.shape[0] == 0:
        return carry
    step = lambda carry, x: (lstm_step(params, carry, x, recurrent_mask=recurrent_mask, **kw)[0], None)
    return jax.lax.scan(step, carry, xs)[0]


class LSTMCell(nn.RNNCellBase):
    r"""Keras 3's LSTM cell as a Flax module: ``lstm_step`` on ``init_lstm_params``' layout. ``features`` is
    u; ``gate_fn`` is Keras's ``recurrent_activation``, ``activation_fn`` its ``activation``."""

    features: int
    gate_fn: ActivationLike = "sigmoid"
    activation_fn: ActivationLike = "tanh"
    kernel_init: Initializer = initializers.glorot_uniform
    recurrent_kernel_init: Initializer = initializers.orthogonal
    bias_init: Initializer = initializers.unit_forget_bias
    layer_norm: bool = False

    @nn.compact
    def __call__(self, carry: LSTMCarry, inputs: jax.Array, *, input_mask: jax.Array | None = None,
                 recurrent_mask: jax.Array | None = None) -> tuple[LSTMCarry, jax.Array]:
        """One step, as ``lstm_step``: (carry', h': f32[..., u])."""
        u, d = self.features, inputs.shape[-1]
        params = {
            "kernel": self.param("kernel", self.kernel_init, (d, 4 * u), jnp.float32),
            "recurrent_kernel": self.param("recurrent_kernel", self.recurrent_kernel_init, (u, 4 * u), jnp.float32),
            "bias": self.param("bias", self.bias_init, (4 * u,), jnp.float32),
        }
        if self.layer_norm:
            params.update({name: self.param(name, lambda _, v=value: v) for name, value in ln_params(u).items()})
        return lstm_step(params, carry, inputs, activation=self.activation_fn, recurrent_activation=self.gate_fn,
                         input_mask=input_mask, recurrent_mask=recurrent_mask)

    @nn.nowrap
    def initialize_carry(self, rng: jax.Array | None, input_shape: tuple[int, ...]) -> LSTMCarry:
        """Keras's zero state for inputs of shape ``input_shape`` (batch dims + (d,)); rng unused."""
        return zero_carry(self.features, tuple(input_shape[:-1]))

    @property
    def num_feature_axes(self) -> int:
        return 1
