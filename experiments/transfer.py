"""Do the cure's recipes hold on real series? Rolling-origin backtests on sunspots, CO2 and El Nino.

    python experiments/transfer.py            # the full run -> experiments/results/transfer_.../
    python experiments/transfer.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.cli import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run transfer``); returns its exit status."""
    return _main(["run", "transfer", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
