"""The report folder of ``lstm-ar study`` / ``lstm-ar diagnose``: the scenario's files (``lstm_ar.report.scenario.
write_scenario``, written as a set), ``report.md`` opening with the verdict, the notes, the references and
``diagnose``'s section, and two more figures: ``learned_map.png`` (the user's window-1 model's map, fixed points and
cobweb) and ``beats_reference.png`` (P(beats the best reference) per variant).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence

import numpy as np

from lstm_ar.report.markdown import markdown
from lstm_ar.report.scenario import write_scenario
from lstm_ar.study.experiment import ScenarioResult


def user_figures(out: pathlib.Path, user: dict,
                 own_map: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> list[str]:
    """Draw ``learned_map.png`` (``own_map``: grid f[G], curve f[G], rollout f[T] of the user's window-1 model) and
    ``beats_reference.png`` (``user``: the summary's user section) into ``out``; returns their names."""
    from lstm_ar.report.answer_figures import plot_cobweb, plot_forest

    names = []
    if own_map is not None:
        grid, curve, ys = own_map
        plot_cobweb(out / "learned_map.png", grid, curve[None], ys[None],
                    title="your model: learned map, fixed points and cobweb of its rollout")
        names.append("learned_map.png")
    rows = [(name, v["beats_best_reference"]["value"], *v["beats_best_reference"]["ci95"], v["seeds"])
            for name, v in user["variants"].items() if v["beats_best_reference"]["value"] is not None]
    if rows:
        plot_forest(out / "beats_reference.png", rows, xlabel=f"P(beats {user['best_reference']})",
                    title=f"P(rollout RMSE below {user['best_reference']}'s), Wilson 95% intervals")
        names.append("beats_reference.png")
    return names


def _number(value) -> str:
    """A JSON number as a report shows it ("inf" and None as they are)."""
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def user_markdown(summary: dict, figures: Sequence[str], extra: Sequence[str] = ()) -> str:
    """``report.md``: the verdict, notes, references and ``extra`` Markdown lines (``diagnose``'s section), then
    the scenario's report with ``figures``."""
    user = summary["user"]
    body = markdown(summary, figures).split("\n")
    lines = [body[0], "", "## Verdict", "", *(f"- {s}" for s in user["verdict"]), ""]
    if user["notes"]:
        lines += ["Notes on the data and the variants:", "", *(f"- {n}" for n in user["notes"]), ""]
    lines += ["## References (no LSTM)", "",
              "Each forecast runs from the end of the training part over the held-out values, like the rollouts.", "",
              "| reference | RMSE (your units) | RMSE (model units) |", "|---|---|---|",
              *(f"| {label} | {_number(r['rmse_raw'])} | {_number(r['rmse'])} |" for label, r in user["references"].items()),
              "",
              "| variant | what it is | collapsed | diverged | P(beats the best reference) [95%] |",
              "|---|---|---|---|---|"]
    for name, v in user["variants"].items():
        b = v["beats_best_reference"]
        lines.append(f"| {name} | {v['words']} | {v['collapsed']}/{v['seeds']} | {v['diverged']}/{v['seeds']} | "
                     f"{b['value']:.2f} [{b['ci95'][0]:.2f}, {b['ci95'][1]:.2f}] |")
    lines += ["", *extra]
    return "\n".join([*lines, *body[1:]])


def write_user_report(out_dir: str | os.PathLike, result: ScenarioResult, summary: dict, *, plots: bool = True,
                      extra: Sequence[str] = (),
                      own_map: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> pathlib.Path:
    """Write the study's files to ``out_dir/<scenario>/`` (returned), replacing the previous run's as a set."""
    more_files = lambda stage, plots: user_figures(stage, summary["user"], own_map) if plots else []
    return write_scenario(out_dir, result, summary, plots=plots, more_files=more_files,
                          markdown_text=lambda names: user_markdown(summary, names, extra))
