"""LAPACK-backed linear algebra that runs one matrix at a time under ``vmap`` on the CPU.

On XLA:CPU, ``jnp.linalg.qr`` / ``eigvals`` / ``svd`` of a batch call jaxlib's LAPACK kernels,
which split the batch over XLA's intra-op thread pool and block until the parts finish. With
the CPU split into several JAX devices (``lstm_ar.runtime.distributed.use_cpu_cores``), every pool
thread can be running one device's program inside such a call, each waiting for parts queued
behind the others: the process hangs (seen here: the orthogonal initialiser's batched QR inside
a 2-device sweep, all threads parked in the QR kernel's ``BlockingCounter::Wait``). Under
``vmap`` on the CPU these wrappers therefore loop over the batch with ``lax.map`` (one matrix per
call, nothing handed to the pool). The results are bit-for-bit those of the batched call
(tests/test_host_linalg.py), and faster on CPU (the orthogonal initialiser 2.3x for 1,024 models
at hidden 128). On other backends the batched kernel is kept (decided by ``jax.default_backend()``
at trace time). Unlike ``jnp.linalg``, these are not reverse-differentiable (``custom_vmap`` has
no transpose rule); nothing here differentiates them (initialisation, spectral radii).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _one_at_a_time_on_cpu(fn):
    """``fn`` whose vmap loops over the batch on CPU (``lax.map``) and batches elsewhere."""
    wrapped = jax.custom_batching.custom_vmap(fn)

    @wrapped.def_vmap
    def _rule(axis_size, in_batched, *args):
        args = [a if batched else jnp.broadcast_to(a, (axis_size,) + a.shape)
                for a, batched in zip(args, in_batched)]
        if jax.default_backend() == "cpu":
            out = jax.lax.map(lambda xs: wrapped(*xs), tuple(args))
        else:
            out = jax.vmap(fn)(*args)
        return out, jax.tree.map(lambda _: True, out)

    return wrapped


@_one_at_a_time_on_cpu
def qr(a: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Reduced QR of f32[m, n] -> (q f32[m, k], r f32[k, n]), k = min(m, n)."""
    q, r = jnp.linalg.qr(a)
    return q, r


@_one_at_a_time_on_cpu
def eigvals(a: jax.Array) -> jax.Array:
    """Eigenvalues of a square (non-symmetric) matrix, complex."""
    return jnp.linalg.eigvals(a)


@_one_at_a_time_on_cpu
def singular_values(a: jax.Array) -> jax.Array:
    """Singular values of f32[m, n], largest first."""
    return jnp.linalg.svd(a, compute_uv=False)
