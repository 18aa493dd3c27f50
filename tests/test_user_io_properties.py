"""Property tests of the file reader (``lstm_ar.user.io.load_series``): random CSV files (delimiters, quoting, line
ends, unicode headers, missing cells and blank lines, numbers written many ways) read to exactly the numbers
written or are refused with an ``InputError`` (exit status 2 in the command); never another exception, never a
silent change. The expected numbers are computed here from the text written, by the writer's own convention."""

import unicodedata

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lstm_ar.user.io import InputError, load_series  # noqa: E402

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
STYLES = ("repr", "fixed", "exponent", "signed", "decimal comma", "thousands")
MISSING = ("", "NA", "nan", "null")
NAMES = st.text(st.characters(categories=("L",)), min_size=1, max_size=6).filter(
    lambda name: name.lower() not in ("nan", "inf", "infinity"))  # numbers, so no header


def written(value: float, style: str) -> tuple[str, float]:
    """(the text a writer of ``style`` puts in the file, the number that text means)."""
    if style == "repr":
        return repr(value), value
    if style == "fixed":
        return (text := f"{value:.3f}"), float(text)
    if style == "exponent":
        return (text := f"{value:.6E}"), float(text)
    if style == "signed":
        return (text := f"{value:+.2f}"), float(text)
    if style == "decimal comma":
        return (text := f"{value:.2f}").replace(".", ","), float(text)
    return (text := f"{value:,.2f}"), float(text.replace(",", ""))


@st.composite
def csv_files(draw):
    n = draw(st.integers(4, 10))
    values = draw(st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=n, max_size=n))
    style = draw(st.sampled_from(STYLES))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    one_column = draw(st.booleans())
    quote = draw(st.booleans())
    gaps = draw(st.lists(st.booleans(), min_size=n, max_size=n)) if draw(st.booleans()) else [False] * n
    names = draw(st.lists(NAMES, min_size=2, max_size=2, unique_by=str.strip))
    cells, expected = zip(*(written(v, style) for v in values))
    pad = draw(st.sampled_from(["", " "]))  # a space after each delimiter (and before a one-column value)
    rows = []
    for i, (cell, gap) in enumerate(zip(cells, gaps)):
        cell = draw(st.sampled_from(MISSING)) if gap else cell
        cell = pad + (f'"{cell}"' if quote and cell else cell)
        rows.append(cell if one_column else f"{i}{delimiter}{cell}")
    end = draw(st.sampled_from(["\n", "\r\n"]))
    header = names[1] if one_column else f"{names[0]}{delimiter}{pad}{names[1]}"
    text = draw(st.sampled_from(["", "\ufeff"])) + end.join([header, *rows]) + end  # with or without a BOM
    split = not one_column and delimiter == "," and not quote and any("," in c for c in cells)
    commas = any("," in c for c, gap in zip(cells, gaps) if not gap)
    return text, names[1], np.array(expected), np.array(gaps), style, split, commas


@SETTINGS
@given(case=csv_files(), fill=st.sampled_from([None, "drop"]), say=st.booleans())
def test_a_csv_reads_to_the_numbers_written_or_is_refused(tmp_path_factory, case, fill, say):
    text, name, expected, gaps, style, split, commas = case
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_text(text, encoding="utf-8", newline="")
    options = {"decimal": ",", "thousands": None} if say and style == "decimal comma" else (
        {"thousands": ",", "decimal": None} if say and style == "thousands" else {})
    wanted = expected[~gaps] if fill == "drop" else expected
    try:
        data = load_series(path, column=name, fill=fill, **options)
    except InputError as err:  # refused: only where the file is unreadable, has gaps, or the writer's meaning is unsaid
        assert "\n" not in str(err)
        must_read = not split and not (gaps.any() and fill is None) and wanted.size >= 2 and np.ptp(wanted) > 0 and not (
            style == "thousands" and commas and not say)
        assert not must_read, str(err)
        return
    np.testing.assert_array_equal(data.values, wanted)  # exactly: no rounding, no shift, no guess
    assert any("decimal point" in note for note in data.notes) == (style == "decimal comma" and commas and not say)


@SETTINGS
@given(values=st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=4, max_size=8), blank=st.integers(1, 2))
def test_blank_lines_are_missing_values_never_skipped(tmp_path_factory, values, blank):
    """A blank line inside a one-column file is a missing value (refused, or dropped when asked), never a shift."""
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    cells = [repr(v) for v in values]
    path.write_text("y\n" + "\n".join(cells[:blank] + [""] + cells[blank:]) + "\n")
    with pytest.raises(InputError, match=rf"1 missing values, the first at row {blank + 1} \(an empty cell or a blank"):
        load_series(path)
    if np.ptp(values) > 0:
        np.testing.assert_array_equal(load_series(path, fill="drop").values, values)
        interpolated = load_series(path, fill="interpolate").values
        assert interpolated.size == len(values) + 1 and interpolated[blank + 1] == values[blank]


ZEROS = st.characters(categories=("Nd",)).filter(lambda c: not c.isascii()).map(
    lambda c: chr(ord(c) - unicodedata.digit(c)))  # the zero of a script's ten contiguous digits (Arabic-Indic, full-width...)


@SETTINGS
@given(values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=4, max_size=8), zero=ZEROS,
       data=st.data(), timed=st.booleans())
def test_digits_other_than_ascii_are_refused_never_read(tmp_path_factory, values, zero, data, timed):
    """A value (or numeric time) written with another script's digits is refused, naming its rows; Python's
    ``float`` would read it as a number."""
    rows = sorted(data.draw(st.sets(st.integers(0, len(values) - 1), min_size=1)))
    foreign = str.maketrans("0123456789", "".join(chr(ord(zero) + d) for d in range(10)))
    cells = [repr(v) for v in values]
    times = [str(i) for i in range(len(values))]
    column = times if timed else cells
    for i in rows:
        column[i] = column[i].translate(foreign)
    assert float(column[rows[0]]) == float(column[rows[0]].translate({ord(zero) + d: str(d) for d in range(10)}))
    path = tmp_path_factory.mktemp("csv") / "x.csv"
    path.write_text("t,y\n" + "\n".join(f"{t},{c}" for t, c in zip(times, cells)) + "\n", encoding="utf-8")
    name = "t" if timed else "y"
    with pytest.raises(InputError, match=rf"column '{name}' has {len(rows)} (values|times) written with digits other "
                                         rf"than ASCII 0-9 at rows? {rows[0] + 1}\b"):
        load_series(path, column="y", time_column="t" if timed else None)
