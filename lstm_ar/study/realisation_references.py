"""Least-squares references on every noise realisation: AR(p) for p = 1..max_order, the orders AIC
and BIC choose, and a direct linear forecaster (window -> next H values), each fitted on the same
training series as the LSTMs and rolled out from the same point, judged by the same metrics.

The "best AR" of a study is one order p* for all pairs: the one with the lowest median rollout
RMSE over the realisations. It is chosen on the truth, so it is an optimistic reference; AIC and
BIC choose on the training series alone.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.data.realisations import Realisations
from lstm_ar.dynamics.judge import judge_path
from lstm_ar.linear.ar import ar_rollout, companion_spectral_radius, fit_ar, information_criteria
from lstm_ar.linear.direct import direct_rollout, fit_direct

MAX_ORDER = 60
DIRECT_WINDOW = 50


class References(NamedTuple):
    """Per realisation r and order p (1..max_order): ``ar[metric]`` f[R, P]; ``ar_rho`` f[R, P] the
    companion spectral radius; ``ar_coef1`` f[R] the AR(1) slope; ``aic_order``/``bic_order`` i[R];
    ``aic``/``bic``/``direct``: {metric: f[R]}; ``best_order`` p*; ``rollouts``: name -> f[R, T]."""

    ar: dict[str, np.ndarray]
    ar_rho: np.ndarray
    ar_coef1: np.ndarray
    aic_order: np.ndarray
    bic_order: np.ndarray
    aic: dict[str, np.ndarray]
    bic: dict[str, np.ndarray]
    direct: dict[str, np.ndarray]
    best_order: int
    rollouts: dict[str, np.ndarray]

    def best(self) -> dict[str, np.ndarray]:
        """The metrics of AR(p*) per realisation: {metric: f[R]}."""
        return {k: v[:, self.best_order - 1] for k, v in self.ar.items()}

    def table(self) -> dict[str, dict[str, np.ndarray]]:
        """Reference name -> {metric: f[R]}: AR(1), AR(p*), AR(AIC), AR(BIC), direct linear."""
        return {"AR(1)": {k: v[:, 0] for k, v in self.ar.items()}, f"AR({self.best_order}) best": self.best(),
                "AR(AIC)": self.aic, "AR(BIC)": self.bic, f"direct linear w{DIRECT_WINDOW}": self.direct}


def linear_references(data: Realisations, *, max_order: int = MAX_ORDER) -> References:
    """Fit and roll out every reference on every realisation (one vmapped program each).

    Args:
      data: the realisations (training series, context, truth, scale).
      max_order: largest AR order (all orders share the sample t >= max_order).

    Returns:
      ``References``.
    """
    steps = data.truth.shape[1]
    orders = jnp.arange(1, max_order + 1)

    def one(series, context, truth, scale):
        fits = jax.vmap(lambda p: fit_ar(series, p, max_order=max_order))(orders)
        paths = jax.vmap(lambda f: ar_rollout(f, context, steps))(fits)
        metrics = jax.vmap(lambda ys: judge_path(ys, truth, scale))(paths)
        rho = jax.vmap(companion_spectral_radius)(fits.coefs)
        aic, bic = information_criteria(fits)
        direct = direct_rollout(fit_direct(series, DIRECT_WINDOW, steps), context, steps)
        return metrics, paths, rho, fits.coefs[0, 0], jnp.argmin(aic), jnp.argmin(bic), \
            judge_path(direct, truth, scale), direct

    out = jax.jit(jax.vmap(one))(*(jnp.asarray(a) for a in (data.series, data.context, data.truth, data.scale)))
    metrics, paths, rho, coef1, aic_i, bic_i, direct, direct_path = jax.tree.map(np.asarray, out)
    rows = np.arange(data.series.shape[0])
    pick = lambda idx: {k: v[rows, idx] for k, v in metrics.items()}  # noqa: E731
    best = int(np.argmin(np.median(metrics["rollout_rmse"], axis=0))) + 1
    return References(ar=metrics, ar_rho=rho, ar_coef1=coef1, aic_order=aic_i + 1, bic_order=bic_i + 1,
                      aic=pick(aic_i), bic=pick(bic_i), direct=direct, best_order=best,
                      rollouts={"AR(1)": paths[:, 0], f"AR({best})": paths[:, best - 1],
                                "AR(AIC)": paths[rows, aic_i], "direct": direct_path})
