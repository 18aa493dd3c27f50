"""Where a result came from: the command, the git commit of the code and the library versions.

``provenance(argv)`` is recorded in every ``summary.json`` (``lstm_ar.cli``); reports show it in one
line (``lstm_ar.study.report_markdown.provenance_line``). The git commit is read only when the
package runs from a checkout, and a missing or hanging ``git`` leaves it out rather than failing.
"""

from __future__ import annotations

import pathlib
import platform
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
        ``{"argv": [...], "python": ..., "versions": {package: version or None}}`` plus, when the
        package runs from a git checkout, ``"git": {"commit": sha, "dirty": bool}`` (tracked files
        of the package or its build configuration changed since the commit; results written into
        the checkout do not count).
    """
    record: dict[str, Any] = {"argv": list(argv), "python": platform.python_version(),
                              "versions": {name: package_version(name) for name in VERSIONED}}
    git = git_state(pathlib.Path(__file__).resolve().parents[2])
    if git is not None:
        record["git"] = git
    return record


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
