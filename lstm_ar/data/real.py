"""Real series shipped inside statsmodels (``pip install -e ".[real]"``), so nothing is downloaded at run time.

``sunspots``: yearly sunspot number, 1700-2008 (309 values, an 11-year cycle); ``co2``: Mauna Loa CO2,
monthly means 1958-2001, gaps interpolated, differenced month to month (526 values: the yearly cycle
without the trend no model could extrapolate); ``elnino``: monthly sea temperature of the El Nino region,
1950-2010 (732 values). ``split_standardise``: the first 80% trains, standardised with its statistics.

``PANEL``: the real-series panel (``lstm-ar run panel``), each series with its season (the seasonal naive
reference's and ETS's; None: none) and what it is (``KINDS``), checked when the module loads: every kind
covered, every season shorter than the series. ``HELDOUT``: the held-out panel, chosen after every rule was settled
on ``PANEL``. statsmodels' dataset notes mark them public domain (``fertility``: World Bank, CC BY 4.0).
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


# The held-out panel (``lstm-ar run panel --heldout``): series no rule of the project was chosen on (window, epochs,
# recipes, the validation were all settled on ``PANEL``), to check that what holds there holds elsewhere.
HELDOUT: dict[str, PanelSeries] = {
    "cpi": PanelSeries(203, 4, ("trending",), "US consumer price index, quarterly, 1959-2009"),
    "m1": PanelSeries(203, 4, ("trending",), "US M1 money stock, quarterly, 1959-2009"),
    "tbilrate": PanelSeries(203, 4, ("cycle", "level shift"), "US 3-month treasury bill rate, quarterly, 1959-2009"),
    "realint": PanelSeries(203, 4, ("near-white noise",), "US real interest rate, quarterly, 1959-2009"),
    "realinv_growth": PanelSeries(202, 4, ("near-white noise",),
                                  "US real investment growth, quarterly, 100 x the change of its log, 1959-2009"),
    "de_inflation": PanelSeries(107, 4, ("short", "seasonal"), "German quarterly inflation (Dp), 1972-1998"),
    "de_rate": PanelSeries(107, 4, ("short", "cycle"), "German long-term interest rate (R), quarterly, 1972-1998"),
    "dk_money": PanelSeries(55, 4, ("short", "trending"), "Danish log real money (lrm), quarterly, 1974-1987"),
    "us_fertility": PanelSeries(52, None, ("short", "trending"), "US fertility rate, births per woman, yearly, 1960-2011"),
}


def check_panel(panel: dict[str, PanelSeries], *, cover: bool = True) -> None:
    """ValueError unless every entry's kinds are known, its season fits its length, and (``cover``) every kind is
    covered."""
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
    if missing and cover:
        raise ValueError(f"the panel covers no series of kind {missing}")


check_panel(PANEL)
check_panel(HELDOUT, cover=False)  # a check of what held on the panel, not a second panel of every kind


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
    if name in ("gdp_growth", "realinv_growth"):
        column = {"gdp_growth": "realgdp", "realinv_growth": "realinv"}[name]
        return 100.0 * np.diff(np.log(datasets.macrodata.load_pandas().data[column].to_numpy(np.float64)))
    if name in ("cpi", "m1", "tbilrate", "realint"):
        return datasets.macrodata.load_pandas().data[name].to_numpy(np.float64)
    if name in ("de_inflation", "de_rate"):
        return datasets.interest_inflation.load_pandas().data[{"de_inflation": "Dp", "de_rate": "R"}[name]].to_numpy(
            np.float64)
    if name == "dk_money":
        return datasets.danish_data.load_pandas().data["lrm"].to_numpy(np.float64)
    if name == "us_fertility":
        table = datasets.fertility.load_pandas().data
        row = table[table["Country Code"] == "USA"].iloc[0]
        return row[[c for c in table.columns if c.isdigit()]].dropna().to_numpy(np.float64)
    valid = dict.fromkeys(SERIES + tuple(PANEL) + tuple(HELDOUT))
    raise ValueError(f"unknown series {name!r}; valid: {', '.join(map(repr, valid))}")
