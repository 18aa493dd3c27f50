"""The figures of a scenario's report: the rollout fan, the answer's figures where the results
carry what they need, one per-seed distribution per figure metric, the gradient flow when the
scenario has its diagnostics, and the training loss.

* ``rollouts.png``: ``N_FAN`` seeds' free-running rollouts per variant, after the last
  ``CONTEXT_SHOWN`` context values and beside the truth, with the median of all seeds, or, where
  the seeds end in separate places, one median and band per group with its share of seeds
  (``lstm_ar.report.figures.settle_groups``).
* ``forest.png``: with a summary that compares variants with references (``vs_references`` per
  variant, or ``comparisons`` whose ``b`` is a reference), P(variant beats the best reference)
  with its 95% interval per variant (``forest_rows``).
* ``survival.png``: when a variant has ``valid_horizon``, the fraction of seeds still valid
  after t rollout steps.
* ``cobweb_<variant>.png``: per variant whose result has a ``map_curve`` (the learned window-1
  map on ``lstm_ar.study.experiment.map_grid(scenario)``), the map against the identity, its fixed
  points and a cobweb of one seed's rollout.
* ``<metric>.png`` for every metric in ``Scenario.figures`` (``key_metric`` alone when it is
  empty; the file name is ``figure_file(metric)``). ``tail_std_ratio`` is drawn on a log axis with
  the collapse threshold, exact fixed points (a tail std of 0) at ``FLOOR``; another metric is
  drawn on a log axis when all its finite values are positive and span at least ``LOG_SPAN``.
* ``gradient_flow.png``: the median and interquartile band over seeds of ``grad_k{k}`` against k.
* ``epoch_loss.png``: the training loss per epoch, median and 10-90% band over seeds.

The plotting itself is ``lstm_ar.report.figures`` and ``lstm_ar.report.answer_figures``
(matplotlib, imported when a figure is drawn).
"""

from __future__ import annotations

import pathlib
import re
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.dynamics.collapse import COLLAPSE_THRESHOLD
from lstm_ar.study import experiment
from lstm_ar.study import metrics as registry
from lstm_ar.study.experiment import N_FAN, ScenarioResult

CONTEXT_SHOWN = 60
FLOOR = 1e-9  # exact fixed points give a tail std of 0: drawn at FLOOR on the log axis
LOG_SPAN = 100.0  # max / min of a positive metric from which its distribution is drawn on a log axis
FIXED = ("rollouts.png", "gradient_flow.png", "epoch_loss.png", "survival.png", "forest.png")  # not a metric's
COBWEB_PREFIX = "cobweb_"  # a variant's cobweb figure: cobweb_<variant>.png
FOREST_METRICS = ("rollout_rmse", "backtest_rmse")  # the forest plot's metric: the first compared
BEST_REFERENCE = "best_ar"  # the reference of the forest plot where a variant is compared with it


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
    anything), and prefixed with ``metric_`` where it would clash with a fixed figure or a cobweb
    figure.

    Args:
        metric: a metric identifier.

    Returns:
        The file name (no folder part).
    """
    name = _safe(metric) + ".png"
    return f"metric_{name}" if name in FIXED or name == ".png" or name.startswith(COBWEB_PREFIX) else name


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._()+-]", "_", name).lstrip(".")


def write_figures(out: pathlib.Path, result: ScenarioResult, summary: dict | None = None) -> list[str]:
    """Draw a scenario's figures into ``out`` (see the module docstring).

    Args:
        out: an existing folder.
        result: the scenario's results.
        summary: its ``summary.json`` dictionary (for the forest plot; None: no forest plot).

    Returns:
        The figures' file names, in the order a report shows them.
    """
    from lstm_ar.report import answer_figures, figures  # need matplotlib (the "plots" extra)

    sc = result.scenario
    fan = figures.plot_rollout_fan(
        out / "rollouts.png",
        {n: v.rollouts[:N_FAN] for n, v in result.variants.items()},
        medians={n: np.nanmedian(np.where(np.isfinite(v.rollouts), v.rollouts, np.nan), axis=0)
                 for n, v in result.variants.items()},
        context=None if getattr(sc, "context", None) is None else np.asarray(sc.context)[-CONTEXT_SHOWN:],
        truth=getattr(sc, "truth", None),
        title=f"{sc.title}: free-running rollouts ({result.seeds} seeds)",
        all_rollouts={n: v.rollouts for n, v in result.variants.items()}, scale=getattr(sc, "scale", None))
    names = [fan.name]
    rows = forest_rows(summary) if summary is not None else []
    if rows:
        names.append(answer_figures.plot_forest(
            out / "forest.png", [tuple(r[:5]) for r in rows],
            xlabel=f"P(variant beats the reference on {rows[0].metric}), paired over seeds",
            title=f"{sc.title}: P(beats the best reference), 95% intervals").name)
    horizons = {n: v.metrics["valid_horizon"] for n, v in result.variants.items() if "valid_horizon" in v.metrics}
    if horizons:
        steps = int(getattr(sc, "rollout_steps", None) or next(iter(result.variants.values())).rollouts.shape[1])
        names.append(answer_figures.plot_survival(
            out / "survival.png", horizons, steps,
            title=f"{sc.title}: valid-horizon survival ({result.seeds} seeds)").name)
    names += [_cobweb_figure(out, result, name).name for name, v in result.variants.items()
              if getattr(v, "map_curve", None) is not None]
    for metric in figure_metrics(sc):
        path = distribution_figure(out, result, metric)
        if path is not None and path.name not in names:
            names.append(path.name)
    first = next(iter(result.variants.values())).metrics
    if "grad_k0" in first:
        names.append(_gradient_figure(out, result).name)
    losses = {n: np.asarray(v.epoch_loss, np.float64) for n, v in result.variants.items()
              if np.ndim(v.epoch_loss) == 2 and np.size(v.epoch_loss) > 0}
    if losses:
        names.append(answer_figures.plot_loss_curves(
            out / "epoch_loss.png", losses,
            title=f"{sc.title}: training loss, median and 10-90% band over {result.seeds} seeds").name)
    return names


class ForestRow(NamedTuple):
    """A variant's P(beats the reference): ``label`` "A vs B", the estimate with its 95% interval,
    the number of paired seeds, and the metric compared."""

    label: str
    estimate: float
    lo: float
    hi: float
    n: int
    metric: str


def _reference_names(summary: dict) -> set[str]:
    names = set()
    for key in ("linear_references", "references"):
        found = summary.get(key)
        if isinstance(found, dict):
            names |= {k for k in found if isinstance(k, str)}
        elif isinstance(found, (list, tuple)):
            names |= {r if isinstance(r, str) else r.get("name") for r in found
                      if isinstance(r, str) or (isinstance(r, dict) and isinstance(r.get("name"), str))}
    return names


def _usable(c) -> bool:
    try:
        p, (lo, hi), n = float(c["prob_a_better"]), map(float, c["ci95"]), int(c["n"])
    except (KeyError, TypeError, ValueError):
        return False
    return bool(np.isfinite([p, lo, hi]).all() and lo <= p <= hi and n >= 1
                and isinstance(c.get("a"), str) and isinstance(c.get("b"), str) and isinstance(c.get("metric"), str))


def _reference_comparisons(summary: dict) -> list[dict]:
    """Every (variant, reference, metric) comparison a summary holds, as {a, b, metric, prob_a_better,
    ci95, n}: from ``variants[a]["vs_references"][b][metric]`` and from ``comparisons`` whose ``b``
    names a reference and whose ``a`` does not."""
    found = []
    variants = summary.get("variants")
    for a, entry in (variants.items() if isinstance(variants, dict) else ()):
        vs = entry.get("vs_references") if isinstance(entry, dict) else None
        for b, per_metric in (vs.items() if isinstance(vs, dict) else ()):
            for metric, p in (per_metric.items() if isinstance(per_metric, dict) else ()):
                if isinstance(p, dict):
                    found.append({**p, "a": a, "b": b, "metric": metric})
    refs = _reference_names(summary)
    comparisons = summary.get("comparisons")
    found += [c for c in (comparisons if isinstance(comparisons, list) else ())
              if isinstance(c, dict) and c.get("b") in refs and c.get("a") not in refs]
    return [c for c in found if _usable(c)]


def forest_rows(summary: dict) -> list[ForestRow]:
    """Per variant, P(it beats the best reference) from a summary's paired comparisons.

    The comparisons are ``summary["variants"][a]["vs_references"][b][metric]`` and the entries of
    ``summary["comparisons"]`` whose ``b`` is a reference (a name in ``summary["linear_references"]``
    or ``summary["references"]``: a dict's keys, or a list of names or of dicts with a "name") and
    whose ``a`` is not. The metric is the first of ``FOREST_METRICS`` any comparison has, else the
    first comparison's. Per variant the reference is ``BEST_REFERENCE`` where compared (the label
    names the fit it stands for, from ``linear_references[BEST_REFERENCE]["of"]``), else the
    reference the variant is least likely to beat. Entries without a finite probability inside a
    finite interval and an n >= 1 are skipped.

    Args:
        summary: a ``summary.json`` dictionary.

    Returns:
        The rows (label "A vs B", estimate, lo, hi, n, metric), in the order the variants come.
    """
    comps = _reference_comparisons(summary)
    if not comps:
        return []
    metric = next((m for m in FOREST_METRICS if any(c["metric"] == m for c in comps)), comps[0]["metric"])
    chosen: dict[str, dict] = {}
    for c in comps:
        if c["metric"] != metric:
            continue
        held = chosen.get(c["a"])
        if held is None or (held["b"] != BEST_REFERENCE
                            and (c["b"] == BEST_REFERENCE or float(c["prob_a_better"]) < float(held["prob_a_better"]))):
            chosen[c["a"]] = c
    best = (summary.get("linear_references") or {}).get(BEST_REFERENCE) if isinstance(
        summary.get("linear_references"), dict) else None
    of = best.get("of") if isinstance(best, dict) and isinstance(best.get("of"), str) else None
    return [ForestRow(f"{a} vs {c['b']}" + (f" ({of})" if c["b"] == BEST_REFERENCE and of else ""),
                      float(c["prob_a_better"]), float(c["ci95"][0]), float(c["ci95"][1]), int(c["n"]), metric)
            for a, c in chosen.items()]


def cobweb_file(variant: str) -> str:
    """The file name of a variant's cobweb figure: ``cobweb_<variant>.png`` (characters as in
    ``figure_file``).

    Args:
        variant: a variant's name.

    Returns:
        The file name (no folder part).
    """
    return f"{COBWEB_PREFIX}{_safe(variant)}.png"


def _cobweb_figure(out: pathlib.Path, result: ScenarioResult, name: str) -> pathlib.Path:
    """The learned map of a variant's first seeds (``VariantResult.map_curve``, f[k, G]) on the
    scenario's map grid, with a cobweb of its first seed's rollout."""
    from lstm_ar.report import answer_figures

    sc, v = result.scenario, result.variants[name]
    curves = np.atleast_2d(np.asarray(v.map_curve, np.float64))
    make_grid = getattr(experiment, "map_grid", None)
    grid = (np.asarray(make_grid(sc), np.float64) if make_grid is not None
            else np.linspace(*sc.map_range, curves.shape[-1]))
    k = min(curves.shape[0], np.shape(v.rollouts)[0])
    return answer_figures.plot_cobweb(
        out / cobweb_file(name), grid, curves[:k], np.asarray(v.rollouts[:k], np.float64),
        title=f"{sc.title}, {name}: learned map f(x), fixed points, cobweb ({k} of {result.seeds} seeds)")


def distribution_figure(out: pathlib.Path, result: ScenarioResult, metric: str) -> pathlib.Path | None:
    """Draw the per-seed distribution of one metric, per variant, into ``out/figure_file(metric)``.

    Args:
        out: an existing folder.
        result: the scenario's results.
        metric: a metric identifier (a variant without it is left out of the figure).

    Returns:
        The figure's path, or None when no variant has the metric.
    """
    from lstm_ar.report import figures

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
    from lstm_ar.report import figures

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
