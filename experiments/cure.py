"""The answer: which remedy makes an LSTM track the noisy sine for 200 steps?

    python experiments/cure.py            # the full run -> experiments/results/cure_<seeds>x<realisations>/
    python experiments/cure.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.scenarios.cure import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run cure``); returns its exit status."""
    return _main(argv, prog="lstm-ar run cure")


if __name__ == "__main__":
    sys.exit(main())
