"""JAX's persistent compilation cache for the ``lstm-ar`` command: compile once per machine, not per run.

Most of a small run's time is XLA compiling its training programs. With the cache on (the
command's default) every compiled program is also written to a folder (``default_cache_dir``:
``$LSTM_AR_CACHE_DIR``, else ``$XDG_CACHE_HOME/lstm_ar/jax``, else ``~/.cache/lstm_ar/jax``), and a
later run that needs the same program (same computation, shapes, device, JAX and XLA flags: JAX's
cache key) loads it instead of compiling it again. It loads the executable that was compiled, so
results are the same bit for bit (``tests/test_compile_cache.py``). ``--no-compile-cache`` on any
subcommand, or ``LSTM_AR_NO_COMPILE_CACHE=1``, turns it off. A folder that cannot be created or
written is reported once on stderr and the run goes on without the cache: the cache never fails a
run. The folder only grows (JAX evicts nothing without a size limit); deleting it is always safe.

``configure(args)`` (what the command calls once it has parsed its arguments) enables or disables
the cache; ``enable`` must run before the first compilation of the programs it should keep.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
from collections.abc import Mapping

FLAG = "--no-compile-cache"
ENV_DIR = "LSTM_AR_CACHE_DIR"  # the cache folder (overrides the default)
ENV_OFF = "LSTM_AR_NO_COMPILE_CACHE"  # 1 / true / yes: as --no-compile-cache
HELP = (f"do not use JAX's persistent compilation cache (default: on, in ${ENV_DIR} or the user's cache folder, "
        "~/.cache/lstm_ar/jax; results are the same bit for bit either way, a later run only compiles less)")
# jax.config names: the folder, and cache every program (however fast it compiled, however small)
CONFIG_DIR = "jax_compilation_cache_dir"
CONFIG_MIN_TIME = "jax_persistent_cache_min_compile_time_secs"
CONFIG_MIN_SIZE = "jax_persistent_cache_min_entry_size_bytes"
MIN_COMPILE_TIME_S = 0.0
MIN_ENTRY_SIZE = -1  # JAX 0.10: -1 = no size limit and no filesystem-dependent override

_warned = False


def default_cache_dir(environ: Mapping[str, str] | None = None) -> pathlib.Path:
    """The cache folder: ``$LSTM_AR_CACHE_DIR``, else ``$XDG_CACHE_HOME/lstm_ar/jax``, else ``~/.cache/lstm_ar/jax``.

    Args:
        environ: the environment (default ``os.environ``); empty values count as unset.

    Returns:
        The folder (not created).
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_DIR):
        return pathlib.Path(env[ENV_DIR]).expanduser()
    base = pathlib.Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else \
        pathlib.Path("~/.cache").expanduser()
    return base / "lstm_ar" / "jax"


def off_by_environment(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``$LSTM_AR_NO_COMPILE_CACHE`` asks for no cache (1, true, yes, on; any case)."""
    env = os.environ if environ is None else environ
    return env.get(ENV_OFF, "").strip().lower() in ("1", "true", "yes", "on")


def add_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--no-compile-cache`` (dest ``no_compile_cache``; absent from the namespace unless given,
    so a subcommand's parser does not reset a value the top-level parser set)."""
    parser.add_argument(FLAG, dest="no_compile_cache", action="store_true", default=argparse.SUPPRESS, help=HELP)


def wanted(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the run should use the cache: not ``--no-compile-cache``, not ``$LSTM_AR_NO_COMPILE_CACHE``."""
    return not getattr(args, "no_compile_cache", False) and not off_by_environment(environ)


def configure(args: argparse.Namespace | None = None) -> pathlib.Path | None:
    """Enable the cache (``enable()``) unless ``args`` or the environment turn it off (``disable()``).

    Returns:
        The cache folder in use, or None.
    """
    if wanted(args):
        return enable()
    disable()
    return None


def enable(path: str | os.PathLike | None = None) -> pathlib.Path | None:
    """Use JAX's persistent compilation cache in ``path`` for every later compilation of this process.

    Args:
        path: the folder (created if missing). Default: a folder already given to JAX
            (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) unless ``$LSTM_AR_CACHE_DIR`` is set,
            else ``default_cache_dir()``.

    Returns:
        The folder in use; None (after one warning on stderr per process) if it cannot be created
        or written, and the run then compiles without a cache.
    """
    import jax

    if path is None:
        given = getattr(jax.config, CONFIG_DIR)
        path = given if given and not os.environ.get(ENV_DIR) else default_cache_dir()
    folder = pathlib.Path(path).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        _warn_once(f"the compilation cache folder {folder} cannot be used ({err}); running without the cache "
                   f"(set {ENV_DIR} to another folder, or pass {FLAG})")
        disable()
        return None
    _set(str(folder))
    jax.config.update(CONFIG_MIN_TIME, MIN_COMPILE_TIME_S)
    jax.config.update(CONFIG_MIN_SIZE, MIN_ENTRY_SIZE)
    return folder


def disable() -> None:
    """No persistent compilation cache for later compilations of this process."""
    _set(None)


def _set(folder: str | None) -> None:
    """Point JAX's cache at ``folder`` (None: none); JAX opens its cache once per process, so a
    change after it was opened resets it (JAX's private ``reset_cache``; JAX is pinned)."""
    import jax

    if getattr(jax.config, CONFIG_DIR) == folder:
        return
    jax.config.update(CONFIG_DIR, folder)
    try:
        from jax._src import compilation_cache
        compilation_cache.reset_cache()
    except (ImportError, AttributeError):  # another JAX: its cache opens at the first compilation anyway
        pass


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        print(f"lstm-ar: warning: {message}", file=sys.stderr)
