"""``lstm_ar.user.io`` and the input checks of ``lstm-ar study``: every bad input of a user's file
gets a clear error (exit status 2, ``lstm-ar study: error: ...``, no traceback) before any compute;
CSV (sniffed delimiters), Parquet and ``.npy`` read the same values. No training here."""

import importlib.util

import numpy as np
import pytest

from lstm_ar import cli
from lstm_ar.user.io import InputError, load_series, split_point

VALUES = np.round(np.sin(np.arange(120) / 5.0) * 3 + 10, 4)


def write_csv(path, rows, header="date,y", sep=","):
    path.write_text(header.replace(",", sep) + "\n" + "\n".join(sep.join(map(str, r)) for r in rows) + "\n")
    return path


@pytest.fixture
def good_csv(tmp_path):
    dates = np.datetime64("2020-01-01") + np.arange(120)
    return write_csv(tmp_path / "good.csv", zip(dates, VALUES))


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if anything would train."""
    def refuse(*args, **kwargs):
        raise AssertionError("computation started although the input is invalid")

    from lstm_ar.study import experiment
    from lstm_ar.user import study

    monkeypatch.setattr(study, "run_study", refuse)
    monkeypatch.setattr(experiment, "run_scenario", refuse)


# ----------------------------------------------------------------------------------------------
# Reading


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(tmp_path, sep):
    path = write_csv(tmp_path / "x.csv", zip(range(120), VALUES), header="t,y", sep=sep)
    data = load_series(path, column="y", time_column="t")
    np.testing.assert_array_equal(data.values, VALUES)
    assert data.column == "y" and data.notes == ()


def test_a_csv_without_header_keeps_its_first_value(tmp_path):
    (tmp_path / "bare.csv").write_text("\n".join(f"{v};{-v}" for v in VALUES) + "\n")
    np.testing.assert_array_equal(load_series(tmp_path / "bare.csv", column="0").values, VALUES)
    (tmp_path / "one.csv").write_text("\n".join(map(str, VALUES)) + "\n")
    np.testing.assert_array_equal(load_series(tmp_path / "one.csv").values, VALUES)


def test_the_only_column_besides_time_is_picked(good_csv):
    np.testing.assert_array_equal(load_series(good_csv, time_column="date").values, VALUES)


def test_parquet_and_npy_read_the_same_values(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"t": np.arange(120), "y": VALUES, "z": -VALUES}).to_parquet(tmp_path / "x.parquet")
    np.testing.assert_array_equal(load_series(tmp_path / "x.parquet", column="y", time_column="t").values, VALUES)
    np.save(tmp_path / "one.npy", VALUES)
    np.save(tmp_path / "two.npy", np.column_stack([-VALUES, VALUES]))
    np.testing.assert_array_equal(load_series(tmp_path / "one.npy").values, VALUES)
    np.testing.assert_array_equal(load_series(tmp_path / "two.npy", column="1").values, VALUES)


def test_parquet_without_an_engine_names_the_extra(tmp_path, monkeypatch):
    import pandas as pd

    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    with pytest.raises(InputError, match=r"Parquet needs pyarrow: pip install 'lstm_ar\[parquet\]'"):
        load_series(tmp_path / "x.parquet")


@pytest.mark.parametrize("fill, expected", [("interpolate", [1, 2, 3, 4, 5, 5]), ("drop", [1, 3, 5])])
def test_missing_values_are_filled_only_when_asked(tmp_path, fill, expected):
    path = write_csv(tmp_path / "gaps.csv", [(0, 1), (1, ""), (2, 3), (3, "NA"), (4, 5), (5, "")], header="t,y")
    with pytest.raises(InputError, match=r"has 3 missing values, the first at row 2 \(an empty cell or a blank line "
                                         r"is a missing value\); choose --fill interpolate"):
        load_series(path, column="y")
    data = load_series(path, column="y", fill=fill)
    np.testing.assert_array_equal(data.values, expected)
    assert f"3 missing values {'dropped' if fill == 'drop' else 'interpolated'}" in data.notes[0]


def test_timestamps_out_of_order_are_sorted_with_a_note(tmp_path):
    path = write_csv(tmp_path / "x.csv", [(2, 30), (0, 10), (1, 20), *[(t, t) for t in range(3, 60)]], header="t,y")
    data = load_series(path, column="y", time_column="t")
    assert list(data.values[:3]) == [10, 20, 30]
    assert "not in order (1 steps go back in time): the rows were sorted" in data.notes[0]


def test_irregular_and_duplicated_timestamps_are_counted(tmp_path):
    times = [*range(50), 52, 53, 60, 61, 61]
    data = load_series(write_csv(tmp_path / "x.csv", [(t, i) for i, t in enumerate(times)], header="t,y"), column="y",
                       time_column="t")
    text = " ".join(data.notes)
    assert "1 duplicated timestamps" in text
    assert "irregular: 2 of 54 steps differ from the most common step (1), the first between rows 50 and 51 (3)" in text


def test_dates_are_parsed_and_test_from_splits_there(good_csv):
    data = load_series(good_csv, column="y", time_column="date")
    assert data.times.dtype.kind == "M"
    assert split_point(data, test_from="2020-04-01") == 91  # Jan 31 + Feb 29 + Mar 31 days before it
    assert split_point(data, test_fraction=0.25) == 90


# ----------------------------------------------------------------------------------------------
# Bad files and values: InputError naming the problem


@pytest.mark.parametrize("case, message", [
    ("missing", r"no such file"),
    ("folder", r"not a file"),
    ("empty", r"the file is empty"),
    ("suffix", r"unknown file kind '\.xlsx'; supported: CSV"),
    ("header only", r"has a header but no values"),
    ("column", r"no column 'sales'; the file's columns are 'date', 'y'"),
    ("two columns", r"has 3 columns \('t', 'a', 'b'\): choose the series with --column NAME"),
    ("text", r"column 'y' has 2 non-numeric values at rows 3, 5 \('abc', '1,5x'\)"),
    ("inf", r"column 'y' has 1 infinite values at row 2"),
    ("constant", r"column 'y' is constant \(every value is 7\)"),
    ("bad time", r"time column 't' has 1 entries that are neither dates nor numbers at row 2 \('yesterday'\)"),
    ("missing time", r"time column 't' has 1 missing entries, the first at row 3"),
    ("npy object", r"not a readable \.npy array of numbers"),
    ("npy 3-D", r"an array of shape \(2, 3, 4\); supported: 1-D"),
    ("npy corrupt", r"not a readable \.npy"),
    ("parquet corrupt", r"not a readable Parquet file"),
    ("binary csv", r"not a UTF-8 text file"),
])
def test_bad_input_is_named(tmp_path, case, message):
    p = tmp_path / "data.csv"
    column, time_column = "y", None
    if case == "missing":
        p = tmp_path / "nope.csv"
    elif case == "folder":
        p = tmp_path
    elif case == "empty":
        p.write_text("")
    elif case == "suffix":
        p = tmp_path / "data.xlsx"
        p.write_text("x")
    elif case == "header only":
        p.write_text("date,y\n")
    elif case == "column":
        write_csv(p, [(1, 2)])
        column = "sales"
    elif case == "two columns":
        write_csv(p, [(1, 2, 3)], header="t,a,b")
        column = None
    elif case == "text":
        p.write_text('t,y\n0,1\n1,2\n2,abc\n3,4\n4,"1,5x"\n')
    elif case == "inf":
        write_csv(p, [(0, 1), (1, "inf"), (2, 3)], header="t,y")
    elif case == "constant":
        write_csv(p, [(t, 7) for t in range(10)], header="t,y")
    elif case in ("bad time", "missing time"):
        write_csv(p, [(0, 1), ("yesterday" if case == "bad time" else 1, 2), (2 if case == "bad time" else "", 3)],
                  header="t,y")
        time_column = "t"
    elif case == "npy object":
        p = tmp_path / "data.npy"
        np.save(p, np.array([1, "a", None], dtype=object), allow_pickle=True)
        column = None
    elif case == "npy 3-D":
        p = tmp_path / "data.npy"
        np.save(p, np.zeros((2, 3, 4)))
        column = None
    elif case == "npy corrupt":
        p = tmp_path / "data.npy"
        p.write_bytes(b"\x93NUMPY garbage")
    elif case == "parquet corrupt":
        pytest.importorskip("pyarrow")
        p = tmp_path / "data.parquet"
        p.write_bytes(b"PAR1 this is not parquet PAR1")
    elif case == "binary csv":
        p.write_bytes(b"t,y\n\xff\xfe\x00\x01")
    with pytest.raises(InputError, match=message):
        load_series(p, column=column, time_column=time_column)


def test_split_errors(good_csv, tmp_path):
    data = load_series(good_csv, column="y", time_column="date")
    with pytest.raises(InputError, match=r"no value is at or after it"):
        split_point(data, test_from="2030-01-01")
    with pytest.raises(InputError, match=r"every value is at or after it"):
        split_point(data, test_from="2019-01-01")
    with pytest.raises(InputError, match=r"is not a date"):
        split_point(data, test_from="soon")
    untimed = load_series(good_csv, column="y")
    with pytest.raises(InputError, match=r"without --time-column it must be an integer, the index of the first held-out "
                                         r"value counted from 0 \(1 to 119 for 120 values\); for a date, give --time-column"):
        split_point(untimed, test_from="2020-02-01")
    for bad in ("0", "120", "-3"):
        with pytest.raises(InputError, match=rf"--test-from {bad}: the index of the first held-out value \(counted from "
                                             r"0\) must be between 1 and 119"):
            split_point(untimed, test_from=bad)
    with pytest.raises(InputError, match=r"must be an integer"):
        split_point(untimed, test_from="99.5")


def test_test_from_without_a_time_column_is_a_row_index(good_csv):
    """The first held-out value's index, counted from 0: the number of training values."""
    untimed = load_series(good_csv, column="y")
    assert split_point(untimed, test_from="100") == 100 and split_point(untimed, test_from=" 1 ") == 1
    assert split_point(untimed, test_from="119") == 119
    held = untimed.values[split_point(untimed, test_from="70"):]
    np.testing.assert_array_equal(held, VALUES[70:])


# ----------------------------------------------------------------------------------------------
# The command: exit status 2 and one line, before anything is computed


@pytest.mark.parametrize("words, message", [
    (["--csv", "{d}/nope.csv"], "nope.csv: no such file"),
    (["--csv", "{d}/good.csv", "--column", "sales"], "no column 'sales'; the file's columns are 'date', 'y'"),
    (["--csv", "{d}/good.csv", "--column", "y", "--test-from", "2020-03-01"], "without --time-column it must be an "
                                                                              "integer"),
    (["--csv", "{d}/good.csv", "--column", "y", "--test-from", "100"], "too few values: 120 in all, 20 held out"),
    (["--csv", "{d}/good.csv", "--column", "y", "--window", "1,x"], "--window must be integers"),
    (["--csv", "{d}/good.csv", "--column", "y", "--remedies", "tanh,magic"], "unknown remedy 'magic'; valid: default"),
    (["--csv", "{d}/good.csv", "--column", "y", "--window", "100"], "too few values: 120 in all, 96 to train"),
    (["--csv", "{d}/good.csv", "--column", "y", "--test-fraction", "0.3"], "too few values: 120 in all, 36 held out"),
    (["--csv", "{d}/good.csv", "--column", "y", "--test-fraction", "1.5"], "--test-fraction: 1.5 is not in (0, 1)"),
    (["--csv", "{d}/good.csv", "--column", "y", "--activation", "swishy"], "swishy"),
    (["--csv", "{d}/flat_start.csv", "--column", "y", "--test-fraction", "0.5"], "the training part (the first 60 "
                                                                                 "values) is constant"),
    (["--csv", "{d}/good.csv", "--column", "y", "--out", "{d}/good.csv"], "exists and is not a folder"),
])
def test_study_refuses_bad_input_before_any_compute(tmp_path, good_csv, capsys, no_compute, words, message):
    write_csv(tmp_path / "flat_start.csv", [(t, 5 if t < 60 else t) for t in range(120)], header="t,y")
    words = [w.format(d=tmp_path) for w in words]
    if "--out" not in words:
        words += ["--out", str(tmp_path / "out")]
    assert cli.main(["study", "--test-fraction", "0.2", *words] if "--test-fraction" not in words and
                    "--test-from" not in words else ["study", *words]) == 2
    err = capsys.readouterr().err
    assert "lstm-ar study: error:" in err and message in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_warnings_are_printed(tmp_path, capsys, no_compute):
    """Irregular timestamps are a warning, not an error (the run then starts: refused here)."""
    times = [*range(150), *range(151, 301)]
    path = write_csv(tmp_path / "x.csv", [(t, np.sin(t / 3)) for t in times], header="t,y")
    with pytest.raises(AssertionError, match="computation started"):
        cli.main(["study", "--csv", str(path), "--column", "y", "--time-column", "t", "--quick", "--out",
                  str(tmp_path / "out")])
    assert "lstm-ar study: warning: the timestamps are irregular: 1 of 299 steps" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------
# Hostile files: parsed exactly or refused, never guessed


@pytest.mark.parametrize("text, options, expected, message", [
    ("y\n3,035\n3,182\n5,034\n", {}, None, r"is '3,035' a decimal comma or a thousands separator\? give --decimal , or "
                                           r"--thousands ,"),
    ("y\n3,035\n3,182\n5,034\n", {"thousands": ","}, [3035, 3182, 5034], None),
    ("y\n3,035\n3,182\n5,034\n", {"decimal": ","}, [3.035, 3.182, 5.034], None),
    ("y\n1,234,567\n2,000\n", {}, None, r"written with a thousands separator at rows 1, 2 .*: give --thousands ,"),
    ("y\n3,5\n4,25\n1,000\n", {}, [3.5, 4.25, 1.0], None),
    ("t;y\n0;3,5\n1;4,25\n2;0,5\n", {}, [3.5, 4.25, 0.5], None),
    ("y\n3,5\n4.25\n", {}, None, r"mixes decimal points \(at row 2 \('4.25'\)\) and decimal commas"),
    ("t,y\n0,3,5\n1,4,25\n", {}, None, r"a row has more cells than the first row .* must be quoted"),
    ("y,y \n1,2\n3,4\n", {}, None, r"the header names 'y' more than once"),
    ("y\n1\n2\n\n4\n", {}, None, r"1 missing values, the first at row 3 \(an empty cell or a blank line"),
    ("y\n1\n2\n\n4\n\n\n", {"fill": "drop"}, [1, 2, 4], None),
    ("y\n1e300\n2e300\n", {}, None, r"holds values as large as 2e\+300: their squares"),
    ("y\n1_000\n2\n", {}, None, r"1 non-numeric values at row 1 \('1_000'\)"),
    ("y\n1e400\n2\n", {}, None, r"1 infinite values \(or beyond float64's 1.8e308\) at row 1"),
    ('t,y\n1,"2\n3,4\n', {}, None, r"not a readable CSV file with delimiter ',' \(.*EOF inside string"),
])
def test_commas_blank_lines_and_names_are_never_guessed(tmp_path, text, options, expected, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    column = "y" if text.startswith("t") else None
    if message is not None:
        with pytest.raises(InputError, match=message):
            load_series(path, column=column, **options)
        return
    data = load_series(path, column=column, **options)
    np.testing.assert_array_equal(data.values, expected)
    assert any("read as the decimal point" in n for n in data.notes) == (not options and "," in text.split("\n")[1])


def test_fractional_year_times_are_regular_within_their_resolution(tmp_path):
    """Monthly data written as 1920.0833333 (7 decimals, as R exports it): steps differ by 1e-7 from rounding."""
    for digits in (7, 3):
        rows = [(f"{1920 + i / 12:.{digits}f}", np.sin(i)) for i in range(239) if i != 100]
        data = load_series(write_csv(tmp_path / "x.csv", rows, header="t,y"), column="y", time_column="t")
        assert len(data.notes) == 1 and "irregular: 1 of 237 steps" in data.notes[0], data.notes


def test_mixed_utc_offsets_become_utc(tmp_path):
    rows = [("2020-01-01T00:00:00+01:00", 1), ("2020-01-01T00:00:00Z", 2), ("2020-01-01T02:00:00+01:00", 3)]
    data = load_series(write_csv(tmp_path / "x.csv", rows, header="t,y"), column="y", time_column="t")
    assert data.times.dtype.kind == "M" and data.notes == ()
    np.testing.assert_array_equal(data.times, np.array(["2019-12-31T23", "2020-01-01T00", "2020-01-01T01"],
                                                       dtype="datetime64[h]").astype(data.times.dtype))


def test_sizes_are_checked_before_reading(tmp_path):
    path = write_csv(tmp_path / "x.csv", [(t, t % 7) for t in range(60)], header="t,y")
    with pytest.raises(InputError, match=r"more than 50 rows, the limit .*give --max-rows N to raise it"):
        load_series(path, column="y", max_rows=50)
    assert load_series(path, column="y", max_rows=60).values.size == 60
    if importlib.util.find_spec("pyarrow") is not None:
        import pandas as pd

        pd.DataFrame({"y": np.sin(np.arange(60.0))}).to_parquet(parquet := tmp_path / "x.parquet")
        with pytest.raises(InputError, match=r"60 rows, more than the limit of 50"):
            load_series(parquet, max_rows=50)
    claim = tmp_path / "huge.npy"  # 138 bytes whose header claims 10**12 values
    with open(claim, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
        f.write(b"\0" * 10)
    with pytest.raises(InputError, match=r"1,000,000,000,000 rows, more than the limit of 1,000,000"):
        load_series(claim)
    with pytest.raises(InputError, match=r"header claims an array of shape \(1000000000000,\) \(7,629,395 MiB\), more"):
        load_series(claim, max_rows=10**13)
    np.save(short := tmp_path / "short.npy", np.arange(100.0))
    short.write_bytes(short.read_bytes()[:-80])
    with pytest.raises(InputError, match=r"truncated: its header claims an array of shape \(100,\) \(800 bytes"):
        load_series(short)


def test_every_option_the_library_messages_name_is_an_option_of_study(tmp_path):
    """The store and memory messages named --resume and --chunk, which study did not accept."""
    from lstm_ar.cli.arguments import build_parser

    args = build_parser().parse_args(["study", "--csv", "x.csv", "--resume", "--chunk", "16", "--lanes", "8"])
    assert args.resume and args.chunk == 16 and args.lanes == 8
    args = build_parser().parse_args(["diagnose", "m.keras", "--csv", "x.csv", "--resume", "--chunk", "16"])
    assert args.resume and args.chunk == 16


def test_a_long_fit_is_announced_before_it_starts(tmp_path, capsys, no_compute, monkeypatch):
    """A long series fitted the AR references for minutes without a word before the first progress bar."""
    from lstm_ar.user import study

    monkeypatch.setattr(cli, "LONG_FIT", 100)
    monkeypatch.setattr(study, "plan_study", lambda *a, **k: pytest.fail("planned"))
    path = write_csv(tmp_path / "x.csv", [(t, np.sin(t / 3)) for t in range(200)], header="t,y")
    with pytest.raises(pytest.fail.Exception, match="planned"):
        cli.main(["study", "--csv", str(path), "--column", "y", "--quick", "--out", str(tmp_path / "out")])
    assert "fitting the references on 160 training values" in capsys.readouterr().err


@pytest.mark.parametrize("dates", [
    [f"{2000 + m // 12}-{m % 12 + 1:02d}-01" for m in range(30) if m != 17],  # month starts, one month missing
    [str(np.datetime64(f"{2000 + m // 12}-{m % 12 + 1:02d}") + np.timedelta64(1, "M") - np.timedelta64(1, "D"))
     for m in range(30) if m != 17],  # month ends (Jan 31, Feb 29, ...), one missing
])
def test_monthly_dates_are_regular_in_calendar_months(tmp_path, dates):
    """Months are 28 to 31 days long: monthly dates were 'irregular' at 5 of every 12 steps."""
    data = load_series(write_csv(tmp_path / "x.csv", [(d, i % 5) for i, d in enumerate(dates)], header="t,y"),
                       column="y", time_column="t")
    assert data.notes == ("the timestamps are irregular: 1 of 28 steps differ from the most common step (1 month), the "
                          "first between rows 17 and 18 (2 months); the values are used as if equally spaced",)
