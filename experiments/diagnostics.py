"""Beyond the seed: does the activation change gradient flow, and are collapsing rollouts contractions?

    python experiments/diagnostics.py              # 128 seeds -> results/gradient_flow/
    python experiments/diagnostics.py --quick      # smoke run
"""

from lstm_ar.cli import run_cli
from lstm_ar.scenarios.diagnostics import SCENARIOS


def main(argv=None):
    return run_cli("experiments/diagnostics.py", __doc__, SCENARIOS, default_seeds=128, argv=argv,
                   index_title="lstm_ar: gradient flow and contraction")


if __name__ == "__main__":
    main()
