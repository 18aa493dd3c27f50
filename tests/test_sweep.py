"""The sweep runner: seed i's result depends on i alone (not on chunk size), runs resume from
their stored chunks without recomputing them, and a chunk's memory is bounded as documented."""

import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.study import sweep
from lstm_ar.study.chunk_store import ChunkStore, StoreMismatch, fingerprint
from lstm_ar.study.distributed import seed_mesh
from lstm_ar.study.sweep import Progress, compile_seed_program, plan_program, run_seeds
from lstm_ar.training.train import seed_keys

N = 10


def tiny_fit(key):
    """A 3-unit tanh RNN fit by 5 gradient steps to a sine: f32 losses[5], w[3, 3]."""
    w_key, u_key = jax.random.split(key)
    params = {"w": 0.5 * jax.random.normal(w_key, (3, 3)), "u": jax.random.normal(u_key, (3,))}
    xs = jnp.sin(jnp.linspace(0.0, 3.0, 12))

    def loss(p):
        def step(h, x):
            h = jnp.tanh(p["w"] @ h + p["u"] * x)
            return h, jnp.sum(h)
        _, ys = jax.lax.scan(step, jnp.zeros(3), xs[:-1])
        return jnp.mean(jnp.square(ys - xs[1:]))

    def sgd(p, _):
        value, grads = jax.value_and_grad(loss)(p)
        return jax.tree.map(lambda a, g: a - 0.1 * g, p, grads), value

    params, losses = jax.lax.scan(sgd, params, None, length=5)
    return {"losses": losses, "w": params["w"]}


def assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def reference():
    return run_seeds(tiny_fit, N, lanes=4, progress=False).results


def test_keys_are_fold_in_of_the_root():
    got = run_seeds(jax.random.key_data, N, root_seed=3, lanes=4, chunk=7, progress=False).results
    np.testing.assert_array_equal(got, jax.random.key_data(seed_keys(3, 0, N)))


def test_chunk_sizes_1_7_and_n_give_identical_results(reference):
    assert reference["losses"].shape == (N, 5) and reference["w"].shape == (N, 3, 3)
    for chunk in (1, 7, N):
        assert_same(run_seeds(tiny_fit, N, lanes=4, chunk=chunk, progress=False).results, reference)
    other_root = run_seeds(tiny_fit, N, lanes=4, root_seed=1, progress=False).results
    assert not np.array_equal(other_root["losses"], reference["losses"])


def test_one_compile_for_many_chunks_and_a_padded_last_one():
    traces = []

    def counted(key):
        traces.append(1)
        return jax.random.normal(key)

    out = run_seeds(counted, N, lanes=2, chunk=4, progress=False)
    assert out.results.shape == (N,) and out.chunk == 4 and len(traces) == 1


class KilledAfter(ChunkStore):
    """A store whose run is killed (KeyboardInterrupt) right after its k-th chunk is saved."""

    def __init__(self, *args, kill_after, **kwargs):
        super().__init__(*args, **kwargs)
        self.left = kill_after

    def save(self, start, leaves):
        path = super().save(start, leaves)
        self.left -= 1
        if self.left == 0:
            raise KeyboardInterrupt
        return path


def test_a_killed_run_resumes_without_recomputing_finished_chunks(tmp_path, reference, monkeypatch):
    starts = []
    indices = sweep.seed_indices
    monkeypatch.setattr(sweep, "seed_indices", lambda start, program: starts.append(start) or indices(start, program))
    identity = {"what": "tiny_fit"}
    with pytest.raises(KeyboardInterrupt):
        run_seeds(tiny_fit, N, lanes=2, chunk=2, progress=False,
                  store=KilledAfter(tmp_path, identity, kill_after=3))
    assert starts == [0, 2, 4] and len(list(tmp_path.glob("seeds-*.npz"))) == 3
    starts.clear()
    resumed = run_seeds(tiny_fit, N, lanes=2, chunk=4, progress=False,  # another chunk size is fine
                        store=ChunkStore(tmp_path, identity, resume=True))
    assert starts == [6] and resumed.resumed_seeds == 6  # seeds 6..9 only: one chunk of 4
    assert_same(resumed.results, run_seeds(tiny_fit, N, lanes=2, progress=False).results)
    # lanes 2 and lanes 4 agree here to float32 rounding, not necessarily bit for bit
    for a, b in zip(jax.tree.leaves(resumed.results), jax.tree.leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_resume_refuses_chunks_of_another_run_and_a_fresh_run_discards_them(tmp_path):
    run_seeds(tiny_fit, 4, lanes=2, progress=False, store=ChunkStore(tmp_path, {"what": "a"}))
    with pytest.raises(StoreMismatch, match="root_seed"):
        run_seeds(tiny_fit, 4, lanes=2, root_seed=1, progress=False,
                  store=ChunkStore(tmp_path, {"what": "a"}, resume=True))
    with pytest.raises(StoreMismatch, match="what"):
        ChunkStore(tmp_path, {"what": "b"}, resume=True).begin({"root_seed": 0, "lanes": 2})
    log = io.StringIO()
    fresh = ChunkStore(tmp_path, {"what": "b"})
    fresh.begin({"root_seed": 0, "lanes": 2}, log=log)
    assert fresh.finished_until() == 0 and "discarding 2" in log.getvalue()
    assert json.loads((tmp_path / "manifest.json").read_text())["identity"]["what"] == "b"


def test_fingerprint_sees_array_contents():
    a = {"x": np.zeros(3, np.float32), "cfg": (1, "relu")}
    assert fingerprint(a) == fingerprint({"cfg": (1, "relu"), "x": np.zeros(3, np.float32)})
    assert fingerprint(a) != fingerprint({"x": np.asarray([0, 0, 1e-7], np.float32), "cfg": (1, "relu")})


def test_chunk_memory_is_a_lanes_working_set_plus_a_cost_per_seed():
    """The documented bound: per device, a chunk needs a working set fixed by ``lanes`` plus, per
    seed on the device, its outputs and 12 bytes (u32 index + key); more blocks add nothing else."""
    mesh = seed_mesh()
    lanes, per_seed = 4, 4 * (5 + 9) + sweep.INDEX_BYTES_PER_SEED  # f32 losses[5] + w[3, 3]

    def used(lanes, blocks):
        program = compile_seed_program(tiny_fit, root_seed=0, lanes=lanes, chunk=blocks * lanes * mesh.size, mesh=mesh)
        return program.bytes_per_device

    two, eight = used(lanes, 2), used(lanes, 8)
    if two is None:
        pytest.skip("this backend reports no memory analysis")
    assert 6 * lanes * (per_seed - sweep.INDEX_BYTES_PER_SEED) < eight - two <= 6 * lanes * per_seed
    assert used(8 * lanes, 2) > two + 2 * 7 * lanes * per_seed  # the working set grows with lanes


def test_lanes_shrink_to_the_memory_budget_and_explicit_ones_must_fit():
    mesh = seed_mesh()
    full = plan_program(tiny_fit, 64, root_seed=0, lanes=None, chunk=None, budget=1 << 40, mesh=mesh)
    if full.bytes_per_device is None:
        pytest.skip("this backend reports no memory analysis")
    assert full.lanes == 64
    budget = full.bytes_per_device // 3
    fitted = plan_program(tiny_fit, 64, root_seed=0, lanes=None, chunk=None, budget=budget, mesh=mesh)
    assert fitted.lanes < 64 and fitted.bytes_per_device <= budget
    with pytest.raises(MemoryError, match="--lanes"):
        plan_program(tiny_fit, 64, root_seed=0, lanes=64, chunk=None, budget=budget, mesh=mesh)
    assert 0 < sweep.memory_budget() < 2 ** 50


def test_progress_reports_every_chunk():
    stream = io.StringIO()
    bar = Progress(10, "demo", stream=stream)
    bar.update(4)
    bar.update(6)
    lines = stream.getvalue().strip().splitlines()
    assert len(lines) == 2 and "4/10" in lines[0] and "10/10" in lines[1]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_seeds"):
        run_seeds(tiny_fit, 0)
    with pytest.raises(ValueError, match="chunk"):
        run_seeds(tiny_fit, 3, chunk=0)
    with pytest.raises(ValueError, match="lanes"):
        run_seeds(tiny_fit, 3, lanes=0)
