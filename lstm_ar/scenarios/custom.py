"""What the custom experiments (``cause``, ``cure``, ``transfer``, ``realisations``) share: the
compilation cache and the command line as recorded (``begin``), the CPU devices, and the output
folder locked for the run.

Each of them parses and checks its own arguments before any compute, calls ``begin``, then ``run_locked``,
which makes the CPU backend ``devices`` devices (before JAX computes anything), takes the lock on
``--out`` and runs the body; a locked folder or a path that would leave it is a usage error (exit 2).
"""

from __future__ import annotations

import argparse
import pathlib
from collections.abc import Callable, Sequence


def begin(args: argparse.Namespace, prog: str, argv: Sequence[str]) -> str:
    """Turn the compilation cache on or off as ``args`` say (before anything compiles) and return
    the command as recorded in summary.json: the program, then the quoted arguments, paths as
    ``lstm_ar.runtime.provenance.command_text`` records them."""
    from lstm_ar.runtime import compile_cache
    from lstm_ar.runtime.provenance import command_text

    compile_cache.configure(args)
    return command_text([prog, *argv])


def run_locked(parser: argparse.ArgumentParser, out: str | pathlib.Path, command: str,
               body: Callable[[pathlib.Path], object], *, devices: int) -> int:
    """Use ``devices`` CPU devices (at most one per core), lock ``out`` and run ``body(out)``.

    Args:
      parser: the experiment's parser (reports a locked or unsafe folder, exit status 2).
      out: the output folder.
      command: the command line to record in the lock.
      body: what runs while the folder is locked.
      devices: CPU devices wanted (each runs a block of seeds on one core).

    Returns:
      0 (a refused folder exits through ``parser.error``).
    """
    from lstm_ar.runtime import distributed

    distributed.use_cpu_cores(max(1, min(distributed.available_cores(), devices)), warn=False)
    from lstm_ar.runtime.fs import FolderLocked, OutputLock, UnsafePath

    out = pathlib.Path(out)
    try:
        with OutputLock(out, command=command):
            body(out)
    except (FolderLocked, UnsafePath) as err:
        parser.error(str(err))
    return 0
