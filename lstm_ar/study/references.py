"""Linear references beside every LSTM: forecasts fitted in closed form on the same data.

For a scenario with a training ``series`` and a rollout ``context``, each reference is fitted on
the training series (the values the LSTMs train on) and rolled out from the end of the same
context for ``rollout_steps`` steps:

* ``persistence``: repeat the context's last value;
* ``mean``: the training series' mean;
* ``ar_{p}``: least-squares AR(p) with an intercept (``lstm_ar.linear.ar``; statsmodels'
  ``AutoReg(series, p)``) for p in ``AR_ORDERS`` = (1, 2, 5, 10, 20, 30, 50), keeping the orders
  the series can fit (``2 p + 2 <= len(series)``: more sample rows than coefficients) and the
  context can start (``p <= len(context)``);
* ``ar_aic`` / ``ar_bic``: the order chosen by AIC / BIC among 0..``min(50, len(series) // 10)``
  on the common sample, refitted on its own sample (as ``lstm_ar.linear.ar.select_order`` and
  statsmodels' ``ar_select_order``; here every candidate's residual comes from one QR
  decomposition, see ``_fit_selected``);
* ``direct``: a direct linear forecaster (``lstm_ar.linear.direct``): the last ``w`` values ->
  the next ``H`` values, ``w = min(50, len(series) // 10)`` and ``H = rollout_steps``; when the
  series is too short for that many (window, target) pairs, ``H = len(series) - 2 w - 1`` and
  the rollout is made of blocks of ``H`` (each block fed back as the next window). Left out when
  even that is below 1.

Every reference gets the metrics of a variant's rollout (the collapse metrics; with a truth,
``rollout_rmse`` and ``valid_horizon``; with a backtest, the backtest metrics on the same
origins, the fits made once on the training series and not refitted per origin). They are
deterministic (one data draw): one value per reference, computed once outside the seed loop.

``best_ar`` is the ``ar_{p}`` with the lowest ``rollout_rmse``. It is chosen on the truth the
rollouts are judged against, so it is an optimistic reference (no forecaster could choose it in
advance); ``ar_aic`` and ``ar_bic`` choose without seeing the truth and are the honest ones.

``compare`` gives, per variant, the paired probability that the variant beats a reference
(the reference's value repeated for every seed; ``lstm_ar.study.stats.prob_better``: a tie
scores 1/2), a diverged seed counting as the variant's worst value.

Persistence, the mean and every AR are one ``ARFit`` each (persistence: coefficient 1 on the
last value; the mean: the intercept alone), so all of them roll out in one vmapped program. The
fits run as separate programs, one after another, each with a single batched LAPACK call (see
``fit_references``); the companion matrices' spectral radii are computed in numpy.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.dynamics.judge import judge_origins, judge_rollout
from lstm_ar.linear.ar import ARFit, ar_rollout, fit_masked, lag_matrix, spectral_radius_host
from lstm_ar.linear.direct import direct_rollout, fit_direct
from lstm_ar.study import stats
from lstm_ar.study.claims import diverged_as_worst
from lstm_ar.study.metrics import BACKTEST

AR_ORDERS = (1, 2, 5, 10, 20, 30, 50)
MAX_SELECTED_ORDER = 50  # AIC/BIC compare orders up to min(50, len(series) // 10)
DIRECT_WINDOW = 50  # the direct forecaster's window, capped at len(series) // 10
BEST_AR = "best_ar"
COMPARED = (BEST_AR, "ar_aic", "persistence")  # the references every variant is compared with
# metric -> lower is better: what the paired comparisons judge (where both sides have it)
COMPARED_METRICS = {"rollout_rmse": True, "valid_horizon": False, "backtest_rmse": True,
                    "backtest_valid_horizon": False}


class LinearReferences(NamedTuple):
    """The references of one scenario.

    Attributes:
      metrics: name -> {metric: float} (``order`` too for the AR fits; ``spectral_radius``: the
        companion matrix's, below 1 the AR rollout settles).
      rollouts: name -> f32[rollout_steps].
      best_ar: the name of the AR(p) with the lowest rollout RMSE (None without a truth).
    """

    metrics: dict[str, dict[str, float]]
    rollouts: dict[str, np.ndarray]
    best_ar: str | None


def ar_orders(length: int, context: int) -> tuple[int, ...]:
    """The orders of ``AR_ORDERS`` a series of ``length`` values can fit and a context starts.

    Args:
      length: len(series).
      context: len(context).

    Returns:
      The kept orders, ascending.
    """
    return tuple(p for p in AR_ORDERS if 2 * p + 2 <= length and p <= context)


def selection_max_order(length: int) -> int:
    """``min(MAX_SELECTED_ORDER, length // 10)``: the largest order AIC/BIC compare (0: none)."""
    return min(MAX_SELECTED_ORDER, length // 10)


def direct_shape(length: int, steps: int) -> tuple[int, int] | None:
    """(window, horizon) of the direct forecaster for a series of ``length`` values, or None.

    Args:
      length: len(series).
      steps: the rollout length.

    Returns:
      ``(w, H)`` with ``w = min(DIRECT_WINDOW, length // 10)`` and ``H = min(steps, length - 2 w - 1)``
      (the most the series can fit); None when w or H is below 1.
    """
    window = min(DIRECT_WINDOW, length // 10)
    horizon = min(steps, length - 2 * window - 1)
    return (window, horizon) if window >= 1 and horizon >= 1 else None


def _pad(fit: ARFit, width: int) -> ARFit:
    coefs = jnp.zeros(fit.coefs.shape[:-1] + (width,), jnp.float32).at[..., :fit.coefs.shape[-1]].set(fit.coefs)
    return fit._replace(coefs=coefs)


def _constant_fit(intercept, last_coef: float, width: int) -> ARFit:
    """x_t = intercept + last_coef * x_{t-1}: the mean (0 coefficient) and persistence (1)."""
    return ARFit(intercept=jnp.asarray(intercept, jnp.float32),
                 coefs=jnp.zeros(width, jnp.float32).at[0].set(last_coef),
                 sigma2=jnp.float32(jnp.nan), order=jnp.int32(1 if last_coef else 0), nobs=jnp.int32(0))


class Plan(NamedTuple):
    """What a series of a given length fits (static: one compiled program per plan)."""

    orders: tuple[int, ...]
    max_selected: int
    width: int
    direct: tuple[int, int] | None

    @property
    def names(self) -> list[str]:
        """The references in the order their values are stacked."""
        return (["persistence", "mean"] + [f"ar_{p}" for p in self.orders]
                + (["ar_aic", "ar_bic"] if self.max_selected >= 1 else []) + (["direct"] if self.direct else []))


def plan(length: int, context_length: int, steps: int) -> Plan:
    """The references a training series of ``length`` values can fit (module docstring).

    Args:
      length: len(series).
      context_length: len(context) (an AR(p) needs p values to start from).
      steps: rollout steps (the direct forecaster's horizon).

    Returns:
      The ``Plan``.
    """
    orders = ar_orders(length, context_length)
    max_selected = selection_max_order(length)
    direct = direct_shape(length, steps)
    width = max(orders + (max_selected, 1, direct[0] if direct else 1))
    return Plan(orders, max_selected, width, direct)


# The fits run as separate programs, one after the other (``jax.block_until_ready`` between them),
# each with a single (batched) LAPACK call: independent LAPACK custom calls in one program may run
# concurrently on XLA's CPU threads, and the suite saw such a program never finish. The spectral
# radii are computed in numpy.
@functools.partial(jax.jit, static_argnames=("orders", "width"))
def _fit_orders(series, *, orders: tuple[int, ...], width: int) -> ARFit:
    """AR(p) for each p of ``orders``, each on its own sample (``AutoReg(series, p)``): coefs f32[len(orders), width]."""
    return jax.vmap(lambda p: fit_masked(series, p, p, width))(jnp.asarray(orders))


@functools.partial(jax.jit, static_argnames=("top", "width"))
def _fit_selected(series, *, top: int, width: int) -> ARFit:
    """The orders ``select_order(series, top, "aic")`` and ``(..., "bic")`` choose, each refitted on its
    own sample; coefs f32[2, width].

    Orders 0..top are compared on the common sample t >= top, as ``select_order`` does, but from
    one QR decomposition of the centred lag design instead of top + 1 least-squares fits: the
    lag columns are nested, so the residual sum of squares of order p is
    ``|y|^2 - sum_{i < p} (Q^T y)_i^2`` (y centred; the intercept is the centring). Tested equal to
    statsmodels' ``ar_select_order`` (tests/test_references.py). Information criteria as
    ``lstm_ar.linear.ar.information_criteria`` (k = p + 2).
    """
    lags = lag_matrix(series, top)[top:]
    y = series[top:]
    centred_x, centred_y = lags - jnp.mean(lags, axis=0)[None, :], y - jnp.mean(y)
    q = jnp.linalg.qr(centred_x)[0]
    total = centred_y @ centred_y
    ssr = jnp.concatenate([total[None], total - jnp.cumsum(jnp.square(q.T @ centred_y))])
    nobs = jnp.float32(series.shape[0] - top)
    k = jnp.arange(top + 1, dtype=jnp.float32) + 2.0
    minus_2_llf = nobs * (jnp.log(2.0 * jnp.pi) + jnp.log(ssr / nobs) + 1.0)
    best = jnp.stack([jnp.argmin(minus_2_llf + 2.0 * k), jnp.argmin(minus_2_llf + jnp.log(nobs) * k)])
    return _pad(jax.vmap(lambda p: fit_masked(series, p, p, top))(best), width)


def fit_references(series, which: Plan) -> tuple[ARFit, Any]:
    """Fit every reference of a plan on a training series.

    Args:
      series: f32[T] the training series.
      which: ``plan(T, ...)``.

    Returns:
      (the AR-like fits, persistence, mean, AR(p), AIC, BIC in ``Plan.names`` order, stacked with
      ``coefs: f32[R, width]``; the direct fit or None).
    """
    series = jnp.asarray(series, jnp.float32)
    parts = [jax.tree.map(lambda *leaves: jnp.stack(leaves), _constant_fit(0.0, 1.0, which.width),
                          _constant_fit(jnp.mean(series), 0.0, which.width))]
    if which.orders:
        parts.append(jax.block_until_ready(_fit_orders(series, orders=which.orders, width=which.width)))
    if which.max_selected >= 1:
        parts.append(jax.block_until_ready(_fit_selected(series, top=which.max_selected, width=which.width)))
    direct = None
    if which.direct is not None:
        direct = jax.block_until_ready(fit_direct(series, *which.direct))
    return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *parts), direct


@functools.partial(jax.jit, static_argnames=("steps",))
def _judge(fits: ARFit, direct, context, truth, scale, center, contexts, truths, *, steps: int):
    """Roll out and judge every reference: (rollouts f32[R, steps], metrics name -> f[R])."""
    rollouts = jax.vmap(lambda fit: ar_rollout(fit, context, steps))(fits)
    if direct is not None:
        rollouts = jnp.concatenate([rollouts, direct_rollout(direct, context, steps)[None]])
    metrics = jax.vmap(lambda ys: judge_rollout(ys, truth, scale, center))(rollouts)
    if contexts is not None:
        h = truths.shape[1]

        def judge(ys):
            judged = judge_origins(ys, truths, scale, center)
            return {name: judged[name] for name in BACKTEST}

        ar = jax.vmap(lambda fit: judge(jax.vmap(lambda c: ar_rollout(fit, c, h))(contexts)))(fits)
        if direct is not None:
            d = judge(jax.vmap(lambda c: direct_rollout(direct, c, h))(contexts))
            ar = {k: jnp.concatenate([ar[k], d[k][None]]) for k in ar}
        metrics.update(ar)
    return rollouts, metrics


def evaluate(scenario) -> LinearReferences | None:
    """Fit, roll out and judge every reference of a scenario (compiled once per shape).

    Args:
      scenario: a ``lstm_ar.study.scenario.Scenario``.

    Returns:
      The ``LinearReferences``, or None when the scenario has no training series.
    """
    if scenario.series is None:
        return None
    steps = scenario.rollout_steps
    context = np.asarray(scenario.context, np.float32)
    which = plan(scenario.series.shape[0], context.shape[0], steps)
    truth = None if scenario.truth is None else np.asarray(scenario.truth[:steps], np.float32)
    backtest = scenario.backtest()
    contexts = truths = None
    if backtest is not None:
        contexts, truths = backtest.contexts(which.width), backtest.truths()
    fits, direct = fit_references(scenario.series, which)
    rollouts, per = _judge(fits, direct, context, truth, np.float32(scenario.scale), np.float32(scenario.center),
                           contexts, truths, steps=steps)
    # to the host once: indexing device arrays one value at a time dispatches (and compiles) an op each
    per = {k: np.asarray(v, np.float64) for k, v in per.items()}
    rollouts, coefs, orders = np.asarray(rollouts), np.asarray(fits.coefs), np.asarray(fits.order)
    metrics = {}
    for i, name in enumerate(which.names):
        entry = {k: float(v[i]) for k, v in per.items()}
        if name.startswith("ar_"):
            entry = {"order": int(orders[i]), "spectral_radius": spectral_radius_host(coefs[i]), **entry}
        metrics[name] = entry
    ar_names = [f"ar_{p}" for p in which.orders]
    best = None
    if truth is not None and ar_names:
        best = min(ar_names, key=lambda n: (_sortable(metrics[n]["rollout_rmse"]), metrics[n]["order"]))
    return LinearReferences(metrics=metrics, rollouts={n: rollouts[i] for i, n in enumerate(which.names)},
                            best_ar=best)


def _sortable(value: float) -> float:
    return value if np.isfinite(value) else np.inf


def summary(refs: LinearReferences) -> dict[str, dict]:
    """The ``linear_references`` entry of ``summary.json``.

    Args:
      refs: what ``evaluate`` returned.

    Returns:
      name -> {metric: value} (JSON-ready: +-inf as "inf" / "-inf"); with a truth, ``best_ar``
      repeats the best AR(p)'s entry with ``of`` (its name) and ``chosen_on: "truth"``.
    """
    out = {name: stats.json_number(m) for name, m in refs.metrics.items()}
    if refs.best_ar is not None:
        out[BEST_AR] = {"of": refs.best_ar, "chosen_on": "truth", **out[refs.best_ar]}
    return out


def reference_value(refs: LinearReferences, name: str, metric: str) -> float | None:
    """A reference's value of a metric (``best_ar`` resolved), or None where it has none."""
    name = refs.best_ar if name == BEST_AR else name
    if name is None or name not in refs.metrics:
        return None
    return refs.metrics[name].get(metric)


def compare(values: dict[str, np.ndarray], refs: LinearReferences) -> dict[str, dict[str, dict]]:
    """Paired P(variant beats reference) over seeds, for the references in ``COMPARED``.

    Args:
      values: the variant's per-seed metrics (name -> f[n_seeds]), with ``diverged``.
      refs: the scenario's references.

    Returns:
      reference -> metric -> ``stats.prob_better`` (with ``lower_is_better`` and the reference's
      ``value``); the variant's diverged seeds count as its worst value, a diverged (or
      non-finite) reference value as the reference's worst.
    """
    diverged = values.get("diverged")
    out: dict[str, dict[str, dict]] = {}
    for ref in COMPARED:
        entry = {}
        ref_diverged = reference_value(refs, ref, "diverged")
        for metric, lower in COMPARED_METRICS.items():
            value = reference_value(refs, ref, metric)
            if value is None or metric not in values:
                continue
            seeds = np.asarray(values[metric], np.float64)
            a = diverged_as_worst(seeds, lower, diverged)
            b = diverged_as_worst(np.full(seeds.shape, value), lower,
                                  np.full(seeds.shape, bool(ref_diverged) and metric in ("rollout_rmse", "valid_horizon")))
            entry[metric] = {"lower_is_better": lower, "reference_value": stats.json_number(float(value)),
                             **stats.prob_better(a, b, lower_is_better=lower)}
        if entry:
            out[ref] = entry
    return out
