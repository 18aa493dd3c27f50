"""Beyond the seed: does training on the model's own predictions stop the collapse?

    python experiments/regime.py                   # 64 seeds -> results/regime/
    python experiments/regime.py --quick           # smoke run (k = 10, tf/ss_invsig/free only, 2 epochs)
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run regime``); returns its summaries."""
    return run_experiment("regime", argv, doc=__doc__)


if __name__ == "__main__":
    main()
