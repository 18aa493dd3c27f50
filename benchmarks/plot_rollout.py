"""Plot the rollout benchmark: seed-steps per second against the number of models B, log-log.

    python -m benchmarks.plot_rollout                  # benchmarks/results/rollout.json -> rollout.png
    python -m benchmarks.plot_rollout --json X.json --out X.png --hidden 128

One panel per rollout mode, one line per implementation (ours and each peer that ran), at one
hidden size. Needs matplotlib (the ``plots`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("window", "stateful")


def series(doc: dict, hidden: int, mode: str) -> dict[str, list[tuple[int, float]]]:
    """impl -> [(B, seed-steps per second)] from a rollout.json document, sorted by B."""
    out: dict[str, list[tuple[int, float]]] = {}
    for r in doc["results"]["records"]:
        if r.get("status") == "ok" and r["hidden"] == hidden and r["mode"] == mode:
            out.setdefault(r["impl"], []).append((r["batch"], r["batch"] / r["s_per_step"]))
    return {k: sorted(v) for k, v in out.items()}


def plot(doc: dict, hidden: int, out: Path) -> Path:
    """Draw a rollout.json document at one hidden size to the PNG ``out``.

    Args:
      doc: ``benchmarks.rollout``'s JSON document.
      hidden: the hidden size to plot (one of ``doc["hidden"]``).
      out: the PNG path.

    Returns:
      ``out``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(MODES), figsize=(11, 4.2), sharey=True)
    for ax, mode in zip(axes, MODES):
        for impl, points in series(doc, hidden, mode).items():
            xs, ys = zip(*points)
            ours = impl == "ours"
            ax.plot(xs, ys, marker="o", lw=2.5 if ours else 1.2, color="black" if ours else None,
                    label=impl, zorder=3 if ours else 2)
        ax.axhline(1e7, color="grey", ls=":", lw=1, label="target 1e7")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("models B (own weights each)")
        ax.set_title(f"{mode} rollout, hidden {hidden}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seed-steps per second")
    axes[-1].legend(fontsize=8, loc="best")
    fig.suptitle(f"{doc['machine_name']}; T = {doc['steps']}; {doc['timestamp']}", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> Path:
    """``python -m benchmarks.plot_rollout [--json J] [--out PNG] [--hidden U]``; returns the PNG's path."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", type=Path, default=RESULTS / "rollout.json")
    p.add_argument("--out", type=Path, default=RESULTS / "rollout.png")
    p.add_argument("--hidden", type=int, default=32)
    args = p.parse_args(argv)
    if not args.json.exists():
        raise SystemExit(f"{args.json} not found: run python -m benchmarks.rollout first")
    doc = json.loads(args.json.read_text())
    if args.hidden not in doc["hidden"]:
        raise SystemExit(f"hidden {args.hidden} not in {args.json} (has {doc['hidden']})")
    path = plot(doc, args.hidden, args.out)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
