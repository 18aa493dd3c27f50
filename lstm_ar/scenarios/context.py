"""Beyond the seed, experiment 1: context length and carried state.

A stateless window-1 model is a 1-D map, so its rollout must settle on a fixed point or a cycle; does a longer
window (1, 5, 20, 50) or carried (h, c) (``stateful_50``: the window-50 model rolled out statefully) keep it on
the signal? LSTM(32, relu) -> Dense(1), 20 epochs on the noisy sine, judged against the noiseless continuation.
"""

from __future__ import annotations

from lstm_ar.config import ModelConfig
from lstm_ar.scenarios.common import fit_config, sine_scenario
from lstm_ar.study.claims import PairedClaim, RateClaim
from lstm_ar.study.scenario import Scenario

WINDOWS = (1, 5, 20, 50)
QUICK_WINDOWS = (1, 50)  # --quick: the windows the claims compare (each window is its own compiled program)
EPOCHS = 20


def context_and_state(quick: bool = False) -> Scenario:
    windows = QUICK_WINDOWS if quick else WINDOWS
    variants = {f"window_{w}": fit_config(ModelConfig(units=32, window=w, activation="relu"), EPOCHS, quick)
                for w in windows}
    variants["stateful_50"] = variants["window_50"]
    claims = (
        RateClaim("C-1d-map", "A stateless window-1 model is a 1-D map, so its rollout settles on a fixed point",
                  "window_1", "collapsed", ">", 0.5, "free-running rollout collapses to a constant"),
        PairedClaim("C-window", "A window of 50 values keeps the rollout on the signal longer than a window of 1",
                    "window_50", "window_1", "valid_horizon", lower_is_better=False),
        PairedClaim("C-window-rmse", "A window of 50 values gives a lower rollout error than a window of 1",
                    "window_50", "window_1", "rollout_rmse"),
        PairedClaim("C-state", "Carrying (h, c) beyond the window keeps the rollout on the signal longer",
                    "stateful_50", "window_50", "valid_horizon", lower_is_better=False),
        RateClaim("C-window-collapse", "A window of 50 values prevents collapse", "window_50", "collapsed", "<",
                  0.5, "free-running rollout does not collapse"),
    )
    return sine_scenario(
        "context", "Context length and carried state",
        f"LSTM(32, relu) -> Dense(1) on windows of {', '.join(map(str, windows))} of the seed's noisy sine, 20 epochs; "
        f"window-mode rollouts, and a stateful rollout of the window-50 model",
        variants, claims, rollout_modes={"stateful_50": "stateful"}, higher_is_better=("valid_horizon",))


SCENARIOS = {"context": context_and_state}
