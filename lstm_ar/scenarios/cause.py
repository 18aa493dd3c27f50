"""``lstm-ar run cause``: why the rollout collapses, measured against the one-lag formula.

Least-squares AR(p) and LSTMs of the same windows on the article's noisy sine at noise levels from 0 to 0.5
(``lstm_ar.study.cause``): the one-lag slope against ``rho = cos(w) s2 / (s2 + n2)``, the AR companion
spectral radius and the LSTM rollout map's, and side-by-side phase diagrams (collapse and full-horizon rates
over noise level x window). ``cells.csv`` holds every cell, ``pairs.csv`` every LSTM's (window, noise level,
seed, realisation) values.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import pathlib
import sys
import time

DEFAULT_SEEDS = 4
DEFAULT_REALISATIONS = 2
AR_REALISATIONS = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lstm-ar run cause`` (the one parser tree adds ``--no-compile-cache``)."""
    add = parser.add_argument
    add("--seeds", type=int, default=None, help=f"LSTM seeds per realisation (default {DEFAULT_SEEDS})")
    add("--realisations", type=int, default=None, help=f"noise realisations per level for the LSTMs (default "
        f"{DEFAULT_REALISATIONS}; the AR grid uses {AR_REALISATIONS})")
    add("--epochs", type=int, default=None, help="LSTM training epochs (default 100; quick: 2)")
    add("--windows", default=None, help="comma-separated windows (default 1,2,5,10,20,50,100)")
    add("--noise-levels", default=None, help="comma-separated noise stds (default 0,0.05,0.1,0.2,0.3,0.5)")
    add("--out", default=None, help="output folder (default experiments/results/cause_<S>x<R>)")
    add("--quick", action="store_true", help="tiny LSTMs, 2 epochs, windows 1 and 5")
    add("--no-progress", action="store_true")
    add("--no-plots", action="store_true")


def _numbers(parser, text: str, kind, name: str, low: float):
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip())
    except ValueError:
        parser.error(f"--{name} must be comma-separated numbers, got {text!r}")
    if not values or any(not (v >= low) or v != v or v == float("inf") for v in values):
        parser.error(f"--{name} must be finite numbers >= {low}, got {text!r}")
    return values


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill the defaults and refuse bad values (exit 2) before any compute."""
    from lstm_ar.study.cause import NOISE_LEVELS, WINDOWS

    args.seeds = (2 if args.quick else DEFAULT_SEEDS) if args.seeds is None else args.seeds
    args.realisations = (1 if args.quick else DEFAULT_REALISATIONS) if args.realisations is None else args.realisations
    args.epochs = (2 if args.quick else 100) if args.epochs is None else args.epochs
    for name in ("seeds", "realisations", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    args.windows = ((1, 5) if args.quick else WINDOWS) if args.windows is None else \
        _numbers(parser, args.windows, int, "windows", 1)
    if max(args.windows) > 400:
        parser.error(f"--windows must leave training examples in the 1000-value series (<= 400), got {args.windows}")
    args.noise_levels = ((0.0, 0.1) if args.quick else NOISE_LEVELS) if args.noise_levels is None else \
        _numbers(parser, args.noise_levels, float, "noise-levels", 0.0)
    if args.out is None:
        args.out = f"experiments/results/cause_{args.seeds}x{args.realisations}" + ("_quick" if args.quick else "")


def prepare(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """Check the arguments (exit 2 before any compute); returns (the run's body, CPU devices wanted)."""
    check_arguments(parser, args)
    return (lambda out, command: run(args, out, command)), args.seeds


def run(args: argparse.Namespace, out: pathlib.Path, command: str) -> dict:
    """Compute both grids and write summary.json, cells.csv, pairs.csv, report.md and the figures."""
    import jax
    import numpy as np

    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import cause
    from lstm_ar.study.experiment import device_description

    start = time.perf_counter()
    steps, units, ar_realisations = 200, 8 if args.quick else 32, 2 if args.quick else AR_REALISATIONS
    ar = cause.ar_grid(cause.realisation_stack(args.noise_levels, ar_realisations, steps), args.windows)
    lstm, raw = cause.lstm_grid(cause.realisation_stack(args.noise_levels, args.realisations, steps), args.windows,
                                args.seeds, lambda w: cause.default_config(w, epochs=args.epochs, units=units),
                                progress=not args.no_progress, lanes=max(1, args.seeds // max(1, len(jax.devices()))))
    summary = {"experiment": "cause", "title": "lstm_ar: why the rollout collapses (regression dilution, measured)",
               "seeds": args.seeds, "realisations": args.realisations, "ar_realisations": ar_realisations,
               "epochs": args.epochs, "units": units, "windows": list(args.windows),
               "noise_levels": list(args.noise_levels), **grid_fields(args.noise_levels, args.windows, ar, lstm),
               "device": device_description(), "command": command, "runtime_s": time.perf_counter() - start,
               "provenance": provenance(command.split()), "figures": []}
    write(out, summary, ar, lstm, plots=not args.no_plots, pairs=pairs_csv(raw, args.noise_levels))
    w1 = args.windows.index(1) if 1 in args.windows else None
    ols = "-" if w1 is None else np.round(ar.cells["slope1"][:, w1], 3).tolist()
    print(f"cause: formula rho at noise {list(args.noise_levels)}: {np.round(summary['formula_rho'], 3).tolist()}; "
          f"least squares (window 1): {ols}. Report: {out / 'report.md'}")
    return summary


def grid_fields(noise_levels, windows, ar, lstm) -> dict:
    """summary.json's formula, AR and LSTM cells (JSON-ready) of the two ``Grid``s."""
    from lstm_ar.study import cause

    w1 = list(windows).index(1) if 1 in windows else None
    return {"formula_rho": cause.formula(noise_levels).tolist(), "ar": {k: v.tolist() for k, v in ar.cells.items()},
            "lstm": {k: v.tolist() for k, v in lstm.cells.items()},
            "lstm_window1_abs_slope": None if w1 is None else lstm.cells["rho_settled"][:, w1].tolist()}


def write(out: pathlib.Path, summary: dict, ar, lstm, *, plots: bool, pairs: str | None) -> None:
    """The figures (``plots``), cells.csv, pairs.csv (None: left as it is), summary.json and report.md."""
    from lstm_ar.runtime.fs import atomic_write_text
    from lstm_ar.study.stats import json_number

    if plots:
        try:
            summary["figures"] = figures(out, summary, ar, lstm)
        except ImportError as err:  # matplotlib is the plots extra
            print(f"cause: figures skipped ({err}); install the plots extra to draw them", file=sys.stderr)
    for name, text in (("cells.csv", cells_csv(summary)), ("pairs.csv", pairs),
                       ("summary.json", json.dumps(json_number(summary), indent=1, allow_nan=False)),
                       ("report.md", markdown(summary))):
        if text is not None:
            atomic_write_text(out / name, text, inside=out)


def resummarise(out: pathlib.Path, command: str) -> dict:
    """``lstm-ar report cause --out DIR``: every table and figure of a finished run rebuilt from its ``pairs.csv``
    (the LSTM cells, ``study.cause.lstm_cells``) and the recorded noise draws (the least-squares cells,
    recomputed: no model is trained); the run's record stays, ``resummarised`` records the rewrite."""
    import numpy as np

    from lstm_ar.runtime.provenance import provenance
    from lstm_ar.study import cause

    old = json.loads((out / "summary.json").read_text())
    if old.get("experiment") != "cause":
        raise ValueError(f"{out / 'summary.json'} is not the summary of a cause run")
    levels, windows = old["noise_levels"], old["windows"]
    shape = (old["seeds"], len(levels), old["realisations"])
    with open(out / "pairs.csv", newline="") as f:
        table = list(csv.DictReader(f))
    names = [k for k in table[0] if k not in ("window", "noise", "seed", "realisation")] if table else []
    raw = {w: {k: np.full(shape, np.nan) for k in names} for w in windows}
    for r in table:
        at = (int(r["seed"]), levels.index(float(r["noise"])), int(r["realisation"]))
        for k in names:
            raw[int(r["window"])][k][at] = float(r[k])
    if len(table) != len(windows) * int(np.prod(shape)) or any(np.isnan(m["collapsed"]).any() for m in raw.values()):
        raise ValueError(f"{out / 'pairs.csv'}: not one line per (window, noise, seed, realisation) of the run")
    ar = cause.ar_grid(cause.realisation_stack(levels, old["ar_realisations"], 200), windows)
    lstm = cause.Grid(tuple(levels), tuple(windows), cause.lstm_cells(raw, windows, len(levels)))
    summary = old | grid_fields(levels, windows, ar, lstm) | {"resummarised": provenance(command.split())}
    write(out, summary, ar, lstm, plots=bool(old.get("figures")), pairs=None)
    return summary


def _csv(rows) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def cells_csv(summary: dict) -> str:
    """One line per (family, noise level, window) with every cell value."""
    keys = sorted(set(summary["ar"]) | set(summary["lstm"]))
    rows = [["family", "noise", "window", *keys]]
    for family in ("ar", "lstm"):
        cells = summary[family]
        rows += ([family, noise, window, *(f"{cells[k][i][j]:.6g}" if k in cells else "" for k in keys)]
                 for i, noise in enumerate(summary["noise_levels"]) for j, window in enumerate(summary["windows"]))
    return _csv(rows)


def pairs_csv(raw: dict, noise_levels) -> str:
    """The LSTMs' per-pair values: one line per (window, noise level, seed, realisation)."""
    import numpy as np

    keys = sorted(next(iter(raw.values()))) if raw else []
    rows = [["window", "noise", "seed", "realisation", *keys]]
    for window, m in raw.items():
        n_seeds, n_levels, n_real = m[keys[0]].shape
        rows += ([window, noise_levels[i], s, r, *(f"{float(m[k][s, i, r]):.9g}" for k in keys)]
                 for i, s, r in np.ndindex(n_levels, n_seeds, n_real))
    return _csv(rows)


def _table(summary: dict, family: str, key: str, digits: int = 2) -> list[str]:
    windows = summary["windows"]
    lines = ["| noise \\ window | " + " | ".join(map(str, windows)) + " |", "|---" * (len(windows) + 1) + "|"]
    for i, noise in enumerate(summary["noise_levels"]):
        vals = summary[family][key][i]
        lines.append(f"| {noise:g} | " + " | ".join("-" if v != v else f"{v:.{digits}f}" for v in vals) + " |")
    return lines


def markdown(summary: dict) -> str:
    """report.md of the cause study."""
    lines = [f"# {summary['title']}", "",
             f"Least-squares AR(p) on {summary['ar_realisations']} noise realisations per level; LSTM({summary['units']}, "
             f"tanh), one-step Keras training for {summary['epochs']} epochs, {summary['seeds']} model seeds x "
             f"{summary['realisations']} realisations per cell. Rollouts of 200 steps from the end of the series, judged "
             f"against the noiseless continuation. Device: {summary['device']}. Command: `{summary['command']}`. "
             f"Runtime {summary['runtime_s']:.0f} s. Each LSTM cell rests on {summary['seeds']} seeds x "
             f"{summary['realisations']} noise draws: its rates and medians describe, they decide nothing (no interval "
             f"here; a rate over {summary['seeds'] * summary['realisations']} pairs is uncertain by about "
             f"+-{min(0.5, 1 / (summary['seeds'] * summary['realisations']) ** 0.5):.1f}).", "",
             "## One lag: the formula against least squares and the LSTM", "",
             "| noise std | formula rho = cos(w) s2/(s2+n2) | least-squares AR(1) slope | LSTM window 1: median |f'| at "
             "the value its rollout settled on (collapsed pairs) |", "|---|---|---|---|"]
    w1 = summary["windows"].index(1) if 1 in summary["windows"] else None
    for i, noise in enumerate(summary["noise_levels"]):
        ols = summary["ar"]["slope1"][i][w1] if w1 is not None else float("nan")
        lstm = summary["lstm"]["rho_settled"][i][w1] if w1 is not None else float("nan")
        lines.append(f"| {noise:g} | {summary['formula_rho'][i]:.4f} | {ols:.4f} | {lstm:.3f} |")
    for key, share in (("valid_full", "valid for all 200 steps"), ("collapsed", "that collapse")):
        lines += ["", f"## Phase diagram: share of rollouts {share}", "", "Least-squares AR(p = window):", ""]
        lines += _table(summary, "ar", key) + ["", "LSTM:", ""] + _table(summary, "lstm", key)
    lines += ["", "## Spectral radius of the rollout map", "",
              "AR(p): companion matrix (median over realisations):", ""] + _table(summary, "ar", "rho", 3)
    lines += ["", "LSTM: Jacobian of the window map at the end of the rollout (median over pairs that did not diverge):",
              ""] + _table(summary, "lstm", "rho_end", 3) + [""]
    if summary.get("figures"):
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in summary["figures"]] + [""]
    return "\n".join(lines)


def figures(out: pathlib.Path, summary: dict, ar, lstm) -> list[str]:
    """Phase diagrams (AR and LSTM side by side) and the one-lag slope against the formula."""
    import numpy as np

    from lstm_ar.report.answer_figures import plot_phase_diagram
    from lstm_ar.report.figures import plot_curves

    noise, windows = np.asarray(summary["noise_levels"]), np.asarray(summary["windows"])
    names = []
    for key, label in (("valid_full", "share valid for all 200 steps"), ("collapsed", "share collapsed")):
        plot_phase_diagram(out / f"phase_{key}.png", noise, windows,
                           {"least-squares AR(p = window)": ar.cells[key], "LSTM": lstm.cells[key]},
                           title=f"Phase diagram: {label}", metric_label=label)
        names.append(f"phase_{key}.png")
    if 1 in summary["windows"]:
        j = summary["windows"].index(1)
        plot_curves(out / "shrinkage.png", noise, {"formula cos(w) s2/(s2+n2)": np.asarray(summary["formula_rho"]),
                                                    "least-squares AR(1) slope": ar.cells["slope1"][:, j],
                                                    "LSTM window 1 |f'| where it settled": lstm.cells["rho_settled"][:, j]},
                    xlabel="noise std (before standardisation)", ylabel="slope of the one-step map",
                    title="Regression dilution: the one-lag map shrinks as the noise grows")
        names.append("shrinkage.png")
    return names
