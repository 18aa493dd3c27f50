"""Beyond the seed: the context/state and training-regime comparisons on real series.

Needs the "real" extra (statsmodels ships the data): pip install -e ".[real,plots]"

    python experiments/real.py                     # 128 seeds, sunspots and CO2 -> results/
    python experiments/real.py --only sunspots --quick
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.real import SCENARIOS


def main(argv=None):
    return run_cli("experiments/real.py", __doc__, SCENARIOS, default_seeds=128, argv=argv,
                   index_title="lstm_ar: real series")


if __name__ == "__main__":
    main()
