"""Pieces shared by the catalogues: Keras-default training configs and the article's noisy sine as a scenario.

Deviations from the article: training uses x[:-1] -> x[1:] (its code crashes as written); held-out MSE uses a
fresh noise draw (``np.random.seed(43)``) on the training scale (it holds nothing out); free-running rollouts
(200 steps after x[998], window mode, judged against the noiseless continuation) are added.
"""

from __future__ import annotations

import numpy as np

from lstm_ar.config import Hyper, ModelConfig, TrainConfig
from lstm_ar.data.series import Series, noisy_sine, sine_continuation, standardise_like, windows
from lstm_ar.study.claims import article_claims
from lstm_ar.study.scenario import ROLLOUT_STEPS, Scenario


def _gap_derived(m: dict) -> dict:
    return {"generalisation_gap": m["heldout_mse"] - m["train_mse"]}


def fit_config(model: ModelConfig, epochs: int, quick: bool, **hyper) -> TrainConfig:
    """Keras-default training for ``epochs`` (at most 2 in a quick run)."""
    return TrainConfig(model=model, epochs=min(epochs, 2) if quick else epochs, hyper=Hyper(**hyper))


ARTICLE_NOISE_SEED = 42
HELDOUT_OFFSET = 50_000  # held-out draw of another realisation: its noise seed + this


def heldout_seed(noise_seed: int = ARTICLE_NOISE_SEED) -> int:
    """The numpy seed of the held-out draw that goes with a training draw: 43 for the article's 42, else
    ``noise_seed + HELDOUT_OFFSET`` (never a training draw of ``lstm_ar.data.realisations``)."""
    return 43 if noise_seed == ARTICLE_NOISE_SEED else noise_seed + HELDOUT_OFFSET


def sine_setup(noise_seed: int = ARTICLE_NOISE_SEED) -> tuple[Series, np.ndarray]:
    """The seed's noisy sine (numpy seed ``noise_seed``) and a fresh-noise copy (``heldout_seed``) on its scale."""
    series = noisy_sine(seed=noise_seed)
    return series, standardise_like(noisy_sine(seed=heldout_seed(noise_seed), standardise=False).values, series)


def sine_scenario(name, title, source, variants, claims, *, noise_seed: int = ARTICLE_NOISE_SEED, **extra) -> Scenario:
    """A scenario on the seed's noisy sine (another noise draw with ``noise_seed``); extra fields pass through."""
    series, fresh = sine_setup(noise_seed)
    data, heldout, derive = windows(series.values, 1), windows(fresh, 1), extra.pop("derive", _gap_derived)
    return Scenario(
        name=name, title=title, source=source, variants=variants, data=data,
        scale=float(np.std(series.values[:-1])), context=series.values[:-1],
        test_input=data.x[-1, :, 0], test_target=float(data.y[-1, 0]), map_range=(-3.0, 3.0),
        claims=article_claims(claims), heldout=heldout,
        truth=sine_continuation(series, series.values.shape[0] - 1, ROLLOUT_STEPS),
        derive=derive, series=series.values, heldout_series=fresh,
        lower_is_better=("train_mse", "heldout_mse", "generalisation_gap", "seed_prediction_error", "rollout_rmse"),
        **extra)
