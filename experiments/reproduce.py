"""Reproduce the seed article's three examples over many seeds and judge each of its claims.

    python experiments/reproduce.py                 # 1024 seeds, all three scenarios -> results/
    python experiments/reproduce.py --seeds 4096 --out results_4096
    python experiments/reproduce.py --quick         # CI smoke run: 8 seeds, at most 2 epochs
    python experiments/reproduce.py --only activation dropout
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar reproduce``); returns its summaries."""
    return run_experiment("reproduce", argv, doc=__doc__)


if __name__ == "__main__":
    main()
