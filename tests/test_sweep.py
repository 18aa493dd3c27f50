import io

import jax
import numpy as np
import pytest

from lstm_ar.sweep import Progress, run_seeds


@jax.jit
def draw(keys):
    return {"u": jax.vmap(lambda k: jax.random.uniform(k, (3,)))(keys)}


def test_chunk_size_does_not_change_per_seed_results():
    full = run_seeds(draw, 10, progress=False)
    for chunk in (1, 3, 7, 10, 50):
        np.testing.assert_array_equal(run_seeds(draw, 10, chunk=chunk, progress=False)["u"], full["u"])
    assert full["u"].shape == (10, 3) and isinstance(full["u"], np.ndarray)
    other_root = run_seeds(draw, 10, root_seed=1, progress=False)
    assert not np.array_equal(other_root["u"], full["u"])


def test_padded_last_chunk_compiles_once():
    traces = []

    @jax.jit
    def counted(keys):
        traces.append(keys.shape)
        return jax.vmap(lambda k: jax.random.normal(k))(keys)

    out = run_seeds(counted, 10, chunk=4, progress=False)
    assert out.shape == (10,) and traces == [(4,)]


def test_progress_reports_every_chunk():
    stream = io.StringIO()
    bar = Progress(10, "demo", stream=stream)
    bar.update(4)
    bar.update(6)
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 2 and "4/10" in lines[0] and "10/10" in lines[1]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_seeds"):
        run_seeds(draw, 0)
    with pytest.raises(ValueError, match="chunk"):
        run_seeds(draw, 3, chunk=0)
