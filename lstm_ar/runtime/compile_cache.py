"""JAX's persistent compilation cache for the ``lstm-ar`` command: compile once per machine, not per run.

Most of a small run's time is XLA compiling. With the cache on (the default) every compiled program
is also written to ``default_cache_dir()``, and a later run needing the same program (JAX's cache
key: computation, shapes, device, JAX and XLA flags) loads the compiled executable: results are the
same bit for bit. ``--no-compile-cache`` on any subcommand, or ``LSTM_AR_NO_COMPILE_CACHE=1``, turns
it off. An unusable folder is reported once on stderr and the run goes on without the cache (it never
fails a run). The folder only grows; deleting it is always safe. ``configure(args)`` (called once the
command has parsed its arguments) enables or disables it, before the first compilation to keep.
"""

from __future__ import annotations

import argparse
import contextlib
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
CONFIG_DIR = "jax_compilation_cache_dir"
CONFIG_MIN_TIME = "jax_persistent_cache_min_compile_time_secs"
CONFIG_MIN_SIZE = "jax_persistent_cache_min_entry_size_bytes"
MIN_COMPILE_TIME_S = 0.0  # cache every program, however fast it compiled and however small
MIN_ENTRY_SIZE = -1  # JAX 0.10: -1 = no size limit and no filesystem-dependent override

_warned = False


def default_cache_dir(environ: Mapping[str, str] | None = None) -> pathlib.Path:
    """The cache folder (not created): ``$LSTM_AR_CACHE_DIR``, else ``$XDG_CACHE_HOME/lstm_ar/jax``, else
    ``~/.cache/lstm_ar/jax``; ``environ`` defaults to ``os.environ``, empty values count as unset."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DIR):
        return pathlib.Path(env[ENV_DIR]).expanduser()
    return pathlib.Path(env.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "lstm_ar" / "jax"


def off_by_environment(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``$LSTM_AR_NO_COMPILE_CACHE`` asks for no cache (1, true, yes, on; any case)."""
    return (os.environ if environ is None else environ).get(ENV_OFF, "").strip().lower() in ("1", "true", "yes", "on")


def add_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--no-compile-cache`` (dest ``no_compile_cache``; absent from the namespace unless given,
    so a subcommand's parser does not reset a value the top-level parser set)."""
    parser.add_argument(FLAG, dest="no_compile_cache", action="store_true", default=argparse.SUPPRESS, help=HELP)


def wanted(args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the run should use the cache: not ``--no-compile-cache``, not ``$LSTM_AR_NO_COMPILE_CACHE``."""
    return not getattr(args, "no_compile_cache", False) and not off_by_environment(environ)


def configure(args: argparse.Namespace | None = None) -> pathlib.Path | None:
    """Enable the cache unless ``args`` or the environment turn it off; returns the folder in use, or None."""
    return enable() if wanted(args) else disable()


def enable(path: str | os.PathLike | None = None) -> pathlib.Path | None:
    """Use JAX's persistent compilation cache in ``path`` (created if missing) for every later compilation.

    Default ``path``: a folder already given to JAX (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``)
    unless ``$LSTM_AR_CACHE_DIR`` is set, else ``default_cache_dir()``. Returns the folder in use, or None
    (after one warning per process) if it cannot be created or written: the run compiles without a cache.
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
    with contextlib.suppress(ImportError, AttributeError):  # another JAX: its cache opens at the first compilation
        from jax._src import compilation_cache
        compilation_cache.reset_cache()


def _warn_once(message: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        print(f"lstm-ar: warning: {message}", file=sys.stderr)
