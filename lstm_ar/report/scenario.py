"""Write a scenario's results: summary.json, per-seed values, report.md and figures.

Files under ``out_dir/<scenario>/``:

* ``summary.json``: statistics per variant, paired comparisons, claim verdicts and the run's
  provenance (command, git commit, library versions: ``lstm_ar.runtime.provenance``).
* ``per_seed.csv`` and ``per_seed.npz``: every per-seed value (the npz also holds all rollouts
  and epoch losses, and for window-1 maps ``<variant>/map_curve``, f(x) of the first seeds at
  ``map_grid``), so anyone can recompute the statistics.
* ``report.md``: the claims with verdicts and a table per variant (``lstm_ar.report.markdown``).
* ``rollouts.png``, a ``<metric>.png`` per figure metric and, with diagnostics,
  ``gradient_flow.png`` (``lstm_ar.report.scenario_figures``).

``out_dir/REPORT.md`` indexes every scenario folder that holds a ``summary.json``
(``lstm_ar.report.index``).

Nothing is written in place: a scenario's files are first written to a staging folder
(``<scenario>/.staging-<pid>``), then renamed over the old ones, ``summary.json`` last, so a
folder never mixes two runs' files; a write that fails leaves the old files as they were. A
folder whose files are there but whose ``summary.json`` is not is reported as incomplete. A
rename replaces a symbolic link rather than writing through it, and a symlinked scenario folder
is refused (nothing is written outside ``out_dir``); ``REPORT.md`` likewise replaces a link.

The names of the modules this one was split into stay importable from here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np

from lstm_ar.report.index import INDEX as INDEX
from lstm_ar.report.index import REPORT_FILES, SUMMARY
from lstm_ar.report.index import index_markdown as index_markdown
from lstm_ar.report.index import read_summaries as read_summaries
from lstm_ar.report.index import write_index as write_index
from lstm_ar.report.markdown import markdown
from lstm_ar.report.markdown import provenance_line as provenance_line
from lstm_ar.report.scenario_figures import CONTEXT_SHOWN as CONTEXT_SHOWN
from lstm_ar.report.scenario_figures import FLOOR as FLOOR
from lstm_ar.report.scenario_figures import write_figures
from lstm_ar.runtime.fs import atomic_path, atomic_write_bytes, atomic_write_text, remove_tree
from lstm_ar.runtime.provenance import GIT_TIMEOUT_S as GIT_TIMEOUT_S
from lstm_ar.runtime.provenance import VERSIONED as VERSIONED
from lstm_ar.runtime.provenance import git_state as git_state
from lstm_ar.runtime.provenance import provenance as provenance
from lstm_ar.study.experiment import ScenarioResult, map_grid

STAGING = ".staging-"


def write_json(path: str | os.PathLike, obj: Any) -> pathlib.Path:
    """Write ``obj`` as indented JSON (NaN refused) to ``path`` through a temporary file and a rename.

    Args:
        path: the file to write; its folder is created if needed.
        obj: a JSON-serialisable object with finite floats.

    Returns:
        ``path`` as a ``pathlib.Path``.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")
    return path


def per_seed_csv(result: ScenarioResult) -> bytes:
    """The ``per_seed.csv`` bytes: one row per (variant, seed), one column per metric (sorted), CRLF lines.

    Args:
        result: a scenario's results (metrics f[n_seeds] per variant).

    Returns:
        The CSV file's content.
    """
    rows = []
    for name, v in result.variants.items():
        keys = sorted(v.metrics)
        for i in range(result.seeds):
            rows.append({"variant": name, "seed": i, **{k: float(v.metrics[k][i]) for k in keys}})
    fields = ["variant", "seed"] + sorted({k for r in rows for k in r} - {"variant", "seed"})
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def write_per_seed(out: str | os.PathLike, result: ScenarioResult) -> None:
    """Write ``per_seed.csv`` and ``per_seed.npz`` (every metric, rollout, epoch loss and window-1 map) into ``out``.

    Args:
        out: an existing folder.
        result: a scenario's results.
    """
    out = pathlib.Path(out)
    arrays = {}
    for name, v in result.variants.items():
        arrays.update({f"{name}/{k}": v.metrics[k] for k in sorted(v.metrics)})
        arrays[f"{name}/rollouts"] = v.rollouts
        arrays[f"{name}/epoch_loss"] = v.epoch_loss
        if getattr(v, "map_curve", None) is not None:
            arrays[f"{name}/map_curve"] = v.map_curve
            arrays["map_grid"] = map_grid(result.scenario)
    atomic_write_bytes(out / "per_seed.csv", per_seed_csv(result))
    with atomic_path(out / "per_seed.npz") as tmp, open(tmp, "wb") as f:  # a file object: no ".npz" appended
        np.savez_compressed(f, root_seed=result.root_seed, **arrays)


def scenario_folder(out_dir: str | os.PathLike, name: str) -> pathlib.Path:
    """``out_dir/name``, refused if it is a symbolic link or not a folder (nothing is written outside ``out_dir``).

    Args:
        out_dir: the output folder.
        name: a scenario name.

    Returns:
        The scenario's folder (it may not exist yet).

    Raises:
        ValueError: the path is a symbolic link, or exists and is not a folder.
    """
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
    """Write a scenario's report files to ``out_dir/<scenario>/``, replacing the previous run's as a set.

    Every file is written to a staging folder first; then the old ``summary.json`` is removed, the
    new files are renamed into place, old figures the new run does not make are removed, and the
    new ``summary.json`` is renamed in last. A failure while writing leaves the old files intact.

    Args:
        out_dir: the output folder.
        result: the scenario's results.
        summary: its ``summary.json`` dictionary (``lstm_ar.study.experiment.summarise``, plus provenance).
        plots: also draw the PNG figures (needs matplotlib).
        more_files: ``more_files(stage, plots)`` writes more files into the staging folder and returns
            the names of the figures among them (``lstm_ar.user.report``: the user's figures).
        markdown_text: ``markdown_text(figure_names) -> report.md`` (default ``report_markdown.markdown``).

    Returns:
        The scenario's folder.
    """
    out = scenario_folder(out_dir, result.scenario.name)
    out.mkdir(parents=True, exist_ok=True)
    stage = out / f"{STAGING}{os.getpid()}"
    remove_stale_staging(out, inside=out_dir)
    stage.mkdir()
    try:
        write_per_seed(stage, result)
        names = write_figures(stage, result, summary) if plots else []
        if more_files is not None:
            names += more_files(stage, plots)
        atomic_write_text(stage / "report.md", markdown(summary, names) if markdown_text is None else markdown_text(names))
        write_json(stage / SUMMARY, summary)
        commit_stage(stage, out)
    finally:
        if os.path.lexists(stage):
            remove_tree(stage, inside=out_dir)
    return out


def remove_stale_staging(folder: pathlib.Path, *, inside: str | os.PathLike) -> None:
    """Remove staging folders a killed run left in ``folder`` (the caller holds the output lock).

    Args:
        folder: a scenario folder.
        inside: the output folder (nothing outside it is removed).
    """
    for entry in folder.iterdir():
        if entry.name.startswith(STAGING):
            if entry.is_symlink() or not entry.is_dir():
                entry.unlink()  # the link itself, never its target
            else:
                remove_tree(entry, inside=inside)


def commit_stage(stage: pathlib.Path, out: pathlib.Path) -> None:
    """Move a staging folder's files into the scenario folder as a set (see ``write_scenario``):
    the old ``summary.json`` goes first, the new files are renamed in, the previous run's report
    files and figures this run does not write are removed, and the new ``summary.json`` comes last.

    Args:
        stage: the staging folder (inside ``out``), holding every file of the run and its ``summary.json``.
        out: the scenario folder.
    """
    new = sorted(p.name for p in stage.iterdir())
    old_summary = out / SUMMARY
    if os.path.lexists(old_summary):
        old_summary.unlink()  # from here until the last rename the folder reads as incomplete
    for name in new:
        if name != SUMMARY:
            os.replace(stage / name, out / name)  # replaces a symbolic link, never writes through it
    for entry in out.iterdir():  # the previous run's figures and files this run does not write
        if entry.name not in new and (entry.name in REPORT_FILES or entry.suffix == ".png") \
                and (entry.is_symlink() or entry.is_file()):
            entry.unlink()
    os.replace(stage / SUMMARY, out / SUMMARY)
