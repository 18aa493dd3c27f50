"""Linear references fitted in closed form (JAX, float32, vmappable): least-squares AR(p) and
its order selection by AIC/BIC (``ar``), a direct multi-output linear forecaster (``direct``),
and the one-lag shrinkage formula that explains the collapse (``shrinkage``)."""

from lstm_ar.linear.ar import (
    ARFit,
    ar_one_step_mse,
    ar_rollout,
    companion_spectral_radius,
    fit_ar,
    information_criteria,
    select_order,
)
from lstm_ar.linear.direct import DirectFit, direct_forecast, direct_rollout, fit_direct
from lstm_ar.linear.shrinkage import fixed_point_of_one_lag, one_lag_shrinkage, sine_step

__all__ = ["ARFit", "DirectFit", "ar_one_step_mse", "ar_rollout", "companion_spectral_radius", "direct_forecast",
           "direct_rollout", "fit_ar", "fit_direct", "fixed_point_of_one_lag", "information_criteria",
           "one_lag_shrinkage", "select_order", "sine_step"]
