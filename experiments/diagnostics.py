"""Beyond the seed: does the activation change gradient flow, and are collapsing rollouts contractions?

    python experiments/diagnostics.py              # 128 seeds -> results/gradient_flow/
    python experiments/diagnostics.py --quick      # smoke run
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run diagnostics``); returns its summaries."""
    return run_experiment("diagnostics", argv, doc=__doc__)


if __name__ == "__main__":
    main()
