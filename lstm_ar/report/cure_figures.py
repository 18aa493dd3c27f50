"""The cure search's figures (the study's plotting functions; matplotlib is the ``plots`` extra):
``forest.png`` (P(RMSE beats AR(p*)) per row with its interval), ``survival.png`` (share of pairs still
valid after t steps, best rows and references), ``epoch_loss.png`` (training loss, median and 10-90%
band, best rows) and ``rollouts.png`` (best rows' kept rollouts on realisation 0 against the truth,
beside AR(p*)).
"""

from __future__ import annotations

import pathlib

import numpy as np

from lstm_ar.study.pairs import PairResult
from lstm_ar.study.references import RealisationReferences

TOP = 5  # rows drawn in the survival, loss and rollout figures


def write_forest(out: pathlib.Path, summary: dict) -> list[str]:
    """``forest.png`` (P(beats AR(p*)) per row with its interval) from the summary alone: ["forest.png"], or []
    when no row has a comparison."""
    from lstm_ar.report.answer_figures import plot_forest

    rows, order = summary["rows"], summary["frontier"]
    forest = [(name, b["prob_a_better"], *b["ci95"], b["n"]) for name in order
              if (b := rows[name]["beats_best_ar"])["prob_a_better"] is not None]
    if not forest:
        return []
    plot_forest(out / "forest.png", forest, xlabel=f"P(rollout RMSE beats AR({summary['best_ar_order']}))",
                title="Which recipe beats the best least-squares AR? (seed x realisation, crossed intervals)")
    return ["forest.png"]


def write_all(out: pathlib.Path, results: dict[str, PairResult], refs: RealisationReferences, summary: dict) -> list[str]:
    """Draw every figure into ``out``; returns the file names (relative to ``out``)."""
    from lstm_ar.data.realisations import sine_realisations
    from lstm_ar.report.answer_figures import plot_loss_curves, plot_survival
    from lstm_ar.report.figures import plot_rollout_fan

    order = summary["frontier"]
    top, names = order[:TOP], write_forest(out, summary)
    steps = summary["steps"]
    horizons = {**{name: results[name].metrics["valid_horizon"].reshape(-1) for name in top},
                f"AR({refs.best_order})": refs.best()["valid_horizon"], "AR(AIC)": refs.aic["valid_horizon"]}
    plot_survival(out / "survival.png", horizons, steps, title="Valid horizon: share of pairs still within 0.5 std")
    losses = {name: results[name].epoch_loss.reshape(-1, results[name].epoch_loss.shape[-1]) for name in top}
    plot_loss_curves(out / "epoch_loss.png", losses, title="Training loss per epoch (median, 10-90% of pairs)")
    fan = {name: results[name].rollouts[:, 0] for name in top}
    fan[f"AR({refs.best_order})"] = refs.rollouts[f"AR({refs.best_order})"][:1]
    medians = {k: np.median(v, axis=0) for k, v in fan.items()}
    data = sine_realisations(1, steps=steps, noise=summary["noise"])
    plot_rollout_fan(out / "rollouts.png", fan, medians=medians, context=data.context[0][-200:], truth=data.truth[0],
                     title="Rollouts on realisation 0 (the article's draw): kept seeds of the best rows",
                     all_rollouts=fan, scale=float(data.scale[0]), median_label=f"median of the {len(fan[top[0]])} seeds shown")
    return names + ["survival.png", "epoch_loss.png", "rollouts.png"]
