"""The article's claims re-judged over noise realisations of its data (the article's draw first).

    python experiments/realisations.py            # the full run -> experiments/results/realisations_.../
    python experiments/realisations.py --quick    # smoke run (tiny models, 2 epochs)
"""

import sys

from lstm_ar.cli import main as _main


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run realisations``); returns its exit status."""
    return _main(["run", "realisations", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
