"""Files that are never half-written, folders removed without following symlinks, one run per folder.

Three tools keep a study's output whole and inside its output folder:

* ``atomic_path`` / ``atomic_write_bytes`` / ``atomic_write_text``: a file is written under a
  temporary name in its own folder, flushed to disk and renamed over its final name, so a run
  killed mid-write (or a full disk) leaves the old file or the new one, never a mix. A symlink
  at the final name, or below ``inside``, is refused instead of followed.
* ``remove_tree(path, inside=...)``: deletes a folder only if it is a real folder below
  ``inside``, reached without passing through a symlink; symlinks within it are removed, never
  followed. Nothing outside ``inside`` is ever touched.
* ``OutputLock(folder)``: an exclusive, non-blocking ``flock`` on ``<folder>/.lock`` held for a
  whole run; a second run on the same folder is refused at once with a message naming the one
  that holds it (pid, host, command, start time). A lock file left by a killed run does not
  block: the kernel releases a dead process's ``flock``.

Errors are ``UnsafePath`` (a ``ValueError``) and ``FolderLocked`` (a ``RuntimeError``), each
naming the path and what to do.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import pathlib
import secrets
import shutil
import socket
import sys
from collections.abc import Iterator

LOCK_NAME = ".lock"

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FD_BASED = bool(_NOFOLLOW and _DIRECTORY) and os.open in os.supports_dir_fd and os.scandir in os.supports_fd


class UnsafePath(ValueError):
    """A path that would make a write or a deletion follow a symlink or leave its folder."""


class FolderLocked(RuntimeError):
    """The output folder is held by another running process (see ``OutputLock``)."""


def _describe_link(path: str | os.PathLike) -> str:
    try:
        return f"{os.fspath(path)} (a symlink to {os.readlink(path)})"
    except OSError:
        return f"{os.fspath(path)} (a symlink)"


def check_inside(path: str | os.PathLike, *, inside: str | os.PathLike) -> pathlib.Path:
    """Check that ``path`` lies below the folder ``inside`` and that no existing component between
    them (``path`` itself included) is a symlink. ``inside`` itself may be a symlink (e.g. an output
    folder on another disk). Components that do not exist yet are fine.

    Args:
      path: a file or folder, absolute or relative to the working directory.
      inside: the folder ``path`` must stay in.

    Returns:
      ``path`` as an absolute, normalised ``pathlib.Path``.

    Raises:
      UnsafePath: ``path`` is not strictly below ``inside``, or a component is a symlink.
    """
    base = os.path.abspath(inside)
    target = os.path.abspath(path)
    rel = os.path.relpath(target, base)
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        raise UnsafePath(f"{os.fspath(path)} is not inside {os.fspath(inside)}: refusing to touch it")
    current = base
    for part in rel.split(os.sep):
        current = os.path.join(current, part)
        if os.path.islink(current):
            raise UnsafePath(f"{_describe_link(current)} lies between {os.fspath(inside)} and {os.fspath(path)}: "
                             f"refusing to follow it out of the output folder; remove the link or use another folder")
        if not os.path.lexists(current):
            break
    return pathlib.Path(target)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot sync a folder
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, inside: str | os.PathLike | None = None) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path``; on success it is fsync'ed and renamed over ``path``.

    The temporary name is ``.<name>.<random>.tmp<suffix>`` in the same folder, so it ends in the
    same suffix as ``path`` (``np.savez`` and ``savefig`` choose their format by it) and the rename
    stays on one file system. The body writes the file by that name. If the body raises, the
    temporary file is removed and ``path`` is left as it was. The file gets the usual permissions
    (0o666 less the umask). The parent folder must exist.

    Args:
      path: the final file. If it is a symlink, ``UnsafePath`` is raised (the link is neither
        followed nor replaced); if it is a folder, ``IsADirectoryError``.
      inside: if given, ``path`` must lie below this folder with no symlink in between
        (``check_inside``).

    Returns:
      A context manager yielding the temporary ``pathlib.Path`` to write.
    """
    final = pathlib.Path(path)
    if inside is not None:
        check_inside(final, inside=inside)
    if final.is_symlink():
        raise UnsafePath(f"{_describe_link(final)}: refusing to write through a symlink; remove the link or "
                         f"write elsewhere")
    if final.is_dir():
        raise IsADirectoryError(f"{final} is a folder; cannot write a file over it")
    folder = final.parent
    tmp = folder / f".{final.name}.{secrets.token_hex(6)}.tmp{final.suffix}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666 & ~_umask())
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot write {final}: its folder {folder} does not exist") from None
    os.close(fd)
    try:
        yield tmp
        if tmp.is_symlink() or not tmp.is_file():
            raise RuntimeError(f"the temporary file {tmp} for {final} was not written as a plain file")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if final.is_symlink():  # appeared while writing
            raise UnsafePath(f"{_describe_link(final)}: refusing to write through a symlink; remove the link "
                             f"or write elsewhere")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(os.fspath(folder))


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, inside: str | os.PathLike | None = None) -> pathlib.Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename; see ``atomic_path``).

    Args:
      path: the final file (not a symlink).
      data: its whole content.
      inside: if given, the folder ``path`` must stay in (no symlink in between).

    Returns:
      ``path`` as a ``pathlib.Path``.
    """
    with atomic_path(path, inside=inside) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return pathlib.Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      inside: str | os.PathLike | None = None) -> pathlib.Path:
    """Write ``text`` to ``path`` atomically (see ``atomic_write_bytes``).

    Args:
      path: the final file (not a symlink).
      text: its whole content, encoded with ``encoding``.
      encoding: the text encoding (default UTF-8).
      inside: if given, the folder ``path`` must stay in (no symlink in between).

    Returns:
      ``path`` as a ``pathlib.Path``.
    """
    return atomic_write_bytes(path, text.encode(encoding), inside=inside)


def _open_folder_at(parent_fd: int, name: str, shown: str) -> int:
    try:
        return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=parent_fd)
    except OSError as e:
        if e.errno == errno.ELOOP or (e.errno == errno.ENOTDIR and os.path.islink(shown)):
            raise UnsafePath(f"{_describe_link(shown)}: refusing to follow a symlink while removing a folder; "
                             f"remove the link itself") from None
        raise


def _remove_at(parent_fd: int, name: str, shown: str) -> None:
    """Remove the folder ``name`` of the folder open as ``parent_fd``, entries first, never following a link."""
    fd = _open_folder_at(parent_fd, name, shown)
    try:
        with os.scandir(fd) as entries:
            listed = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        for entry, is_dir in listed:
            if is_dir:
                _remove_at(fd, entry, os.path.join(shown, entry))
            else:  # files and symlinks: the link itself goes
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def remove_tree(path: str | os.PathLike, *, inside: str | os.PathLike) -> bool:
    """Delete the folder ``path`` and everything in it, only if it is a real folder below ``inside``.

    Every component from ``inside`` down to ``path`` is opened without following symlinks (file
    descriptors, so a link swapped in meanwhile is caught too); a symlink among them, or at
    ``path``, raises ``UnsafePath`` naming it and nothing is deleted. Symlinks within the tree are
    removed as links; their targets are never touched. ``inside`` itself may be a symlink.

    Args:
      path: the folder to delete; must lie strictly below ``inside``.
      inside: the folder nothing outside of which may be touched (e.g. the run's output folder).

    Returns:
      True if a folder was deleted, False if ``path`` did not exist.

    Raises:
      UnsafePath: ``path`` is not below ``inside``, or a symlink is in the way.
      NotADirectoryError: ``path`` (or a component) is a file.
    """
    target = check_inside(path, inside=inside)
    base = os.path.abspath(inside)
    parts = os.path.relpath(target, base).split(os.sep)
    if not os.path.isdir(base):
        raise NotADirectoryError(f"{os.fspath(inside)} is not a folder")
    if not _FD_BASED:  # no dir_fd support: the path checks of check_inside, then a link-safe rmtree
        if not os.path.lexists(target):
            return False
        if not os.path.isdir(target):
            raise NotADirectoryError(f"{target} is not a folder; refusing to delete it")
        shutil.rmtree(target)
        return True
    fd = os.open(base, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    try:
        shown = base
        for part in parts[:-1]:
            shown = os.path.join(shown, part)
            try:
                next_fd = _open_folder_at(fd, part, shown)
            except FileNotFoundError:
                return False
            except NotADirectoryError:
                raise NotADirectoryError(f"{shown} is not a folder; cannot remove {target}") from None
            os.close(fd)
            fd = next_fd
        try:
            _remove_at(fd, parts[-1], os.fspath(target))
        except FileNotFoundError:
            if os.path.lexists(target):
                raise
            return False
        except NotADirectoryError:
            raise NotADirectoryError(f"{target} is not a folder; refusing to delete it") from None
    finally:
        os.close(fd)
    return True


def _describe_holder(info: dict) -> str:
    parts = [f"pid {info.get('pid', '?')}"]
    if info.get("host"):
        parts.append(f"on {info['host']}")
    if info.get("since"):
        parts.append(f"since {info['since']}")
    text = ", ".join(parts)
    if info.get("command"):
        text += f": {info['command']}"
    return text


class OutputLock:
    """Hold an exclusive lock on an output folder for the length of a ``with`` block.

    ``__enter__`` creates ``folder`` (with parents) if needed, takes a non-blocking ``flock`` on
    ``<folder>/.lock`` and writes the holder's pid, host, command and start time (JSON) into it.
    If another process holds the lock, ``FolderLocked`` is raised at once, naming it. On exit the
    lock file is removed and the lock released. A lock file left by a process that died is not
    a lock (the kernel drops a dead process's ``flock``) and is taken over. Two ``OutputLock``
    objects on one folder exclude each other even within one process. In a multi-process run,
    only the process that writes (process 0) should take it.

    Args:
      folder: the output folder.
      command: the command line to record (default: ``sys.argv`` joined by spaces).

    Raises (on entry):
      FolderLocked: another running process holds the folder.
      UnsafePath: ``<folder>/.lock`` is a symlink.
      NotADirectoryError: ``folder`` exists and is not a folder, or cannot be created.
    """

    def __init__(self, folder: str | os.PathLike, *, command: str | None = None):
        self.folder = pathlib.Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = " ".join(sys.argv) if command is None else command
        self._fd: int | None = None

    def holder(self) -> dict:
        """What the lock file says about its holder ({} if it is missing, empty or unreadable)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except OSError:
            return {}
        try:
            with os.fdopen(fd, "rb") as f:
                info = json.loads(f.read().decode() or "{}")
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def _make_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise NotADirectoryError(f"output folder {self.folder} exists and is not a folder; choose another")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NotADirectoryError(f"cannot create the output folder {self.folder}: {e.strerror or e}") from None

    def __enter__(self) -> OutputLock:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this OutputLock")
        self._make_folder()
        for _ in range(100):  # retried only when a releasing holder removed the file meanwhile
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise UnsafePath(f"{_describe_link(self.path)}: refusing to lock through a symlink; "
                                     f"remove the link") from None
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise FolderLocked(f"{self.folder} is in use by another run ({_describe_holder(self.holder())}); "
                                   f"wait for it to finish, stop it, or use another output folder") from None
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)  # locked a file its holder removed on release: lock the new one
        else:
            raise FolderLocked(f"could not lock {self.path}: it keeps being replaced")
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        """Remove the lock file and release the lock (a no-op if not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            with contextlib.suppress(OSError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False)):
                    os.unlink(self.path)  # while still locked, so no one locks the old file after us
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        """True between a successful ``__enter__`` and the release."""
        return self._fd is not None
