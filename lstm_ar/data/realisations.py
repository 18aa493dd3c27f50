"""Noise realisations of the article's series: the data's randomness as a second random axis.

Realisation 0 is the article's draw (numpy seed 42), r > 0 uses seed ``REALISATION_SEED_BASE + r``,
each standardised on its own; each is judged against the noiseless sine after x[998]
(``lstm_ar.scenarios.common``). Seed s trains on every realisation with the same key.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.checks import check_int
from lstm_ar.data.series import noisy_sine, sine_continuation

ARTICLE_SEED = 42
REALISATION_SEED_BASE = 10_000
N_POINTS = 1000


class Realisations(NamedTuple):
    """series f32[R, 1000] (standardised); context f32[R, 999]; truth f32[R, steps] (noiseless
    continuation); scale f32[R] (training std); noise (std before standardisation); numpy seeds."""

    series: np.ndarray
    context: np.ndarray
    truth: np.ndarray
    scale: np.ndarray
    noise: float
    seeds: tuple[int, ...]


def realisation_seed(r: int) -> int:
    """The numpy seed of realisation r: the article's 42 for r = 0, else 10,000 + r."""
    r = check_int(r, "realisation", 0)
    return ARTICLE_SEED if r == 0 else REALISATION_SEED_BASE + r


def sine_realisations(count: int, *, steps: int = 200, noise: float = 0.1, first: int = 0) -> Realisations:
    """Realisations first..first+count-1 of the noisy sine (noise: std before standardisation, 0.1 the
    article's), each judged on ``steps`` values of truth."""
    count, steps, first = check_int(count, "count", 1), check_int(steps, "steps", 1), check_int(first, "first", 0)
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) \
            or not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    seeds = tuple(realisation_seed(r) for r in range(first, first + count))
    made = [noisy_sine(N_POINTS, noise=float(noise), seed=s) for s in seeds]
    series = np.stack([m.values for m in made]).astype(np.float32)
    truth = np.stack([sine_continuation(m, N_POINTS - 1, steps) for m in made]).astype(np.float32)
    scale = np.std(series[:, :-1].astype(np.float64), axis=1).astype(np.float32)
    return Realisations(series=series, context=series[:, :-1], truth=truth, scale=scale, noise=float(noise),
                        seeds=seeds)
