"""Activation functions by name, exactly as Keras 3 defines them.

The one place where strings become callables (STYLE rule 2). Keras 3 differs from `jax.nn` where
it matters for parity: ``hard_sigmoid(x) = relu6(x + 3) / 6`` (Keras 2: ``0.2 x + 0.5``), and
``gelu`` is the exact erf form (``jax.nn.gelu`` defaults to the tanh approximation).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

Activation = Callable[[jax.Array], jax.Array]
ActivationLike = str | Activation


def hard_sigmoid(x: jax.Array) -> jax.Array:
    """Keras 3 hard sigmoid: 0 below -3, 1 above 3, ``x / 6 + 1/2`` between."""
    return jnp.clip(x / 6.0 + 0.5, 0.0, 1.0)


def gelu(x: jax.Array) -> jax.Array:
    """Exact GELU, ``x * Phi(x)``, Keras 3's default (``approximate=False``)."""
    return jax.nn.gelu(x, approximate=False)


def linear(x: jax.Array) -> jax.Array:
    """Identity (Keras's ``linear``)."""
    return x


ACTIVATIONS: dict[str, Activation] = {
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "relu": jax.nn.relu,
    "hard_sigmoid": hard_sigmoid,
    "linear": linear,
    "gelu": gelu,
    "elu": jax.nn.elu,
    "selu": jax.nn.selu,
    "softsign": jax.nn.soft_sign,
    "softplus": jax.nn.softplus,
    "swish": jax.nn.silu,
    "silu": jax.nn.silu,
}


def get_activation(activation: ActivationLike) -> Activation:
    """Resolve a name (``ACTIVATIONS``; ValueError listing them if unknown) or pass a callable through."""
    if callable(activation):
        return activation
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]
        except KeyError:
            valid = ", ".join(sorted(ACTIVATIONS))
            raise ValueError(f"unknown activation {activation!r}; valid names: {valid}") from None
    raise TypeError(f"activation must be a name or a callable, got {type(activation).__name__}")
