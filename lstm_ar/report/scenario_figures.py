"""The figures of a scenario's report (drawn with ``lstm_ar.report.figures`` and
``lstm_ar.report.answer_figures``): ``rollouts.png``, ``forest.png``, ``survival.png``,
``cobweb_<variant>.png``, a ``figure_file(metric)`` per figure metric, ``gradient_flow.png`` and
``epoch_loss.png``, each drawn where the results carry what it needs.
"""

from __future__ import annotations

import pathlib
import re
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
    """The metrics a report draws per seed: the scenario's ``figures`` (else its ``key_metric``), deduplicated."""
    return tuple(dict.fromkeys(tuple(getattr(scenario, "figures", ()) or ()) or (scenario.key_metric,)))


def figure_file(metric: str) -> str:
    """``<metric>.png``, characters other than letters, digits and ``._()+-`` as ``_`` (a ``derive`` may name a
    metric anything), prefixed ``metric_`` where it would clash with a fixed or a cobweb figure."""
    name = _safe(metric) + ".png"
    return f"metric_{name}" if name in FIXED or name == ".png" or name.startswith(COBWEB_PREFIX) else name


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._()+-]", "_", name).lstrip(".")


def write_figures(out: pathlib.Path, result: ScenarioResult, summary: dict | None = None) -> list[str]:
    """Draw a scenario's figures into ``out`` (the forest plot needs ``summary``); their names, in report order."""
    from lstm_ar.report import answer_figures, figures  # need matplotlib (the "plots" extra)
    sc, variants, seeds = result.scenario, result.variants, result.seeds
    names = [figures.plot_rollout_fan(
        out / "rollouts.png", {n: v.rollouts[:N_FAN] for n, v in variants.items()},
        medians={n: np.nanmedian(np.where(np.isfinite(v.rollouts), v.rollouts, np.nan), axis=0)
                 for n, v in variants.items()},
        context=None if getattr(sc, "context", None) is None else np.asarray(sc.context)[-CONTEXT_SHOWN:],
        truth=getattr(sc, "truth", None), title=f"{sc.title}: free-running rollouts ({seeds} seeds)",
        all_rollouts={n: v.rollouts for n, v in variants.items()}, scale=getattr(sc, "scale", None)).name]
    if rows := (forest_rows(summary) if summary is not None else []):
        names.append(answer_figures.plot_forest(
            out / "forest.png", [tuple(r[:5]) for r in rows],
            xlabel=f"P(variant beats the reference on {rows[0].metric}), paired over seeds",
            title=f"{sc.title}: P(beats the best reference), 95% intervals").name)
    if horizons := {n: v.metrics["valid_horizon"] for n, v in variants.items() if "valid_horizon" in v.metrics}:
        steps = int(getattr(sc, "rollout_steps", None) or next(iter(variants.values())).rollouts.shape[1])
        names.append(answer_figures.plot_survival(out / "survival.png", horizons, steps,
                                                  title=f"{sc.title}: valid-horizon survival ({seeds} seeds)").name)
    names += [_cobweb_figure(out, result, n).name for n, v in variants.items()
              if getattr(v, "map_curve", None) is not None]
    for metric in figure_metrics(sc):
        if (path := distribution_figure(out, result, metric)) is not None and path.name not in names:
            names.append(path.name)
    if "grad_k0" in next(iter(variants.values())).metrics:
        names.append(_gradient_figure(out, result).name)
    if losses := {n: np.asarray(v.epoch_loss, np.float64) for n, v in variants.items()
                  if np.ndim(v.epoch_loss) == 2 and np.size(v.epoch_loss) > 0}:
        names.append(answer_figures.plot_loss_curves(
            out / "epoch_loss.png", losses,
            title=f"{sc.title}: training loss, median and 10-90% band over {seeds} seeds").name)
    return names


class ForestRow(NamedTuple):
    """A variant's P(beats the reference): ``label`` "A vs B", estimate, 95% interval, paired seeds, metric."""

    label: str
    estimate: float
    lo: float
    hi: float
    n: int
    metric: str


def _reference_names(summary: dict) -> set[str]:
    names = set()
    for found in (summary.get("linear_references"), summary.get("references")):  # names (keys) or entries
        if isinstance(found, (list, tuple)):
            found = [r.get("name") if isinstance(r, dict) else r for r in found]
        names |= {n for n in (found if isinstance(found, (dict, list)) else ()) if isinstance(n, str)}
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
    items = lambda d: d.items() if isinstance(d, dict) else ()
    found = [{**p, "a": a, "b": b, "metric": metric} for a, entry in items(summary.get("variants"))
             for b, per_metric in items(entry.get("vs_references") if isinstance(entry, dict) else None)
             for metric, p in items(per_metric) if isinstance(p, dict)]
    refs = _reference_names(summary)
    comparisons = summary.get("comparisons")
    found += [c for c in (comparisons if isinstance(comparisons, list) else ())
              if isinstance(c, dict) and c.get("b") in refs and c.get("a") not in refs]
    return [c for c in found if _usable(c)]


def forest_rows(summary: dict) -> list[ForestRow]:
    """Per variant, P(it beats the best reference) from a ``summary.json`` dictionary's usable comparisons:
    ``variants[a]["vs_references"]`` and the ``comparisons`` of a variant with a reference. The metric is the
    first of ``FOREST_METRICS`` compared, the reference ``BEST_REFERENCE`` where compared (labelled with the
    fit it stands for), else the one the variant is least likely to beat."""
    if not (comps := _reference_comparisons(summary)):
        return []
    metric = next((m for m in FOREST_METRICS if any(c["metric"] == m for c in comps)), comps[0]["metric"])
    chosen: dict[str, dict] = {}
    for c in (x for x in comps if x["metric"] == metric):
        if (held := chosen.get(c["a"])) is None or (held["b"] != BEST_REFERENCE and (
                c["b"] == BEST_REFERENCE or float(c["prob_a_better"]) < float(held["prob_a_better"]))):
            chosen[c["a"]] = c
    best = summary.get("linear_references")
    best = best.get(BEST_REFERENCE) if isinstance(best, dict) else None
    of = best.get("of") if isinstance(best, dict) and isinstance(best.get("of"), str) else None
    return [ForestRow(f"{a} vs {c['b']}" + (f" ({of})" if c["b"] == BEST_REFERENCE and of else ""),
                      float(c["prob_a_better"]), float(c["ci95"][0]), float(c["ci95"][1]), int(c["n"]), metric)
            for a, c in chosen.items()]


def cobweb_file(variant: str) -> str:
    """``cobweb_<variant>.png`` (characters as in ``figure_file``)."""
    return f"{COBWEB_PREFIX}{_safe(variant)}.png"


def _cobweb_figure(out: pathlib.Path, result: ScenarioResult, name: str) -> pathlib.Path:
    """A variant's learned maps (``map_curve`` f[k, G]) on the map grid, with a cobweb of its first seed's rollout."""
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
    """Draw ``metric`` per seed for each variant into ``out/figure_file(metric)``; None when no variant has it."""
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
    label = metric if (described := registry.describe(metric)) is None else f"{metric} [{described.unit}]"
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
        curves[name], *bands[name] = figures._median_band(grads, (25, 75))  # nan columns: k beyond this window
    return figures.plot_curves(out / "gradient_flow.png", ks, curves, xlabel="k (steps back)",
                               ylabel="|d prediction / d input k steps back|", log_y=True, bands=bands,
                               title=f"Gradient flow: median and IQR over {result.seeds} seeds")
