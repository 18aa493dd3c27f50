"""The cause: regression dilution, measured against the one-lag formula, over noise levels x windows.

    python experiments/cause.py            # the full run -> experiments/results/cause_<seeds>x<realisations>/
    python experiments/cause.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.cli import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run cause``); returns its exit status."""
    return _main(["run", "cause", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
