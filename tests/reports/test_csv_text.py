"""The CSV pyarrow formats is byte for byte the one pandas writes: every float layout, datetime resolution,
header quoting and the frames left to pandas."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from multifolio.reports import csv_text
from multifolio.reports.csv_text import write_csv_bytes, write_csv_windows
from multifolio.reports.writers import write_csv


def by_pandas(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def written(frame: pd.DataFrame) -> bytes:
    stream = io.BytesIO()
    write_csv_bytes(stream, frame)
    return stream.getvalue()


def assert_as_pandas_writes(frame: pd.DataFrame) -> bytes:
    """The first line that differs, rather than a diff of megabytes."""
    ours, theirs = written(frame), by_pandas(frame)
    if ours != theirs:
        for number, (mine, pandas_line) in enumerate(zip(ours.split(b"\n"), theirs.split(b"\n"))):
            assert mine == pandas_line, f"line {number}"
        assert ours == theirs
    return ours


@pytest.fixture
def rows_left_to_pandas(monkeypatch) -> list[int]:
    """The row counts of the frames pandas itself formats (the header's frame has none)."""
    counts: list[int] = []
    to_csv = pd.DataFrame.to_csv

    def spy(frame, *args, **kwargs):
        counts.append(len(frame))
        return to_csv(frame, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", spy)
    return counts


def lines_of(frame: pd.DataFrame) -> list[str]:
    return assert_as_pandas_writes(frame).decode("utf-8").split("\n")


# ---------------------------------------------------------------- floats

@pytest.mark.parametrize(("value", "text"), [
    (0.0, "0.0"), (-0.0, "-0.0"), (1.0, "1.0"), (100.0, "100.0"), (-3.0, "-3.0"), (0.1, "0.1"),
    (1 / 3, "0.3333333333333333"), (1000123.45, "1000123.45"), (-91907.31, "-91907.31"),
    # repr's positional range starts at 1e-4; arrow writes down to 1e-6 positionally, with one-digit exponents below
    (1e-4, "0.0001"), (-1e-4, "-0.0001"), (0.000123, "0.000123"), (math.nextafter(1e-4, 0), "9.999999999999999e-05"),
    (9.99e-5, "9.99e-05"), (-1.5e-5, "-1.5e-05"), (1e-5, "1e-05"), (1e-6, "1e-06"), (1.25e-6, "1.25e-06"),
    (9.99e-7, "9.99e-07"), (1e-7, "1e-07"), (-1.5e-7, "-1.5e-07"), (1e-10, "1e-10"), (1.5e-100, "1.5e-100"),
    (5e-324, "5e-324"), (2.2250738585072014e-308, "2.2250738585072014e-308"),
    # arrow switches to an exponent from 1e10, repr from 1e16
    (9999999999.5, "9999999999.5"), (1e10, "10000000000.0"), (1.5e10, "15000000000.0"),
    (123456789012345.6, "123456789012345.6"), (1e15, "1000000000000000.0"),
    (9999999999999998.0, "9999999999999998.0"), (2.0**53, "9007199254740992.0"), (1e16, "1e+16"),
    (-1.5e16, "-1.5e+16"), (1e17, "1e+17"), (1.2345678901234568e16, "1.2345678901234568e+16"), (1.5e20, "1.5e+20"),
    (1e22, "1e+22"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, ""),
])
def test_a_float_is_written_as_its_repr(value, text, rows_left_to_pandas):
    frame = pd.DataFrame({"x": [value, 2.5], "n": [1, 2]})
    assert lines_of(frame) == ["x,n", f"{text},1", "2.5,2", ""]
    assert rows_left_to_pandas == [0, len(frame)]  # the header, then pandas' own text to compare with


def test_float32_and_float16_keep_numpys_own_digits_and_layout():
    frame = pd.DataFrame({"single": np.array([0.1, 1e-4, 1000123.45, 3.4e38, np.nan], dtype=np.float32),
                          "half": np.array([0.1, 1e-4, 65504, np.inf, np.nan], dtype=np.float16)})
    assert lines_of(frame)[1:4] == ["0.1,0.1", "1e-04,0.0001", "1.00012344e+06,6.55e+04"]


def test_money_and_random_bit_patterns_over_the_whole_double_range():
    rng = np.random.default_rng(20)
    bits = rng.integers(0, 2**64, 50_000, dtype=np.uint64, endpoint=False).view(np.float64)
    digits = rng.integers(-10**17, 10**17, 50_000) // 10 ** rng.integers(0, 17, 50_000)
    decimals = digits / 10.0 ** rng.integers(0, 24, 50_000)
    assert_as_pandas_writes(pd.DataFrame({"bits": bits, "decimals": decimals}))


# ---------------------------------------------------------------- integers, booleans

def test_integers_of_every_width_and_booleans():
    frame = pd.DataFrame({"i8": np.array([-128, 127], dtype=np.int8), "u64": np.array([0, 2**64 - 1], dtype=np.uint64),
                          "i64": np.array([-(2**63), 2**63 - 1]), "flag": [True, False]})
    assert lines_of(frame) == ["i8,u64,i64,flag", "-128,0,-9223372036854775808,True",
                               "127,18446744073709551615,9223372036854775807,False", ""]


# ---------------------------------------------------------------- datetimes

def stamps(*texts: str, unit: str = "ns") -> np.ndarray:
    return np.array(texts, dtype=f"datetime64[{unit}]")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(("texts", "expected"), [
    (("2024-01-02", "NaT", "2024-01-03"), ["2024-01-02", "", "2024-01-03"]),
    (("2024-01-02", "2024-01-02T09:30"), ["2024-01-02 00:00:00", "2024-01-02 09:30:00"]),
    (("NaT", "NaT"), ["", ""]),
])
def test_datetimes_show_a_time_only_when_one_is_not_midnight(unit, texts, expected, rows_left_to_pandas):
    frame = pd.DataFrame({"t": stamps(*texts, unit=unit), "n": range(len(texts))})
    assert lines_of(frame)[1:-1] == [f"{text},{n}" for n, text in enumerate(expected)]
    assert rows_left_to_pandas == [0, len(frame)]


@pytest.mark.parametrize(("units", "texts", "expected"), [
    (("ms", "us", "ns"), ("2024-01-02T09:30", "2024-01-02T09:30:00.5"),
     ["2024-01-02 09:30:00.000", "2024-01-02 09:30:00.500"]),
    (("us", "ns"), ("2024-01-02", "2024-01-02T00:00:00.5", "2024-01-02T00:00:00.000001"),
     ["2024-01-02 00:00:00.000000", "2024-01-02 00:00:00.500000", "2024-01-02 00:00:00.000001"]),
    (("ns",), ("2024-01-02T00:00:00.5", "NaT", "2024-01-02T00:00:00.000000001"),
     ["2024-01-02 00:00:00.500000000", "", "2024-01-02 00:00:00.000000001"]),
])
def test_fractional_seconds_take_as_many_digits_as_the_columns_finest_value(units, texts, expected):
    """Milliseconds get 3 digits, microseconds 6, nanoseconds 9: the whole column, in any unit that holds them."""
    for unit in units:
        frame = pd.DataFrame({"t": stamps(*texts, unit=unit), "n": range(len(texts))})
        assert lines_of(frame)[1:-1] == [f"{text},{n}" for n, text in enumerate(expected)]


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_years_before_1000_have_four_digits(unit, rows_left_to_pandas):
    frame = pd.DataFrame({"t": stamps("0005-03-04T01:02:03", "0999-12-31", unit=unit)})
    assert lines_of(frame) == ["t", "0005-03-04 01:02:03", "0999-12-31 00:00:00", ""]
    assert rows_left_to_pandas == [0, len(frame)]


@pytest.mark.parametrize("text", ["-0001-01-01T01:00:00", "10000-01-01", "-0005-06-07"])
def test_years_arrow_writes_otherwise_are_left_to_pandas(text, rows_left_to_pandas):
    """pandas writes year -1 as "-001"; arrow's layout of years past 9999 is not checked."""
    frame = pd.DataFrame({"t": stamps(text, "2024-01-02", unit="s"), "n": [1, 2]})
    assert_as_pandas_writes(frame)
    assert rows_left_to_pandas[0] == len(frame)


def test_a_datetime_columns_layout_is_chosen_over_all_its_rows_not_per_chunk(monkeypatch):
    monkeypatch.setattr(csv_text, "_CHUNK_VALUES", 6)  # three rows a chunk
    times = np.array(["2024-01-02"] * 7 + ["2024-01-02T00:00:00.25"], dtype="datetime64[ns]")
    lines = lines_of(pd.DataFrame({"t": times, "n": range(8)}))
    assert lines[1] == "2024-01-02 00:00:00.000,0" and lines[8] == "2024-01-02 00:00:00.250,7"


# ---------------------------------------------------------------- header, empty fields

@pytest.mark.parametrize("names", [
    ["a,b", 'say "hi"', "two\nlines"], ["cr\rhere", "", " spaced "], [0, 1, "x"], ["dup", "dup", "ünï"]])
def test_column_names_are_quoted_as_pandas_quotes_them(names):
    frame = pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=names)
    assert_as_pandas_writes(frame)


def test_a_row_that_is_one_empty_field_is_written_as_two_quotes():
    """csv.writer quotes a lone empty field, so that the row is not read as no field at all."""
    assert lines_of(pd.DataFrame({"x": [1.5, np.nan]})) == ["x", "1.5", '""', ""]
    assert lines_of(pd.DataFrame({"": stamps("NaT")})) == ['""', '""', ""]
    assert lines_of(pd.DataFrame({"x": [np.nan], "y": [np.nan]})) == ["x,y", ",", ""]


def test_columns_of_several_levels_write_a_header_line_each():
    frame = pd.DataFrame(np.arange(4.0).reshape(2, 2), columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    assert lines_of(frame)[:2] == ["a,a", "x,y"]


# ---------------------------------------------------------------- frames left to pandas

def test_text_is_quoted_only_where_csv_writer_quotes_it_and_nullable_integers_are_integers(rows_left_to_pandas):
    frame = pd.DataFrame({"text": pd.Series(["buy", None, 'say "hi", then', "two\nlines", "cr\rhere", "", " x ", "é"],
                                            dtype="str"),
                          "parent": pd.Series([1, None, -3, 2**62, 0, None, 7, 8], dtype="Int64"),
                          "x": np.arange(8.0)})
    assert assert_as_pandas_writes(frame).decode().splitlines()[3] == '"say ""hi"", then",-3,2.0'
    assert rows_left_to_pandas == [0, len(frame)]  # the header, then the comparison


def test_text_in_chunks_as_concatenated_frames_leave_it():
    parts = [pd.DataFrame({"symbol": pd.Series([name, None], dtype="str"), "x": [1.0, 2.0]}) for name in "ab"]
    frame = pd.concat(parts, ignore_index=True)
    assert isinstance(pa.array(frame["symbol"]), pa.ChunkedArray)
    assert_as_pandas_writes(frame)


def test_a_frame_of_one_text_column_is_left_to_pandas(rows_left_to_pandas):
    """csv.writer writes a row that is one empty text as two quotes, and a missing value as nothing."""
    assert_as_pandas_writes(pd.DataFrame({"text": pd.Series(["", None, "a"], dtype="str")}))
    assert rows_left_to_pandas == [3, 3]  # written by pandas, then the comparison


@pytest.mark.parametrize("column", [
    pd.Series(["buy", None], dtype=object), pd.Series(["a", "b"], dtype="category"),
    pd.Series([1.5, None], dtype="Float64"), pd.Series([True, None], dtype="boolean"),
    pd.to_datetime(pd.Series(["2024-01-02 09:30", None])).dt.tz_localize("America/New_York"),
    pd.Series(pd.to_timedelta(["1s", "2 days"])), pd.Series([1 + 2j, 3j])])
def test_a_frame_with_any_other_column_is_written_by_pandas(column, rows_left_to_pandas):
    frame = pd.DataFrame({"x": [1.0, 2.0], "other": column})
    assert_as_pandas_writes(frame)
    assert rows_left_to_pandas[0] == len(frame)


@pytest.mark.parametrize("frame", [pd.DataFrame({"x": pd.Series([], dtype=float), "y": pd.Series([], dtype=int)}),
                                   pd.DataFrame(index=range(3)), pd.DataFrame()])
def test_frames_without_rows_or_columns(frame):
    assert_as_pandas_writes(frame)


# ---------------------------------------------------------------- any frame

EDGES = [0.0, 1e-4, 1e-5, 1e-6, 1e-7, 1e10, 1e15, 1e16, 1e17, 2.0**53, 5e-324, 2.2250738585072014e-308,
         1.7976931348623157e308]
FLOATS = st.one_of(
    st.floats(),  # the whole double range: subnormals, -0.0, NaN, infinities
    st.integers(-(2**63), 2**63).map(float),  # whole numbers, written with ".0"
    st.integers(-(10**14), 10**14).map(lambda cents: cents / 100),  # money
    # decimals of every length on both sides of each layout boundary
    st.builds(lambda digits, exponent: float(f"{digits}e{exponent}"), st.integers(-(10**17), 10**17),
              st.integers(-30, 30)),
    st.builds(lambda edge, sign, step: sign * (math.nextafter(edge, step) if step else edge), st.sampled_from(EDGES),
              st.sampled_from([1.0, -1.0]), st.sampled_from([0, -math.inf, math.inf])),
)
INTEGER_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
TICKS_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}
NAMES = st.one_of(st.text(max_size=4), st.text(",\"\n\r x", max_size=3), st.integers(-3, 3))


@st.composite
def datetime_columns(draw, rows: int) -> np.ndarray:
    """Naive datetimes in any unit, each a multiple of a step (a day down to the unit's tick), some NaT; in the
    units wider than ns, years from before 0 to past 9999 too."""
    unit = draw(st.sampled_from(list(TICKS_PER_SECOND)))
    per_second = TICKS_PER_SECOND[unit]
    step = draw(st.sampled_from([per_second * 86_400, per_second, *(per_second // t for t in (10**3, 10**6, 10**9)
                                                                    if per_second >= t)]))
    if unit == "ns":
        low, high = -(2**63) + 1, 2**63 - 1
    else:  # seconds from the epoch: year -100 to year 12000
        low, high = -65_000_000_000 * per_second, 316_000_000_000 * per_second
    ticks = [draw(st.integers(low // step + 1, high // step)) * step for _ in range(rows)]
    absent = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    values = np.array([np.iinfo(np.int64).min if gone else tick for tick, gone in zip(ticks, absent)], dtype=np.int64)
    return values.view(f"datetime64[{unit}]")


@st.composite
def columns(draw, rows: int):
    kind = draw(st.sampled_from(["float64", "float64", "float64", "float32", "integer", "bool", "datetime",
                                 "datetime", "object", "text", "text", "nullable integer"]))
    if kind == "float64":
        return np.array(draw(st.lists(FLOATS, min_size=rows, max_size=rows)), dtype=np.float64)
    if kind == "float32":
        return draw(hnp.arrays(draw(st.sampled_from([np.float32, np.float16])), rows))
    if kind == "integer":
        return draw(hnp.arrays(draw(st.sampled_from(INTEGER_TYPES)), rows))
    if kind == "bool":
        return draw(hnp.arrays(bool, rows))
    if kind == "datetime":
        return draw(datetime_columns(rows))
    if kind == "text":  # pandas' str: commas, quotes, line breaks, spaces and any character, some missing
        values = st.one_of(st.none(), st.text(",\"\n\r x\té", max_size=4), st.text(max_size=3))
        return pd.Series(draw(st.lists(values, min_size=rows, max_size=rows)), dtype="str")
    if kind == "nullable integer":
        values = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))
        return pd.Series(draw(st.lists(values, min_size=rows, max_size=rows)), dtype="Int64")
    return np.array(draw(st.lists(st.one_of(st.none(), st.text(max_size=3), FLOATS), min_size=rows,
                                  max_size=rows)), dtype=object)


@st.composite
def frames(draw) -> pd.DataFrame:
    rows = draw(st.integers(0, 8))
    parts = draw(st.lists(columns(rows), min_size=1, max_size=4))
    frame = pd.DataFrame(dict(enumerate(parts)))
    frame.columns = draw(st.lists(NAMES, min_size=len(parts), max_size=len(parts)))
    return frame


@settings(max_examples=400, deadline=None)
@given(frame=frames())
def test_any_frame_is_written_as_pandas_writes_it(frame):
    assert written(frame) == by_pandas(frame)


@settings(max_examples=200, deadline=None)
@given(frame=frames(), chunk=st.integers(1, 12))
def test_chunks_formatted_on_several_threads_are_written_whole_and_in_order(frame, chunk):
    """A chunk of `chunk` values: down to a row a chunk, so that many chunks are formatted at once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_text, "_CHUNK_VALUES", chunk)
        assert written(frame) == by_pandas(frame)


@settings(max_examples=200, deadline=None)
@given(frame=frames(), cuts=st.lists(st.integers(0, 8), max_size=4), chunk=st.integers(1, 12))
def test_a_frame_written_a_window_of_rows_at_a_time_is_written_as_pandas_writes_it_whole(frame, cuts, chunk):
    """The windows of `write_csv_windows` (a combined book drawn a few bars at a time): each datetime column's
    layout still decided over all of its rows, a frame only pandas writes put together first, empty windows
    among them, and windows cut across the formatting chunks."""
    assume(frame.columns.is_unique)  # a datetime column's whole values are named
    bounds = sorted({0, len(frame), *(cut for cut in cuts if cut <= len(frame))})
    windows = [frame.iloc[first:stop] for first, stop in zip(bounds, bounds[1:])] or [frame]
    whole = {name: pd.Index(frame[name]) for name in frame.columns if frame[name].dtype.kind == "M"}
    stream = io.BytesIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_text, "_CHUNK_VALUES", chunk)
        write_csv_windows(stream, iter(windows), whole)
    assert stream.getvalue() == by_pandas(frame)


def test_a_datetime_columns_layout_is_chosen_over_every_window():
    times = np.array(["2024-01-02", "2024-01-03", "2024-01-03T00:00:00.25"], dtype="datetime64[ns]")
    frame = pd.DataFrame({"t": times, "n": [0.5, 1.0, 2.0]})
    stream = io.BytesIO()
    write_csv_windows(stream, iter([frame.iloc[:2], frame.iloc[2:]]), {"t": pd.Index(times)})
    assert stream.getvalue().decode().split("\n")[1:3] == ["2024-01-02 00:00:00.000,0.5", "2024-01-03 00:00:00.000,1.0"]


# ---------------------------------------------------------------- a million bars

def equity_frame(bars: int) -> pd.DataFrame:
    """An equity.csv of minute bars: money with cents, flat stretches (position_value 0.0), small returns."""
    rng = np.random.default_rng(7)
    equity = (1_000_000 + np.cumsum(rng.normal(0, 250, bars))).round(2)
    position = np.where(rng.random(bars) < 0.3, 0.0, rng.normal(0, 50_000, bars).round(2))
    return pd.DataFrame({
        "timestamp": pd.date_range("2020-01-02 09:30", periods=bars, freq="min"),
        "equity": equity, "cash": (equity - position).round(2), "position_value": position,
        "returns": np.diff(equity, prepend=1_000_000) / equity, "drawdown": equity / np.maximum.accumulate(equity) - 1,
        "exposure": np.abs(position) / equity, "positions": rng.integers(0, 5, bars)})


@pytest.mark.slow
def test_a_million_bar_equity_frame_is_formatted_by_arrow_as_pandas_writes_it(rows_left_to_pandas):
    frame = equity_frame(1_000_000)
    assert_as_pandas_writes(frame)
    assert rows_left_to_pandas == [0, len(frame)]


def test_write_csv_writes_pandas_bytes_to_the_file(tmp_path):
    frame = equity_frame(1000)
    frame.loc[3, "returns"] = np.nan
    assert write_csv(tmp_path / "equity.csv", frame).read_bytes() == by_pandas(frame)
