"""Write a scenario's results: summary.json, per-seed values, report.md and figures.

Files under ``out_dir/<scenario>/``:

* ``summary.json``: statistics per variant, paired comparisons and claim verdicts.
* ``per_seed.csv`` and ``per_seed.npz``: every per-seed value (the npz also holds all rollouts
  and epoch losses), so anyone can recompute the statistics.
* ``report.md``: the claims with verdicts and a table per variant.
* ``rollouts.png`` (a fan of 20 seeds plus the median per variant) and ``<key metric>.png``.
"""

from __future__ import annotations

import csv
import json
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from lstm_ar.dynamics.collapse import COLLAPSE_THRESHOLD
from lstm_ar.study.experiment import N_FAN, ScenarioResult

TABLE_METRICS = ("train_mse", "heldout_mse", "seed_prediction", "seed_prediction_error", "rollout_rmse",
                 "valid_horizon", "lyapunov", "grad_k0", "grad_k1", "grad_k5", "grad_k10", "grad_k19",
                 "tail_std_ratio", "steps_to_collapse", "settle_value", "n_fixed_points", "abs_settle_slope",
                 "f(0.4)", "f(0.6)", "slope_in_range", "slope_outside_range", "generalisation_gap")
CONTEXT_SHOWN = 60
FLOOR = 1e-9  # exact fixed points give a tail std of 0: drawn at FLOOR on the log axis


def write_json(path: pathlib.Path, obj: Any) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, allow_nan=False) + "\n")
    return path


def write_per_seed(out: pathlib.Path, result: ScenarioResult) -> None:
    rows, arrays = [], {}
    for name, v in result.variants.items():
        keys = sorted(v.metrics)
        for i in range(result.seeds):
            rows.append({"variant": name, "seed": i, **{k: float(v.metrics[k][i]) for k in keys}})
        arrays.update({f"{name}/{k}": v.metrics[k] for k in keys})
        arrays[f"{name}/rollouts"] = v.rollouts
        arrays[f"{name}/epoch_loss"] = v.epoch_loss
    fields = ["variant", "seed"] + sorted({k for r in rows for k in r} - {"variant", "seed"})
    with open(out / "per_seed.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    np.savez_compressed(out / "per_seed.npz", root_seed=result.root_seed, **arrays)


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, (int, np.integer)) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{int(x)}"
    return f"{x:.4g}"


def _pct(r: dict) -> str:
    lo, hi = r["ci95"]
    return f"{100 * r['value']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]" if r["value"] is not None else "n/a"


def _modes(modes: dict) -> str:
    kinds = sorted(set(modes.values()))
    if len(kinds) == 1:
        return f"{kinds[0]} mode"
    return ", ".join(f"{n}: {m}" for n, m in modes.items())


def markdown(summary: dict, figures: Sequence[str]) -> str:
    lines = [f"# {summary['title']}", "",
             f"Source: `{summary['source']}`.", "",
             f"{summary['seeds']} seeds (root seed {summary['root_seed']}), device `{summary['device']}`, "
             f"JAX {summary['jax_version']}, {summary['runtime_s']:.1f} s. Rollout: {summary['rollout']['steps']} "
             f"free-running steps ({_modes(summary['rollout']['modes'])}); collapsed = std of the last 50 steps "
             f"< {summary['rollout']['collapse_threshold']} x the training series' std "
             f"({summary['rollout']['scale']:.4g}).", "",
             *(["Reference forecasts (no model): "
                + ", ".join(f"{k} = {v:.4g}" for k, v in summary["references"].items()) + ".", ""]
               if summary.get("references") else []),
             "## Claims", "", "| id | claim | verdict | evidence |", "|---|---|---|---|"]
    for c in summary["claims"]:
        lines.append(f"| {c['id']} | {c['text']} | **{c['verdict']}** | {c['evidence']} |")
    lines += ["", "## Per variant", "",
              "Median, interquartile mean (IQM) and bootstrap 95% CI of the IQM over seeds; rates with "
              "Wilson 95% intervals.", ""]
    for name, v in summary["variants"].items():
        lines += [f"### {name}", "",
                  f"Collapse rate {_pct(v['collapse_rate'])}; diverged {_pct(v['diverged_rate'])}.", "",
                  "| metric | median | IQM | 95% CI (IQM) | non-finite |", "|---|---|---|---|---|"]
        for metric in TABLE_METRICS:
            s = v["metrics"].get(metric)
            if s is not None:
                lo, hi = s["ci95"]
                lines.append(f"| {metric} | {_fmt(s['median'])} | {_fmt(s['iqm'])} | "
                             f"[{_fmt(lo)}, {_fmt(hi)}] | {s['n_nonfinite']} |")
        lines.append("")
    if summary["comparisons"]:
        lines += ["## Paired comparisons", "", "P(A beats B) over the same seeds, bootstrap 95% CI; a diverged "
                  "seed counts as its variant's worst value.",
                  "", "| A | B | metric | better is | P(A better) | 95% CI |", "|---|---|---|---|---|---|"]
        for c in summary["comparisons"]:
            lo, hi = c["ci95"]
            lines.append(f"| {c['a']} | {c['b']} | {c['metric']} | {'lower' if c['lower_is_better'] else 'higher'} | "
                         f"{_fmt(c['prob_a_better'])} | [{_fmt(lo)}, {_fmt(hi)}] |")
        lines.append("")
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def write_figures(out: pathlib.Path, result: ScenarioResult) -> list[str]:
    from lstm_ar.study import figures  # needs matplotlib (the "plots" extra)

    sc = result.scenario
    fan = figures.plot_rollout_fan(
        out / "rollouts.png",
        {n: v.rollouts[:N_FAN] for n, v in result.variants.items()},
        medians={n: np.nanmedian(np.where(np.isfinite(v.rollouts), v.rollouts, np.nan), axis=0)
                 for n, v in result.variants.items()},
        context=np.asarray(sc.context)[-CONTEXT_SHOWN:], truth=sc.truth,
        title=f"{sc.title}: free-running rollouts ({result.seeds} seeds)")
    dist = figures.plot_metric_distribution(
        out / f"{sc.key_metric}.png",
        {n: np.maximum(v.metrics[sc.key_metric], FLOOR) for n, v in result.variants.items()},
        metric=sc.key_metric, log=True, threshold=COLLAPSE_THRESHOLD,
        title=f"{sc.key_metric} per seed, {result.seeds} seeds (< {FLOOR:g} shown at {FLOOR:g})")
    names = [fan.name, dist.name]
    first = next(iter(result.variants.values())).metrics
    if "grad_k0" in first:
        names.append(_gradient_figure(out, result).name)
    return names


def _gradient_figure(out: pathlib.Path, result: ScenarioResult) -> pathlib.Path:
    """Median (and interquartile band) over seeds of |d prediction / d input k steps back|."""
    from lstm_ar.study import figures

    curves, bands, ks = {}, {}, None
    for name, v in result.variants.items():
        ks = np.asarray(sorted(int(k[6:]) for k in v.metrics if k.startswith("grad_k")))
        grads = np.stack([v.metrics[f"grad_k{k}"] for k in ks], axis=1)  # [seeds, K]
        curves[name] = np.nanmedian(grads, axis=0)
        bands[name] = (np.nanpercentile(grads, 25, axis=0), np.nanpercentile(grads, 75, axis=0))
    return figures.plot_curves(out / "gradient_flow.png", ks, curves, xlabel="k (steps back)",
                               ylabel="|d prediction / d input k steps back|", log_y=True, bands=bands,
                               title=f"Gradient flow: median and IQR over {result.seeds} seeds")


def write_scenario(out_dir: str | pathlib.Path, result: ScenarioResult, summary: dict, *,
                   plots: bool = True) -> pathlib.Path:
    out = pathlib.Path(out_dir) / result.scenario.name
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "summary.json", summary)
    write_per_seed(out, result)
    names = write_figures(out, result) if plots else []
    (out / "report.md").write_text(markdown(summary, names))
    return out


def write_index(out_dir: str | pathlib.Path, summaries: Sequence[dict], command: str, *,
                title: str = "") -> pathlib.Path:
    """The top-level REPORT.md linking each scenario's report, with every verdict."""
    out = pathlib.Path(out_dir)
    lines = [f"# {title or 'lstm_ar results'}", "", f"Command: `{command}`", ""]
    for s in summaries:
        lines += [f"## [{s['title']}]({s['scenario']}/report.md)", "",
                  f"{s['seeds']} seeds on `{s['device']}`, {s['runtime_s']:.1f} s.", "",
                  "| id | claim | verdict |", "|---|---|---|"]
        lines += [f"| {c['id']} | {c['text']} | **{c['verdict']}** |" for c in s["claims"]]
        lines.append("")
    path = out / "REPORT.md"
    path.write_text("\n".join(lines))
    return path
