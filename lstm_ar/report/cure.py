"""The cure search's report: the frontier of recipes against the least-squares references.

The goal: a recipe whose 200-step rollout stays valid on >= 90% of (seed, realisation) pairs and
whose rollout RMSE is at least as good as the best least-squares AR(p) on at least half of them.
"""

from __future__ import annotations

import math

import numpy as np

from lstm_ar.study import stats
from lstm_ar.study.references import RealisationReferences

GOAL_VALID = 0.9
GOAL_BEATS = 0.5


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and (math.isinf(x) or x >= 1e300):
        return "diverged"
    return f"{x:.{digits}g}"


def _ci(entry: dict, key: str = "value") -> str:
    return f"{_fmt(entry[key])} [{_fmt(entry['ci95'][0])}, {_fmt(entry['ci95'][1])}]"


def goal_met(row: dict) -> bool:
    """Valid for the whole rollout on >= 90% of pairs and P(RMSE <= best AR's) >= 0.5."""
    beats = row["beats_best_ar"]["prob_a_better"]
    return bool(row["valid_full"]["value"] >= GOAL_VALID and beats is not None and beats >= GOAL_BEATS)


def frontier(rows: dict[str, dict]) -> list[str]:
    """Row names, best first: by the share of valid rollouts, then P(beats the best AR)."""
    return sorted(rows, key=lambda n: (-rows[n]["valid_full"]["value"],
                                       -(rows[n]["beats_best_ar"]["prob_a_better"] or 0.0)))


def reference_rows(refs: RealisationReferences) -> dict[str, dict]:
    """Reference name -> its rates over realisations (JSON-ready)."""
    return {name: {"valid_full": stats.rate(m["valid_full"] > 0), "collapsed": stats.rate(m["collapsed"] > 0),
                   "rollout_rmse_median": float(np.median(np.where(np.isfinite(r := m["rollout_rmse"]), r, np.inf)))}
            for name, m in refs.table().items()}


def markdown(summary: dict) -> str:
    """report.md of a cure run, from its summary.json dictionary."""
    rows, refs = summary["rows"], summary["references"]
    kn = lambda e: f"{e['k']}/{e['n']}"
    lines = [f"# {summary['title']}", "",
             f"{summary['seeds']} model seeds x {summary['realisations']} noise realisations = "
             f"{summary['seeds'] * summary['realisations']} (seed, realisation) pairs per row; noise std "
             f"{summary['noise']} (before standardisation); rollouts of {summary['steps']} steps judged against the "
             f"noiseless continuation. Device: {summary['device']}. Command: `{summary['command']}`. "
             f"Runtime {summary['runtime_s']:.0f} s.", "",
             f"**Goal** (valid for all {summary['steps']} steps on >= {GOAL_VALID:.0%} of pairs and RMSE at least as "
             f"good as the best least-squares AR(p) on >= half of them): "
             + ("**met** by " + ", ".join(f"`{n}`" for n in summary["goal"]["met_by"]) if summary["goal"]["met_by"]
                else "**not met** by any row."), "",
             "## Least-squares references (one per realisation)", "",
             "| reference | valid all steps | collapsed | median rollout RMSE |", "|---|---|---|---|"]
    lines += [f"| {name} | {kn(r['valid_full'])} | {kn(r['collapsed'])} | {_fmt(r['rollout_rmse_median'])} |"
              for name, r in refs.items()]
    lines += ["", f"AR(p*) is the order with the lowest median rollout RMSE over the realisations (p* = "
              f"{summary['best_ar_order']}, searched up to {summary['max_order']}): chosen on the truth, an optimistic "
              "reference. AIC chose orders " + ", ".join(map(str, summary["aic_orders"])) + ".", "",
              "## The frontier (best first)", "",
              "| row | recipe | valid all steps [95% CI] | collapsed | diverged | median RMSE | IQM RMSE [95% CI] | "
              "median valid horizon | P(beats AR(p*)) [CI] | P(beats AR(AIC)) | P(beats direct linear) | goal |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in summary["frontier"]:
        r = rows[name]
        lines.append(f"| `{name}` | {r['describe']} | {_ci(r['valid_full'])} | {kn(r['collapsed'])} | "
                     f"{kn(r['diverged'])} | {_fmt(r['rollout_rmse']['median'])} | {_ci(r['rollout_rmse'], 'iqm')} | "
                     f"{_fmt(r['valid_horizon']['median'])} | {_ci(r['beats_best_ar'], 'prob_a_better')} | "
                     f"{_fmt(r['beats_ar_aic']['prob_a_better'])} | {_fmt(r['beats_direct_linear']['prob_a_better'])} "
                     f"| {'met' if r['goal_met'] else 'no'} |")
        if "sample_valid_full" in r:
            lines.append(f"| `{name}` single sample path | | {_ci(r['sample_valid_full'])} | | | "
                         f"{_fmt(r['sample_rollout_rmse']['median'])} | | | | | | |")
    lines += ["", "Intervals: Wilson for rates, percentile bootstrap over pairs for P(beats) and the IQM. Pairs share "
              "seeds and realisations, so these intervals are narrower than a two-way bootstrap; the spread over "
              "realisations is in `summary.json` (`valid_full_by_realisation`). A diverged rollout (non-finite or "
              "beyond the divergence bound) counts as the worst RMSE: it loses to every finite one and ties (0.5) "
              "with a diverged reference.", ""]
    if summary.get("figures"):
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in summary["figures"]] + [""]
    return "\n".join(lines)
