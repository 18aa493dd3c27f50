"""LAPACK-backed linear algebra that runs one matrix at a time under ``vmap`` on the CPU.

XLA:CPU splits a batched ``qr`` / ``eigvals`` / ``svd`` over its intra-op pool and blocks on the parts; with the CPU
split into several JAX devices every pool thread can sit in such a call waiting for parts queued behind the
others, and the process hangs (seen: the orthogonal initialiser's QR in a 2-device sweep). So on the CPU these
loop with ``lax.map`` under ``vmap``: bit-for-bit the batched results (tests/test_host_linalg.py), and faster.
Not reverse-differentiable (``custom_vmap``); nothing here needs it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _one_at_a_time_on_cpu(fn):
    """``fn`` whose vmap loops over the batch on CPU (``lax.map``) and batches elsewhere."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *args):
        args = [a if batched else jnp.broadcast_to(a, (axis_size,) + a.shape) for a, batched in zip(args, in_batched)]
        cpu = jax.default_backend() == "cpu"
        out = jax.lax.map(lambda xs: wrapped(*xs), tuple(args)) if cpu else jax.vmap(fn)(*args)
        return out, jax.tree.map(lambda _: True, out)

    return wrapped


@_one_at_a_time_on_cpu
def qr(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Reduced QR of f32[m, n] -> (q f32[m, k], r f32[k, n]), k = min(m, n)."""
    return tuple(jnp.linalg.qr(a))


@_one_at_a_time_on_cpu
def eigvals(a: jax.Array) -> jax.Array:
    """Eigenvalues of a square (non-symmetric) matrix, complex."""
    return jnp.linalg.eigvals(a)


@_one_at_a_time_on_cpu
def singular_values(a: jax.Array) -> jax.Array:
    """Singular values of f32[m, n], largest first."""
    return jnp.linalg.svd(a, compute_uv=False)
