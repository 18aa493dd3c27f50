"""Reproduce the seed article's three examples over many seeds and judge each of its claims.

    python experiments/reproduce.py                 # 1024 seeds, all three scenarios -> results/
    python experiments/reproduce.py --seeds 4096 --out results_4096
    python experiments/reproduce.py --quick         # CI smoke run: 8 seeds, at most 2 epochs
    python experiments/reproduce.py --only activation dropout
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.reproduce import SCENARIOS


def main(argv=None):
    return run_cli("experiments/reproduce.py", __doc__, SCENARIOS, default_seeds=1024, argv=argv,
                   index_title="lstm_ar: the seed article's claims, tested across seeds")


if __name__ == "__main__":
    main()
