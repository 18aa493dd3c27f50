"""Stream per-seed results to disk chunk by chunk, so a stopped sweep resumes where it stopped.

A ``ChunkStore`` is a folder::

    manifest.json                      {"format", "run_id", "identity"}: the run that owns the folder
    seeds-000000000-000000256.npz      leaves "0", "1", ... of the per-seed result pytree, [256, ...],
                                       and "__chunk__": the JSON record of the run that wrote it
    seeds-000000256-000000512.npz      ...

A run's identity (what its per-seed values depend on; not the device or process count) is the caller's ``identity``,
the code (``source_fingerprint``, as ``"code"``), the root seed and the lanes. ``begin`` without ``resume`` removes
old content (``fs.remove_tree``: never through a symlink, never outside ``inside``) and writes a manifest with a new
random ``run_id``; with ``resume`` it continues a run of the same identity. ``load`` checks each chunk's record
(``{"format", "run_id", "identity", "seeds", "leaves"}``) before use; ``save`` writes atomically and refuses once
another run restarted the folder. Chunks hold padding seeds too (real seeds), so a run can be extended to more seeds.
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
START_OVER = "without --resume; lstm-ar run cure: with --fresh"  # how each command starts a store over
FORMAT = 1


class StoreMismatch(ValueError):
    """The folder holds chunks of a different run (config, code, seeds or lanes differ)."""


class CorruptChunk(StoreMismatch):
    """A stored chunk (or the manifest) cannot be read: truncated, not an npz, or missing arrays."""


def _update(h, obj: Any) -> None:
    if isinstance(obj, np.ndarray) or type(obj).__module__.startswith("jax"):
        arr = np.ascontiguousarray(np.asarray(obj))
        h.update(f"array:{arr.dtype.str}:{arr.shape}:".encode() + arr.tobytes())
    elif (dc := dataclasses.is_dataclass(obj) and not isinstance(obj, type)) or (
            isinstance(obj, tuple) and hasattr(obj, "_fields")):  # a dataclass or a NamedTuple: fields by name
        h.update(f"{'dataclass' if dc else 'namedtuple'}:{type(obj).__qualname__}:".encode())
        for name in [f.name for f in dataclasses.fields(obj)] if dc else obj._fields:
            h.update(f"{name}=".encode())
            _update(h, getattr(obj, name))
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
    """sha256 hex digest of nested dataclasses, NamedTuples, dicts, sequences, scalars, strings and arrays
    (by dtype, shape and bytes); callables by qualified name."""
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


def source_fingerprint(package_dir: str | os.PathLike | None = None) -> str:
    """sha256 over the relative paths and bytes of every ``*.py`` below ``package_dir`` (default ``lstm_ar``): any
    code change invalidates stored chunks. Cached per process: the code that is running, even if the files change."""
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


def _differences(stored: dict, expected: dict) -> str:
    _short = lambda value: text if len(text := json.dumps(value)) <= 24 else text[:21] + "..."
    keys = [k for k in sorted(set(stored) | set(expected), key=str) if stored.get(k) != expected.get(k)]
    return "; ".join(f"{k}: {_short(stored.get(k))} there, {_short(expected.get(k))} in this run" for k in keys)


def _below(folder: pathlib.Path, inside: pathlib.Path | None) -> tuple[str, ...]:
    """The components of ``folder`` after the leading ones it shares with ``inside`` (all without it)."""
    pairs = list(zip(folder.parts, inside.parts)) if inside is not None else []
    return folder.parts[next((i for i, (a, b) in enumerate(pairs) if a != b), len(pairs)):]


class ChunkStore:
    """Finished chunks of one sweep under ``folder`` (see the module docstring).

    ``identity``: JSON-able dict of what the per-seed values depend on (``"code"`` is added). ``resume`` keeps the
    chunks of a run with the same identity; ``any_code`` also those another library version computed (for a code
    change known not to alter the numbers). ``inside``: the output folder; ``begin`` removes nothing outside it nor
    through a symlink below it (default: the parent, then not a symlink). ``fs.UnsafePath`` if ``folder`` has a
    ``..`` component (below ``inside``).
    """

    def __init__(self, folder: str | os.PathLike, identity: dict, *, resume: bool = False,
                 inside: str | os.PathLike | None = None, any_code: bool = False):
        if not isinstance(identity, dict):
            raise TypeError(f"identity must be a dict, got {type(identity).__name__}")
        self.folder, self.inside = pathlib.Path(folder), None if inside is None else pathlib.Path(inside)
        if os.pardir in _below(self.folder, self.inside):
            raise fs.UnsafePath(f"chunk store folder {os.fspath(folder)} has a {os.pardir!r} component"
                                f"{'' if inside is None else f' below {os.fspath(inside)}'}: it could lead out of "
                                f"its output folder; name the folder without {os.pardir!r}")
        self.identity = _normalise({"code": source_fingerprint(), **identity})
        self.resume, self.any_code = bool(resume), bool(any_code)
        self.run_id: str | None = None

    def check_location(self) -> pathlib.Path:
        """The folder the store may not leave (``inside``, or the parent); ``fs.UnsafePath`` if a symlink
        is in the way or the folder is not below ``inside``."""
        if self.inside is not None:
            fs.check_inside(self.folder, inside=self.inside)
            return self.inside
        for path in (self.folder.parent, self.folder):
            if path.is_symlink():
                raise fs.UnsafePath(f"{path} is a symlink (to {os.readlink(path)}): a chunk store is never written "
                                    f"or removed through a link; remove the link or use another output folder")
        return self.folder.parent

    def _read_manifest(self) -> dict | None:
        if not (path := self.folder / MANIFEST).exists():
            return None
        try:
            manifest = json.loads(path.read_text())
            if not isinstance(manifest, dict) or not isinstance(manifest.get("identity"), dict):
                raise ValueError("no identity")
        except (OSError, ValueError) as e:
            raise CorruptChunk(f"{path} cannot be read ({e}); delete the folder {self.folder}, or start over "
                               f"({START_OVER})") from None
        return manifest

    def begin(self, extra: dict | None = None, log=sys.stderr) -> None:
        """Check or write the manifest: the identity plus ``extra`` (``run_seeds`` adds root seed and lanes). ``log``
        hears about discarded chunks (None: silent). ``StoreMismatch`` when resuming a folder of another identity,
        ``fs.UnsafePath`` for a symlink between ``inside`` and the folder."""
        if extra:
            self.identity = {**self.identity, **_normalise(extra)}
        inside = self.check_location()
        manifest = self._read_manifest() if self.resume else None
        if manifest is not None:
            old = manifest["identity"]
            without_code = lambda i: {k: v for k, v in i.items() if k not in ("code", "library")}
            if self.any_code and without_code(old) == without_code(self.identity):
                self.identity = old  # computed by another version of the library: reused as asked
            if old != self.identity:
                raise StoreMismatch(
                    f"{self.folder} holds chunks of a different run (differs in {_differences(old, self.identity)}); "
                    f"delete the folder, use another --out, or start over ({START_OVER})")
            self.run_id = str(manifest.get("run_id", ""))
            return
        if self.folder.exists() or self.folder.is_symlink():  # start over: never mix with chunks of another run
            if (n_old := len(self._chunks())) and log is not None:
                log.write(f"{self.folder}: discarding {n_old} finished chunk(s) of an earlier run"
                          f"{'' if self.resume else ' (--resume continues it)'}\n")
            fs.remove_tree(self.folder, inside=inside)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.run_id = secrets.token_hex(8)
        fs.atomic_write_text(self.folder / MANIFEST, json.dumps({"format": FORMAT, "run_id": self.run_id,
                                                                 "identity": self.identity}, indent=2) + "\n")

    def _chunks(self) -> list[tuple[int, int]]:
        found = (CHUNK_RE.match(p.name) for p in self.folder.iterdir()) if self.folder.is_dir() else ()
        return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)

    def finished(self) -> list[tuple[int, int]]:
        """(start, stop) of the chunk files tiling seeds 0..k without a gap (unverified: ``load`` checks)."""
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
        return max((stop for _, stop in self.finished()), default=0)

    def record(self, start: int, stop: int, n_leaves: int) -> dict:
        """The identity record stored in the chunk of seeds start..stop-1 (see the module docstring)."""
        return {"format": FORMAT, "run_id": self.run_id, "identity": self.identity, "seeds": [int(start), int(stop)],
                "leaves": int(n_leaves)}

    def save(self, start: int, leaves: Sequence[np.ndarray]) -> pathlib.Path:
        """Write the chunk of ``leaves[j]: [n, ...]`` (seeds start..start+n-1) atomically with its record;
        returns its path. ``StoreMismatch`` if the manifest no longer names this run (restarted by another)."""
        if self.run_id is None:
            raise RuntimeError("ChunkStore.save before begin()")
        n = int(np.shape(leaves[0])[0])
        if any(np.shape(a)[0] != n for a in leaves):
            raise ValueError("every leaf of a chunk needs the same leading (seed) length")
        manifest = self._read_manifest()
        if manifest is None or manifest.get("run_id") != self.run_id:
            owner = "nobody (its manifest is gone)" if manifest is None else f"run {manifest.get('run_id')}"
            raise StoreMismatch(f"{self.folder} was restarted by another run while this one (run {self.run_id}) was "
                                f"writing; it now belongs to {owner}. Two runs must not share an output folder: "
                                f"use one --out per run")
        arrays = {**{str(j): np.asarray(a) for j, a in enumerate(leaves)},
                  CHUNK_RECORD: np.asarray(json.dumps(self.record(start, start + n, len(leaves))))}
        with fs.atomic_path(path := self.folder / chunk_name(start, start + n)) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path

    def load(self, start: int, stop: int) -> list[np.ndarray]:
        """The leaves ``[stop - start, ...]`` of the chunk of seeds start..stop-1, once checked that this run
        wrote it: ``CorruptChunk`` if unreadable, ``StoreMismatch`` for another identity, run or seeds, or no record."""
        path = self.folder / chunk_name(start, stop)
        fix = (f"delete {path} and every later chunk (a resumed run keeps the chunks before the first gap and "
               f"recomputes every seed from {start} on), or start over ({START_OVER})")
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
