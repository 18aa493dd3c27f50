"""Beyond the seed: is Example 1's flat map too little data diversity, or too little training?

    python experiments/data.py                     # 256 seeds -> results/training_range/
    python experiments/data.py --quick             # smoke run
"""

from lstm_ar.cli import run_cli
from lstm_ar.data_scenarios import SCENARIOS


def main(argv=None):
    return run_cli("experiments/data.py", __doc__, SCENARIOS, default_seeds=256, argv=argv,
                   index_title="lstm_ar: training data range and training length")


if __name__ == "__main__":
    main()
