"""The sweep runner, checked against values: seed i's outputs equal a numpy oracle (an independent
Threefry) whatever the chunk size, lanes padding, device count or root seed; runs resume from their
stored chunks without recomputing them, and only from chunks of the very same run; bad arguments and
sweeps that cannot fit in memory are refused before anything compiles."""

import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lstm_ar.runtime import fs, sweep
from lstm_ar.runtime.chunk_store import ChunkStore, StoreMismatch, chunk_name, fingerprint
from lstm_ar.runtime.distributed import seed_mesh
from lstm_ar.runtime.sweep import NotEnoughMemory, compile_seed_program, plan_program, progress_bar, run_seeds
from tests.conftest import compilation_cache as conftest_compilation_cache

N = 10
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32 (20 rounds, Salmon et al. 2011) in numpy: the oracle for JAX's keys."""
    k0, k1, x0, x1 = (np.asarray(v, np.uint32) for v in (k0, k1, x0, x1))
    ks = (k0, k1, k0 ^ k1 ^ np.uint32(0x1BD11BDA))
    with np.errstate(over="ignore"):
        x0, x1 = x0 + ks[0], x1 + ks[1]
        for i in range(5):
            for r in ((13, 15, 26, 6), (17, 29, 16, 24))[i % 2]:
                x0 = x0 + x1
                x1 = _rotl(x1, r) ^ x0
            x0, x1 = x0 + ks[(i + 1) % 3], x1 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def known(key):
    """Outputs that are exact functions of the seed's key: u32[2], u32[3], f32[2, 2]."""
    kd = jax.random.key_data(key)
    return {"key": kd, "mix": kd[0] * jnp.asarray([1, 3, 5], jnp.uint32) + kd[1],
            "frac": ((kd[:, None] >> jnp.asarray([[0, 16]], jnp.uint32)) & 0xFFFF).astype(jnp.float32) / 65536}


def known_in_numpy(root_seed, n):
    """``known`` for seeds 0..n-1: seed i's key is fold_in(key(root_seed), i) = threefry(root key, (0, i))."""
    kd = np.stack(threefry2x32(0, root_seed, 0, np.arange(n, dtype=np.uint32)), -1)  # key(r) = (0, r)
    with np.errstate(over="ignore"):
        mix = kd[:, :1] * np.asarray([1, 3, 5], np.uint32) + kd[:, 1:]
    frac = ((kd[:, :, None] >> np.asarray([0, 16], np.uint32)) & 0xFFFF).astype(np.float32) / 65536
    return {"key": kd, "mix": mix, "frac": frac}


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


def tiny_fit_in_numpy(key_data):
    """``tiny_fit`` of one seed from its key's data, by the numpy loop and a hand-written gradient."""
    key = jax.random.wrap_key_data(np.asarray(key_data, np.uint32))
    w_key, u_key = jax.random.split(key)
    w = 0.5 * np.asarray(jax.random.normal(w_key, (3, 3)), np.float64)
    u = np.asarray(jax.random.normal(u_key, (3,)), np.float64)
    xs = np.sin(np.linspace(0.0, 3.0, 12))
    losses = []
    for _ in range(5):
        hs, h = [np.zeros(3)], np.zeros(3)
        for x in xs[:-1]:
            h = np.tanh(w @ h + u * x)
            hs.append(h)
        err = np.asarray([hs[t + 1].sum() for t in range(11)]) - xs[1:]
        losses.append(np.mean(err ** 2))
        gw, gu, dh = np.zeros((3, 3)), np.zeros(3), np.zeros(3)
        for t in reversed(range(11)):  # backpropagation through time
            dh = dh + 2 * err[t] / 11
            da = dh * (1 - hs[t + 1] ** 2)
            gw += np.outer(da, hs[t])
            gu += da * xs[t]
            dh = w.T @ da
        w, u = w - 0.1 * gw, u - 0.1 * gu
    return np.asarray(losses), w


def assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module", autouse=True)
def compilation_cache(tmp_path_factory):
    """JAX's persistent compilation cache in a temporary folder, for this module only: each
    ``run_seeds`` call traces its own program, and one that another call here already compiled
    (same chunk program, another chunk count or store) is loaded instead of compiled again."""
    with conftest_compilation_cache(tmp_path_factory.mktemp("xla_cache")):
        yield


@pytest.fixture(scope="module")
def reference():
    return run_seeds(tiny_fit, N, lanes=4, progress=False).results


@pytest.mark.parametrize("root_seed, lanes, chunk", [(0, 4, None), (3, 1, 7), (2 ** 32 - 1, 8, 3), (5, 16, 10)])
def test_every_seed_equals_the_numpy_oracle(root_seed, lanes, chunk):
    """Lanes 1..16 (16 pads 10 seeds with 6 more), chunks of 1 block to all seeds, the top root seed."""
    got = run_seeds(known, N, root_seed=np.uint32(root_seed), lanes=lanes, chunk=chunk, progress=False)
    assert got.resumed_seeds == 0 and got.lanes == lanes
    for name, want in known_in_numpy(root_seed, N).items():
        np.testing.assert_array_equal(got.results[name], want, err_msg=name)


def test_devices_do_not_change_any_seed(tmp_path):
    """Three CPU devices in a subprocess, each training its own blocks of 2 lanes: the numpy values."""
    code = ("import sys, numpy as np; from lstm_ar.runtime.sweep import run_seeds; from tests.test_sweep import known; "
            "s = run_seeds(known, 10, root_seed=7, lanes=2, chunk=5, progress=False); "
            "np.savez(sys.argv[1], devices=s.devices, **s.results)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAX_"))}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), XLA_FLAGS="--xla_force_host_platform_device_count=3")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out.npz")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = np.load(tmp_path / "out.npz")
    assert int(got["devices"]) == 3
    for name, want in known_in_numpy(7, N).items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_chunk_sizes_1_7_and_n_give_identical_results_equal_to_numpy(reference):
    keys = known_in_numpy(0, N)["key"]
    for i in (0, N - 1):  # training itself against a numpy loop with a hand-written gradient
        losses, w = tiny_fit_in_numpy(keys[i])
        np.testing.assert_allclose(reference["losses"][i], losses, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(reference["w"][i], w, rtol=2e-5, atol=1e-6)
    for chunk in (1, 7, N):
        assert_same(run_seeds(tiny_fit, N, lanes=4, chunk=chunk, progress=False).results, reference)


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
    run_seeds(known, 4, lanes=2, progress=False, store=ChunkStore(tmp_path, {"what": "a"}))
    with pytest.raises(StoreMismatch, match="root_seed"):
        run_seeds(known, 4, lanes=2, root_seed=1, progress=False,
                  store=ChunkStore(tmp_path, {"what": "a"}, resume=True))
    with pytest.raises(StoreMismatch, match="what"):
        ChunkStore(tmp_path, {"what": "b"}, resume=True).begin({"root_seed": 0, "lanes": 2})
    log = io.StringIO()
    fresh = ChunkStore(tmp_path, {"what": "b"})
    fresh.begin({"root_seed": 0, "lanes": 2}, log=log)
    assert fresh.finished_until() == 0 and "discarding 2" in log.getvalue()
    assert json.loads((tmp_path / "manifest.json").read_text())["identity"]["what"] == "b"


def test_resume_refuses_a_chunk_of_another_root_seed_copied_in(tmp_path):
    """Seeds 4..7 of a root-seed-0 run copied into a stopped root-seed-1 run are refused by name,
    not reported as root seed 1; without them the run resumes to root seed 1's values."""
    identity = {"what": "known"}
    run_seeds(known, 8, lanes=2, chunk=4, progress=False, store=ChunkStore(tmp_path / "a", identity))
    with pytest.raises(KeyboardInterrupt):
        run_seeds(known, 8, root_seed=1, lanes=2, chunk=4, progress=False,
                  store=KilledAfter(tmp_path / "b", identity, kill_after=1))
    foreign = tmp_path / "b" / chunk_name(4, 8)
    shutil.copy(tmp_path / "a" / chunk_name(4, 8), foreign)
    with pytest.raises(StoreMismatch, match=r"seeds-000000004-000000008\.npz comes from a different run.*root_seed"):
        run_seeds(known, 8, root_seed=1, lanes=2, chunk=4, progress=False,
                  store=ChunkStore(tmp_path / "b", identity, resume=True))
    foreign.unlink()
    resumed = run_seeds(known, 8, root_seed=1, lanes=2, chunk=4, progress=False,
                        store=ChunkStore(tmp_path / "b", identity, resume=True))
    assert resumed.resumed_seeds == 4
    for name, want in known_in_numpy(1, 8).items():
        np.testing.assert_array_equal(resumed.results[name], want, err_msg=name)


def test_a_symlinked_chunk_folder_is_refused_before_compiling(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    (outside / "relu").mkdir(parents=True)
    (outside / "relu" / "precious.txt").write_text("keep me")
    (tmp_path / "out" / "scenario").mkdir(parents=True)
    (tmp_path / "out" / "scenario" / ".chunks").symlink_to(outside, target_is_directory=True)
    monkeypatch.setattr(sweep, "_compile", lambda *a: pytest.fail("compiled before checking the store"))
    with pytest.raises(fs.UnsafePath, match=r"\.chunks"):
        run_seeds(known, 4, lanes=2, progress=False,
                  store=ChunkStore(tmp_path / "out" / "scenario" / ".chunks" / "relu", {"what": "known"}))
    assert (outside / "relu" / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("root_seed", [2 ** 32, -1, 2 ** 40])
def test_a_root_seed_outside_32_bits_is_refused(root_seed, monkeypatch):
    """jax.random.key keeps 32 bits: 2**32 would run root seed 0, -1 root seed 2**32 - 1."""
    monkeypatch.setattr(jax.stages.Lowered, "compile", lambda *a: pytest.fail("compiled a refused run"))
    with pytest.raises(ValueError, match=rf"root_seed must be an int (>= 0|<= 4,294,967,295 \(jax).*got {root_seed:,}"):
        run_seeds(known, 3, root_seed=root_seed, progress=False)


def test_a_sweep_whose_outputs_cannot_fit_is_refused_before_compiling(monkeypatch):
    monkeypatch.setattr(sweep, "available_host_memory", lambda: 64 * 2 ** 20)
    monkeypatch.setattr(sweep, "_compile", lambda *a: pytest.fail("compiled before checking host memory"))
    n = 4_000_000  # 36 bytes per seed of ``known``: 137 MiB, over the 64 MiB available
    with pytest.raises(NotEnoughMemory, match=rf"{n} seeds need about 0\.13 GiB .*36 bytes per seed.*0\.06 GiB "
                                              r"available; run fewer seeds \(at most about 1864\d\d\d fit\)"):
        run_seeds(known, n, lanes=4, progress=False)
    assert issubclass(NotEnoughMemory, MemoryError) and issubclass(NotEnoughMemory, ValueError)
    with pytest.raises(NotEnoughMemory, match="1000 seeds"):  # an explicit limit, e.g. from the command line
        run_seeds(known, 1000, lanes=4, progress=False, host_memory=1000)


def test_on_a_cpu_the_chunk_working_set_counts_as_host_memory():
    if jax.default_backend() != "cpu":
        pytest.skip("device memory is not host memory here")
    program = compile_seed_program(known, root_seed=0, lanes=4, chunk=4 * len(jax.devices()))
    if program.bytes_per_device is None:
        pytest.skip("this backend reports no memory analysis")
    outputs = sweep.host_bytes_needed(36, N, program.chunk)
    with pytest.raises(NotEnoughMemory, match=rf"{N} seeds need .*working set on \d+ CPU device"):
        run_seeds(known, N, lanes=4, progress=False, host_memory=outputs + 1)  # outputs fit, the chunk does not


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


def test_cache_lanes_fit_the_sequence_footprint_and_cap_only_cpu_defaults():
    assert [sweep.cache_lanes(w, 32, 32) for w in (1, 5, 20, 50, 100, 10_000)] == [256, 8, 8, 4, 2, 1]
    assert sweep.cache_lanes(50, 32, 32, per_seed=2) == 2 and sweep.cache_lanes(1, 8, 8) == 256
    assert sweep.default_lanes(1000, max_lanes=4) == 4 and sweep.default_lanes(3, max_lanes=64) == 4
    assert sweep.cpu_cap(4, seed_mesh()) == (4 if jax.default_backend() == "cpu" else None)
    assert sweep.cpu_cap(None, seed_mesh()) is None
    with pytest.raises(ValueError, match="length"):
        sweep.cache_lanes(0, 32, 32)
    # a capped default: fewer lanes, the same values seed for seed (the numpy oracle)
    capped = run_seeds(known, N, max_lanes=2, progress=False)
    assert capped.lanes == (2 if jax.default_backend() == "cpu" else 16)
    for name, want in known_in_numpy(0, N).items():
        np.testing.assert_array_equal(np.asarray(capped.results[name]), want)
    with pytest.raises(ValueError, match="max_lanes"):
        run_seeds(known, N, max_lanes=0)


def bar_states(text: str) -> list[str]:
    """The bar's successive states as tqdm writes them (a carriage return before each redraw)."""
    return [state.strip() for state in re.split(r"[\r\n]", text) if state.strip()]


def counts(states: list[str]) -> list[str]:
    return [re.search(r"(?<![\d/])(\d+/\d+) \[", state).group(1) for state in states]


def test_progress_bar_counts_seeds_on_the_given_stream():
    stream = io.StringIO()
    with progress_bar(10, "demo", stream=stream, mininterval=0) as bar:
        bar.update(4)
        bar.update(6)
    text = stream.getvalue()
    states = bar_states(text)
    assert counts(states)[:3] == ["0/10", "4/10", "10/10"] and counts(states)[-1] == "10/10"
    assert all(state.startswith("demo:") and "seeds/s" in state for state in states)
    assert text.endswith("\n")  # leave=True: the finished bar stays on screen
    assert bar_states("\rdemo: 0/10 [x]\rdemo: 10/10 [x]\n") == ["demo: 0/10 [x]", "demo: 10/10 [x]"]


def test_progress_bar_is_silent_when_disabled_and_redraws_a_log_rarely(monkeypatch):
    stream = io.StringIO()
    with progress_bar(10, "demo", stream=stream, enabled=False) as bar:
        bar.update(10)
    assert stream.getvalue() == ""
    # a stream that is not a terminal (a log file): the first and the last state, not one per chunk
    monkeypatch.delenv("TQDM_MININTERVAL", raising=False)
    with progress_bar(10, "demo", stream=stream) as bar:
        assert bar.mininterval == 60.0
        for _ in range(5):
            bar.update(2)
    assert counts(bar_states(stream.getvalue())) == ["0/10", "10/10"]
    monkeypatch.setenv("TQDM_MININTERVAL", "3")
    with progress_bar(10, stream=io.StringIO()) as bar:
        assert bar.mininterval == 3.0


def test_a_resumed_bar_starts_at_the_seeds_already_done():
    stream = io.StringIO()
    with progress_bar(10, "demo", stream=stream, done=6, mininterval=0) as bar:
        bar.update(4)
    assert counts(bar_states(stream.getvalue()))[:2] == ["6/10", "10/10"] and bar.n == 10


def test_run_seeds_shows_progress_on_stderr_only_when_asked(tmp_path, capsys):
    run_seeds(known, 4, lanes=2, chunk=2, desc="known run")
    states = bar_states(capsys.readouterr().err)
    assert states[0].startswith("known run:") and counts(states) == ["0/4", "4/4"]
    run_seeds(known, 4, lanes=2, chunk=2, progress=False)
    assert capsys.readouterr().err == ""
    # a run killed after its first chunk, resumed: the bar starts at the two seeds already stored
    with pytest.raises(KeyboardInterrupt):
        run_seeds(known, 4, lanes=2, chunk=2, progress=False, store=KilledAfter(tmp_path, {"what": "k"}, kill_after=1))
    resumed = run_seeds(known, 4, lanes=2, chunk=2, desc="resumed", store=ChunkStore(tmp_path, {"what": "k"}, resume=True))
    assert resumed.resumed_seeds == 2 and counts(bar_states(capsys.readouterr().err)) == ["2/4", "4/4"]


def test_bad_arguments_are_refused_before_tracing():
    def traced(key):
        pytest.fail("traced a refused run")

    with pytest.raises(ValueError, match="n_seeds"):
        run_seeds(traced, 0)
    with pytest.raises(TypeError, match="n_seeds must be an int >= 1, got 2.0"):
        run_seeds(traced, 2.0)
    with pytest.raises(TypeError, match="n_seeds must be an int >= 1, got True"):
        run_seeds(traced, True)
    with pytest.raises(ValueError, match="chunk"):
        run_seeds(traced, 3, chunk=0)
    with pytest.raises(ValueError, match="lanes"):
        run_seeds(traced, 3, lanes=0)
    with pytest.raises(TypeError, match="lanes"):
        run_seeds(traced, 3, lanes=2.5)
    with pytest.raises(TypeError, match="root_seed must be an int >= 0, got 1.5"):
        run_seeds(traced, 3, root_seed=1.5)
    with pytest.raises(TypeError, match="root_seed"):
        run_seeds(traced, 3, root_seed="1")
    with pytest.raises(TypeError, match="store"):
        run_seeds(traced, 3, store="results/.chunks")
    assert sweep.check_root_seed(np.int64(2 ** 32 - 1)) == 2 ** 32 - 1


def test_the_memory_names_stay_importable_from_sweep():
    from lstm_ar.runtime import memory

    for name in ("NotEnoughMemory", "INDEX_BYTES_PER_SEED", "MEMORY_FRACTION", "available_host_memory",
                 "memory_budget", "compiled_bytes", "bytes_per_seed", "host_bytes_needed", "check_host_memory"):
        assert getattr(sweep, name) is getattr(memory, name), name


def test_inputs_given_at_run_time_equal_built_in_arrays_and_compile_once(tmp_path):
    """Arrays passed as ``inputs`` give the same bits as the same arrays built into the program, and
    a run with other arrays of the same shapes loads the program from the compilation cache."""
    def per_seed(key, inputs):
        noise = jax.random.normal(key, inputs["series"].shape)
        return {"sum": jnp.sum(inputs["series"] * noise) * (1.0 / inputs["scale"]), "first": noise[0]}

    first = {"series": np.linspace(0, 1, 16, dtype=np.float32), "scale": np.float32(0.3)}
    other = {"series": np.linspace(1, 3, 16, dtype=np.float32), "scale": np.float32(0.7)}
    cache = tmp_path / "cache"
    with conftest_compilation_cache(cache):
        given = run_seeds(per_seed, 6, lanes=2, progress=False, inputs=first).results
        entries = len(list(cache.iterdir()))
        again = run_seeds(per_seed, 6, lanes=2, progress=False, inputs=other).results
        assert len(list(cache.iterdir())) == entries > 0  # the other arrays: the same program, from the cache
    built_in = run_seeds(lambda key: per_seed(key, first), 6, lanes=2, progress=False).results
    jax.tree.map(np.testing.assert_array_equal, given, built_in)
    np.testing.assert_array_equal(given["first"], again["first"])  # same keys
    assert not np.allclose(given["sum"], again["sum"])  # other data


def test_a_scenario_on_another_noise_draw_reuses_its_programs(tmp_path):
    """``run realisations`` compiles each program once: a scenario rebuilt on another noise draw
    (other series, truth, scale) adds no entry to the compilation cache."""
    from lstm_ar.data.realisations import realisation_seed
    from lstm_ar.scenarios import reproduce
    from lstm_ar.study.experiment import run_scenario

    cache = tmp_path / "cache"
    with conftest_compilation_cache(cache):
        base = run_scenario(reproduce.activation(True), 2, progress=False, lanes=2)
        entries = len(list(cache.iterdir()))
        other = run_scenario(reproduce.activation(True, noise_seed=realisation_seed(1)), 2, progress=False, lanes=2)
        assert len(list(cache.iterdir())) == entries > 0
    assert not np.array_equal(base.variants["sigmoid"].rollouts, other.variants["sigmoid"].rollouts)
