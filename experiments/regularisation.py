"""Beyond the seed: do dropout, weight decay, clipping, layer norm or the learning rate stop the collapse?

    python experiments/regularisation.py           # 128 seeds -> results/regularisation/
    python experiments/regularisation.py --quick   # smoke run (3 variants, 2 epochs)
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.regularisation import SCENARIOS


def main(argv=None):
    return run_cli("experiments/regularisation.py", __doc__, SCENARIOS, default_seeds=128, argv=argv,
                   index_title="lstm_ar: regularisation and optimisation")


if __name__ == "__main__":
    main()
