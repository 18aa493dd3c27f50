"""Real series shipped inside statsmodels (``pip install -e ".[real]"``), so nothing is downloaded at run time.

``sunspots``: yearly sunspot number, 1700-2008 (309 values, an 11-year cycle); ``co2``: Mauna Loa CO2,
monthly means 1958-2001, gaps interpolated, differenced month to month (526 values: the yearly cycle
without the trend no model could extrapolate); ``elnino``: monthly sea temperature of the El Nino region,
1950-2010 (732 values). ``split_standardise``: the first 80% trains, standardised with its statistics.

``PANEL``: the real-series panel (``lstm-ar run panel``), each series with its season (the seasonal naive
reference's and ETS's; None: none) and what it is (``KINDS``), checked when the module loads: every kind
covered, every season shorter than the series. All are public domain (statsmodels' dataset notes say so).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ar.data.split import split_standardise  # noqa: F401  (re-exported for lstm_ar.scenarios)

SERIES = ("sunspots", "co2", "elnino")  # the transfer experiment's
KINDS = ("short", "long", "seasonal", "trending", "level shift", "near-white noise", "cycle")
SHORT, LONG = 150, 1000  # "short": at most 150 values; "long": at least 1,000


class PanelSeries(NamedTuple):
    """One panel series: its length (checked against the loaded values), season and kinds (from ``KINDS``)."""

    length: int
    season: int | None
    kinds: tuple[str, ...]
    about: str


PANEL: dict[str, PanelSeries] = {
    "nile": PanelSeries(100, None, ("short", "level shift"),
                        "yearly flow of the Nile at Aswan, 1871-1970 (a level shift near 1898)"),
    "sunspots": PanelSeries(309, 11, ("cycle",), "yearly sunspot number, 1700-2008"),
    "elnino": PanelSeries(732, 12, ("seasonal",), "monthly sea temperature of the El Nino region, 1950-2010"),
    "co2": PanelSeries(525, 12, ("seasonal",), "Mauna Loa CO2, month-to-month change, 1958-2001"),
    "co2_weekly": PanelSeries(2284, 52, ("long", "trending", "seasonal"),
                              "Mauna Loa CO2, weekly, 1958-2001 (gaps interpolated)"),
    "realgdp": PanelSeries(203, 4, ("trending",), "US real GDP, quarterly, 1959-2009"),
    "unemp": PanelSeries(203, 4, ("cycle",), "US unemployment rate, quarterly, 1959-2009"),
    "infl": PanelSeries(203, 4, ("level shift",), "US inflation, quarterly, 1959-2009 (the 1970s regime)"),
    "gdp_growth": PanelSeries(202, 4, ("near-white noise",),
                              "US real GDP growth, quarterly, 100 x the change of its log, 1959-2009"),
}


def check_panel(panel: dict[str, PanelSeries]) -> None:
    """ValueError unless every entry's kinds are known, its season fits its length, and every kind is covered."""
    for name, entry in panel.items():
        bad = [k for k in entry.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"panel series {name!r}: unknown kinds {bad}; valid: {', '.join(KINDS)}")
        if entry.season is not None and not 2 <= entry.season <= entry.length // 4:
            raise ValueError(f"panel series {name!r}: season {entry.season} must be in [2, length / 4]")
        if ("short" in entry.kinds) != (entry.length <= SHORT) or ("long" in entry.kinds) != (entry.length >= LONG):
            raise ValueError(f"panel series {name!r}: 'short' means <= {SHORT} values and 'long' >= {LONG}, "
                             f"it has {entry.length}")
    missing = [k for k in KINDS if not any(k in e.kinds for e in panel.values())]
    if missing:
        raise ValueError(f"the panel covers no series of kind {missing}")


check_panel(PANEL)


def _statsmodels_datasets():
    try:
        from statsmodels import datasets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("real series need statsmodels: pip install -e \".[real]\"") from err
    return datasets


def load_series(name: str) -> np.ndarray:
    """The raw series (float64) by name: one of ``SERIES`` or ``PANEL``."""
    datasets = _statsmodels_datasets()
    if name == "sunspots":
        return datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)
    if name in ("co2", "co2_weekly"):
        weekly = datasets.co2.load_pandas().data["co2"]
        if name == "co2_weekly":  # the first week is missing: filled backwards, then gaps interpolated
            return weekly.interpolate().bfill().to_numpy(np.float64)
        monthly = weekly.resample("MS").mean().interpolate()
        return np.diff(monthly.to_numpy(np.float64))
    if name == "elnino":  # one row per year, one column per month
        table = datasets.elnino.load_pandas().data
        return table.drop(columns="YEAR").to_numpy(np.float64).reshape(-1)
    if name == "nile":
        return datasets.nile.load_pandas().data["volume"].to_numpy(np.float64)
    if name in ("realgdp", "unemp", "infl"):
        return datasets.macrodata.load_pandas().data[name].to_numpy(np.float64)
    if name == "gdp_growth":
        return 100.0 * np.diff(np.log(datasets.macrodata.load_pandas().data["realgdp"].to_numpy(np.float64)))
    raise ValueError(f"unknown series {name!r}; valid: {', '.join(map(repr, dict.fromkeys(SERIES + tuple(PANEL))))}")
