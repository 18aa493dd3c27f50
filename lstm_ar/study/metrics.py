"""Per-seed metrics: one name each, defined once (``METRICS``: words, unit, which side is worse; the
templates ``f(x)`` and ``grad_k{k}``), and which ones a variant produces (``produced``, without
training; ``absent`` says why a metric is missing). "Model units" are the series as the model sees it
(standardised where the scenario did), "data units" the user's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

LOWER, HIGHER = "lower", "higher"  # which side is worse


class Metric(NamedTuple):
    """One per-seed metric: ``id`` (in files), ``words`` (glossary), ``unit``, ``worse`` ("lower",
    "higher", or None where neither side is worse in itself)."""

    id: str
    words: str
    unit: str
    worse: str | None


_DEFINITIONS = (
    # collapse of the free-running rollout (lstm_ar.dynamics.collapse), every variant
    ("tail_std_ratio", "std of the last 50 rollout steps / the training series' std (0: stopped moving)", "ratio",
     LOWER),
    ("collapsed", "1 if the rollout's tail std is below 5% of the training series' std, else 0", "0/1", HIGHER),
    ("diverged", "1 if the rollout leaves 100 training stds around the training mean or is not finite, or the "
     "final training loss is not finite, else 0", "0/1", HIGHER),
    ("steps_to_collapse", "first rollout step from which every value stays within 5% of a std of the settle value "
     "(the rollout length if it never settles)", "steps", LOWER),
    ("settle_value", "mean of the last 50 rollout steps: the value a collapsed rollout sits on", "model units", None),
    ("max_abs_deviation", "largest |rollout value - the training mean| / the training series' std (inf if not "
     "finite; above 100: diverged)", "training stds", HIGHER),
    # one-step errors and the article's single prediction, every variant
    ("train_mse", "one-step mean squared error on the training examples", "model units squared", HIGHER),
    ("heldout_mse", "one-step mean squared error on held-out examples", "model units squared", HIGHER),
    ("final_train_loss", "training loss of the last epoch", "model units squared", HIGHER),
    ("seed_prediction", "the prediction for the test input (the last training window)", "model units", None),
    ("seed_prediction_error", "|prediction - the value after the test input|", "model units", HIGHER),
    # against a known continuation (scenarios with a truth)
    ("rollout_rmse", "root mean squared error of the rollout against the truth (inf if it diverged)", "model units",
     HIGHER),
    ("valid_horizon", "rollout steps before the error first exceeds 0.5 x the training series' std", "steps", LOWER),
    # rolling-origin backtests (Scenario.backtest_origins > 0)
    ("backtest_rmse", "mean over the backtest origins of each origin's rollout RMSE against the held-out values",
     "model units", HIGHER),
    ("backtest_valid_horizon", "mean over the backtest origins of each origin's valid horizon", "steps", LOWER),
    ("backtest_collapse_rate", "share of the backtest origins whose rollout collapsed (tail std over the last "
     "min(50, horizon) steps < 5% of the training series' std)", "fraction", HIGHER),
    ("backtest_diverged_rate", "share of the backtest origins whose rollout diverged (beyond 100 training stds or "
     "not finite; such an origin's RMSE counts as inf)", "fraction", HIGHER),
    # the 1-D map of a window-1 model rolled out in window mode
    ("n_fixed_points", "fixed points f(x) = x of the learned 1-D map on the scenario's map range", "count", None),
    ("settle_slope", "f'(x) of the learned map at the settle value (|f'| < 1: an attractor)", "slope", None),
    ("abs_settle_slope", "|f'(x)| at the settle value", "slope", None),
    ("settle_residual", "|f(x) - x| at the settle value (0 at a true fixed point)", "model units", None),
    # diagnostics (Scenario.diagnostics)
    ("lyapunov", "largest Lyapunov exponent of the rollout (< 0: nearby rollouts converge)", "per step", None),
    ("rho_start", "spectral radius of the rollout map's Jacobian at the first prediction", "ratio", None),
    ("rho_tail", "median spectral radius of the rollout map's Jacobian over the last quarter of the rollout",
     "ratio", None),
    ("contraction_fraction", "share of rollout steps whose Jacobian has spectral radius < 1", "fraction", None),
    ("rho_end", "spectral radius of the window map's Jacobian at the rollout's last window (Scenario.end_radius; "
     "nan when the rollout diverged)", "ratio", None),
    # derived by the catalogues
    ("generalisation_gap", "heldout_mse - train_mse", "model units squared", HIGHER),
    ("slope_in_range", "(f(0.6) - f(0.4)) / 0.2: the map's slope over the training range (identity: 1)", "slope", None),
    ("abs_slope_in_range", "|slope_in_range|", "slope", LOWER),
    ("slope_outside_range", "mean slope of f over [0, 0.4] and [0.6, 1], outside the training range", "slope", None),
    ("extrapolation_slope_error", "|slope_outside_range - 1|", "slope", HIGHER),
    ("slope_error", "|slope_in_range - 1|", "slope", HIGHER),
    ("settle_outside_range", "how far outside [min, max] of the context the rollout settles (0 inside)",
     "training stds", HIGHER),
    ("relative_rollout_rmse", "rollout_rmse / the training series' std", "ratio", HIGHER),
    ("relative_heldout_mse", "heldout_mse / the training series' variance", "ratio", HIGHER),
    ("rmse_minus_persistence", "rollout_rmse - the RMSE of repeating the last value", "model units", HIGHER),
    ("rmse_minus_mean", "rollout_rmse - the RMSE of forecasting the context's mean", "model units", HIGHER),
    ("heldout_mse_over_persistence", "heldout_mse / the one-step MSE of repeating the last value", "ratio", HIGHER),
    ("heldout_mse_over_mean", "heldout_mse / the one-step MSE of forecasting the mean", "ratio", HIGHER),
    ("expected_rmse", "expected RMSE of the rollout against the process's future", "model units", HIGHER),
    ("expected_rmse_ratio", "expected_rmse / the optimal forecast's expected RMSE (1: optimal)", "ratio", HIGHER),
    ("settle_minus_optimum", "settle value - the optimal flat forecast", "model units", None),
    ("grad_ratio", "grad_k(window-1) / grad_k0: how much of the oldest input survives", "ratio", LOWER),
    ("rho_agrees", "1 if [rho_tail < 1] equals the collapse verdict, else 0", "0/1", None),
    # Scenario.from_series: back on the user's scale
    ("rollout_rmse_raw", "rollout_rmse on the series' own scale (x the training part's std)", "data units", HIGHER),
    ("heldout_mse_raw", "heldout_mse on the series' own scale", "data units squared", HIGHER),
    ("settle_value_raw", "settle_value on the series' own scale", "data units", None),
)
METRICS: dict[str, Metric] = {d[0]: Metric(*d) for d in _DEFINITIONS}
TEMPLATES = {
    "f(x)": Metric("f(x)", "the trained model's prediction for the single input x (a probe)", "model units", None),
    "grad_k{k}": Metric("grad_k{k}", "|d prediction / d input k steps back| at the test input", "per model unit", None),
}
COLLAPSE = ("tail_std_ratio", "collapsed", "diverged", "steps_to_collapse", "settle_value", "max_abs_deviation")
BACKTEST = ("backtest_rmse", "backtest_valid_horizon", "backtest_collapse_rate", "backtest_diverged_rate")
FIXED_POINT = ("n_fixed_points", "settle_slope", "abs_settle_slope", "settle_residual")  # a window-1 map's
JACOBIAN = ("rho_start", "rho_tail", "contraction_fraction")  # diagnostics of a window-mode rollout
_TEMPLATE_RE = {"f(x)": re.compile(r"^f\(.+\)$"), "grad_k{k}": re.compile(r"^grad_k\d+$")}
# Properties of the trained model alone, measured without the free-running rollout: a seed whose
# rollout diverged still has them (its training loss, its map), so only a diverged *training*
# (non-finite final loss) makes them the worst value. Every other metric judges the rollout.
MODEL_METRICS = frozenset({
    "train_mse", "heldout_mse", "final_train_loss", "seed_prediction", "seed_prediction_error", "n_fixed_points",
    "generalisation_gap", "slope_in_range", "abs_slope_in_range", "slope_outside_range", "extrapolation_slope_error",
    "slope_error", "relative_heldout_mse", "heldout_mse_over_persistence", "heldout_mse_over_mean", "grad_ratio",
    "heldout_mse_raw", "f(x)", "grad_k{k}"})


def of_model(name: str) -> bool:
    """Whether a metric describes the trained model alone (``MODEL_METRICS``, templates resolved), not its
    rollout; False for an unregistered one."""
    if name in MODEL_METRICS:
        return True
    return name not in METRICS and any(p.match(name) for t, p in _TEMPLATE_RE.items() if t in MODEL_METRICS)


# Metrics a diverged rollout does not have: it never settles, so its seeds are left out of these
# statistics (not counted as the worst, which for steps_to_collapse would read "collapsed at once").
UNDEFINED_WHEN_DIVERGED = frozenset({"steps_to_collapse"})


def worst_flags(metrics: Mapping[str, np.ndarray], name: str) -> np.ndarray | None:
    """bool[n_seeds]: the seeds whose ``name`` counts as the worst value besides non-finite ones (None: no flag
    in ``metrics``): a diverged rollout or training (``diverged``) for a rollout metric, a diverged
    training (non-finite ``final_train_loss``) for a model metric (``of_model``)."""
    if of_model(name):
        loss = metrics.get("final_train_loss")
        return None if loss is None else ~np.isfinite(np.asarray(loss, np.float64))
    flags = metrics.get("diverged")
    return None if flags is None else np.asarray(flags) > 0


def describe(name: str) -> Metric | None:
    """The ``Metric`` of an identifier (templates resolved, ``id`` the given name), or None if unregistered."""
    if name in METRICS:
        return METRICS[name]
    for template, pattern in _TEMPLATE_RE.items():
        if pattern.match(name):
            return TEMPLATES[template]._replace(id=name)
    return None


def glossary() -> list[Metric]:
    """Every registered metric then template, in definition order (for the docs glossary)."""
    return [*METRICS.values(), *TEMPLATES.values()]


def probe_name(x: float) -> str:
    """The identifier of the probe metric at input x: ``f(0.6)``."""
    return f"f({x:g})"


def computed(scenario: Any, variant: str) -> dict[str, None]:
    """The metrics ``run_scenario`` computes for a variant before ``derive``: identifier -> None, in order."""
    window, window_mode = scenario.variants[variant].model.window, scenario.rollout_mode(variant) == "window"
    groups = ((True, ("train_mse", "seed_prediction", "seed_prediction_error")),
              (scenario.inputs(variant)[1] is not None, ("heldout_mse",)), (True, map(probe_name, scenario.probes)),
              (scenario.diagnostics, (f"grad_k{k}" for k in range(window))), (True, COLLAPSE),
              (scenario.truth is not None, ("rollout_rmse", "valid_horizon")),
              (getattr(scenario, "backtest_origins", 0), BACKTEST), (scenario.diagnostics, ("lyapunov",)),
              (scenario.diagnostics and window_mode, JACOBIAN), (window == 1 and window_mode, FIXED_POINT),
              (getattr(scenario, "end_radius", False) and window_mode, ("rho_end",)), (True, ("final_train_loss",)))
    return dict.fromkeys(name for on, names in groups if on for name in names)


def why_absent(scenario: Any, variant: str, name: str) -> str:
    """Why ``variant`` does not compute metric ``name``, in words (the summary's ``missing`` map)."""
    window = scenario.variants[variant].model.window
    if name == "heldout_mse":
        return "no held-out data (give heldout_series, or heldout for window-1 models)"
    if name in ("rollout_rmse", "valid_horizon"):
        return "no truth to judge the rollout against"
    if name in BACKTEST:
        return "no backtest (Scenario.backtest_origins is 0)"
    if name in FIXED_POINT:
        return (f"window {window}: the rollout is not a 1-D map" if window != 1
                else "stateful rollout: the rollout is not a 1-D map of the value")
    if name in JACOBIAN and scenario.diagnostics:
        return "stateful rollout: the window map's Jacobian does not apply"
    if name.startswith("grad_k") and scenario.diagnostics:
        return f"window {window} has inputs k = 0..{window - 1} only"
    if name == "rho_end":
        return "off (Scenario.end_radius), or not a window-mode rollout"
    if name in ("lyapunov", *JACOBIAN) or name.startswith("grad_k"):
        return "diagnostics are off"
    return "the scenario's derive does not give it for this variant"


def derived(scenario: Any, variant: str, base: Mapping[str, None] | None = None) -> dict[str, None]:
    """The names ``scenario.derive`` adds for a variant (identifier -> None, in order), found by calling it on
    ones for the ``base`` metrics (default ``computed``); ValueError if it reads a metric the variant lacks."""
    if scenario.derive is None:
        return {}
    base = computed(scenario, variant) if base is None else base
    placeholder = {name: np.ones(2) for name in base}
    try:
        with np.errstate(all="ignore"):
            out = scenario.derive(placeholder)
    except KeyError as err:
        name = err.args[0] if err.args else "?"
        reason = why_absent(scenario, variant, name) if describe(name) is not None else "no metric has this name"
        raise ValueError(f"scenario {scenario.name!r}: derive reads metric {name!r}, which variant {variant!r} does "
                         f"not have ({reason}); it has: {', '.join(base)}") from None
    if not isinstance(out, Mapping):
        raise TypeError(f"scenario {scenario.name!r}: derive must return a dict of metrics, got {type(out).__name__}")
    return dict.fromkeys(out)


def produced(scenario: Any, variant: str) -> tuple[str, ...]:
    """Every per-seed metric the variant will have after ``run_scenario`` (computed, then ``derive``'s)."""
    base = computed(scenario, variant)
    return tuple({**base, **derived(scenario, variant, base)})


def absent(scenario: Any, variant: str, names: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Metric -> why it is missing (sorted), for the metrics another variant has and ``variant`` lacks
    (``names``: variant -> its metrics; default ``produced``)."""
    names = {v: produced(scenario, v) for v in scenario.variants} if names is None else names
    everywhere = {m for ms in names.values() for m in ms}
    return {m: why_absent(scenario, variant, m) for m in sorted(everywhere - set(names[variant]))}
