"""Stream per-seed results to disk chunk by chunk, so a stopped sweep resumes where it stopped.

A ``ChunkStore`` is a folder::

    manifest.json                      what produced the chunks: identity + fingerprint
    seeds-000000000-000000256.npz      leaves "0", "1", ... of the per-seed result pytree, [256, ...]
    seeds-000000256-000000512.npz      ...

``begin(identity)`` starts a run. With ``resume`` True and a manifest whose identity equals
``identity``, the finished chunks are kept and ``finished_until()`` says where to go on; a
manifest with a different identity raises ``StoreMismatch`` (results of different runs are never
mixed). With ``resume`` False any old chunks are deleted first. Each chunk file is written to a
temporary name and renamed, so a run killed mid-write leaves no half file. Chunks hold every
computed seed, padding included (seeds >= n_seeds are real seeds too), so a run can be extended
to more seeds. ``fingerprint`` hashes nested Python / numpy values (arrays by their bytes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import re
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
CHUNK_RE = re.compile(r"^seeds-(\d{9})-(\d{9})\.npz$")


class StoreMismatch(ValueError):
    """The folder holds chunks of a different run (config, code, seeds or lanes differ)."""


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
    """sha256 hex digest of a nested structure of dataclasses, NamedTuples, dicts, sequences,
    numbers, strings and arrays (by dtype, shape and bytes); callables by qualified name."""
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


def source_fingerprint(package_dir: pathlib.Path | None = None) -> str:
    """sha256 of every source file of the library (all sub-packages): any code change
    invalidates stored chunks."""
    folder = pathlib.Path(package_dir or pathlib.Path(__file__).parents[1])
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        h.update(path.relative_to(folder).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def chunk_name(start: int, stop: int) -> str:
    return f"seeds-{start:09d}-{stop:09d}.npz"


class ChunkStore:
    """Finished chunks of one sweep under ``folder`` (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike, identity: dict, *, resume: bool = False):
        self.folder = pathlib.Path(folder)
        self.identity = json.loads(json.dumps(identity))  # JSON-normalised, as stored
        self.resume = resume

    def begin(self, extra: dict | None = None, log=sys.stderr) -> None:
        """Check or write the manifest (``identity`` plus ``extra``, e.g. root seed and lanes)."""
        if extra:
            self.identity = {**self.identity, **json.loads(json.dumps(extra))}
        manifest = self.folder / MANIFEST
        if self.resume and manifest.exists():
            old = json.loads(manifest.read_text()).get("identity", {})
            if old == self.identity:
                return
            differ = [k for k in sorted(set(old) | set(self.identity)) if old.get(k) != self.identity.get(k)]
            raise StoreMismatch(
                f"{self.folder} holds chunks of a different run (differs in: {', '.join(differ)}); "
                f"delete the folder, use another --out, or run without --resume to start over")
        if self.folder.exists():  # start over: never mix with chunks of unknown or other origin
            n_old = len(self._chunks())
            if n_old and log is not None:
                log.write(f"{self.folder}: discarding {n_old} finished chunk(s) of an earlier run"
                          f"{'' if self.resume else ' (pass --resume to continue it)'}\n")
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(manifest, (json.dumps({"identity": self.identity}, indent=2) + "\n").encode())

    def _chunks(self) -> list[tuple[int, int]]:
        if not self.folder.is_dir():
            return []
        found = (CHUNK_RE.match(p.name) for p in self.folder.iterdir())
        return sorted((int(m.group(1)), int(m.group(2))) for m in found if m)

    def finished(self) -> list[tuple[int, int]]:
        """(start, stop) of the finished chunks that tile seeds 0..k without a gap."""
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

    def save(self, start: int, leaves: Sequence[np.ndarray]) -> pathlib.Path:
        """Write one chunk: ``leaves[j]: [stop - start, ...]`` for seeds start..stop-1."""
        n = int(np.shape(leaves[0])[0])
        if any(np.shape(a)[0] != n for a in leaves):
            raise ValueError("every leaf of a chunk needs the same leading (seed) length")
        path = self.folder / chunk_name(start, start + n)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **{str(j): np.asarray(a) for j, a in enumerate(leaves)})
        os.replace(tmp, path)
        return path

    def load(self, start: int, stop: int) -> list[np.ndarray]:
        with np.load(self.folder / chunk_name(start, stop)) as data:
            return [data[str(j)] for j in range(len(data.files))]


def _atomic_write(path: pathlib.Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
