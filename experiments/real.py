"""Beyond the seed: the context/state and training-regime comparisons on real series.

Needs the "real" extra (statsmodels ships the data): pip install -e ".[real,plots]"

    python experiments/real.py                     # 128 seeds, sunspots and CO2 -> results/
    python experiments/real.py --only sunspots --quick
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run real``); returns its summaries."""
    return run_experiment("real", argv, doc=__doc__)


if __name__ == "__main__":
    main()
