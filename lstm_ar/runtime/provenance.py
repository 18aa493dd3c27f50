"""Where a result came from: the command, the git commit of the code and the library versions, as recorded in every
``summary.json``. A missing or hanging ``git`` leaves the commit out. Recorded paths are made relative to the current
folder or ``~`` (``recorded_words``), so a committed report does not name the folders of the machine that ran it.
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
    """``{"argv": recorded_words(argv), "python", "versions": {package: version or None}}``, plus from a git
    checkout ``"git": {"commit", "dirty"}`` (``git_state``)."""
    record: dict[str, Any] = {"argv": recorded_words(argv), "python": platform.python_version(),
                              "versions": {name: package_version(name) for name in VERSIONED}}
    if (git := git_state(pathlib.Path(__file__).resolve().parents[2])) is not None:
        record["git"] = git
    return record


def recorded_path(word: str, cwd: str | os.PathLike | None = None, home: str | os.PathLike | None = None) -> str:
    """One command-line word as recorded: an absolute path under ``cwd`` (default: the current folder) relative to it
    (``.`` for itself), one under ``home`` (default ``~``; none if ``/`` or relative) as ``~/...``, anything else as
    it is; ``--option=PATH`` likewise. No symbolic link is resolved."""
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
            return f"{prefix}/{path[len(base) + 1:]}" if prefix else path[len(base) + 1:]
    return word


def recorded_words(argv: Sequence[str], cwd: str | os.PathLike | None = None,
                   home: str | os.PathLike | None = None) -> list[str]:
    """The command line as recorded in summaries, reports and locks: ``recorded_path`` of every word (idempotent)."""
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
    """``{"commit": sha, "dirty": bool}`` of the checkout at ``root`` (the folder above ``lstm_ar``); None if it is
    not one or git is missing or slow. Dirty: tracked files of ``lstm_ar`` or ``pyproject.toml`` changed."""
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
