"""Write a scenario's results under ``out_dir/<scenario>/``: summary.json, per_seed.csv / .npz,
report.md and figures; ``out_dir/REPORT.md`` indexes them (``lstm_ar.report.index``). Files are staged,
then renamed in with ``summary.json`` last, so a folder never mixes two runs and a folder without it
reads as incomplete; symbolic links are replaced, never written through. ``summary.json`` records the sha256
of the per-seed files written with it (``DIGESTS``), so that a rewrite (``lstm-ar report``) can tell them its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from lstm_ar.report.index import REPORT_FILES, SUMMARY
from lstm_ar.report.markdown import markdown
from lstm_ar.report.scenario_figures import write_figures
from lstm_ar.runtime.fs import atomic_path, atomic_write_bytes, atomic_write_text, remove_tree
from lstm_ar.study.experiment import ScenarioResult, map_grid

STAGING = ".staging-"
DIGESTS = "sha256"  # summary.json's entry: per-seed file name -> the sha256 (hex) of the bytes written with it


def file_digest(path: str | os.PathLike) -> str:
    """The sha256 (hex) of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_json(path: str | os.PathLike, obj: Any) -> pathlib.Path:
    """Write ``obj`` as indented JSON (NaN refused) to ``path`` atomically, creating its folder."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
    return path


def per_seed_csv(result: ScenarioResult) -> bytes:
    """The ``per_seed.csv`` bytes: one row per (variant, seed), or per (variant, seed, draw) for a run
    over draws of the data (``ScenarioResult.draws`` > 1), one column per metric (sorted), CRLF lines."""
    rows, ids = [], ["variant", "seed"] + (["draw"] if result.draws > 1 else [])
    for name, v in result.variants.items():
        keys = sorted(v.metrics)
        for i in range(result.seeds):
            for r in range(result.draws):
                at = (i, r) if result.draws > 1 else (i,)
                rows.append({**dict(zip(ids, (name, *at))), **{k: float(v.metrics[k][at]) for k in keys}})
    fields = ids + sorted({k for r in rows for k in r} - set(ids))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def read_per_seed(path: str | os.PathLike, group: str = "variant", axes: tuple[str, ...] = ("seed", "draw"),
                  ) -> dict[str, dict[str, np.ndarray]]:
    """The inverse of ``per_seed_csv`` (and of the cure's ``pairs.csv``): ``group`` value -> metric -> f64[...],
    indexed by the integer columns ``axes`` (each from 0; a metric with no value in a group is left out).
    ValueError: a column missing, or a group without exactly one line per cell."""
    with open(path, newline="") as f:
        table = list(csv.DictReader(f))
    missing = [c for c in (group, *axes) if table and c not in table[0]]
    if missing or not table:
        raise ValueError(f"{path}: no {', '.join(missing) or 'rows'} column(s)")
    metrics = [k for k in table[0] if k not in (group, *axes)]
    shape = tuple(1 + max(int(r[a]) for r in table) for a in axes)
    out: dict[str, dict[str, np.ndarray]] = {}
    seen: dict[str, set] = {}
    for r in table:
        cells = out.setdefault(r[group], {k: np.full(shape, np.nan) for k in metrics})
        at = tuple(int(r[a]) for a in axes)
        seen.setdefault(r[group], set()).add(at)
        for k in metrics:
            cells[k][at] = float(r[k]) if r[k] != "" else np.nan
    counts = {g: sum(r[group] == g for r in table) for g in out}
    if bad := [g for g in out if not counts[g] == len(seen[g]) == int(np.prod(shape))]:
        raise ValueError(f"{path}: {bad[0]!r} does not have one line per {' x '.join(axes)} cell "
                         f"({counts[bad[0]]} lines for {int(np.prod(shape))} cells)")
    return {g: {k: v for k, v in cells.items() if not np.isnan(v).all()} for g, cells in out.items()}


def write_per_seed(out: str | os.PathLike, result: ScenarioResult) -> dict[str, str]:
    """Write ``per_seed.csv`` and ``per_seed.npz`` (every metric, rollout, epoch loss and window-1 map) into ``out``
    (no ``per_seed.npz`` for metrics read back from a ``per_seed.csv``: no rollouts). Returns file name -> sha256
    of what was written."""
    out = pathlib.Path(out)
    arrays = {}
    for name, v in result.variants.items():
        arrays.update({**{f"{name}/{k}": v.metrics[k] for k in sorted(v.metrics)}, f"{name}/rollouts": v.rollouts,
                       f"{name}/epoch_loss": v.epoch_loss})
        if getattr(v, "map_curve", None) is not None:
            arrays[f"{name}/map_curve"] = v.map_curve
            arrays["map_grid"] = map_grid(result.scenario)
    table = per_seed_csv(result)
    atomic_write_bytes(out / "per_seed.csv", table)
    digests = {"per_seed.csv": hashlib.sha256(table).hexdigest()}
    if all(v.rollouts.size == 0 for v in result.variants.values()):
        return digests  # metrics read back from per_seed.csv: no arrays to keep
    with atomic_path(out / "per_seed.npz") as tmp:
        with open(tmp, "wb") as f:  # a file object: no ".npz" appended
            np.savez_compressed(f, root_seed=result.root_seed, **arrays)
        digests["per_seed.npz"] = file_digest(tmp)
    return digests


def scenario_folder(out_dir: str | os.PathLike, name: str) -> pathlib.Path:
    """``out_dir/name`` (may not exist yet); ValueError if it is a symbolic link or not a folder."""
    folder = pathlib.Path(out_dir) / name
    if folder.is_symlink():
        raise ValueError(f"{folder} is a symbolic link: results are written only inside {out_dir}; "
                         "remove the link or choose another --out")
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} exists and is not a folder; remove it or choose another --out")
    return folder


def write_scenario(out_dir: str | os.PathLike, result: ScenarioResult, summary: dict, *,
                   plots: bool = True, more_files: Callable[[pathlib.Path, bool], list[str]] | None = None,
                   markdown_text: Callable[[list[str]], str] | None = None) -> pathlib.Path:
    """Write a scenario's files to ``out_dir/<scenario>/`` (returned), staged, then replacing the old as a set.
    ``more_files(stage, plots)`` writes more files and returns the figure names among them;
    ``markdown_text(figure_names)`` replaces ``markdown(summary, figure_names)`` as ``report.md``."""
    out = scenario_folder(out_dir, result.scenario.name)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f"{STAGING}{os.getpid()}"
    remove_stale_staging(out, inside=out_dir)
    stage.mkdir()
    try:
        digests = write_per_seed(stage, result)
        names = write_figures(stage, result, summary) if plots else []
        if more_files is not None:
            names += more_files(stage, plots)
        atomic_write_text(stage / "report.md", markdown(summary, names) if markdown_text is None else markdown_text(names))
        write_json(stage / SUMMARY, {**summary, DIGESTS: digests})
        commit_stage(stage, out)
    finally:
        if os.path.lexists(stage):
            remove_tree(stage, inside=out_dir)
    return out


def remove_stale_staging(folder: pathlib.Path, *, inside: str | os.PathLike) -> None:
    """Remove staging folders a killed run left in ``folder`` (the caller holds the lock), only inside ``inside``."""
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING):
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink()  # the link itself, never its target
            else:
                remove_tree(entry, inside=inside)


def commit_stage(stage: pathlib.Path, out: pathlib.Path, key: str = SUMMARY) -> None:
    """Move the files of ``stage`` (inside ``out``) into the scenario folder ``out`` as a set: the old
    ``key`` file (``summary.json``) goes first, the new files are renamed in, the previous run's report files and
    figures this run does not write are removed, and the new ``key`` file comes last."""
    new = sorted(p.name for p in stage.iterdir())
    if os.path.lexists(old_summary := out / key):
        old_summary.unlink()  # from here until the last rename the folder reads as incomplete
    for name in new:
        if name != key:
            os.replace(stage / name, out / name)  # replaces a symbolic link, never writes through it
    for entry in out.iterdir():  # the previous run's figures and files this run does not write
        if entry.name not in new and (entry.name in (*REPORT_FILES, key) or entry.suffix == ".png") \
                and (entry.is_symlink() or entry.is_file()):
            entry.unlink()
    os.replace(stage / key, out / key)
