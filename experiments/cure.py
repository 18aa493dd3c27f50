"""The answer: which remedy makes an LSTM track the noisy sine for 200 steps?

    python experiments/cure.py            # the full run -> experiments/results/cure_<seeds>x<realisations>/
    python experiments/cure.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.cli import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run cure``); returns its exit status."""
    return _main(["run", "cure", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
