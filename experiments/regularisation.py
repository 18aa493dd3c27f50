"""Beyond the seed: do dropout, weight decay, clipping, layer norm or the learning rate stop the collapse?

    python experiments/regularisation.py           # 128 seeds -> results/regularisation/
    python experiments/regularisation.py --quick   # smoke run (3 variants, 2 epochs)
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run regularisation``); returns its summaries."""
    return run_experiment("regularisation", argv, doc=__doc__)


if __name__ == "__main__":
    main()
