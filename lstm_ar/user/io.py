"""Read one column of a user's file as a series, checking everything before any compute.

``load_series`` reads a CSV (any delimiter; without a header row, columns are numbered ``0``, ``1``, ...),
Parquet or ``.npy`` (1-D, 2-D by column number, or structured) with pandas. Every problem a user can fix is an
``InputError`` saying what was found (which rows, numbered from 1 as a spreadsheet shows them below a header,
with their text) and what to do. Out-of-order timestamps are sorted, duplicated or irregular ones kept, each
with a note (values are treated as equally spaced; numeric times within the resolution they are written to).

The reader parses or refuses, never guesses: a blank line is a missing value; a row with more cells than the header
is refused (a comma inside an unquoted number); a comma inside a number is a decimal comma where no other reading
fits (``3,5``: said in a note; ``decimal=","`` to state it), a thousands separator only with ``thousands=","``
(``3,035`` alone could be either: refused); a header naming a column twice is refused; digits other than ASCII
``0``-``9`` (Arabic-Indic ``٣``, full-width ``３``: Python's ``float`` reads them) are refused, values and numeric
times alike, naming the rows. Sizes are checked before the file is read (``max_rows``, the ``.npy`` header's shape
against the memory available).
"""

from __future__ import annotations

import csv
import math
import os
import pathlib
import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_ar.data.split import train_length

FILLS = ("interpolate", "drop")
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".dat": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".npy": "npy"}
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "nat", "#n/a", "?"})
DELIMITERS = ",;\t| "
ONE_COLUMN = "\x1f"  # the delimiter of a file whose header names one column: no cell is split
SHOWN = 5  # rows named in a message
MAX_ROWS = 1_000_000  # a longer series is refused before it is read (``max_rows``, ``--max-rows``)
READ_FACTOR = 16  # bytes of memory per byte of a text file while pandas reads it as strings (measured ~10)
MAX_ABS = 1e150  # a larger value's square (the errors reported in the series' units) overflows float64
DECIMALS = (".", ",")
THOUSANDS = (",", ".", "'", " ", "_")
PLAIN = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"  # a number as Python and numpy write it
INFINITE = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
AMBIGUOUS_COMMA = r"[+-]?[1-9]\d{0,2},\d{3}"  # 3,035: a decimal comma or a thousands separator
THOUSANDS_COMMA = r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?"  # 1,234,567 or 1,234.5
DECIMAL_COMMA = r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?"  # 3,5 0,035 1234,5
FOREIGN_DIGIT = r"(?![0-9])\d"  # a decimal digit (unicode category Nd) other than ASCII 0-9


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


def _check_size(path: pathlib.Path, max_rows: int) -> None:
    """Refuse a text file of more than ``max_rows`` lines, or one too large to read into memory, before reading it."""
    from lstm_ar.runtime.memory import available_host_memory

    size = path.stat().st_size
    if READ_FACTOR * size > (free := available_host_memory()):
        raise InputError(f"{path}: {size / 2**20:.0f} MiB is too large to read here (about {READ_FACTOR} x its size "
                         f"in memory, {free / 2**20:.0f} MiB available): use a shorter file")
    lines = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            lines += block.count(b"\n")
            if lines > max_rows + 1:
                raise InputError(f"{path}: more than {max_rows:,} rows, the limit (a study of that many values takes "
                                 "very long): give --max-rows N to raise it, or a shorter series")


def read_table(path: str | os.PathLike, *, max_rows: int = MAX_ROWS):
    """The file as a ``pandas.DataFrame`` (CSV cells as text, so that bad cells can be named; a blank line a row of
    empty cells)."""
    p = check_readable(path)
    pd = import_pandas()
    kind = file_kind(p)
    if kind == "npy":
        return _npy_table(p, max_rows)
    if kind == "parquet":
        return _parquet_table(p, max_rows)
    _check_size(p, max_rows)
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
    except csv.Error:  # rows with differing cell counts, or one column: the header's delimiter, if it has one
        delimiter = next((d for d in DELIMITERS.strip() if d in lines[0]), ONE_COLUMN)
    if len(next(csv.reader([lines[0]], delimiter=delimiter, skipinitialspace=True))) == 1:
        delimiter = ONE_COLUMN  # the first row has one cell: so has every row, commas and spaces included
    try:
        table = pd.read_csv(p, sep=delimiter, header=None, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                            skipinitialspace=True, skip_blank_lines=False)
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not a UTF-8 text file ({err.reason}); save it as UTF-8 CSV") from None
    except (pd.errors.ParserError, ValueError) as err:
        more = "Expected" in str(err)  # "Expected 2 fields in line 3, saw 3"
        hint = ("; a number written with a comma (3,5 or 3,035) must be quoted, or the file written with another "
                "delimiter" if more and delimiter == "," else "")
        raise InputError(f"{path}: not a readable CSV file with delimiter {delimiter!r}"
                         f"{': a row has more cells than the first row' if more else ''} ({str(err).strip()}){hint}") from None
    filled = (table != "").any(axis=1).to_numpy()
    if not filled.any():
        raise InputError(f"{path}: the file holds no data")
    first, last = np.flatnonzero(filled)[[0, -1]]
    table = table.iloc[first:last + 1].reset_index(drop=True)  # blank lines inside are missing values
    head = [str(c).strip() for c in table.iloc[0]]
    if all(_is_number(c) for c in head):  # no header row: the first row is data
        table.columns = [str(j) for j in range(table.shape[1])]
        return table
    table = table.iloc[1:].reset_index(drop=True)
    table.columns = head
    _check_names(head, path)
    return table


def _check_names(names: Sequence[str], path) -> None:
    """Refuse a header that names a column twice (compared without the spaces around names)."""
    seen = [str(n).strip() for n in names]
    twice = sorted({n for n in seen if seen.count(n) > 1})
    if twice:
        raise InputError(f"{path}: the header names {', '.join(repr(n) for n in twice)} more than once (spaces around "
                         "names ignored): which one is meant cannot be told; give each column its own name")


def _is_number(text: str) -> bool:
    """A cell that reads as a number in some notation (a header row has none)."""
    return text.lower() in INFINITE | {"nan"} or re.fullmatch(r"[+-]?[\d.,' _]*\d[\d.,' _]*(?:[eE][+-]?\d+)?",
                                                                text) is not None


def _parquet_table(path: pathlib.Path, max_rows: int):
    pd = import_pandas()
    try:
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(path).metadata.num_rows
    except Exception:  # no pyarrow, or not a Parquet file: pandas's reader below says which
        rows = 0
    if rows > max_rows:
        raise InputError(f"{path}: {rows:,} rows, more than the limit of {max_rows:,}: give --max-rows N to raise it, "
                         "or a shorter series")
    try:
        table = pd.read_parquet(path)
    except ImportError as err:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install 'lstm_ar[parquet]' ({err})") from None
    except Exception as err:  # a corrupt or foreign file: pyarrow raises several kinds
        raise InputError(f"{path}: not a readable Parquet file ({type(err).__name__}: {err})") from None
    _check_names([str(c) for c in table.columns], path)
    return table


def _npy_header(path: pathlib.Path, max_rows: int) -> None:
    """Check an ``.npy`` header's shape against ``max_rows``, the file's size and the memory available."""
    from lstm_ar.runtime.memory import available_host_memory

    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as err:
        raise InputError(f"{path}: not a readable .npy file ({err})") from None
    if dtype.hasobject:
        raise InputError(f"{path}: not a readable .npy array of numbers (it holds Python objects)")
    need = math.prod(shape) * dtype.itemsize
    if shape and shape[0] > max_rows:
        raise InputError(f"{path}: an array of shape {shape}: {shape[0]:,} rows, more than the limit of {max_rows:,}: "
                         "give --max-rows N to raise it, or a shorter series")
    if need > (free := available_host_memory()) // 2:
        raise InputError(f"{path}: its header claims an array of shape {shape} ({need / 2**20:,.0f} MiB), more than "
                         f"half the {free / 2**20:,.0f} MiB of memory available")
    if path.stat().st_size < offset + need:
        raise InputError(f"{path}: truncated: its header claims an array of shape {shape} ({need:,} bytes of values), "
                         f"the file holds {path.stat().st_size - offset:,}")


def _npy_table(path: pathlib.Path, max_rows: int):
    pd = import_pandas()
    _npy_header(path, max_rows)
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


def _decimal_comma(text, candidates: np.ndarray, name: str, path: str) -> str | None:
    """Whether a column's cells with a comma (``candidates``) are decimal commas when no option says: a note if
    only that reading fits them, None if none is a number either way (they are named as non-numeric later); an
    ``InputError`` where they allow both readings (``3,035``), only thousands separators, or mix the two."""
    decimal = text.str.fullmatch(DECIMAL_COMMA).to_numpy() & candidates
    thousands = text.str.fullmatch(THOUSANDS_COMMA).to_numpy() & candidates
    numbers = decimal | thousands
    if not numbers.any():
        return None
    rows = np.flatnonzero(numbers)
    cells = text.iloc[rows].tolist()
    only_decimal, only_thousands = (decimal & ~thousands).any(), (thousands & ~decimal).any()
    if only_decimal and only_thousands:
        raise InputError(f"{path}: column {name!r} has values with a decimal comma and values with a thousands "
                         f"separator at {_rows(rows, cells)}: write every value one way")
    if only_thousands:
        raise InputError(f"{path}: column {name!r} has {rows.size} values written with a thousands separator at "
                         f"{_rows(rows, cells)}: give --thousands , to read them so")
    if not only_decimal:
        raise InputError(f"{path}: column {name!r} has {rows.size} values with a comma at {_rows(rows, cells)}: is "
                         f"{cells[0]!r} a decimal comma or a thousands separator? give --decimal , or --thousands ,")
    points = np.flatnonzero(text.str.contains(".", regex=False).to_numpy() & ~candidates)
    if points.size:
        raise InputError(f"{path}: column {name!r} mixes decimal points (at {_rows(points, text.iloc[points].tolist())}) "
                         f"and decimal commas (at {_rows(rows, cells)}): write every value one way")
    example = text.iloc[int(np.argmax(decimal & ~thousands))]
    return (f"column {name!r}: the comma in {rows.size} values (such as {example!r}) was read as the decimal point, "
            "the only reading that fits them all (--decimal , says so)")


def _refuse_foreign_digits(text, missing: np.ndarray, name: str, path: str, what: str) -> None:
    """An InputError naming the cells written with digits other than ASCII 0-9 (``٣``, ``３``): Python's ``float``
    and ``re``'s ``\\d`` accept them, so without this check they would be read as numbers nobody wrote in ASCII."""
    foreign = np.flatnonzero((~missing & text.str.contains(FOREIGN_DIGIT, regex=True)).to_numpy())
    if foreign.size:
        raise InputError(f"{path}: column {name!r} has {foreign.size} {what} written with digits other than ASCII 0-9 at "
                         f"{_rows(foreign, text.iloc[foreign].tolist())}: write them with the digits 0-9")


def _parse_numbers(text, missing: np.ndarray, name: str, path: str, what: str, decimal: str | None,
                   thousands: str | None) -> tuple[np.ndarray, list[str]]:
    """f64 values of stripped text cells (NaN where ``missing``): exactly the numbers written, or an InputError."""
    _refuse_foreign_digits(text, missing, name, path, what)
    notes, written = [], text
    if thousands is not None:
        dec = re.escape(decimal or ".")
        grouped = text.str.fullmatch(rf"[+-]?[1-9]\d{{0,2}}(?:{re.escape(thousands)}\d{{3}})+(?:{dec}\d+)?")
        text = text.where(~grouped, text.str.replace(thousands, "", regex=False))
    commas = (~missing & text.str.contains(",", regex=False)).to_numpy()
    if decimal is None and thousands is None and commas.any() and (
            note := _decimal_comma(text, commas, name, path)) is not None:
        notes.append(note)
        decimal = ","
    if decimal == ",":
        dots = np.flatnonzero((~missing & text.str.contains(".", regex=False)).to_numpy())
        if dots.size:
            raise InputError(f"{path}: column {name!r} has {dots.size} {what} with a point at "
                             f"{_rows(dots, text.iloc[dots].tolist())}, but the decimal mark is ','")
        text = text.str.replace(",", ".", regex=False)
    infinite = np.flatnonzero((~missing & text.str.lower().isin(INFINITE)).to_numpy())
    if infinite.size:
        raise InputError(f"{path}: column {name!r} has {infinite.size} infinite {what} at {_rows(infinite)}; a series "
                         "must be finite")
    ok = missing | text.str.fullmatch(PLAIN).to_numpy()
    if not ok.all():
        bad = np.flatnonzero(~ok)
        raise InputError(f"{path}: column {name!r} has {bad.size} non-numeric {what} at "
                         f"{_rows(bad, written.iloc[bad].tolist())}; fix or remove them (empty cells count as missing "
                         "values)")
    values = np.full(len(text), np.nan)
    values[~missing] = text.to_numpy(dtype=str)[~missing].astype(np.float64)
    return values, notes


def _numeric(cells, name: str, path: str, *, what: str = "values", decimal: str | None = None,
             thousands: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(f64 values with NaN where missing, bool missing mask, notes) of one column; InputError on text or inf."""
    import pandas as pd
    series = pd.Series(cells).reset_index(drop=True)
    notes = []
    if series.dtype.kind in "biuf":
        values = series.to_numpy(np.float64)
        missing = np.isnan(values)
    elif series.dtype.kind == "c":
        raise InputError(f"{path}: column {name!r} holds complex numbers; a series must be real")
    else:
        text = series.astype(str).str.strip()
        missing = (series.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
        values, notes = _parse_numbers(text, missing, name, path, what, decimal, thousands)
    inf = np.flatnonzero(np.isinf(values))
    if inf.size:
        raise InputError(f"{path}: column {name!r} has {inf.size} infinite {what} (or beyond float64's 1.8e308) at "
                         f"{_rows(inf)}; a series must be finite")
    return values, missing, notes


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


def _resolution(text) -> float:
    """The finest unit the numbers in ``text`` are written to (``1920.0833333``: 1e-7; whole numbers: 0, exact)."""
    decimals = text.str.extract(r"^[+-]?\d*\.(\d+)$", expand=False).str.len()
    return float(10.0 ** -decimals.max()) if decimals.notna().any() else 0.0


def _times(table, time_column: str, path: str) -> tuple[np.ndarray, float]:
    """(the times, the resolution numeric times are written to: 0 for dates and stored numbers)."""
    import pandas as pd
    if time_column not in table.columns:
        raise InputError(f"{path}: no time column {time_column!r}; the file's columns are "
                         f"{', '.join(repr(str(c)) for c in table.columns)}")
    raw = table[time_column].reset_index(drop=True)
    resolution = 0.0
    if raw.dtype.kind in "biuf":
        times = raw.to_numpy(np.float64)
        missing = np.isnan(times)
    elif raw.dtype.kind in "Mm":
        times = pd.to_datetime(raw).to_numpy()
        missing = np.isnat(times)
    else:
        text = raw.astype(str).str.strip()
        missing = (raw.isna() | text.str.lower().isin(MISSING_TOKENS)).to_numpy()
        _refuse_foreign_digits(text, missing, time_column, path, "times")
        numbers = pd.to_numeric(text.where(~missing), errors="coerce").to_numpy(np.float64)
        numeric = np.isfinite(numbers) & ~missing
        if 2 * numeric.sum() > (~missing).sum():  # mostly numbers: the rest are errors
            times, bad = numbers, np.flatnonzero(~missing & ~numeric)
            resolution = _resolution(text[numeric])
        else:
            times, bad = _dates(text, missing, time_column, path)
        if bad.size:
            raise InputError(f"{path}: time column {time_column!r} has {bad.size} entries that are neither dates "
                             f"nor numbers at {_rows(bad, text.iloc[bad].tolist())}")
    gaps = np.flatnonzero(missing)
    if gaps.size:
        raise InputError(f"{path}: time column {time_column!r} has {gaps.size} missing entries, the first at "
                         f"{_rows(gaps[:1])}; fill them or leave out --time-column")
    return times, resolution


def _dates(text, missing: np.ndarray, time_column: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64 times, rows that are no date) of text cells; offsets from UTC (mixed ones too) become UTC."""
    import pandas as pd
    try:
        parsed = pd.to_datetime(text.where(~missing), errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError) as err:
        raise InputError(f"{path}: time column {time_column!r} cannot be read as dates ({err})") from None
    times = parsed.dt.tz_convert(None).to_numpy()
    return times, np.flatnonzero(~missing & np.isnat(times))


def _step_words(step) -> str:
    if isinstance(step, np.timedelta64):
        import pandas as pd
        return str(pd.Timedelta(step))
    return f"{float(step):g}"


def _month_steps(times: np.ndarray) -> np.ndarray | None:
    """Steps in calendar months between sorted dates that all fall on one day of the month (or all on a month's
    last day) at one time of day (monthly data: 28 to 31 days apart, one step each); None for other dates."""
    days = times.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    since_month = times - months.astype(times.dtype)
    time_of_day = times - days.astype(times.dtype)
    last_day = (days + 1).astype("datetime64[M]") != months
    if not (np.all(since_month == since_month[0]) or (last_day.all() and np.all(time_of_day == time_of_day[0]))):
        return None
    return np.diff(months.astype(np.int64))


def _time_notes(times: np.ndarray, time_column: str, resolution: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """(the order that sorts the times, notes about unsorted, duplicated or irregular timestamps). Numeric times
    are regular where each step is within ``resolution`` (the unit they are written to) plus float rounding of
    the most common step: ``1920.0833333`` steps of a month differ by 1e-7 from rounding alone."""
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
        months = _month_steps(times[order]) if times.dtype.kind == "M" else None
        words = _step_words
        if times.dtype.kind == "f":
            common = np.median(positive)
            tolerance = resolution + 1e-9 * float(np.max(np.abs(times)))
            off = (steps > zero) & (np.abs(steps - common) > tolerance)
        elif months is not None:  # monthly, quarterly, yearly dates: steps in calendar months
            kinds, counts = np.unique(months[months > 0], return_counts=True)
            common, steps, words = kinds[np.argmax(counts)], months, lambda k: f"{int(k)} month{'s' * bool(k != 1)}"
            off = (steps > 0) & (steps != common)
        else:
            common = kinds[np.argmax(counts)]
            off = (steps > zero) & (steps != common)
        irregular = int(np.sum(off))
        if irregular:
            first = int(np.flatnonzero(off)[0])
            notes.append(f"the timestamps are irregular: {irregular} of {steps.size} steps differ from the most common "
                         f"step ({words(common)}), the first between rows {first + 1} and {first + 2} "
                         f"({words(steps[first])}); the values are used as if equally spaced")
    return order, notes


def load_series(path: str | os.PathLike, *, column: str | None = None, time_column: str | None = None,
                fill: str | None = None, decimal: str | None = None, thousands: str | None = None,
                max_rows: int = MAX_ROWS) -> UserSeries:
    """One column of a file as a series, checked (module docstring). ``column``: default the only one besides
    ``time_column``; ``fill``: None (refuse missing values), ``"interpolate"`` or ``"drop"``; ``decimal``: the
    decimal mark (None: ``.``, or ``,`` where only that fits); ``thousands``: the thousands separator (None: none);
    ``max_rows``: longer files are refused before they are read."""
    if fill is not None and fill not in FILLS:
        raise InputError(f"fill must be one of {', '.join(FILLS)}, got {fill!r}")
    if decimal is not None and decimal not in DECIMALS:
        raise InputError(f"--decimal must be one of {' '.join(DECIMALS)}, got {decimal!r}")
    if thousands is not None and (thousands not in THOUSANDS or thousands == (decimal or ".")):
        raise InputError(f"--thousands must be one of {' '.join(map(repr, THOUSANDS))} and differ from the decimal "
                         f"mark, got {thousands!r}")
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise InputError(f"--max-rows must be a positive integer, got {max_rows!r}")
    path_text = str(path)
    table = read_table(path, max_rows=max_rows)
    if len(table) == 0:
        raise InputError(f"{path_text}: the file has a header but no values")
    if time_column is not None and column is not None and time_column == column:
        raise InputError(f"--time-column and --column both name {column!r}")
    name = _pick_column(table, column, time_column, path_text)
    values, missing, notes = _numeric(table[name], name, path_text, decimal=decimal, thousands=thousands)
    times = None
    if time_column is not None:
        times, resolution = _times(table, time_column, path_text)
        order, time_notes = _time_notes(times, time_column, resolution)
        times, values, missing, notes = times[order], values[order], missing[order], notes + time_notes
    if missing.any():
        where = np.flatnonzero(missing)
        if fill is None:
            raise InputError(f"{path_text}: column {name!r} has {where.size} missing values, the first at "
                             f"{_rows(where[:1])} (an empty cell or a blank line is a missing value); choose --fill "
                             "interpolate (linear between neighbours) or --fill drop (leave those rows out)")
        if where.size == values.size:
            raise InputError(f"{path_text}: column {name!r} has no values (all {values.size} are missing)")
        if fill == "drop":
            values, times = values[~missing], None if times is None else times[~missing]
        else:
            present = np.flatnonzero(~missing)
            values = np.interp(np.arange(values.size), present, values[present])
        done = "dropped" if fill == "drop" else "interpolated"
        notes.append(f"{where.size} missing values {done} (the first at {_rows(where[:1])})")
    if values.size and (largest := float(np.max(np.abs(values)))) > MAX_ABS:
        raise InputError(f"{path_text}: column {name!r} holds values as large as {largest:.3g}: their squares (errors "
                         f"in the series' units) overflow float64 beyond {MAX_ABS:g}; rescale the column (divide it by "
                         f"a power of ten) first")
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
