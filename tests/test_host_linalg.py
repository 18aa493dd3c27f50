"""host_linalg: under vmap on CPU, one matrix at a time, bit for bit the batched LAPACK call;
and the orthogonal initialiser no longer hangs a sweep over several CPU devices."""

import os
import pathlib
import subprocess
import sys

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.kernels import linalg as host_linalg

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _batch(shape, n=6):
    return jax.random.normal(jax.random.key(3), (n,) + shape, jnp.float32)


def test_vmap_equals_the_batched_kernel_and_each_matrix_alone_bit_for_bit():
    a = _batch((12, 4))
    q, r = jax.jit(jax.vmap(host_linalg.qr))(a)
    # a QR factorisation at all (independent of the batched reference below)
    np.testing.assert_allclose(q @ r, a, atol=1e-5)
    np.testing.assert_allclose(jnp.swapaxes(q, 1, 2) @ q, np.broadcast_to(np.eye(4), (6, 4, 4)), atol=1e-5)
    q_ref, r_ref = jax.jit(jax.vmap(jnp.linalg.qr))(a)
    np.testing.assert_array_equal(q, q_ref)
    np.testing.assert_array_equal(r, r_ref)
    for i in range(a.shape[0]):
        q1, r1 = jax.jit(host_linalg.qr)(a[i])
        np.testing.assert_array_equal(q[i], q1)
        np.testing.assert_array_equal(r[i], r1)
    m = _batch((5, 5))
    np.testing.assert_array_equal(jax.jit(jax.vmap(host_linalg.eigvals))(m),
                                  jax.jit(jax.vmap(jnp.linalg.eigvals))(m))
    np.testing.assert_array_equal(jax.jit(jax.vmap(host_linalg.singular_values))(m),
                                  jax.jit(jax.vmap(lambda x: jnp.linalg.svd(x, compute_uv=False)))(m))


def test_on_cpu_the_vmapped_call_is_a_loop_not_one_batched_kernel():
    if jax.default_backend() != "cpu":
        pytest.skip("the loop is the CPU path; other backends keep the batched kernel")
    a = _batch((12, 4))
    assert "while" in jax.jit(jax.vmap(host_linalg.qr)).lower(a).as_text()
    assert "while" not in jax.jit(jax.vmap(jnp.linalg.qr)).lower(a).as_text()


def test_nested_vmap_and_the_unbatched_call():
    a = _batch((2, 3, 8, 4), n=2).reshape(4, 3, 8, 4)
    q = jax.vmap(jax.vmap(lambda x: host_linalg.qr(x)[0]))(a)
    chex.assert_shape(q, (4, 3, 8, 4))
    np.testing.assert_array_equal(q[2, 1], host_linalg.qr(a[2, 1])[0])
    np.testing.assert_allclose(q, jnp.linalg.qr(a)[0], atol=1e-5)  # every matrix of the batch
    np.testing.assert_allclose(q[0, 0].T @ q[0, 0], np.eye(4), atol=1e-5)


def test_orthogonal_init_over_two_cpu_devices_finishes():
    """Regression: with the batched QR this program hung every time (both XLA pool threads parked
    in jaxlib's QR kernel waiting for work queued behind each other)."""
    code = ("import jax; jax.config.update('jax_num_cpu_devices', 2)\n"
            "import numpy as np; from jax.sharding import Mesh, PartitionSpec as P\n"
            "from lstm_ar.config import ModelConfig; from lstm_ar.model.forecaster import init_params\n"
            "model = ModelConfig(units=32, window=50)\n"
            "mesh = Mesh(np.array(jax.devices()), ('s',))\n"
            "f = jax.jit(jax.shard_map(jax.vmap(lambda k: init_params(k, model)), mesh=mesh, in_specs=P('s'),"
            " out_specs=P('s'), check_vma=False))\n"
            "out = jax.block_until_ready(f(jax.random.split(jax.random.key(0), 8)))\n"
            "print(len(jax.devices()), out['lstm']['recurrent_kernel'].shape)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAX_"))}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("the 2-device orthogonal initialisation hung") from None
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[0] == "2" and "(8, 32, 128)" in done.stdout
