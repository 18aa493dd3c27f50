"""Beyond the seed: does training on the model's own predictions stop the collapse?

    python experiments/regime.py                   # 64 seeds -> results/regime/
    python experiments/regime.py --quick           # smoke run (k = 10, tf/ss_invsig/free only, 2 epochs)
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.regime import SCENARIOS


def main(argv=None):
    return run_cli("experiments/regime.py", __doc__, SCENARIOS, default_seeds=64, argv=argv,
                   index_title="lstm_ar: training regime")


if __name__ == "__main__":
    main()
