"""Stream per-seed results to disk chunk by chunk, so a stopped sweep resumes where it stopped.

A ``ChunkStore`` is a folder::

    manifest.json                      {"format", "run_id", "identity"}: the run that owns the folder
    seeds-000000000-000000256.npz      leaves "0", "1", ... of the per-seed result pytree, [256, ...],
                                       and "__chunk__": the JSON record of the run that wrote it
    seeds-000000256-000000512.npz      ...

The identity of a run is what its per-seed values depend on: the caller's ``identity`` (e.g.
scenario, config fingerprint), the library's code (``source_fingerprint``: every source file of
every sub-package, as ``"code"``) and, added by ``run_seeds`` through ``begin``, the root seed and
the lanes. Not the number of devices or processes: results do not depend on them. Each chunk file
records, besides its arrays (``CHUNK_RECORD``)::

    {"format": 1, "run_id": "<16 hex digits>", "identity": {...}, "seeds": [start, stop], "leaves": k}

``begin(extra)`` starts a run. Without ``resume`` any old content is removed (with
``fs.remove_tree``: never through a symlink, never outside ``inside``) and a fresh manifest with a
new random ``run_id`` is written. With ``resume`` and a manifest of the same identity the run
continues under that ``run_id``; a manifest of another identity raises ``StoreMismatch``.
``load`` checks every chunk against the manifest before its values are used: a chunk of another
identity (e.g. another root seed), of another run with the same settings (copied in from
elsewhere), of other seeds than its name says, without a record, or unreadable (``CorruptChunk``)
raises an error naming the file, what differs and what to do. ``save`` writes each chunk
atomically (``fs.atomic_path``) and refuses to write once another run has restarted the folder.
Chunks hold every computed seed, padding included (seeds >= n_seeds are real seeds too), so a run
can be extended to more seeds. ``fingerprint`` hashes nested Python / numpy values (arrays by
their bytes).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import re
import secrets
import sys
import zipfile
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstm_ar.runtime import fs

MANIFEST = "manifest.json"
CHUNK_RE = re.compile(r"^seeds-(\d{9})-(\d{9})\.npz$")
CHUNK_RECORD = "__chunk__"
FORMAT = 1
START_OVER = "delete it, or run without --resume to start over"


class StoreMismatch(ValueError):
    """The folder holds chunks of a different run (config, code, seeds or lanes differ)."""


class CorruptChunk(StoreMismatch):
    """A stored chunk (or the manifest) cannot be read: truncated, not an npz, or missing arrays."""


def _update(h, obj: Any) -> None:
    if isinstance(obj, np.ndarray) or type(obj).__module__.startswith("jax"):
        arr = np.ascontiguousarray(np.asarray(obj))
        h.update(f"array:{arr.dtype.str}:{arr.shape}:".encode())
        h.update(arr.tobytes())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass:{type(obj).__qualname__}:".encode())
        for f in dataclasses.fields(obj):
            h.update(f"{f.name}=".encode())
            _update(h, getattr(obj, f.name))
    elif isinstance(obj, tuple) and hasattr(obj, "_fields"):  # NamedTuple
        h.update(f"namedtuple:{type(obj).__qualname__}:".encode())
        for name, value in zip(obj._fields, obj):
            h.update(f"{name}=".encode())
            _update(h, value)
    elif isinstance(obj, dict):
        h.update(b"dict{")
        for key in sorted(obj, key=repr):
            _update(h, key)
            _update(h, obj[key])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}[{len(obj)}]".encode())
        for value in obj:
            _update(h, value)
    elif isinstance(obj, (str, int, float, bool, type(None), np.generic)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif callable(obj):
        h.update(f"callable:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))};".encode())
    else:
        raise TypeError(f"cannot fingerprint a {type(obj).__name__}")


def fingerprint(obj: Any) -> str:
    """sha256 hex digest of a nested structure.

    Args:
      obj: dataclasses, NamedTuples, dicts, sequences, numbers, strings and arrays (by dtype,
        shape and bytes); callables by qualified name.

    Returns:
      64 hex digits.
    """
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


def source_fingerprint(package_dir: str | os.PathLike | None = None) -> str:
    """sha256 of every source file of the library, all sub-packages: any code change invalidates
    stored chunks. The library's own fingerprint is computed once per process (the code that is
    running, even if the files change meanwhile).

    Args:
      package_dir: the package folder (default: ``lstm_ar``).

    Returns:
      64 hex digits over the relative paths and bytes of every ``*.py`` below it.
    """
    return _source_fingerprint(str(pathlib.Path(package_dir or pathlib.Path(__file__).parents[1]).resolve()))


@functools.cache
def _source_fingerprint(folder: str) -> str:
    root = pathlib.Path(folder)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def chunk_name(start: int, stop: int) -> str:
    """The file name of the chunk of seeds start..stop-1."""
    return f"seeds-{start:09d}-{stop:09d}.npz"


def _normalise(obj: Any) -> Any:
    return json.loads(json.dumps(obj))  # as stored: tuples become lists, keys strings


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _differences(stored: dict, expected: dict) -> str:
    keys = [k for k in sorted(set(stored) | set(expected), key=str) if stored.get(k) != expected.get(k)]
    return "; ".join(f"{k}: {_short(stored.get(k))} there, {_short(expected.get(k))} in this run" for k in keys)


def _below(folder: pathlib.Path, inside: pathlib.Path | None) -> tuple[str, ...]:
    """The components of ``folder`` after the leading ones it shares with ``inside`` (all without it)."""
    if inside is None:
        return folder.parts
    shared = 0
    for a, b in zip(folder.parts, inside.parts):
        if a != b:
            break
        shared += 1
    return folder.parts[shared:]


def _without_code(identity: dict) -> dict:
    return {k: v for k, v in identity.items() if k not in ("code", "library")}


class ChunkStore:
    """Finished chunks of one sweep under ``folder`` (see the module docstring).

    Args:
      folder: the store's folder (created by ``begin``).
      identity: JSON-able dict of what the per-seed values depend on; the library's code
        fingerprint is added as ``"code"``.
      resume: keep the finished chunks of a run with the same identity (else start over).
      any_code: with ``resume``, also keep chunks that another version of the library computed
        (the identity otherwise the same): for a code change known not to alter the numbers; the
        manifest then keeps the code that computed them.
      inside: the output folder the store lives in: ``begin`` removes nothing outside it, nor
        through a symlink below it. Default: the store's parent folder, which must then not be a
        symlink itself.

    Raises:
      fs.UnsafePath: ``folder`` has a ``..`` component (below ``inside``, when given).
    """

    def __init__(self, folder: str | os.PathLike, identity: dict, *, resume: bool = False,
                 inside: str | os.PathLike | None = None, any_code: bool = False):
        if not isinstance(identity, dict):
            raise TypeError(f"identity must be a dict, got {type(identity).__name__}")
        self.folder = pathlib.Path(folder)
        if os.pardir in _below(self.folder, None if inside is None else pathlib.Path(inside)):
            raise fs.UnsafePath(f"chunk store folder {os.fspath(folder)} has a {os.pardir!r} component"
                                f"{'' if inside is None else f' below {os.fspath(inside)}'}: it could lead out of "
                                f"its output folder; name the folder without {os.pardir!r}")
        self.identity = _normalise({"code": source_fingerprint(), **identity})
        self.resume = bool(resume)
        self.any_code = bool(any_code)
        self.inside = None if inside is None else pathlib.Path(inside)
        self.run_id: str | None = None

    # -- the folder ---------------------------------------------------------------------------------
    def check_location(self) -> pathlib.Path:
        """Check that the store's folder is reached without a symlink (see ``inside``).

        Returns:
          The folder the store may not leave (``inside``, or the store's parent).

        Raises:
          fs.UnsafePath: a symlink in the way, or the folder not below ``inside``.
        """
        if self.inside is not None:
            fs.check_inside(self.folder, inside=self.inside)
            return self.inside
        for path in (self.folder.parent, self.folder):
            if path.is_symlink():
                raise fs.UnsafePath(f"{path} is a symlink (to {os.readlink(path)}): a chunk store is never written "
                                    f"or removed through a link; remove the link or use another output folder")
        return self.folder.parent

    def _read_manifest(self) -> dict | None:
        path = self.folder / MANIFEST
        if not path.exists():
            return None
        try:
            manifest = json.loads(path.read_text())
            if not isinstance(manifest, dict) or not isinstance(manifest.get("identity"), dict):
                raise ValueError("no identity")
        except (OSError, ValueError) as e:
            raise CorruptChunk(f"{path} cannot be read ({e}); delete the folder {self.folder}, or run without "
                               f"--resume to start over") from None
        return manifest

    def begin(self, extra: dict | None = None, log=sys.stderr) -> None:
        """Check or write the manifest: the identity plus ``extra`` (e.g. root seed and lanes).

        Args:
          extra: more identity entries (``run_seeds`` adds ``root_seed`` and ``lanes``).
          log: where to say that old chunks are discarded (None: say nothing).

        Raises:
          StoreMismatch: resuming a folder whose manifest has another identity.
          fs.UnsafePath: the folder, or a folder between ``inside`` and it, is a symlink.
        """
        if extra:
            self.identity = {**self.identity, **_normalise(extra)}
        inside = self.check_location()
        manifest = self._read_manifest() if self.resume else None
        if manifest is not None:
            old = manifest["identity"]
            if self.any_code and _without_code(old) == _without_code(self.identity):
                self.identity = old  # computed by another version of the library: reused as asked
            if old != self.identity:
                raise StoreMismatch(
                    f"{self.folder} holds chunks of a different run (differs in {_differences(old, self.identity)}); "
                    f"delete the folder, use another --out, or run without --resume to start over")
            self.run_id = str(manifest.get("run_id", ""))
            return
        if self.folder.exists() or self.folder.is_symlink():  # start over: never mix with chunks of another run
            n_old = len(self._chunks())
            if n_old and log is not None:
                log.write(f"{self.folder}: discarding {n_old} finished chunk(s) of an earlier run"
                          f"{'' if self.resume else ' (pass --resume to continue it)'}\n")
            fs.remove_tree(self.folder, inside=inside)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.run_id = secrets.token_hex(8)
        manifest = {"format": FORMAT, "run_id": self.run_id, "identity": self.identity}
        fs.atomic_write_text(self.folder / MANIFEST, json.dumps(manifest, indent=2) + "\n")

    def _chunks(self) -> list[tuple[int, int]]:
        if not self.folder.is_dir():
            return []
        found = (CHUNK_RE.match(p.name) for p in self.folder.iterdir())
        return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)

    def finished(self) -> list[tuple[int, int]]:
        """(start, stop) of the chunk files that tile seeds 0..k without a gap (not yet verified:
        ``load`` verifies each)."""
        out, end = [], 0
        for start, stop in self._chunks():
            if start == end:
                out.append((start, stop))
                end = stop
            elif start > end:
                break
        return out

    def finished_until(self) -> int:
        """The first seed not covered by finished chunks (0 if none)."""
        done = self.finished()
        return done[-1][1] if done else 0

    # -- chunks -------------------------------------------------------------------------------------
    def record(self, start: int, stop: int, n_leaves: int) -> dict:
        """The identity record stored in the chunk of seeds start..stop-1 (see the module docstring)."""
        return {"format": FORMAT, "run_id": self.run_id, "identity": self.identity, "seeds": [int(start), int(stop)],
                "leaves": int(n_leaves)}

    def save(self, start: int, leaves: Sequence[np.ndarray]) -> pathlib.Path:
        """Write one chunk atomically, with its identity record.

        Args:
          start: its first seed.
          leaves: ``leaves[j]: [stop - start, ...]``, the result leaves for seeds start..stop-1.

        Returns:
          The chunk file's path.

        Raises:
          StoreMismatch: the folder's manifest no longer names this run (another run restarted it).
        """
        if self.run_id is None:
            raise RuntimeError("ChunkStore.save before begin()")
        n = int(np.shape(leaves[0])[0])
        if any(np.shape(a)[0] != n for a in leaves):
            raise ValueError("every leaf of a chunk needs the same leading (seed) length")
        manifest = self._read_manifest() if (self.folder / MANIFEST).exists() else None
        if manifest is None or manifest.get("run_id") != self.run_id:
            owner = "nobody (its manifest is gone)" if manifest is None else f"run {manifest.get('run_id')}"
            raise StoreMismatch(f"{self.folder} was restarted by another run while this one (run {self.run_id}) was "
                                f"writing; it now belongs to {owner}. Two runs must not share an output folder: "
                                f"use one --out per run")
        path = self.folder / chunk_name(start, start + n)
        arrays = {str(j): np.asarray(a) for j, a in enumerate(leaves)}
        arrays[CHUNK_RECORD] = np.asarray(json.dumps(self.record(start, start + n, len(leaves))))
        with fs.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path

    def load(self, start: int, stop: int) -> list[np.ndarray]:
        """The leaves of the chunk of seeds start..stop-1, after checking that this run wrote it.

        Args:
          start, stop: the chunk's seed range (as in its file name).

        Returns:
          ``[leaf_0, leaf_1, ...]``, each ``[stop - start, ...]``.

        Raises:
          CorruptChunk: the file cannot be read (truncated, not an npz, arrays missing).
          StoreMismatch: it records another identity, another run, other seeds, or no record.
        """
        path = self.folder / chunk_name(start, stop)
        fix = (f"delete {path} and every later chunk (a resumed run keeps the chunks before the first gap and "
               f"recomputes every seed from {start} on), or run without --resume to start over")
        try:
            with np.load(path, allow_pickle=False) as data:
                if CHUNK_RECORD not in data.files:
                    raise StoreMismatch(f"{path} records no run identity (written by an older version of lstm_ar, "
                                        f"or not by it): it cannot be checked; {fix}")
                record = json.loads(str(data[CHUNK_RECORD]))
                names = sorted((k for k in data.files if k != CHUNK_RECORD), key=lambda k: (len(k), k))
                if names != [str(j) for j in range(len(names))] or record.get("leaves") != len(names):
                    raise CorruptChunk(f"{path} holds arrays {names}, not the {record.get('leaves')} leaves its record "
                                       f"names; {fix}")
                leaves = [data[k] for k in names]
        except StoreMismatch:
            raise
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, AttributeError) as e:
            raise CorruptChunk(f"{path} cannot be read ({type(e).__name__}: {e}); {fix}") from None
        if record.get("identity") != self.identity:
            raise StoreMismatch(f"{path} comes from a different run (differs in "
                                f"{_differences(record.get('identity') or {}, self.identity)}); {fix}")
        if record.get("run_id") != self.run_id:
            raise StoreMismatch(f"{path} was written by another run with the same settings (run {record.get('run_id')}, "
                                f"this folder's run is {self.run_id}): copied in from elsewhere? {fix}")
        if record.get("seeds") != [start, stop]:
            raise StoreMismatch(f"{path} holds seeds {record.get('seeds')}, not the [{start}, {stop}] its name says "
                                f"(renamed?); {fix}")
        if any(np.shape(a)[:1] != (stop - start,) for a in leaves):
            raise CorruptChunk(f"{path} holds {[np.shape(a) for a in leaves]}, not {stop - start} seeds per leaf; {fix}")
        return leaves
