"""Where a result came from: the command, the git commit of the code and the library versions.

``provenance(argv)`` is recorded in every ``summary.json`` (``lstm_ar.cli``); reports show it in one
line (``lstm_ar.report.markdown.provenance_line``). The git commit is read only when the
package runs from a checkout, and a missing or hanging ``git`` leaves it out rather than failing.

Every recorded command goes through ``recorded_words`` (``command_text`` joins them): a path
under the current folder is recorded relative to it and another absolute path with ``~`` for the
home folder, so a committed report does not name the folders of the machine that ran it.
"""

from __future__ import annotations

import os
import pathlib
import platform
import shlex
import subprocess
from collections.abc import Sequence
from importlib import metadata
from typing import Any

VERSIONED = ("jax", "jaxlib", "numpy", "flax", "optax")
GIT_TIMEOUT_S = 5.0


def provenance(argv: Sequence[str]) -> dict:
    """Where a result came from: the command, the library's git commit and the versions in use.

    Args:
        argv: the command line as words (program first).

    Returns:
        ``{"argv": [...] (``recorded_words``), "python": ..., "versions": {package: version or None}}`` plus, when the
        package runs from a git checkout, ``"git": {"commit": sha, "dirty": bool}`` (tracked files
        of the package or its build configuration changed since the commit; results written into
        the checkout do not count).
    """
    record: dict[str, Any] = {"argv": recorded_words(argv), "python": platform.python_version(),
                              "versions": {name: package_version(name) for name in VERSIONED}}
    git = git_state(pathlib.Path(__file__).resolve().parents[2])
    if git is not None:
        record["git"] = git
    return record


def recorded_path(word: str, cwd: str | os.PathLike | None = None, home: str | os.PathLike | None = None) -> str:
    """One command-line word as it is recorded: an absolute path under ``cwd`` relative to it (``.``
    for ``cwd`` itself), another absolute path under ``home`` as ``~/...``; anything else as it is.
    ``--option=PATH`` is recorded as ``--option=`` and its path. Paths are compared as written (no
    symbolic link is resolved).

    Args:
        word: the word.
        cwd: the current folder (default ``os.getcwd()``).
        home: the home folder (default ``~`` expanded; none if that is ``/`` or not absolute).

    Returns:
        The word to record.
    """
    if word.startswith("-") and "=" in word:
        option, _, value = word.partition("=")
        return f"{option}={recorded_path(value, cwd, home)}"
    if not os.path.isabs(word):
        return word
    path = os.path.normpath(word)
    if cwd is None:
        try:
            cwd = os.getcwd()
        except OSError:  # the current folder was removed: no relative form
            cwd = ""
    for base, prefix in ((cwd, None), (home if home is not None else os.path.expanduser("~"), "~")):
        base = os.path.normpath(os.fspath(base)) if base else ""
        if not os.path.isabs(base) or base == os.sep:
            continue
        if path == base:
            return prefix or "."
        if path.startswith(base + os.sep):
            rest = path[len(base) + 1:]
            return f"{prefix}/{rest}" if prefix else rest
    return word


def recorded_words(argv: Sequence[str], cwd: str | os.PathLike | None = None,
                   home: str | os.PathLike | None = None) -> list[str]:
    """The command line as it is recorded in summaries, reports and locks: ``recorded_path`` of every word.

    Args:
        argv: the words (program first).
        cwd, home: as ``recorded_path``.

    Returns:
        The words to record (applying it twice changes nothing).
    """
    return [recorded_path(str(word), cwd, home) for word in argv]


def command_text(argv: Sequence[str]) -> str:
    """The recorded command as one line: ``recorded_words``, every word after the first shell-quoted."""
    return " ".join(shlex.quote(w) if i else w for i, w in enumerate(recorded_words(argv)))


def package_version(package: str) -> str | None:
    """An installed package's version from its metadata (the package is not imported), or None."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def git_state(root: pathlib.Path) -> dict | None:
    """``{"commit": sha, "dirty": bool}`` of the checkout at ``root``; None if it is not one (or git is missing or slow).

    Args:
        root: the folder above the ``lstm_ar`` package.

    Returns:
        The commit and whether the code (the ``lstm_ar`` package, ``pyproject.toml``) differs from
        it, or None.
    """
    if not (root / ".git").exists():
        return None

    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(root), *words], capture_output=True, text=True, check=True,
                              timeout=GIT_TIMEOUT_S).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", "lstm_ar", "pyproject.toml"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}
