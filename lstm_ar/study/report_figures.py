"""The figures of a scenario's report: the rollout fan, one per-seed distribution per figure
metric, and the gradient flow when the scenario has its diagnostics.

* ``rollouts.png``: ``N_FAN`` seeds' free-running rollouts and the median of all seeds, per
  variant, after the last ``CONTEXT_SHOWN`` context values and beside the truth.
* ``<metric>.png`` for every metric in ``Scenario.figures`` (``key_metric`` alone when it is
  empty; the file name is ``figure_file(metric)``). ``tail_std_ratio`` is drawn on a log axis with
  the collapse threshold, exact fixed points (a tail std of 0) at ``FLOOR``; another metric is
  drawn on a log axis when all its finite values are positive and span at least ``LOG_SPAN``.
* ``gradient_flow.png``: the median and interquartile band over seeds of ``grad_k{k}`` against k.

The plotting itself is ``lstm_ar.study.figures`` (matplotlib, imported when a figure is drawn).
"""

from __future__ import annotations

import pathlib
import re
import warnings
from collections.abc import Sequence

import numpy as np

from lstm_ar.dynamics.collapse import COLLAPSE_THRESHOLD
from lstm_ar.study import metrics as registry
from lstm_ar.study.experiment import N_FAN, ScenarioResult

CONTEXT_SHOWN = 60
FLOOR = 1e-9  # exact fixed points give a tail std of 0: drawn at FLOOR on the log axis
LOG_SPAN = 100.0  # max / min of a positive metric from which its distribution is drawn on a log axis
FIXED = ("rollouts.png", "gradient_flow.png")  # figure files that are not a metric's


def figure_metrics(scenario) -> tuple[str, ...]:
    """The metrics whose per-seed distribution a report draws.

    Args:
        scenario: the scenario (its ``figures``, else its ``key_metric``).

    Returns:
        The metric identifiers, without duplicates, in the scenario's order.
    """
    names = tuple(getattr(scenario, "figures", ()) or ()) or (scenario.key_metric,)
    return tuple(dict.fromkeys(names))


def figure_file(metric: str) -> str:
    """The file name of a metric's distribution figure: ``<metric>.png``, with every character
    other than letters, digits and ``._()+-`` replaced by ``_`` (a ``derive`` may name a metric
    anything), and prefixed with ``metric_`` where it would clash with a fixed figure.

    Args:
        metric: a metric identifier.

    Returns:
        The file name (no folder part).
    """
    name = re.sub(r"[^A-Za-z0-9._()+-]", "_", metric).lstrip(".") + ".png"
    return f"metric_{name}" if name in FIXED or name == ".png" else name


def write_figures(out: pathlib.Path, result: ScenarioResult) -> list[str]:
    """Draw a scenario's figures into ``out`` (see the module docstring).

    Args:
        out: an existing folder.
        result: the scenario's results.

    Returns:
        The figures' file names, in the order a report shows them.
    """
    from lstm_ar.study import figures  # needs matplotlib (the "plots" extra)

    sc = result.scenario
    fan = figures.plot_rollout_fan(
        out / "rollouts.png",
        {n: v.rollouts[:N_FAN] for n, v in result.variants.items()},
        medians={n: np.nanmedian(np.where(np.isfinite(v.rollouts), v.rollouts, np.nan), axis=0)
                 for n, v in result.variants.items()},
        context=None if getattr(sc, "context", None) is None else np.asarray(sc.context)[-CONTEXT_SHOWN:],
        truth=getattr(sc, "truth", None),
        title=f"{sc.title}: free-running rollouts ({result.seeds} seeds)")
    names = [fan.name]
    for metric in figure_metrics(sc):
        path = distribution_figure(out, result, metric)
        if path is not None and path.name not in names:
            names.append(path.name)
    first = next(iter(result.variants.values())).metrics
    if "grad_k0" in first:
        names.append(_gradient_figure(out, result).name)
    return names


def distribution_figure(out: pathlib.Path, result: ScenarioResult, metric: str) -> pathlib.Path | None:
    """Draw the per-seed distribution of one metric, per variant, into ``out/figure_file(metric)``.

    Args:
        out: an existing folder.
        result: the scenario's results.
        metric: a metric identifier (a variant without it is left out of the figure).

    Returns:
        The figure's path, or None when no variant has the metric.
    """
    from lstm_ar.study import figures

    values = {n: np.asarray(v.metrics[metric], np.float64) for n, v in result.variants.items() if metric in v.metrics}
    if not values:
        return None
    path = out / figure_file(metric)
    if metric == "tail_std_ratio":
        return figures.plot_metric_distribution(
            path, {n: np.maximum(v, FLOOR) for n, v in values.items()},
            metric=metric, log=True, threshold=COLLAPSE_THRESHOLD,
            title=f"{metric} per seed, {result.seeds} seeds (< {FLOOR:g} shown at {FLOOR:g})")
    described = registry.describe(metric)
    label = metric if described is None else f"{metric} [{described.unit}]"
    return figures.plot_metric_distribution(path, values, metric=label, log=_log_axis(values.values()),
                                            title=f"{metric} per seed, {result.seeds} seeds")


def _log_axis(arrays: Sequence[np.ndarray]) -> bool:
    pooled = np.concatenate([np.ravel(a) for a in arrays])
    finite = pooled[np.isfinite(pooled)]
    return bool(finite.size and np.all(finite > 0) and finite.max() >= LOG_SPAN * finite.min())


def _gradient_figure(out: pathlib.Path, result: ScenarioResult) -> pathlib.Path:
    """Median (and interquartile band) over seeds of |d prediction / d input k steps back|, against
    k; variants of different windows share the axis (a shorter window's curve stops at its last k)."""
    from lstm_ar.study import figures

    per_variant = {name: sorted(int(k[6:]) for k in v.metrics if k.startswith("grad_k") and k[6:].isdigit())
                   for name, v in result.variants.items()}
    ks = np.asarray(sorted({k for found in per_variant.values() for k in found}))
    column = {k: i for i, k in enumerate(ks)}
    curves, bands = {}, {}
    for name, v in result.variants.items():
        grads = np.full((result.seeds, ks.size), np.nan)  # [seeds, K]: nan where the window has no such k
        for k in per_variant[name]:
            grads[:, column[k]] = v.metrics[f"grad_k{k}"]
        with warnings.catch_warnings():  # a column of nan (k beyond this window) has no median
            warnings.simplefilter("ignore", RuntimeWarning)
            curves[name] = np.nanmedian(grads, axis=0)
            bands[name] = (np.nanpercentile(grads, 25, axis=0), np.nanpercentile(grads, 75, axis=0))
    return figures.plot_curves(out / "gradient_flow.png", ks, curves, xlabel="k (steps back)",
                               ylabel="|d prediction / d input k steps back|", log_y=True, bands=bands,
                               title=f"Gradient flow: median and IQR over {result.seeds} seeds")
