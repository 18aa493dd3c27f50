"""Plot of benchmarks/results/train.json: seeds per second against N (log-log), ours and peers.

    python -m benchmarks.plot_train [benchmarks/results/train.json]   # writes train.png beside it

``python -m benchmarks.train`` draws it after each run (unless ``--no-plot``). Needs matplotlib.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

STYLE = {"ours": ("C0", "o", "-"), "ours_1device": ("C0", "o", "--"), "ours_reference": ("C0", "s", ":"),
         "python_loop": ("C1", "^", "--"), "torch_loop": ("C3", "v", "--"), "torch_vmap": ("C2", "D", "-."),
         "keras": ("C4", "*", "-"), "keras_jax": ("C9", "*", "--")}
LABEL = {"ours": "ours: seeds vmapped, one device per core", "ours_1device": "ours on one device (one core)",
         "ours_reference": "ours, plain implementation", "keras": "Keras (the article's code), seed after seed",
         "keras_jax": "Keras on JAX (the article's code), seed after seed",
         "python_loop": "Python loop over jitted single-seed runs", "torch_loop": "PyTorch per-seed loop",
         "torch_vmap": "PyTorch torch.func.vmap"}


def plot(doc: dict[str, Any], out: Path) -> Path:
    """Draw a train.json document (``benchmarks.train``'s output) to the PNG ``out``; returns ``out``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9.6, 4.4))
    rows = doc["results"]["rows"]
    for impl in dict.fromkeys(r["impl"] for r in rows):
        pts = sorted((r["n_seeds"], r["seeds_per_s"], r.get("extrapolated", False)) for r in rows if r["impl"] == impl)
        color, marker, line = STYLE.get(impl, ("C7", "x", "-"))
        label = LABEL.get(impl, impl) + (" (extrapolated from first epochs)" if any(p[2] for p in pts) else "")
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle=line, color=color, label=label)
    if not any(r["impl"] in ("keras", "keras_jax") for r in rows):
        keras = 1.0 / 30.0
        ax.axhline(keras, color="C7", linestyle=":", linewidth=1)
        ax.text(1, keras * 1.15, "Keras, ~30 s per seed (assumed, not measured)", fontsize=7, color="C7")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("seeds trained at once (N)")
    ax.set_ylabel("seeds per second (whole seed suite)")
    ax.set_title(f"Seed suite training, {sum(s['steps_per_seed'] for s in doc['results']['suite'])} Adam steps per seed\n"
                 f"{doc['machine_name']}", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> Path:
    """``python -m benchmarks.plot_train [JSON]``; returns the PNG's path (beside the JSON)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("json", type=Path, nargs="?", default=RESULTS / "train.json",
                   help="a train benchmark's JSON (default benchmarks/results/train.json); the PNG goes beside it")
    args = p.parse_args(argv)
    if not args.json.exists():
        raise SystemExit(f"{args.json} not found: run python -m benchmarks.train first")
    path = plot(json.loads(args.json.read_text()), args.json.with_suffix(".png"))
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
