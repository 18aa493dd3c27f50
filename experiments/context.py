"""Beyond the seed: does a longer context or carried state stop the rollout collapsing?

    python experiments/context.py                  # 256 seeds -> results/context/ (~10 min, 2-core CPU)
    python experiments/context.py --quick          # smoke run
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.context import SCENARIOS


def main(argv=None):
    return run_cli("experiments/context.py", __doc__, SCENARIOS, default_seeds=256, argv=argv,
                   index_title="lstm_ar: context length and carried state")


if __name__ == "__main__":
    main()
