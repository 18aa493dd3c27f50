"""The output folder's ``REPORT.md``: this run's scenarios with every verdict, then the other scenario folders already
there (flagged when another command, seed count or root seed wrote them, or listed with the reason they cannot be
indexed). Written atomically, replacing a symbolic link.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from lstm_ar.runtime.fs import atomic_write_text

SUMMARY, INDEX = "summary.json", "REPORT.md"
# a scenario folder's files besides figures (*.png); remedies_per_seed.csv: written by earlier versions of
# lstm-ar study (removed with the set when a study is rewritten)
REPORT_FILES = (SUMMARY, "report.md", "per_seed.csv", "per_seed.npz", "remedies_per_seed.csv")


def read_summaries(out_dir: str | os.PathLike) -> tuple[dict[str, dict], dict[str, str]]:
    """(name -> summary, name -> why a folder with report files has no usable summary) of the scenarios in
    ``out_dir``: every ``<name>/summary.json``, symbolic links skipped."""
    out, found, problems = pathlib.Path(out_dir), {}, {}
    if not out.is_dir():
        return found, problems
    for folder in sorted(out.iterdir()):
        if folder.name.startswith(".") or folder.is_symlink() or not folder.is_dir():
            continue
        path = folder / SUMMARY
        if path.is_symlink():
            problems[folder.name] = f"{SUMMARY} is a symbolic link (not read)"
        elif path.is_file():
            try:
                summary = json.loads(path.read_text())
                if not _is_summary(summary):
                    raise ValueError("not a scenario summary")
                found[folder.name] = summary
            except (OSError, ValueError) as err:
                problems[folder.name] = f"{SUMMARY} is unreadable ({err})"
        elif any((folder / name).exists() for name in REPORT_FILES[1:]):
            problems[folder.name] = f"incomplete: report files without {SUMMARY} (a run stopped while writing)"
    return found, problems


def _is_summary(summary: Any) -> bool:
    return (isinstance(summary, dict) and isinstance(summary.get("title"), str) and isinstance(summary.get("seeds"), int)
            and isinstance(summary.get("runtime_s", 0.0), (int, float)) and isinstance(summary.get("claims"), list)
            and all(isinstance(c, dict) and {"id", "text", "verdict"} <= set(c) for c in summary["claims"]))


def index_markdown(summaries: Sequence[dict], command: str, *, others: dict[str, dict] | None = None,
                   problems: dict[str, str] | None = None, title: str = "", pending: Sequence[str] = ()) -> str:
    """The ``REPORT.md`` text: this run's ``summaries``, then ``others`` (name -> summary from earlier runs, flagged
    when another command, seed count or root seed wrote it) and ``problems`` (name -> why not indexed). ``title``
    heads it when every scenario comes from this run; ``pending``: the scenarios this command has not written yet
    (the index is marked incomplete)."""
    others, problems = others or {}, problems or {}
    seeds = {(s["seeds"], s["root_seed"]) for s in summaries}
    mixed = bool(others or problems)
    lines = [f"# {'lstm_ar results' if mixed else title or 'lstm_ar results'}", "", f"Command: `{command}`", ""]
    if pending:
        lines += [f"> **Incomplete**: this command had not finished when this index was written (it is running, or "
                  f"it stopped): {len(pending)} of its scenarios are not written yet ({', '.join(pending)}). A "
                  "scenario below from an earlier run says so, with that run's command and root seed.", ""]
    if mixed:
        lines += [f"This run ({title or 'lstm_ar'}) wrote {len(summaries)} scenario(s); the folder also holds "
                  f"{len(others) + len(problems)} from earlier runs, listed after them.", ""]

    def section(s: dict, note: str = "") -> list[str]:
        out = [f"## [{s['title']}]({s['scenario']}/report.md)", ""]
        out += [f"> {note}", ""] if note else []
        out += [f"{s['seeds']} seeds on `{s.get('device', '?')}`, {float(s.get('runtime_s', 0.0)):.1f} s.", "",
                "| id | claim | verdict |", "|---|---|---|"]
        out += [f"| {c['id']} | {c['text']} | **{c['verdict']}** |" for c in s["claims"]]
        return out + [""]

    for s in summaries:
        lines += section(s)
    for name, s in others.items():
        same = s.get("command") == command and (s.get("seeds"), s.get("root_seed")) in seeds
        note = "" if same else (f"From an earlier run: `{s.get('command', 'unknown command')}`, {s.get('seeds')} seeds, "
                                f"root seed {s.get('root_seed')}.")
        lines += section({**s, "scenario": name}, note)
    for name, why in problems.items():
        lines += [f"## {name}", "", f"> Not indexed: {why}.", ""]
    return "\n".join(lines)


def write_index(out_dir: str | os.PathLike, summaries: Sequence[dict], command: str, *,
                title: str = "", pending: Sequence[str] = ()) -> pathlib.Path:
    """Write (and return the path of) ``out_dir/REPORT.md``: this run's scenarios with every verdict, merged with
    the other scenario folders already in ``out_dir``; ``pending``: this run's scenarios not written yet."""
    out = pathlib.Path(out_dir)
    found, problems = read_summaries(out)
    mine = {s["scenario"] for s in summaries}
    others, problems = ({k: v for k, v in d.items() if k not in mine} for d in (found, problems))
    if (path := out / INDEX).is_symlink():  # replace the link, never write through it
        path.unlink()
    atomic_write_text(path, index_markdown(summaries, command, others=others, problems=problems, title=title,
                                           pending=pending))
    return path
