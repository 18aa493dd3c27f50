"""The ``report.md`` text of one scenario from its ``summary.json`` dictionary: what was run, the claims
with verdicts, a table per variant (metrics in glossary order, with unit and words; what it lacks and
why), the linear references, the paired comparisons and the figures. A statistic made infinite by
diverged seeds ("inf" in JSON) reads "diverged".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from lstm_ar.study import metrics as registry

RATES = ("collapsed", "diverged")  # shown as rates with Wilson intervals, not in the tables
GRAD_SHOWN = (0, 1, 5, 10)  # input gradients shown besides the oldest input's (per_seed.csv has all)
DERIVED_WORDS = "defined by the scenario's derive"
DIVERGED = "diverged"  # how a statistic that diverged seeds made infinite is shown
REFERENCE_COLUMNS = ("order", "rollout_rmse", "valid_horizon", "collapsed", "diverged", "tail_std_ratio",
                     "max_abs_deviation", "spectral_radius", "backtest_rmse", "backtest_valid_horizon",
                     "backtest_collapse_rate")


def _fmt(x) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, str):  # "inf" / "-inf": JSON's stand-in for an infinite statistic
        return DIVERGED if x in ("inf", "-inf") else x
    if isinstance(x, float) and not np.isfinite(x):
        return DIVERGED if np.isinf(x) else "n/a"
    if isinstance(x, (int, np.integer)) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{int(x)}"
    return f"{x:.4g}"


def _pct(r: dict) -> str:
    lo, hi = r["ci95"]
    return f"{100 * r['value']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]" if r["value"] is not None else "n/a"


def _modes(modes: dict) -> str:
    kinds = sorted(set(modes.values()))
    return f"{kinds[0]} mode" if len(kinds) == 1 else ", ".join(f"{n}: {m}" for n, m in modes.items())


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (the glossary writes |x| for absolute values)."""
    return text.replace("|", "\\|")


def table_metrics(names: Iterable[str]) -> list[str]:
    """The metrics a variant's table shows: registered ones in ``lstm_ar.study.metrics.METRICS`` order, the
    probes ``f(x)``, ``grad_k{k}`` for k in ``GRAD_SHOWN`` and the largest k, then unregistered ones (a
    ``derive``'s) as given; ``collapsed`` and ``diverged`` are left out (shown as rates)."""
    names = [n for n in dict.fromkeys(names) if n not in RATES]
    order = {name: i for i, name in enumerate(registry.METRICS)}
    grads = sorted(int(n[len("grad_k"):]) for n in names if n.startswith("grad_k") and registry.describe(n))
    shown = set(GRAD_SHOWN) | set(grads[-1:])

    def rank(item: tuple[int, str]) -> tuple:
        position, name = item
        if name in order:
            return 0, order[name], position
        if registry.describe(name) is None:
            return 3, 0, position
        if name.startswith("grad_k"):
            return 2, int(name[len("grad_k"):]), position
        return 1, 0, position  # a probe f(x)

    kept = [(i, n) for i, n in enumerate(names)
            if not (n.startswith("grad_k") and registry.describe(n) and int(n[len("grad_k"):]) not in shown)]
    return [name for _, name in sorted(kept, key=rank)]


def metric_words(name: str) -> tuple[str, str]:
    """(unit, glossary words ending with which side is worse); ("", ``DERIVED_WORDS``) for an unregistered metric."""
    metric = registry.describe(name)
    if metric is None:
        return "", DERIVED_WORDS
    worse = f"; {metric.worse} is worse" if metric.worse else ""
    return metric.unit, metric.words + worse


def variant_table(stats: dict) -> list[str]:
    """Markdown lines of one variant's table (``stats``: identifier -> ``stats.summarize``), a row per metric."""
    lines = ["| metric | median | IQM | 95% CI (IQM) | non-finite | counted worst | unit | meaning |",
             "|---|---|---|---|---|---|---|---|"]
    for metric in table_metrics(stats):
        s = stats[metric]
        lo, hi = s["ci95"]
        unit, words = metric_words(metric)
        left = s.get("n_left_out", 0) or 0
        counted = f"{s.get('n_worst', 0) or 0}" + (f" ({left} left out)" if left else "")
        lines.append(f"| `{_cell(metric)}` | {_fmt(s['median'])} | {_fmt(s['iqm'])} | [{_fmt(lo)}, {_fmt(hi)}] | "
                     f"{s['n_nonfinite']} | {counted} | {_cell(unit)} | {_cell(words)} |")
    return lines


def reference_lines(summary: dict) -> list[str]:
    """Markdown lines of the "Linear references" section (none without them): each one's metrics, then
    P(variant beats it) from each variant's ``vs_references``."""
    refs = summary.get("linear_references")
    if not refs:
        return []
    columns = [c for c in REFERENCE_COLUMNS if any(c in m for m in refs.values())]
    best = refs.get("best_ar", {}).get("of")
    lines = ["## Linear references", "",
             "Fitted by least squares on the same training series as the LSTMs and rolled out from the same "
             "point (`lstm_ar.study.references`): persistence, the training mean, AR(p), AR with the order "
             "chosen by AIC and by BIC, a direct linear forecaster."
             + (f" The best AR (`best_ar` = `{best}`) is chosen on the truth itself: an optimistic reference; "
                "AIC and BIC choose without seeing it." if best else ""), "",
             "| reference | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines += [f"| {f'**{name}**' if name == best else name} | " + " | ".join(_fmt(m.get(c)) for c in columns) + " |"
              for name, m in refs.items() if name != "best_ar"] + [""]
    vs = {name: v.get("vs_references", {}) for name, v in summary["variants"].items()}
    pairs = sorted({(ref, metric) for by_ref in vs.values() for ref, ms in by_ref.items() for metric in ms},
                   key=lambda rm: (rm[1], rm[0]))
    if pairs:
        lines += ["P(the variant beats the reference) over seeds, bootstrap 95% CI; a diverged seed loses, a tie "
                  "counts 1/2.", "",
                  "| variant | " + " | ".join(f"{metric} vs {ref}" for ref, metric in pairs) + " |",
                  "|---|" + "---|" * len(pairs)]
        for name, by_ref in vs.items():
            cells = ["n/a" if c is None or c["prob_a_better"] is None else
                     f"{_fmt(c['prob_a_better'])} [{_fmt(c['ci95'][0])}, {_fmt(c['ci95'][1])}]"
                     for c in (by_ref.get(ref, {}).get(metric) for ref, metric in pairs)]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def missing_lines(missing: dict[str, str]) -> list[str]:
    """Markdown lines, one per reason, of the metrics a variant lacks (``missing``: identifier -> reason), in
    numeric order (``grad_k2`` before ``grad_k10``); none when nothing is missing."""
    if not missing:
        return []
    by_reason: dict[str, list[str]] = {}
    for name, why in missing.items():
        by_reason.setdefault(why, []).append(name)
    return ["Not computed for this variant (other variants have them):", "",
            *(f"- {', '.join(f'`{n}`' for n in sorted(names, key=_natural))}: {why}" for why, names in by_reason.items()),
            ""]


def _natural(name: str) -> list:
    """Sort key that orders the numbers inside names by value (grad_k2 before grad_k10)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def standardisation_line(summary: dict) -> list[str]:
    """Markdown lines saying how model values map back to the user's units (none without ``standardisation``)."""
    scale = summary.get("standardisation")
    if not scale:
        return []
    raw = any(name.endswith("_raw") for v in summary["variants"].values() for name in v["metrics"])
    return [f"The series was standardised: a value v in model units is mean + std x v in the series' own units, "
            f"with mean = {scale['mean']:.6g} and std = {scale['std']:.6g}"
            + ("; metrics ending in `_raw` are already in the series' own units." if raw else "."), ""]


def markdown(summary: dict, figures: Sequence[str]) -> str:
    """The ``report.md`` text of one scenario, linking the figure files ``figures``."""
    lines = [f"# {summary['title']}", "", f"Source: `{summary['source']}`.", "",
             f"{summary['seeds']} seeds (root seed {summary['root_seed']}), device `{summary['device']}`, "
             f"JAX {summary['jax_version']}, {summary['runtime_s']:.1f} s. Rollout: {summary['rollout']['steps']} "
             f"free-running steps ({_modes(summary['rollout']['modes'])}); collapsed = std of the last 50 steps "
             f"< {summary['rollout']['collapse_threshold']} x the training series' std "
             f"({summary['rollout']['scale']:.4g})"
             + (f"; diverged = a value beyond {summary['rollout']['divergence_bound']:g} stds of the training mean or "
                "not finite (counted as the worst value in medians and intervals)"
                if "divergence_bound" in summary["rollout"] else "") + ".", "",
             *([f"Backtest: {len(summary['backtest']['origins'])} forecast origins over the "
                f"{summary['backtest']['heldout_values']} held-out values, {summary['backtest']['horizon']} steps each.",
                ""] if summary.get("backtest") else []),
             *(["Reference forecasts (no model): "
                + ", ".join(f"{k} = {v:.4g}" for k, v in summary["references"].items()) + ".", ""]
               if summary.get("references") else []),
             *standardisation_line(summary),
             *([provenance_line(summary), ""] if "command" in summary else []),
             "## Claims", "", "| id | claim | verdict | evidence |", "|---|---|---|---|"]
    lines += [f"| {c['id']} | {c['text']} | **{c['verdict']}** | {c['evidence']} |" for c in summary["claims"]]
    if not summary["claims"]:
        lines[-2:] = ["The scenario states no claims."]
    lines += ["", "## Per variant", "",
              "Median, interquartile mean (IQM) and bootstrap 95% CI of the IQM over seeds; rates with "
              "Wilson 95% intervals. Identifiers as in per_seed.csv; the glossary words beside them.", ""]
    for name, v in summary["variants"].items():
        lines += [f"### {name}", "",
                  f"Collapse rate {_pct(v['collapse_rate'])}; diverged {_pct(v['diverged_rate'])}.", "",
                  *variant_table(v["metrics"]), "", *missing_lines(v.get("missing", {}))]
    lines += reference_lines(summary)
    if summary["comparisons"]:
        lines += ["## Paired comparisons", "", "P(A beats B) over the same seeds, bootstrap 95% CI; a diverged "
                  "seed counts as its variant's worst value.",
                  "", "| A | B | metric | better is | P(A better) | 95% CI |", "|---|---|---|---|---|---|"]
        lines += [f"| {c['a']} | {c['b']} | {c['metric']} | {'lower' if c['lower_is_better'] else 'higher'} | "
                  f"{_fmt(c['prob_a_better'])} | [{_fmt(c['ci95'][0])}, {_fmt(c['ci95'][1])}] |"
                  for c in summary["comparisons"]] + [""]
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def provenance_line(summary: dict) -> str:
    """One Markdown line saying how a summary was made: its ``command`` and, when recorded, the git commit."""
    line = f"Command: `{summary['command']}`"
    git = summary.get("provenance", {}).get("git")
    if git:
        line += f"; code at commit `{git['commit'][:12]}`" + (" with uncommitted changes" if git["dirty"] else "")
    return line + "."
