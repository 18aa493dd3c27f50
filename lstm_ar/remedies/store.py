"""Finished recipes on disk: each saved atomically as it completes, reused by a resumed run only
if it was computed by this very code on this very question.

A recipe's result is ``<folder>/<name>.npz`` (the per-pair metrics, kept rollouts, epoch losses)
beside ``<name>.json`` (its identity: recipe, setting, seeds, realisations, root seed, noise level,
and the sha256 of the source files the numbers depend on). ``load`` returns None when either file
is missing or the identity differs, so a changed recipe or changed code is recomputed, never mixed.
"""

from __future__ import annotations

import hashlib
import io
import json
import pathlib
from typing import Any

import numpy as np

from lstm_ar.remedies.search import PairResult
from lstm_ar.study.fs import atomic_write_bytes, atomic_write_text

PACKAGE = pathlib.Path(__file__).resolve().parent.parent
# The sources a recipe's numbers depend on: training, rollouts, metrics, data, references, and the
# sweep that derives the seed keys. The report code is left out (a later run may re-report).
DEPENDS_ON = ("remedies", "model", "training", "linear", "kernels", "dynamics", "data", "config.py",
              "activations.py", "checks.py", "study/sweep.py", "study/distributed.py")
NOT_NUMBERS = ("remedies/report.py", "remedies/figures.py", "remedies/store.py", "remedies/cause.py",
               "remedies/backtest.py")


def code_identity() -> str:
    """sha256 over the sources in ``DEPENDS_ON`` but not ``NOT_NUMBERS`` (file names and bytes, sorted)."""
    digest = hashlib.sha256()
    for entry in DEPENDS_ON:
        path = PACKAGE / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.relative_to(PACKAGE).as_posix() in NOT_NUMBERS:
                continue
            digest.update(str(file.relative_to(PACKAGE)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


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
