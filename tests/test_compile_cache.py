"""JAX's persistent compilation cache of the ``lstm-ar`` command (``lstm_ar.runtime.compile_cache``):
on by default in the user's cache folder, ``--no-compile-cache`` before or after any subcommand
turns it off, an unusable folder only warns, and a run that loads its programs from the cache
writes the same bytes as one that compiles them."""

import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from lstm_ar import cli
from lstm_ar.cli.arguments import build_parser
from lstm_ar.runtime import compile_cache

ROOT = pathlib.Path(__file__).resolve().parents[1]
NAMES = (compile_cache.CONFIG_DIR, compile_cache.CONFIG_MIN_TIME, compile_cache.CONFIG_MIN_SIZE)


@pytest.fixture
def jax_cache_config():
    """JAX's cache settings as before after the test (it changes them in this process)."""
    from jax._src import compilation_cache as cache

    before = {name: getattr(jax.config, name) for name in NAMES}
    yield
    for name, value in before.items():
        jax.config.update(name, value)
    cache.reset_cache()


# ----------------------------------------------------------------------------------------------
# The folder and the flag


def test_the_default_folder_is_the_users_cache_folder():
    assert compile_cache.default_cache_dir({"LSTM_AR_CACHE_DIR": "/x/c", "XDG_CACHE_HOME": "/y"}) == pathlib.Path("/x/c")
    assert compile_cache.default_cache_dir({"XDG_CACHE_HOME": "/y"}) == pathlib.Path("/y/lstm_ar/jax")
    assert compile_cache.default_cache_dir({"LSTM_AR_CACHE_DIR": "", "XDG_CACHE_HOME": ""}) == \
        pathlib.Path("~/.cache/lstm_ar/jax").expanduser()


@pytest.mark.parametrize("words, wanted", [
    (["reproduce"], True),
    (["--no-compile-cache", "reproduce"], False),
    (["reproduce", "--quick", "--no-compile-cache"], False),
    (["run", "context", "--no-compile-cache"], False),
    (["--no-compile-cache", "run", "context"], False),
    (["study", "--csv", "x.csv", "--no-compile-cache"], False),
    (["diagnose", "m.keras", "--csv", "x.csv"], True),
    (["report", "context", "--out", "r", "--no-compile-cache"], False),
    (["bench", "--no-compile-cache", "rollout"], False),
])
def test_the_flag_parses_before_and_after_the_subcommand(words, wanted, monkeypatch):
    monkeypatch.delenv(compile_cache.ENV_OFF, raising=False)
    assert compile_cache.wanted(build_parser().parse_args(words)) is wanted


def test_the_environment_turns_it_off_too(monkeypatch):
    args = build_parser().parse_args(["reproduce"])
    monkeypatch.setenv(compile_cache.ENV_OFF, "1")
    assert not compile_cache.wanted(args)
    monkeypatch.setenv(compile_cache.ENV_OFF, "0")
    assert compile_cache.wanted(args)


@pytest.mark.parametrize("name", ["cause", "cure", "realisations", "transfer"])
def test_every_custom_experiment_takes_the_flag(name):
    assert not compile_cache.wanted(build_parser().parse_args(["run", name, "--no-compile-cache"]))
    assert compile_cache.wanted(build_parser().parse_args(["run", name]))


@pytest.mark.parametrize("words, off", [
    (["run", "realisations", "--quick"], False),
    (["run", "realisations", "--quick", "--no-compile-cache"], True),
    (["--no-compile-cache", "run", "realisations", "--quick"], True),
])
def test_the_cache_is_set_before_a_custom_experiment_runs(words, off, monkeypatch, tmp_path):
    """``lstm-ar [--no-compile-cache] run realisations ...``: one parser tree, the cache set first."""
    from lstm_ar.scenarios import realisations

    seen = {}
    monkeypatch.setattr(compile_cache, "configure", lambda args: seen.setdefault("off", not compile_cache.wanted(args)))
    monkeypatch.setattr(realisations, "run", lambda args, out, command: seen.setdefault("cmd", command))
    monkeypatch.delenv(compile_cache.ENV_OFF, raising=False)
    assert cli.main([*words, "--out", str(tmp_path / "o")]) == 0
    assert seen["off"] is off
    assert seen["cmd"].startswith("lstm-ar run realisations --quick") or seen["cmd"].startswith("lstm-ar --no")


def test_enable_sets_the_folder_and_disable_clears_it(tmp_path, jax_cache_config, monkeypatch):
    monkeypatch.delenv(compile_cache.ENV_DIR, raising=False)
    folder = compile_cache.enable(tmp_path / "new" / "cache")
    assert folder == tmp_path / "new" / "cache" and folder.is_dir() and not any(folder.iterdir())
    assert jax.config.jax_compilation_cache_dir == str(folder)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
    assert compile_cache.enable() == folder  # a folder JAX already has is kept
    monkeypatch.setenv(compile_cache.ENV_DIR, str(tmp_path / "env"))
    assert compile_cache.enable() == tmp_path / "env"  # unless $LSTM_AR_CACHE_DIR names one
    compile_cache.disable()
    assert jax.config.jax_compilation_cache_dir is None


def test_a_folder_that_cannot_be_created_warns_once_and_runs_without(tmp_path, jax_cache_config, monkeypatch, capsys):
    monkeypatch.setattr(compile_cache, "_warned", False)
    (tmp_path / "file").write_text("")
    assert compile_cache.enable(tmp_path / "file" / "cache") is None
    assert compile_cache.enable(tmp_path / "file" / "cache") is None
    err = capsys.readouterr().err
    assert err.count("warning: the compilation cache folder") == 1 and "running without the cache" in err
    assert jax.config.jax_compilation_cache_dir is None
    assert float(jax.jit(lambda x: x + 1)(1.0)) == 2.0  # and JAX still compiles


# ----------------------------------------------------------------------------------------------
# The same bytes with and without the cache


RUN = ["-m", "lstm_ar", "reproduce", "--quick", "--seeds", "4", "--only", "diversity", "--no-plots", "--no-progress"]


def _start(out: pathlib.Path, cache: pathlib.Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, compile_cache.ENV_DIR: str(cache)}
    env.pop(compile_cache.ENV_OFF, None)
    return subprocess.Popen([sys.executable, *RUN, "--out", str(out), *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> None:
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output


def _entries(folder: pathlib.Path) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_a_run_from_the_cache_writes_the_same_bytes_as_one_without(tmp_path):
    """A cold run fills the cache (while a run with --no-compile-cache leaves its folder alone), a
    warm run loads every program from it (no new entry) and writes the uncached run's files."""
    cache, unused = tmp_path / "cache", tmp_path / "unused"
    cold, off = _start(tmp_path / "cold", cache), _start(tmp_path / "off", unused, "--no-compile-cache")
    _finish(cold)
    _finish(off)
    filled = _entries(cache)
    assert filled and not _entries(unused)
    _finish(_start(tmp_path / "warm", cache))
    assert _entries(cache) == filled  # every program came from the cache
    for name in ("per_seed.csv", "per_seed.npz"):
        warm, uncached = (tmp_path / run / "diversity" / name for run in ("warm", "off"))
        if name.endswith(".csv"):
            assert warm.read_bytes() == uncached.read_bytes()
        else:
            with np.load(warm) as a, np.load(uncached) as b:
                assert sorted(a.files) == sorted(b.files)
                for key in a.files:
                    assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
