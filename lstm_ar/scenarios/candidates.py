"""The candidates of the cure search: each a ``TrainConfig`` of the one harness and its numeric settings
(``Hyper``s, vmapped together in one program; ``lstm_ar.study.pairs.Candidate``). Names become file names;
``lstm_ar.study.pairs.quick`` shrinks every candidate to seconds for the test suite.
"""

from __future__ import annotations

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.study.pairs import PLAIN, Candidate


def _m(window: int, activation: str = "tanh", units: int = 32, **fields) -> ModelConfig:
    return ModelConfig(units=units, window=window, activation=activation, **fields)


def _c(model: ModelConfig, epochs: int = 100, **fields) -> TrainConfig:
    return TrainConfig(model=model, epochs=epochs, **fields)


STEPS = 200

# name -> candidate. A setting name "" means the candidate's own name; others are appended.
CANDIDATES: dict[str, Candidate] = {
    "article_w1_relu": Candidate(_c(_m(1, "relu"), 20), PLAIN),
    "plain_w20": Candidate(_c(_m(20)), PLAIN),
    "plain_w50": Candidate(_c(_m(50)), PLAIN),
    "plain_w50_relu": Candidate(_c(_m(50, "relu")), PLAIN),
    "plain_w100": Candidate(_c(_m(100)), PLAIN),
    "longer_w50": Candidate(_c(_m(50), 300), PLAIN),
    "clip_w50": Candidate(_c(_m(50)),
                          {"lr3e-3_clip1": Hyper(learning_rate=3e-3, global_clipnorm=1.0),
                           "lr1e-3_clip1": Hyper(global_clipnorm=1.0)}),
    "residual_w50": Candidate(_c(_m(50, residual=True)), PLAIN),
    "noise_w50": Candidate(_c(_m(50), noisy_inputs=True),
                           {"0.05": Hyper(input_noise=0.05), "0.2": Hyper(input_noise=0.2)}),
    "direct_w50": Candidate(_c(_m(50, head="direct", horizon=STEPS)), PLAIN),
    "direct_w100": Candidate(_c(_m(100, head="direct", horizon=STEPS)), PLAIN),
    "curriculum_w50_k40": Candidate(_c(_m(50), regime="free_running", horizon=40, curriculum=True), PLAIN),
    "freerun_w50_k200": Candidate(_c(_m(50), 50, regime="free_running", horizon=200), PLAIN),
    "dad_w50": Candidate(_c(_m(50), dad_rounds=2), PLAIN),
    "gaussian_w50": Candidate(_c(_m(50, head="gaussian")), PLAIN),
    "gaussian_residual_w50": Candidate(_c(_m(50, head="gaussian", residual=True)), PLAIN),
}


# ``--quick`` runs these by default: between them every remedy's code path (noise and clipping settings
# vmapped, direct head, k-step curriculum, DaD, Gaussian head with residual prediction).
QUICK = ("noise_w50", "direct_w50", "curriculum_w50_k40", "dad_w50", "gaussian_residual_w50")
