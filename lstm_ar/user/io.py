"""Read one column of a user's file as a series, checking everything before any compute.

``load_series`` reads a CSV (any delimiter; without a header row, columns are numbered ``0``, ``1``, ...),
Parquet or ``.npy`` (1-D, 2-D by column number, or structured) with pandas. Every problem a user can fix is an
``InputError`` saying what was found (which rows, numbered from 1 as a spreadsheet shows them below a header,
with their text) and what to do. Out-of-order timestamps are sorted, duplicated or irregular ones kept, each
with a note (values are treated as equally spaced).
"""

from __future__ import annotations

import csv
import os
import pathlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.data.split import train_length

FILLS = ("interpolate", "drop")
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".dat": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".npy": "npy"}
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "nat", "#n/a", "?"})
DELIMITERS = ",;\t| "
SHOWN = 5  # rows named in a message


class InputError(ValueError):
    """A problem with the user's input that the user can fix (the command exits with status 2)."""


class UserSeries(NamedTuple):
    """values: f64[T] in time order; times: [T] datetime64 or float64, or None; notes: warnings for the user."""

    values: np.ndarray
    times: np.ndarray | None
    column: str
    time_column: str | None
    path: str
    notes: tuple[str, ...]


def _rows(index: np.ndarray, texts: Sequence[str] | None = None) -> str:
    """'rows 3, 7, 9 ("abc", ...)' for 0-based positions, at most ``SHOWN`` of them."""
    shown = [int(i) + 1 for i in index[:SHOWN]]
    words = ", ".join(str(r) for r in shown) + (f" and {len(index) - SHOWN} more" if len(index) > SHOWN else "")
    if texts is not None:
        words += " (" + ", ".join(repr(str(t)) for t in texts[:SHOWN]) + ")"
    return ("row " if len(index) == 1 else "rows ") + words


def file_kind(path: str | os.PathLike) -> str:
    """``csv``, ``parquet`` or ``npy`` from the file's suffix; an ``InputError`` for another."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        csv_suffixes = ", ".join(s for s, k in SUFFIXES.items() if k == "csv")
        raise InputError(f"{path}: unknown file kind {suffix!r}; supported: CSV ({csv_suffixes}), Parquet (.parquet, .pq) "
                         "and NumPy (.npy)")
    return SUFFIXES[suffix]


def check_readable(path: str | os.PathLike) -> pathlib.Path:
    """``path`` as a ``pathlib.Path`` if it is an existing readable file; an ``InputError`` otherwise."""
    p = pathlib.Path(path)
    for bad, problem in ((lambda: not p.exists(), "no such file"), (lambda: not p.is_file(), "not a file"),
                         (lambda: not os.access(p, os.R_OK), "cannot be read (permission denied)"),
                         (lambda: p.stat().st_size == 0, "the file is empty")):
        if bad():
            raise InputError(f"{path}: {problem}")
    return p


def import_pandas():
    """pandas, or an ``InputError`` naming the extra that installs it."""
    try:
        import pandas
    except ImportError as err:
        raise InputError(f"reading a series file needs pandas: pip install 'lstm_ar[study]' ({err})") from None
    return pandas


def read_table(path: str | os.PathLike):
    """The file as a ``pandas.DataFrame`` (CSV cells as text, so that bad cells can be named)."""
    p = check_readable(path)
    pd = import_pandas()
    kind = file_kind(p)
    if kind == "npy":
        return _npy_table(p)
    if kind == "parquet":
        try:
            return pd.read_parquet(p)
        except ImportError as err:
            raise InputError(f"{path}: reading Parquet needs pyarrow: pip install 'lstm_ar[parquet]' ({err})") from None
        except Exception as err:  # a corrupt or foreign file: pyarrow raises several kinds
            raise InputError(f"{path}: not a readable Parquet file ({type(err).__name__}: {err})") from None
    try:
        with open(p, encoding="utf-8-sig", newline="") as f:
            sample = f.read(65536)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start}); save it as UTF-8 CSV") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror})") from None
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: the file holds no data")
    try:
        delimiter = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters=DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","  # one column: nothing to sniff
    read = lambda **header: pd.read_csv(p, sep=delimiter, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                        skipinitialspace=True, skip_blank_lines=True, **header)
    try:
        table = read()
    except (pd.errors.ParserError, ValueError) as err:
        raise InputError(f"{path}: not a readable CSV file with delimiter {delimiter!r} ({err})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if all(_is_number(c) for c in table.columns):  # no header row: the first row is data
        table = read(header=None)
        table.columns = [str(j) for j in range(table.shape[1])]
    return table


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _npy_table(path: pathlib.Path):
    pd = import_pandas()
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise InputError(f"{path}: not a readable .npy array of numbers ({err})") from None
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy file ({err})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path}: holds {type(array).__name__}, not one array")
    if array.dtype.names:
        return pd.DataFrame({name: array[name] for name in array.dtype.names})
    if array.ndim in (1, 2):
        columns = array[:, None] if array.ndim == 1 else array
        return pd.DataFrame({str(j): columns[:, j] for j in range(columns.shape[1])})
    raise InputError(f"{path}: an array of shape {array.shape}; supported: 1-D (one series) or 2-D (time x columns)")


def _numeric(cells, name: str, path: str, *, what: str = "values") -> tuple[np.ndarray, np.ndarray]:
    """(f64 values with NaN where missing, bool missing mask) of one column; InputError on text or inf."""
    import pandas as pd
    series = pd.Series(cells).reset_index(drop=True)
    if series.dtype.kind in "biuf":
        values = series.to_numpy(np.float64)
        missing = np.isnan(values)
    elif series.dtype.kind == "c":
        raise InputError(f"{path}: column {name!r} holds complex numbers; a series must be real")
    else:
        text = series.astype(str).str.strip()
        missing = (series.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
        values = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(np.float64)
        bad = np.flatnonzero(~missing & np.isnan(values))
        if bad.size:
            raise InputError(f"{path}: column {name!r} has {bad.size} non-numeric {what} at "
                             f"{_rows(bad, text.iloc[bad].tolist())}; fix or remove them (empty cells count as missing values)")
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        raise InputError(f"{path}: column {name!r} has {inf.size} infinite {what} at {_rows(inf)}; a series must be finite")
    return values, missing


def _pick_column(table, column: str | None, time_column: str | None, path: str) -> str:
    columns = [str(c) for c in table.columns]
    listed = ", ".join(repr(c) for c in columns)
    if column is not None:
        if column not in columns:
            raise InputError(f"{path}: no column {column!r}; the file's columns are {listed}")
        return column
    candidates = [c for c in columns if c != time_column]
    if len(candidates) == 1:
        return candidates[0]
    raise InputError(f"{path} has {len(columns)} columns ({listed}): choose the series with --column NAME")


def _times(table, time_column: str, path: str) -> np.ndarray:
    import pandas as pd
    if time_column not in table.columns:
        raise InputError(f"{path}: no time column {time_column!r}; the file's columns are "
                         f"{', '.join(repr(str(c)) for c in table.columns)}")
    raw = table[time_column].reset_index(drop=True)
    if raw.dtype.kind in "Mm":
        times = pd.to_datetime(raw).to_numpy()
        missing = np.isnat(times)
    else:
        text = raw.astype(str).str.strip()
        missing = (raw.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
        numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(np.float64)
        numeric = np.isfinite(numbers) & ~missing
        if 2 * numeric.sum() > (~missing).sum():  # mostly numbers: the rest are errors
            times, bad = numbers, np.flatnonzero(~missing & ~numeric)
        else:
            times = pd.to_datetime(text.where(~missing), errors="coerce", format="mixed").to_numpy()
            bad = np.flatnonzero(~missing & np.isnat(times))
        if bad.size:
            raise InputError(f"{path}: time column {time_column!r} has {bad.size} entries that are neither dates "
                             f"nor numbers at {_rows(bad, text.iloc[bad].tolist())}")
    gaps = np.flatnonzero(missing)
    if gaps.size:
        raise InputError(f"{path}: time column {time_column!r} has {gaps.size} missing entries, the first at "
                         f"{_rows(gaps[:1])}; fill them or leave out --time-column")
    return times


def _step_words(step) -> str:
    if isinstance(step, np.timedelta64):
        import pandas as pd
        return str(pd.Timedelta(step))
    return f"{float(step):g}"


def _time_notes(times: np.ndarray, time_column: str) -> tuple[np.ndarray, list[str]]:
    """(the order that sorts the times, notes about unsorted, duplicated or irregular timestamps)."""
    notes = []
    steps = np.diff(times)
    zero = np.zeros((), steps.dtype)
    back = int(np.sum(steps < zero))
    order = np.argsort(times, kind="stable")
    if back:
        notes.append(f"the time column {time_column!r} is not in order ({back} steps go back in time): the rows were "
                     "sorted by time")
    steps = np.diff(times[order])
    duplicates = int(np.sum(steps == zero))
    if duplicates:
        notes.append(f"the time column {time_column!r} has {duplicates} duplicated timestamps: their values are kept "
                     "in file order, as consecutive steps")
    positive = steps[steps > zero]
    if positive.size:
        kinds, counts = np.unique(positive, return_counts=True)
        common = kinds[np.argmax(counts)]
        irregular = int(np.sum(positive != common))
        if irregular:
            first = int(np.flatnonzero((steps > zero) & (steps != common))[0])
            notes.append(f"the timestamps are irregular: {irregular} of {steps.size} steps differ from the most common "
                         f"step ({_step_words(common)}), the first between rows {first + 1} and {first + 2} "
                         f"({_step_words(steps[first])}); the values are used as if equally spaced")
    return order, notes


def load_series(path: str | os.PathLike, *, column: str | None = None, time_column: str | None = None,
                fill: str | None = None) -> UserSeries:
    """One column of a file as a series, checked (module docstring). ``column``: default the only one besides
    ``time_column``; ``fill``: None (refuse missing values), ``"interpolate"`` or ``"drop"``."""
    if fill is not None and fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    path_text = str(path)
    table = read_table(path)
    if len(table) == 0:
        raise InputError(f"{path_text}: the file has a header but no values")
    if time_column is not None and column is not None and time_column == column:
        raise InputError(f"--time-column and --column both name {column!r}")
    name = _pick_column(table, column, time_column, path_text)
    values, missing = _numeric(table[name], name, path_text)
    notes, times = [], None
    if time_column is not None:
        times = _times(table, time_column, path_text)
        order, notes = _time_notes(times, time_column)
        times, values, missing = times[order], values[order], missing[order]
    if missing.any():
        where = np.flatnonzero(missing)
        if fill is None:
            raise InputError(f"{path_text}: column {name!r} has {where.size} missing values, the first at "
                             f"{_rows(where[:1])}; choose --fill interpolate (linear between neighbours) or "
                             "--fill drop (leave those rows out)")
        if where.size == values.size:
            raise InputError(f"{path_text}: column {name!r} has no values (all {values.size} are missing)")
        if fill == "drop":
            values, times = values[~missing], None if times is None else times[~missing]
        else:
            present = np.flatnonzero(~missing)
            values = np.interp(np.arange(values.size), present, values[present])
        done = "dropped" if fill == "drop" else "interpolated"
        notes.append(f"{where.size} missing values {done} (the first at {_rows(where[:1])})")
    if values.size and np.ptp(values) == 0:
        raise InputError(f"{path_text}: column {name!r} is constant (every value is {values[0]:g}): there is nothing "
                         "to forecast")
    return UserSeries(values=values, times=times, column=name, time_column=time_column, path=path_text, notes=tuple(notes))


def split_point(data: UserSeries, *, test_fraction: float | None = None, test_from: str | None = None) -> int:
    """How many values train: all before ``test_from`` (a time; without ``data.times`` the index of the first
    held-out value, in [1, T - 1]), or the first ``1 - test_fraction`` (default 0.2)."""
    n = data.values.size
    if test_from is None:
        fraction = 0.2 if test_fraction is None else test_fraction
        if not 0.0 < fraction < 1.0:
            raise InputError(f"--test-fraction must be in (0, 1), got {fraction!r}")
        return train_length(n, fraction)
    if data.times is None:
        return _row_index(test_from, n)
    import pandas as pd
    if data.times.dtype.kind == "M":
        try:
            stamp = pd.Timestamp(test_from)
        except (ValueError, TypeError):
            raise InputError(f"--test-from {test_from!r} is not a date (e.g. 2020-01-31)") from None
        start = (stamp if stamp.tzinfo is None else stamp.tz_convert(None)).to_datetime64().astype(data.times.dtype)
    else:
        try:
            start = float(test_from)
        except ValueError:
            raise InputError(f"--test-from {test_from!r} is not a number, and the time column holds numbers") from None
    after = np.flatnonzero(data.times >= start)
    if after.size == 0:
        raise InputError(f"--test-from {test_from}: no value is at or after it (the last time is {data.times[-1]})")
    if after[0] == 0:
        raise InputError(f"--test-from {test_from}: every value is at or after it, so none is left to train on "
                         f"(the first time is {data.times[0]})")
    return int(after[0])


def _row_index(test_from: str, n: int) -> int:
    """``--test-from`` without a time column: the index of the first held-out value (0-based), in [1, n - 1]."""
    text = str(test_from).strip()
    try:
        index = int(text)
    except ValueError:
        raise InputError(f"--test-from {test_from!r}: without --time-column it must be an integer, the index of the first "
                         f"held-out value counted from 0 (1 to {n - 1} for {n} values); for a date, give --time-column "
                         "(the column the date refers to)") from None
    if not 1 <= index <= n - 1:
        raise InputError(f"--test-from {index}: the index of the first held-out value (counted from 0) must be between 1 "
                         f"and {n - 1}, so that values are left both to train on and to hold out ({n} values)")
    return index
