"""Beyond the seed, experiment 4: is the collapse a data problem?

    python experiments/data.py                     # 256 seeds -> results/<scenario>/
    python experiments/data.py --only random_walk white_noise
    python experiments/data.py --quick             # smoke run

Scenarios (lstm_ar/scenarios/data.py): training_range (Example 1: range width vs training
length); multi_regime and multi_regime_unseen (a mixture of sine amplitudes and frequencies vs the
seed's one series, judged on the seed's sine and on an unseen regime); scale_raw and scale_offset
(the seed's series unstandardised, and as 10 x + 50); random_walk and white_noise (controls where
a flat forecast is the MSE-optimal one). Forecasts without a model (repeat the last value; the
mean) are in each report's references.
"""

from lstm_ar.cli import run_experiment


def main(argv=None):
    """Run the experiment (same as ``lstm-ar run data``); returns its summaries."""
    return run_experiment("data", argv, doc=__doc__)


if __name__ == "__main__":
    main()
