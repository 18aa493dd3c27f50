"""Files never half-written (``atomic_path``), folders removed without following symlinks (``remove_tree``), one
run per folder (``OutputLock``). Errors: ``UnsafePath`` (a ``ValueError``) and ``FolderLocked`` (a
``RuntimeError``), each naming the path and what to do.
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
    """``path`` as an absolute, normalised ``pathlib.Path``; ``UnsafePath`` unless it lies strictly below
    ``inside`` with no existing component between them (``path`` included) a symlink. ``inside`` itself
    may be a symlink (e.g. an output folder on another disk); missing components are fine."""
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


def _through_link(final: pathlib.Path) -> UnsafePath:
    return UnsafePath(f"{_describe_link(final)}: refusing to write through a symlink; remove the link or "
                      f"write elsewhere")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | _DIRECTORY)
    except OSError:
        return
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder
        os.fsync(fd)
    os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, inside: str | os.PathLike | None = None) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside ``path`` to write; on success it is fsync'ed and renamed over ``path`` (which
    must not be a symlink, ``UnsafePath``, or a folder); a body that raises leaves ``path`` as it was. The name
    ``.<name>.<random>.tmp<suffix>`` keeps the suffix (``savefig`` chooses the format by it)."""
    final = pathlib.Path(path)
    if inside is not None:
        check_inside(final, inside=inside)
    if final.is_symlink():
        raise _through_link(final)
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
            raise _through_link(final)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(os.fspath(folder))


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, inside: str | os.PathLike | None = None) -> pathlib.Path:
    """Write ``data`` to ``path`` atomically (``atomic_path``); returns ``path`` as a ``pathlib.Path``."""
    with atomic_path(path, inside=inside) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return pathlib.Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8",
                      inside: str | os.PathLike | None = None) -> pathlib.Path:
    """Write ``text`` to ``path`` atomically (``atomic_write_bytes``)."""
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
    """Delete the folder ``path`` (strictly below ``inside``) and its content; False if it did not exist. Components
    are opened by file descriptor without following links (a link swapped in is caught too): a symlink on the way
    raises ``UnsafePath`` and nothing is deleted; links inside are removed, not followed."""
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
    parts += [f"{word} {info[key]}" for word, key in (("on", "host"), ("since", "since")) if info.get(key)]
    return ", ".join(parts) + (f": {info['command']}" if info.get("command") else "")


class OutputLock:
    """An exclusive, non-blocking ``flock`` on ``<folder>/.lock`` (created with its folder) for a ``with`` block.
    The lock file records the holder's pid, host, ``command`` and start time; a second holder gets ``FolderLocked``
    at once, naming it. A dead process's lock is taken over; two on one folder exclude each other even within a
    process. In a multi-process run only process 0 takes it."""

    def __init__(self, folder: str | os.PathLike, *, command: str | None = None):
        self.folder = pathlib.Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = " ".join(sys.argv) if command is None else command
        self._fd: int | None = None

    def holder(self) -> dict:
        """What the lock file says about its holder ({} if it is missing, empty or unreadable)."""
        try:
            with os.fdopen(os.open(self.path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC), "rb") as f:
                info = json.loads(f.read().decode() or "{}")
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def __enter__(self) -> OutputLock:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this OutputLock")
        if self.folder.exists() and not self.folder.is_dir():
            raise NotADirectoryError(f"output folder {self.folder} exists and is not a folder; choose another")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise NotADirectoryError(f"cannot create the output folder {self.folder}: {e.strerror or e}") from None
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
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False)):
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
