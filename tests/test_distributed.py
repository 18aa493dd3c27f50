"""Seed i's result does not depend on how many devices or processes share the work.

Three runs of the same tiny scenario through the experiment CLI start together in subprocesses:
one process with its CPU split into 4 devices (``--cpu-devices 4``), and two processes
of one device each joined by ``jax.distributed`` on a localhost coordinator (gloo collectives).
Each must equal, seed for seed and bit for bit, the single-device run made in this process; of
the two processes, only process 0 may write anything.
"""

import dataclasses
import os
import pathlib
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from lstm_ar.config import ModelConfig, TrainConfig
from lstm_ar.scenarios.reproduce import activation

ROOT = pathlib.Path(__file__).resolve().parents[1]
SEEDS = 10
REPORT_FILES = {"REPORT.md", "activation/summary.json", "activation/per_seed.csv", "activation/per_seed.npz",
                "activation/report.md"}

def tiny(quick: bool = True):
    """Example 2's noisy sine with one LSTM(4, relu) trained for one epoch. Its results do depend
    on how many seeds are vmapped together (16 vs 4 differ in train_mse by float32 rounding), so
    a layout that let the device count change the vmap width would fail these tests."""
    return dataclasses.replace(activation(quick=True), claims=(),
                               variants={"relu": TrainConfig(model=ModelConfig(units=4, activation="relu"), epochs=1)})


def main(argv):
    from lstm_ar.cli import run_cli

    return run_cli("tests/test_distributed.py", __doc__, {"tiny": tiny}, default_seeds=SEEDS, argv=argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(out: pathlib.Path, extra: list[str], env: dict) -> subprocess.Popen:
    command = [sys.executable, "-c", "import sys; from tests.test_distributed import main; main(sys.argv[1:])",
               "--out", str(out), "--no-plots", "--no-progress", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    try:
        output, _ = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    assert proc.returncode == 0, output
    return output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from lstm_ar.study.experiment import run_scenario

    if jax.default_backend() != "cpu":  # (not at import: the subprocesses import this module)
        pytest.skip("compares against CPU subprocesses")
    tmp = tmp_path_factory.mktemp("distributed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAX_"))}
    # the compiler settings of this process (tests/conftest.py), so that equal means bit-equal
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), XLA_FLAGS=os.environ.get("LSTM_AR_TEST_XLA_FLAGS", ""))
    coordinator = f"127.0.0.1:{_free_port()}"
    procs = {
        "four_devices": _start(tmp / "four", ["--cpu-devices", "4"], env),
        **{f"process_{i}": _start(tmp / f"process_{i}", ["--coordinator", coordinator, "--num-processes", "2",
                                                       "--process-id", str(i)], env) for i in (0, 1)},
    }
    single = run_scenario(tiny(), SEEDS, progress=False)  # while the subprocesses run
    logs = {name: _finish(proc) for name, proc in procs.items()}
    return tmp, single.variants["relu"], logs


def _files(folder: pathlib.Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def assert_equal_seed_for_seed(per_seed_npz: pathlib.Path, single):
    data = np.load(per_seed_npz)
    assert {f"relu/{name}" for name in single.metrics} <= set(data.files)
    for name, value in single.metrics.items():
        np.testing.assert_array_equal(data[f"relu/{name}"], value, err_msg=name)
    np.testing.assert_array_equal(data["relu/rollouts"], single.rollouts)
    np.testing.assert_array_equal(data["relu/epoch_loss"], single.epoch_loss)


def test_four_devices_equal_one_device_seed_for_seed(runs):
    tmp, single, logs = runs
    assert single.rollouts.shape == (SEEDS, 200)
    assert _files(tmp / "four") == REPORT_FILES  # the chunk store is removed after the reports
    assert "cpu:cpu x4" in (tmp / "four" / "activation" / "summary.json").read_text()
    assert_equal_seed_for_seed(tmp / "four" / "activation" / "per_seed.npz", single)


def test_two_processes_equal_one_process_and_only_process_0_writes(runs):
    tmp, single, logs = runs
    assert _files(tmp / "process_0") == REPORT_FILES
    assert _files(tmp / "process_1") == set()
    assert "All reports" in logs["process_0"] and "All reports" not in logs["process_1"]
    assert "2 processes" in (tmp / "process_0" / "activation" / "summary.json").read_text()
    assert_equal_seed_for_seed(tmp / "process_0" / "activation" / "per_seed.npz", single)


def test_a_partial_multi_process_setup_is_refused(monkeypatch):
    from lstm_ar.runtime.distributed import initialize_distributed

    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert initialize_distributed() is False  # nothing given: one process, nothing joined
    with pytest.raises(ValueError, match="--num-processes"):
        initialize_distributed("127.0.0.1:1234")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="JAX_NUM_PROCESSES"):
        initialize_distributed()
    with pytest.raises(ValueError, match="process_id"):
        initialize_distributed("127.0.0.1:1234", 2, 2)
    with pytest.raises(ValueError, match="host:port"):
        initialize_distributed("localhost", 2, 0)


def _devices_in_subprocess(code: str, **env_extra) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_FLAGS", "JAX_"))}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), **env_extra)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_use_cpu_cores_gives_one_device_per_core_unless_told_otherwise():
    code = ("import jax; from lstm_ar.runtime.distributed import use_cpu_cores, available_cores; "
            "n = use_cpu_cores(); print(n, len(jax.devices()), available_cores())")
    n, devices, cores = map(int, _devices_in_subprocess(code).split())
    assert n == devices == cores
    # an explicit XLA_FLAGS device count wins over the default
    forced = _devices_in_subprocess(code, XLA_FLAGS="--xla_force_host_platform_device_count=3").split()
    assert forced[:2] == ["3", "3"]
    # XLA takes the last occurrence of a flag, and so does use_cpu_cores
    twice = _devices_in_subprocess(code, XLA_FLAGS="--xla_force_host_platform_device_count=5 "
                                                   "--xla_force_host_platform_device_count=3").split()
    assert twice[:2] == ["3", "3"]


def test_use_cpu_cores_after_the_backend_started_keeps_its_count():
    from lstm_ar.runtime.distributed import use_cpu_cores

    jax.numpy.zeros(1).block_until_ready()  # the backend runs from here on
    count = len(jax.devices("cpu"))
    assert use_cpu_cores() == count  # the default: keep what is running, silently
    with pytest.warns(UserWarning, match="already running"):
        assert use_cpu_cores(count + 1) == count
    with pytest.raises(ValueError, match=">= 1"):
        use_cpu_cores(0)


def test_the_cli_splits_the_cpu_only_into_devices_that_get_whole_blocks():
    from lstm_ar.cli import default_cpu_devices

    assert default_cpu_devices(1024, None, cores=2) == 2   # 4 blocks of 256 seeds: both cores
    assert default_cpu_devices(1024, None, cores=16) == 4  # no more devices than blocks
    assert default_cpu_devices(256, None, cores=2) == 1    # one block: a second device only pads
    assert default_cpu_devices(100, None, cores=8) == 1    # fewer seeds: one block of 128 lanes
    assert default_cpu_devices(100, 16, cores=8) == 7      # explicit lanes: 7 blocks
    assert default_cpu_devices(5, 1, cores=1) == 1
    assert default_cpu_devices(128, None, cores=2, max_lanes=4) == 2  # window-50 blocks of 4: both cores


def test_a_run_with_sequence_models_gets_a_device_per_core():
    """The device count follows the run's smallest blocks: a window-50 model's cache-sized 4 lanes
    give 128 seeds 32 blocks, so both cores train (one device would leave one idle)."""
    from lstm_ar.cli import default_cpu_devices
    from lstm_ar.scenarios.context import SCENARIOS
    from lstm_ar.study.experiment import scenario_max_lanes

    context = SCENARIOS["context"](False)
    assert scenario_max_lanes(context) == 4
    assert scenario_max_lanes(tiny()) == 256
    assert default_cpu_devices(128, None, cores=2, max_lanes=scenario_max_lanes(context)) == 2
    assert default_cpu_devices(128, None, cores=2, max_lanes=scenario_max_lanes(tiny())) == 1


@pytest.mark.parametrize("catalogue, seeds, devices", [("context", 128, 2), ("tiny", 10, 1)])
def test_the_cli_asks_for_the_devices_its_blocks_fill(monkeypatch, tmp_path, catalogue, seeds, devices):
    """What the experiment command asks ``use_cpu_cores`` for, on a 2-core machine, before any compute:
    both cores for a scenario with sequence models, one for 10 window-1 seeds (one block)."""
    from lstm_ar import cli
    from lstm_ar.scenarios.context import SCENARIOS

    class Asked(Exception):
        pass

    def use_cpu_cores(n=None, *, warn=True):
        raise Asked(n)

    monkeypatch.setattr(cli.distributed, "available_cores", lambda: 2)
    monkeypatch.setattr(cli.distributed, "use_cpu_cores", use_cpu_cores)
    factories = {"context": SCENARIOS["context"], "tiny": tiny}
    with pytest.raises(Asked) as asked:
        cli.run_cli("x.py", "", {catalogue: factories[catalogue]}, default_seeds=seeds,
                    argv=["--out", str(tmp_path / "out"), "--no-progress"])
    assert asked.value.args == (devices,)
    assert not (tmp_path / "out").exists()


def test_broadcast_words_carry_any_64_bit_int():
    """Seed indices reach 2**32 - 1: broadcast_int sends two int32 words (collectives run without x64)."""
    from lstm_ar.runtime.distributed import _int_to_words, _words_to_int

    for value in (0, 1, -1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -2 ** 40 - 3, 2 ** 63 - 1, -2 ** 63):
        words = _int_to_words(value)
        assert words.dtype == np.int32 and words.shape == (2,)
        assert _words_to_int(words) == value
    with pytest.raises(ValueError, match="64 bits"):
        _int_to_words(2 ** 63)
