"""The report folder of ``lstm-ar study`` / ``lstm-ar diagnose``: the scenario's usual files, the
verdict at the top of ``report.md``, and two more figures.

Files under ``out_dir/<name>/``: those of ``lstm_ar.report.scenario.write_scenario`` (``summary.json``,
``per_seed.csv``, ``per_seed.npz``, ``report.md``, ``rollouts.png``, ...) plus

* ``learned_map.png`` (``diagnose``, a window-1 model): the user's own model's map f(x) against
  the identity, its fixed points with |f'|, and a cobweb of its rollout
  (``lstm_ar.report.answer_figures.plot_cobweb``; the retrained window-1 variants get theirs from
  the scenario's report, ``cobweb_<variant>.png``);
* ``beats_reference.png``: P(beats the best reference) per variant, the reference the verdict
  names, with its Wilson interval (``plot_forest``).

Every remedy, the direct head included, is a variant of the scenario: its per-seed values are in
``per_seed.csv`` with the others.

``report.md`` opens with the verdict, the notes about the data, the references and, for
``diagnose``, the user's model's own section, then the scenario's report. Everything is written
by ``write_scenario`` (its ``more_files`` and ``markdown_text``): to a staging folder, then renamed into
place as a set, ``summary.json`` last.
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
    """Draw ``learned_map.png`` and ``beats_reference.png`` into ``out``.

    Args:
        out: an existing folder.
        user: the summary's user section (``lstm_ar.user.study.judge``).
        own_map: (grid f[G], curve f[G], rollout f[T]) of the user's own window-1 model (``diagnose``).

    Returns:
        The file names drawn.
    """
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
    """``report.md``: the verdict, notes, references and ``extra`` lines, then the scenario's report.

    Args:
        summary: the summary with its ``user`` section.
        figures: every figure's file name.
        extra: more Markdown lines after the references (``diagnose``'s section).

    Returns:
        Markdown text.
    """
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
    """Write the study's files to ``out_dir/<scenario>/``, replacing the previous run's as a set.

    Args:
        out_dir: the output folder.
        result: the scenario's results.
        summary: its summary with the ``user`` section.
        plots: draw the figures (needs matplotlib).
        extra: more Markdown lines for ``report.md`` (after the references).
        own_map: the user's own model's map (``user_figures``).

    Returns:
        The scenario's folder.
    """
    def more_files(stage: pathlib.Path, plots: bool) -> list[str]:
        return user_figures(stage, summary["user"], own_map) if plots else []

    return write_scenario(out_dir, result, summary, plots=plots, more_files=more_files,
                          markdown_text=lambda names: user_markdown(summary, names, extra))
