"""The real-series panel: every recipe and every classical reference on nine public series, rolling-origin backtests.

    python experiments/panel.py            # the full run -> experiments/results/panel_.../
    python experiments/panel.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.cli import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run panel``); returns its exit status."""
    return _main(["run", "panel", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
