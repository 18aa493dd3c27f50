"""The cure search's report: the frontier of recipes against the least-squares references.

The goal: a recipe whose 200-step rollout stays valid on >= 90% of (seed, realisation) pairs and
whose rollout RMSE is at least as good as the best least-squares AR(p) on at least half of them; judged at
the point estimates (``goal_met``) and at the lower ends of the crossed intervals (``goal_at_lower_bound``).
``resummarise`` rewrites a finished run's summary and report from its ``pairs.csv`` alone.
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


def goal_at_lower_bound(row: dict) -> bool:
    """The goal judged at the lower ends of the 95% intervals (crossed over seeds x realisations): the share
    valid for the whole rollout >= 90% and P(RMSE <= best AR's) >= 0.5 even there."""
    lo_valid, lo_beats = row["valid_full"]["ci95"][0], row["beats_best_ar"]["ci95"][0]
    return bool(lo_valid is not None and lo_beats is not None and lo_valid >= GOAL_VALID and lo_beats >= GOAL_BEATS)


def _met(names: list[str]) -> str:
    return "**met** by " + ", ".join(f"`{n}`" for n in names) if names else "**not met** by any row"


def _draws(entry: dict) -> str:
    """How many realisations have a share above half (crossed entries), else '-'."""
    return f"{entry['draws_above_half']}/{entry['draws']}" if "by_draw" in entry else "-"


def goals(rows: dict[str, dict], order: list[str]) -> dict:
    """summary["goal"]: the thresholds, the rows (in ``order``) meeting the goal at the point estimates and at
    the lower ends of the intervals."""
    return {"valid_full_at_least": GOAL_VALID, "beats_best_ar_at_least": GOAL_BEATS,
            "met_by": [n for n in order if rows[n]["goal_met"]],
            "met_at_lower_bound_by": [n for n in order if goal_at_lower_bound(rows[n])]}


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
             f"good as the best least-squares AR(p) on >= half of them): " + _met(summary["goal"]["met_by"])
             + (f". At the lower ends of the 95% intervals: {_met(summary['goal']['met_at_lower_bound_by'])}"
                if "met_at_lower_bound_by" in summary["goal"] else "") + ".", "",
             "## Least-squares references (one per realisation)", "",
             "| reference | valid all steps | collapsed | median rollout RMSE |", "|---|---|---|---|"]
    lines += [f"| {name} | {kn(r['valid_full'])} | {kn(r['collapsed'])} | {_fmt(r['rollout_rmse_median'])} |"
              for name, r in refs.items()]
    lines += ["", f"AR(p*) is the order with the lowest median rollout RMSE over the realisations (p* = "
              f"{summary['best_ar_order']}, searched up to {summary['max_order']}): chosen on the truth, an optimistic "
              "reference. AIC chose orders " + ", ".join(map(str, summary["aic_orders"])) + ".", "",
              "## The frontier (best first)", "",
              "| row | recipe | valid all steps [95% CI] | collapsed | diverged | median RMSE | IQM RMSE [95% CI] | "
              "median valid horizon | P(beats AR(p*)) [CI] | realisations where it beats AR(p*) on most seeds | "
              "P(beats AR(AIC)) | P(beats direct linear) | goal | goal at the lower bounds |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in summary["frontier"]:
        r = rows[name]
        lines.append(f"| `{name}` | {r['describe']} | {_ci(r['valid_full'])} | {kn(r['collapsed'])} | "
                     f"{kn(r['diverged'])} | {_fmt(r['rollout_rmse']['median'])} | {_ci(r['rollout_rmse'], 'iqm')} | "
                     f"{_fmt(r['valid_horizon']['median'])} | {_ci(r['beats_best_ar'], 'prob_a_better')} | "
                     f"{_draws(r['beats_best_ar'])} | {_fmt(r['beats_ar_aic']['prob_a_better'])} | "
                     f"{_fmt(r['beats_direct_linear']['prob_a_better'])} | {'met' if r['goal_met'] else 'no'} | "
                     f"{'met' if goal_at_lower_bound(r) else 'no'} |")
        if "sample_valid_full" in r:
            lines.append(f"| `{name}` single sample path | | {_ci(r['sample_valid_full'])} | | | "
                         f"{_fmt(r['sample_rollout_rmse']['median'])} | | | | | | | | |")
    crossed = "by_draw" in next(iter(rows.values()))["beats_best_ar"] if rows else False
    lines += ["", ("Intervals for rates and P(beats): the crossed bootstrap, resampling model seeds and noise "
                   "realisations both (pairs share both, so they are not independent; widened to a t interval's "
                   "width for few realisations), with each realisation's own value in `summary.json` (`by_draw`). "
                   if crossed else "Intervals: Wilson for rates, percentile bootstrap over pairs for P(beats). ")
              + "The IQM's interval resamples pairs (a description, not a verdict). 'Goal at the lower bounds': the "
              "goal judged at the lower ends of both intervals. A diverged rollout (non-finite or beyond the "
              "divergence bound) counts as the worst RMSE: it loses to every finite one and ties (0.5) with a "
              "diverged reference.", ""]
    if summary.get("figures"):
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in summary["figures"]] + [""]
    return "\n".join(lines)
