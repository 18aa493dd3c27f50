"""``python -m lstm_ar``: the same command as ``lstm-ar`` (see ``lstm_ar.cli``)."""

import sys

from lstm_ar.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m lstm_ar"))
