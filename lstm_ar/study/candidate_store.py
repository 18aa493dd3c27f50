"""Finished recipes on disk: each saved atomically as it completes, reused by a resumed run only
if it was computed by this very code on this very question.

A recipe's result is ``<folder>/<name>.npz`` (the per-pair metrics, kept rollouts, epoch losses)
beside ``<name>.json`` (its identity: configuration, setting, seeds, realisations, root seed, noise
level, and the code: ``lstm_ar.runtime.chunk_store.source_fingerprint``, the one code identity of
every stored result). ``load`` returns None when either file
is missing or the identity differs, so a changed recipe or changed code is recomputed, never mixed.
"""

from __future__ import annotations

import io
import json
import pathlib
from typing import Any

import numpy as np

from lstm_ar.runtime.chunk_store import source_fingerprint
from lstm_ar.runtime.fs import atomic_write_bytes, atomic_write_text
from lstm_ar.study.pairs import PairResult


def code_identity() -> str:
    """The code a result was computed with: ``source_fingerprint`` (every source file of the library)."""
    return source_fingerprint()


def save(folder: pathlib.Path, name: str, result: PairResult, identity: dict[str, Any],
         record: dict[str, Any] | None = None) -> None:
    """Write ``name.npz`` then ``name.json`` atomically (the identity last: a half-saved result is
    never taken for a whole one). ``record`` (e.g. run time, device) is stored beside the identity
    and not compared."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, rollouts=result.rollouts, epoch_loss=result.epoch_loss,
                        **{f"metric/{k}": v for k, v in result.metrics.items()})
    atomic_write_bytes(folder / f"{name}.npz", buffer.getvalue(), inside=folder.parent)
    meta = {**identity, "record": record or {}}
    atomic_write_text(folder / f"{name}.json", json.dumps(meta, indent=1, sort_keys=True), inside=folder.parent)


def saved_meta(folder: pathlib.Path, name: str) -> dict[str, Any]:
    """What a saved result records: its identity (with the code it was computed with) and ``record``."""
    try:
        meta = json.loads((folder / f"{name}.json").read_text())
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        return {}


def load(folder: pathlib.Path, name: str, identity: dict[str, Any], *, any_code: bool = False) -> PairResult | None:
    """The saved result of ``name`` if its identity equals ``identity``, else None. With
    ``any_code`` the code identity may differ (the question must still be the same): for a code
    change known not to alter the numbers; the caller records which code computed the result."""
    meta, arrays = folder / f"{name}.json", folder / f"{name}.npz"
    if not (meta.is_file() and arrays.is_file()):
        return None
    try:
        saved = json.loads(meta.read_text())
        wanted = json.loads(json.dumps(identity, sort_keys=True))
        saved = {k: saved.get(k) for k in wanted}
        if any_code:
            saved, wanted = ({k: v for k, v in d.items() if k != "code"} for d in (saved, wanted))
        if saved != wanted:
            return None
        with np.load(arrays) as z:
            metrics = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith("metric/")}
            return PairResult(metrics=metrics, rollouts=z["rollouts"], epoch_loss=z["epoch_loss"])
    except (OSError, ValueError, KeyError):
        return None
