"""Beyond the seed: does a longer context or carried state stop the rollout collapsing?

    python experiments/context.py                  # 256 seeds -> results/context/ (~10 min, 2-core CPU)
    python experiments/context.py --quick          # smoke run
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run context``); returns its summaries."""
    return run_experiment("context", argv, doc=__doc__)


if __name__ == "__main__":
    main()
