"""Real series shipped inside statsmodels (``pip install -e ".[real]"``), so nothing is downloaded at run time.

``sunspots``: yearly sunspot number, 1700-2008 (309 values, an 11-year cycle); ``co2``: Mauna Loa CO2,
monthly means 1958-2001, gaps interpolated, differenced month to month (526 values: the yearly cycle
without the trend no model could extrapolate); ``elnino``: monthly sea temperature of the El Nino region,
1950-2010 (732 values). ``split_standardise``: the first 80% trains, standardised with its statistics.
"""

from __future__ import annotations

import numpy as np

from lstm_ar.data.split import split_standardise  # noqa: F401  (re-exported for lstm_ar.scenarios)

SERIES = ("sunspots", "co2", "elnino")


def _statsmodels_datasets():
    try:
        from statsmodels import datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("real series need statsmodels: pip install -e \".[real]\"") from err
    return datasets


def load_series(name: str) -> np.ndarray:
    """The raw series (float64) by name: one of ``SERIES`` ('sunspots', 'co2', 'elnino')."""
    datasets = _statsmodels_datasets()
    if name == "sunspots":
        return datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)
    if name == "co2":
        weekly = datasets.co2.load_pandas().data["co2"]
        monthly = weekly.resample("MS").mean().interpolate()
        return np.diff(monthly.to_numpy(np.float64))
    if name == "elnino":  # one row per year, one column per month
        table = datasets.elnino.load_pandas().data
        return table.drop(columns="YEAR").to_numpy(np.float64).reshape(-1)
    raise ValueError(f"unknown series {name!r}; valid: {', '.join(map(repr, SERIES))}")
