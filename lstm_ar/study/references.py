"""Forecasts without an LSTM, fitted on the same training values and judged by the same metrics: persistence,
the training mean, seasonal naive, least-squares AR(p) (fixed orders or by AIC/BIC, as statsmodels' ``AutoReg`` /
``ar_select_order``), direct linear (``lstm_ar.linear``) and the classical ones a forecaster would pick,
exponential smoothing (ETS, its additive form by AIC) and Theta (statsmodels, on the host: ``classical_paths``):
a scenario's (``evaluate``, ``compare``), per noise realisation in one vmapped program
(``realisation_references``), per backtest origin (``origin_references``) and one user series on the host
(``series_references``). "Best AR" (``best_ar``, ``best_order``) is chosen on the truth it is judged against:
optimistic, no forecaster could choose it in advance; AIC and BIC are the honest ones.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lstm_ar.data.realisations import Realisations
from lstm_ar.dynamics.judge import judge_origins, judge_path, judge_rollout
from lstm_ar.linear.ar import (
    ARFit,
    ar_rollout,
    ar_rollout_host,
    companion_spectral_radius,
    fit_ar,
    fit_ar_host,
    fit_masked,
    information_criteria,
    lag_matrix,
    select_ar_host,
    select_order,
    spectral_radius_host,
)
from lstm_ar.linear.direct import direct_rollout, fit_direct
from lstm_ar.study import stats
from lstm_ar.study.claims import diverged_as_worst
from lstm_ar.study.metrics import BACKTEST

AR_ORDERS = (1, 2, 5, 10, 20, 30, 50)
MAX_SELECTED_ORDER = 50  # a scenario's AIC/BIC compare orders up to min(50, len(series) // 10)
DIRECT_WINDOW = 50  # the direct forecaster's window (a scenario caps it at len(series) // 10)
MAX_REALISATION_ORDER = 60  # realisations: AR(1..60) on the common sample t >= 60
MAX_AR_ORDER = 40  # one user series: AIC compares 0..min(40, n_train // 5) (AR tracks the noisy sine from p of about 25)
BEST_AR = "best_ar"
COMPARED = (BEST_AR, "ar_aic", "persistence")  # the references every variant is compared with
# metric -> lower is better: what the paired comparisons judge (where both sides have it)
COMPARED_METRICS = {"rollout_rmse": True, "valid_horizon": False, "backtest_rmse": True, "backtest_valid_horizon": False}


def seasonal_naive(context, season: int, steps: int) -> np.ndarray:
    """The last ``season`` values of ``context`` f[..., T >= season] repeated: f[..., steps]."""
    context = np.asarray(context)
    if not 1 <= season <= context.shape[-1]:
        raise ValueError(f"season must be in [1, {context.shape[-1]}] (the values before the forecast), got {season}")
    return np.tile(context[..., -season:], -(-steps // season))[..., :steps]


def naive_forecasts(train, steps: int, season: int | None = None) -> dict[str, np.ndarray]:
    """``persistence``, ``mean`` and (with a season) ``seasonal_naive`` from the end of ``train``: f64[steps] each."""
    train = np.asarray(train, np.float64)
    out = {"persistence": np.full(steps, float(train[-1])), "mean": np.full(steps, float(np.mean(train)))}
    return out if season is None else {**out, "seasonal_naive": seasonal_naive(train, season, steps)}


def rmse(forecast, truth) -> float:
    """sqrt(mean((forecast - truth)^2)) in float64."""
    return float(np.sqrt(np.mean(np.square(np.asarray(forecast, np.float64) - np.asarray(truth, np.float64)))))


def best_reference(rmse_of: dict[str, float]) -> str:
    """The reference with the smallest finite RMSE (the first listed on a tie; the first of all when none is finite)."""
    finite = {k: v for k, v in rmse_of.items() if np.isfinite(v)}
    return min(finite, key=finite.get) if finite else next(iter(rmse_of))


# A scenario's references (``plan``), fitted once on the training series. Persistence and the mean are ``ARFit``s
# too (coefficient 1 on the last value; the intercept alone), so every AR-like one rolls out in one vmapped program.
class LinearReferences(NamedTuple):
    """By name: metrics (AR: ``order``, companion ``spectral_radius`` too), rollouts; best_ar: by rollout RMSE."""

    metrics: dict[str, dict[str, float]]
    rollouts: dict[str, np.ndarray]
    best_ar: str | None


def ar_orders(length: int, context: int) -> tuple[int, ...]:
    """The ``AR_ORDERS`` a series can fit (``2 p + 2 <= length``) and a context starts (``p <= context``)."""
    return tuple(p for p in AR_ORDERS if 2 * p + 2 <= length and p <= context)


def selection_max_order(length: int) -> int:
    """``min(MAX_SELECTED_ORDER, length // 10)``: the largest order AIC/BIC compare (0: none)."""
    return min(MAX_SELECTED_ORDER, length // 10)


def direct_shape(length: int, steps: int) -> tuple[int, int] | None:
    """Direct linear's ``w = min(DIRECT_WINDOW, length // 10)``, ``H = min(steps, length - 2 w - 1)``, or None."""
    window = min(DIRECT_WINDOW, length // 10)
    horizon = min(steps, length - 2 * window - 1)
    return (window, horizon) if window >= 1 and horizon >= 1 else None


def _constant_fit(intercept, last_coef: float, width: int) -> ARFit:
    """x_t = intercept + last_coef * x_{t-1}: the mean (0 coefficient) and persistence (1)."""
    return ARFit(intercept=jnp.asarray(intercept, jnp.float32), coefs=jnp.zeros(width, jnp.float32).at[0].set(last_coef),
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
    """The references a training series of ``length`` values fits, from ``context_length`` values, ``steps`` ahead."""
    orders, direct = ar_orders(length, context_length), direct_shape(length, steps)
    max_selected = selection_max_order(length)
    return Plan(orders, max_selected, max(orders + (max_selected, 1, direct[0] if direct else 1)), direct)


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
    """The orders ``select_order(series, top, "aic")`` and ``"bic"`` choose, refitted on their own sample; coefs
    f32[2, width]. One QR decomposition of the centred lag design instead of top + 1 fits: the lag columns
    are nested, so order p's residual sum of squares is ``|y|^2 - sum_{i < p} (Q^T y)_i^2`` (y centred).
    Tested equal to statsmodels' ``ar_select_order``."""
    lags, y = lag_matrix(series, top)[top:], series[top:]
    centred_x, centred_y = lags - jnp.mean(lags, axis=0)[None, :], y - jnp.mean(y)
    q = jnp.linalg.qr(centred_x)[0]
    total = centred_y @ centred_y
    ssr = jnp.concatenate([total[None], total - jnp.cumsum(jnp.square(q.T @ centred_y))])
    nobs, k = jnp.float32(series.shape[0] - top), jnp.arange(top + 1, dtype=jnp.float32) + 2.0
    minus_2_llf = nobs * (jnp.log(2.0 * jnp.pi) + jnp.log(ssr / nobs) + 1.0)
    best = jnp.stack([jnp.argmin(minus_2_llf + 2.0 * k), jnp.argmin(minus_2_llf + jnp.log(nobs) * k)])
    fits = jax.vmap(lambda p: fit_masked(series, p, p, top))(best)
    return fits._replace(coefs=jnp.zeros((2, width), jnp.float32).at[..., :top].set(fits.coefs))


def fit_references(series, which: Plan) -> tuple[ARFit, Any]:
    """(the AR-like fits in ``Plan.names`` order, ``coefs: f32[R, width]``; the direct fit or None) on f32[T]."""
    series = jnp.asarray(series, jnp.float32)
    parts = [jax.tree.map(lambda *leaves: jnp.stack(leaves), _constant_fit(0.0, 1.0, which.width),
                          _constant_fit(jnp.mean(series), 0.0, which.width))]
    if which.orders:
        parts.append(jax.block_until_ready(_fit_orders(series, orders=which.orders, width=which.width)))
    if which.max_selected >= 1:
        parts.append(jax.block_until_ready(_fit_selected(series, top=which.max_selected, width=which.width)))
    direct = None if which.direct is None else jax.block_until_ready(fit_direct(series, *which.direct))
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
    """Fit, roll out and judge every reference of a ``Scenario``; None without a training series."""
    if scenario.series is None:
        return None
    steps = scenario.rollout_steps
    context = np.asarray(scenario.context, np.float32)
    which = plan(scenario.series.shape[0], context.shape[0], steps)
    truth = None if scenario.truth is None else np.asarray(scenario.truth[:steps], np.float32)
    backtest = scenario.backtest()
    contexts, truths = (None, None) if backtest is None else (backtest.contexts(which.width), backtest.truths())
    fits, direct = fit_references(scenario.series, which)
    rollouts, per = _judge(fits, direct, context, truth, np.float32(scenario.scale), np.float32(scenario.center),
                           contexts, truths, steps=steps)
    # to the host once: indexing device arrays one value at a time dispatches (and compiles) an op each
    per = {k: np.asarray(v, np.float64) for k, v in per.items()}
    rollouts, coefs, orders = np.asarray(rollouts), np.asarray(fits.coefs), np.asarray(fits.order)
    metrics = {name: {**({"order": int(orders[i]), "spectral_radius": spectral_radius_host(coefs[i])}
                         if name.startswith("ar_") else {}), **{k: float(v[i]) for k, v in per.items()}}
               for i, name in enumerate(which.names)}
    ar_names = [f"ar_{p}" for p in which.orders]
    best = None if truth is None or not ar_names else min(ar_names, key=lambda n: (
        r if np.isfinite(r := metrics[n]["rollout_rmse"]) else np.inf, metrics[n]["order"]))
    return LinearReferences(metrics=metrics, rollouts={n: rollouts[i] for i, n in enumerate(which.names)}, best_ar=best)


def summary(refs: LinearReferences) -> dict[str, dict]:
    """``summary.json``'s ``linear_references``; ``best_ar`` repeats the best AR(p)'s entry, ``chosen_on: "truth"``."""
    out = {name: stats.json_number(m) for name, m in refs.metrics.items()}
    if refs.best_ar is not None:
        out[BEST_AR] = {"of": refs.best_ar, "chosen_on": "truth", **out[refs.best_ar]}
    return out


def reference_value(refs: LinearReferences, name: str, metric: str) -> float | None:
    """A reference's value of a metric (``best_ar`` resolved), or None where it has none."""
    name = refs.best_ar if name == BEST_AR else name
    return None if name is None or name not in refs.metrics else refs.metrics[name].get(metric)


def compare(values: dict[str, np.ndarray], refs: LinearReferences) -> dict[str, dict[str, dict]]:
    """reference (``COMPARED``) -> metric -> paired ``stats.prob_better`` of the variant's per-seed ``values``
    against the reference's value (a tie scores 1/2); diverged seeds and a diverged reference count as worst."""
    diverged = values.get("diverged")
    out: dict[str, dict[str, dict]] = {}
    for ref in COMPARED:
        entry = {}
        ref_diverged = reference_value(refs, ref, "diverged")
        for metric, lower in COMPARED_METRICS.items():
            if (value := reference_value(refs, ref, metric)) is None or metric not in values:
                continue
            seeds = np.asarray(values[metric], np.float64)
            b = diverged_as_worst(np.full(seeds.shape, value), lower,
                                  np.full(seeds.shape, bool(ref_diverged) and metric in ("rollout_rmse", "valid_horizon")))
            entry[metric] = {"lower_is_better": lower, "reference_value": stats.json_number(float(value)),
                             **stats.prob_better(diverged_as_worst(seeds, lower, diverged), b, lower_is_better=lower)}
        if entry:
            out[ref] = entry
    return out


class RealisationReferences(NamedTuple):
    """Per realisation r and order p: ``ar[metric]``, ``ar_rho`` f[R, P]; ``ar_coef1`` (AR(1) slope), orders
    i[R]; ``aic``/``bic``/``direct``: {metric: f[R]}; ``best_order`` p*: the lowest median rollout RMSE."""

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


def realisation_references(data: Realisations, *, max_order: int = MAX_REALISATION_ORDER) -> RealisationReferences:
    """AR(1..max_order) (sample t >= max_order), AR by AIC/BIC and direct linear on every realisation, judged."""
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
    return RealisationReferences(ar=metrics, ar_rho=rho, ar_coef1=coef1, aic_order=aic_i + 1, bic_order=bic_i + 1,
                                 aic=pick(aic_i), bic=pick(bic_i), direct=direct, best_order=best,
                                 rollouts={"AR(1)": paths[:, 0], f"AR({best})": paths[:, best - 1],
                                           "AR(AIC)": paths[rows, aic_i], "direct": direct_path})


def reference_widths(n_train: int) -> tuple[int, int]:
    """(the largest AR order AIC/BIC compare, the direct linear fit's window) on ``n_train`` values: both
    ``min(50, n_train // 5)``, at least 1 (enough pairs per coefficient)."""
    width = max(1, min(50, n_train // 5))
    return width, width


def origin_references(backtest, *, season: int | None = None, max_order: int | None = None,
                      direct_window: int | None = None, classical: bool = False) -> dict[str, dict[str, float | np.ndarray]]:
    """Every reference, fitted once on ``backtest.history[:start]`` (standardised), from every origin: name ->
    ``judge_origins``' metrics (``origin_rmse`` f64[K]; AR: ``order``; ETS: ``form``). AIC/BIC compare orders
    1..max_order; ``max_order`` and ``direct_window`` default to ``min(50, n_train // 5)``, at least 1. ``classical``:
    ETS and Theta too (``classical_paths``)."""
    n_train = backtest.start
    default_order, default_window = reference_widths(n_train)
    max_order, direct_window = max_order or default_order, direct_window or default_window
    if (width := max(max_order, direct_window, season or 1)) > n_train:
        raise ValueError(f"a context of {width} values is longer than the training part ({n_train} values)")
    train, contexts = jnp.asarray(backtest.history[:n_train]), backtest.contexts(width)
    truths, h = jnp.asarray(backtest.truths()), backtest.horizon
    fits = {f"AR({ic.upper()})": select_order(train, max_order, ic, min_order=1) for ic in ("aic", "bic")}
    direct = fit_direct(train, direct_window, h)
    paths = {name: jax.vmap(lambda c, f=fit: ar_rollout(f, c, h))(jnp.asarray(contexts)) for name, fit in fits.items()}
    paths["direct linear"] = jax.vmap(lambda c: direct_rollout(direct, c, h))(jnp.asarray(contexts))
    paths["persistence"] = jnp.repeat(contexts[:, -1:], h, axis=1)
    paths["training mean"] = jnp.zeros_like(truths)  # standardised: the training part's mean is 0
    if season:
        paths[f"seasonal naive ({season})"] = jnp.asarray(seasonal_naive(contexts, season, h))
    form = None
    if classical:
        more, form = classical_paths(backtest.history, backtest.start + backtest.origins, h, n_train, season)
        paths.update({name: jnp.asarray(p, jnp.float32) for name, p in more.items()})
    out = {name: {k: np.asarray(v, np.float64) if k == "origin_rmse" else float(v)
                  for k, v in judge_origins(p, truths, 1.0).items()} for name, p in paths.items()}
    for name, fit in fits.items():
        out[name]["order"] = int(fit.order)
    if form is not None:
        out["ETS"]["form"] = form
    return out


# The classical references (statsmodels, host float64). ETS: the additive forms ``ETS_FORMS`` (error, trend,
# season: N none, A additive, Ad damped), the one with the lowest AIC on the training part, its parameters fitted
# there once; from a later origin the states are filtered with those parameters (as the AR fits roll out from each
# origin's context). Theta: statsmodels offers no fixed-parameter update, so it is refitted on everything before
# each origin (if anything this favours it).
ETS_FORMS = ((None, False, False), ("add", True, False), (None, False, True), ("add", True, True))


def ets_form(trend, damped: bool, seasonal: bool) -> str:
    """The form's short name: ``ETS(A,Ad,A)``."""
    return f"ETS(A,{'N' if trend is None else 'Ad' if damped else 'A'},{'A' if seasonal else 'N'})"


def fit_ets(train, season: int | None):
    """The additive ETS form of ``ETS_FORMS`` with the lowest AIC on ``train`` f[T] (seasonal forms with a ``season``
    >= 2 that ``train`` holds twice): (statsmodels ``ETSResults``, its model's keyword arguments)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    train = np.asarray(train, np.float64)
    seasonal_ok = season is not None and season >= 2 and train.shape[0] >= 2 * season + 2
    best = None
    for trend, damped, seasonal in ETS_FORMS:
        if seasonal and not seasonal_ok:
            continue
        kwargs = {"trend": trend, "damped_trend": damped,
                  **({"seasonal": "add", "seasonal_periods": int(season)} if seasonal else {})}
        with warnings.catch_warnings():  # convergence warnings: the fit is judged by its AIC and its errors
            warnings.simplefilter("ignore")
            fit = ETSModel(train, **kwargs).fit(disp=False)
        if np.isfinite(fit.aic) and (best is None or fit.aic < best[0].aic):
            best = (fit, kwargs)
    if best is None:
        raise ValueError(f"no ETS form could be fitted to {train.shape[0]} training values")
    return best


def ets_paths(history, ends, steps: int, n_train: int, season: int | None) -> tuple[np.ndarray, str]:
    """ETS forecasts f64[len(ends), steps] from each end e (``n_train <= e <= len(history)``) of ``history`` f[N]:
    the form and parameters of ``fit_ets(history[:n_train])``, states filtered through ``history[:e]``; its name."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    history, ends = np.asarray(history, np.float64), np.asarray(ends, np.int64)
    fit, kwargs = fit_ets(history[:n_train], season)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        states = np.asarray(ETSModel(history[:int(ends.max())], **kwargs).smooth(fit.params).states, np.float64)
    params = dict(zip(fit.model.param_names, np.asarray(fit.params, np.float64)))
    h = np.arange(1, steps + 1)
    trend = kwargs["trend"] is not None
    damping = params.get("damping_trend", 1.0) if kwargs["damped_trend"] else 1.0
    paths = np.repeat(states[ends - 1, :1], steps, axis=1)  # the level after y[e - 1]
    if trend:
        paths = paths + np.cumsum(damping ** h)[None, :] * states[ends - 1, 1:2]
    if "seasonal" in kwargs:  # s_{e + h - m (k + 1)}, k = (h - 1) // m: the seasonal state of the same phase
        m = kwargs["seasonal_periods"]
        paths = paths + states[ends[:, None] - m + (h[None, :] - 1) % m, 1 + trend]
    return paths, ets_form(kwargs["trend"], kwargs["damped_trend"], "seasonal" in kwargs)


def theta_paths(history, ends, steps: int, season: int | None) -> np.ndarray:
    """Theta forecasts f64[len(ends), steps]: statsmodels' ``ThetaModel`` (deseasonalised with a ``season`` >= 2 when
    its test finds the season) fitted on ``history[:e]`` for each end e."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    history = np.asarray(history, np.float64)
    seasonal = season is not None and season >= 2
    with warnings.catch_warnings():  # statsmodels warns about the missing date index
        warnings.simplefilter("ignore")
        return np.stack([np.asarray(ThetaModel(history[:int(e)], period=int(season) if seasonal else 1,
                                               deseasonalize=seasonal).fit().forecast(steps), np.float64)
                         for e in np.asarray(ends, np.int64)])


def classical_paths(history, ends, steps: int, n_train: int, season: int | None) -> tuple[dict[str, np.ndarray], str]:
    """(``{"ETS": f64[n, steps], "Theta": f64[n, steps]}`` from each end of ``history``: ``ets_paths``,
    ``theta_paths``; the chosen ETS form's name)."""
    ets, form = ets_paths(history, ends, steps, n_train, season)
    return {"ETS": ets, "Theta": theta_paths(history, ends, steps, season)}, form


class SeriesReferences(NamedTuple):
    """One user series' references (host float64): forecasts f64[steps], rmse (model units) and labels
    (``AR(7) by AIC``) by name; the AIC order and its companion spectral radius; the AR(1) slope (below 1 in
    size the best one-lag map contracts); ``one_step_explained``."""

    forecasts: dict[str, np.ndarray]
    rmse: dict[str, float]
    labels: dict[str, str]
    ar_order: int
    ar_radius: float
    one_lag_slope: float
    explained: float


def max_ar_order(n_train: int) -> int:
    """The largest AR order AIC compares on one series: ``MAX_AR_ORDER``, at most n_train / 5, at least 1."""
    return max(1, min(MAX_AR_ORDER, n_train // 5))


def one_step_explained(fit: ARFit, train, heldout) -> float:
    """``max(0, 1 - MSE(AR one step) / MSE(training mean))`` on ``heldout`` (lags read across the boundary from
    ``train``): near 0 the past says nothing about the next value."""
    history = np.concatenate([np.asarray(train, np.float64), np.asarray(heldout, np.float64)])
    start = len(train)
    targets = history[start:]
    predictions = np.full(targets.shape, fit.intercept)
    for i, a in enumerate(fit.coefs):
        predictions = predictions + a * history[start - 1 - i:len(history) - 1 - i]
    flat = np.mean(np.square(targets - np.mean(train)))
    return float(max(0.0, 1.0 - np.mean(np.square(targets - predictions)) / flat))


def series_references(train, truth, *, season: int | None = None) -> SeriesReferences:
    """The naive forecasts, AR by AIC (``select_ar_host``), ETS and Theta (``classical_paths``) from the end of
    ``train``, judged against ``truth``."""
    train = np.asarray(train, np.float64)
    steps = np.asarray(truth).shape[0]
    fit = select_ar_host(train, max_ar_order(train.shape[0]))
    classical, form = classical_paths(train, [train.shape[0]], steps, train.shape[0], season)
    forecasts = {**naive_forecasts(train, steps, season), "ar_aic": ar_rollout_host(fit, train, steps),
                 "ets": classical["ETS"][0], "theta": classical["Theta"][0]}
    labels = {"persistence": "persistence (the last value)", "mean": "the training mean (flat)",
              "seasonal_naive": f"seasonal naive (season {season})", "ar_aic": f"AR({fit.order}) by AIC",
              "ets": f"{form} by AIC", "theta": "Theta"}
    return SeriesReferences(forecasts=forecasts, rmse={name: rmse(f, truth) for name, f in forecasts.items()},
                            labels={name: labels[name] for name in forecasts}, ar_order=fit.order,
                            ar_radius=spectral_radius_host(fit.coefs), one_lag_slope=float(fit_ar_host(train, 1).coefs[0]),
                            explained=one_step_explained(fit, train, truth))
