"""What Arrow reads gives exactly what pandas gives, or is left to pandas: CSV tables (random
files of awkward cells: quotes, separators and line breaks inside cells, blank lines, byte-order
marks, empty and quoted empty cells, short and long rows, bad UTF-8) and ISO 8601 times."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

import features.files as files  # noqa: E402
import features.validation as validation  # noqa: E402
from features.contract import TABLES  # noqa: E402
from features.loading import load_dataset  # noqa: E402
from tests.bad_inputs import write_valid_directory  # noqa: E402

NAMES = ["account_id", "note", "amount"]
#: A stand-in for a byte that is not UTF-8 (written as 0xFF).
BAD_BYTE = "\ue000"
#: Mostly plain characters, so that many files are well-formed and read by Arrow.
PLAIN = [*"ab1 .é", "NA", "null"]
AWKWARD = [*',;\t"\n\r', '""', "\r\n", BAD_BYTE]
CELL = st.lists(st.sampled_from(PLAIN * 6 + AWKWARD), max_size=4).map("".join)


def _pandas_cells(path: Path, separator: str) -> pd.DataFrame | Exception:
    try:
        return pd.read_csv(path, sep=separator, encoding="utf-8-sig", keep_default_na=False,
                           na_values=[""], dtype=str)
    except Exception as exc:  # noqa: BLE001 - any refusal: Arrow must not read the file then
        return exc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.one_of(st.lists(CELL, min_size=3, max_size=3),  # as many cells as names
                               st.lists(CELL, min_size=2, max_size=4)), max_size=5),
       separator=st.sampled_from([",", ";", "\t"]), bom=st.booleans(),
       ending=st.sampled_from(["\n", "\r\n"]), quote_all=st.booleans())
def test_arrow_reads_the_cells_pandas_reads_or_leaves_the_file_to_pandas(
        tmp_path: Path, rows: list[list[str]], separator: str, bom: bool, ending: str,
        quote_all: bool) -> None:
    def line(cells: list[str]) -> str:
        if quote_all:
            cells = ['"' + c.replace('"', '""') + '"' for c in cells]
        return separator.join(cells)

    body = ending.join([separator.join(NAMES), *map(line, rows)]) + ending
    path = tmp_path / "t.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"")
                     + body.encode().replace(BAD_BYTE.encode(), b"\xff"))

    fast = files._arrow_text_read(path, separator, NAMES)
    if fast is None:
        return
    slow = _pandas_cells(path, separator)
    assert isinstance(slow, pd.DataFrame), f"Arrow read a file pandas refuses: {slow!r}"
    pd.testing.assert_frame_equal(fast, slow)


@pytest.mark.parametrize("text", [
    "account_id,note\n1,x\n2\n",          # a short row: pandas fills it, Arrow refuses
    "account_id,note\n1,x,y\n",           # a long row
    "account_id,account_id\n1,2\n",       # a repeated name (pandas renames it)
    "account_id,\n1,2\n",                 # an unnamed column (pandas names it)
    "account_id,note\n",                  # the header only
    'account_id,note\n1,"x\n',            # a quote left open at the end (pandas refuses)
    'account_id,note\n1,"x""',             # the same after a doubled quote
    'account_id,note\n1,"',                # the same with nothing after it
])
def test_files_arrow_could_read_otherwise_are_left_to_pandas(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    names = list(pd.read_csv(io.StringIO(text.splitlines()[0]), nrows=0).columns)  # as pandas names them

    assert files._arrow_text_read(path, ",", names) is None


@pytest.mark.parametrize("text", [
    "\naccount_id,note\n1,x\n",           # a blank line before the header
    "account_id,note\r\n1,x\r\n\r\n\n",     # blank lines at the end, CR LF
    'account_id,note\n1,"x"\n2,""\n3,\n',  # quoted, quoted empty, empty
    '\ufeffaccount_id,note\n1,"a ""b""\nc"',  # byte-order mark, quotes and a line break in a cell
])
def test_awkward_files_arrow_reads_hold_the_cells_pandas_reads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")

    fast = files._arrow_text_read(path, ",", ["account_id", "note"])

    assert fast is not None
    pd.testing.assert_frame_equal(fast, _pandas_cells(path, ","))


def test_a_valid_directory_is_read_by_arrow_with_the_same_tables(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    directory = write_valid_directory(tmp_path / "d")
    fast_reads: list[str] = []
    arrow_read = files._arrow_text_read

    def counting(path: Path, separator: str, names: list[str]) -> pd.DataFrame | None:
        frame = arrow_read(path, separator, names)
        if frame is not None:
            fast_reads.append(path.stem)
        return frame

    monkeypatch.setattr(files, "_arrow_text_read", counting)
    fast = load_dataset(directory)
    monkeypatch.setattr(files, "_arrow_text_read", lambda *args: None)
    slow = load_dataset(directory)

    assert {"orders", "touches"} <= set(fast_reads)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(fast, table.name), getattr(slow, table.name))


# ---------------------------------------------------------------- times

def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(min_value=low, max_value=high).map("{:02d}".format)


#: Times as files write them, mostly valid (then Arrow parses whole columns).
VALID_TIME = st.tuples(
    st.sampled_from(["0001", "1677", "2024", "2263", "9999"]), _two(1, 12), _two(1, 28),
    st.sampled_from(["", "T", " "]), _two(0, 23), _two(0, 59), _two(0, 59),
    st.sampled_from(["", ".5", ".123456"])).map(
        lambda p: f"{p[0]}-{p[1]}-{p[2]}" + (f"{p[3]}{p[4]}:{p[5]}:{p[6]}{p[7]}" if p[3] else ""))
#: Times a parser may read otherwise: bad fields, zones, other spellings.
ODD_TIME = st.one_of(
    st.tuples(st.sampled_from(["2024", "24"]), _two(0, 99), _two(0, 99),
              st.sampled_from(["", "T", " ", "t"]), _two(0, 99), st.sampled_from(["", ":"]), _two(0, 99),
              st.sampled_from(["", ":00", ":60", ".5", ".1234567", ",5"]),
              st.sampled_from(["", "Z", "+01:00", "-0530", " +01:00"]))
    .map(lambda p: f"{p[0]}-{p[1]}-{p[2]}" + (f"{p[3]}{p[4]}{p[5]}{p[6]}{p[7]}{p[8]}" if p[3] else "")),
    st.sampled_from(["", "x", "2024-1-1", "20240101", " 2024-05-01 ", "2024-05-01T10", "2024-02-30",
                     "2024-05-01T24:00:00"]))
TIME = st.one_of(VALID_TIME, VALID_TIME, VALID_TIME, VALID_TIME, VALID_TIME, ODD_TIME)


def _pandas_times(text: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(text.str.strip(), format="ISO8601", utc=True, errors="coerce")
    return parsed.dt.tz_localize(None).astype("datetime64[us]")


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.one_of(TIME, st.none()), min_size=1, max_size=6))
def test_arrow_parses_the_times_pandas_parses_or_leaves_them_to_pandas(cells: list[str | None]) -> None:
    text = pd.Series(cells, dtype="str")

    fast = validation._plain_iso_times(text.str.strip())
    if fast is not None:
        pd.testing.assert_series_equal(fast, _pandas_times(text))
    values, bad = validation._parse_timestamp(text)
    pd.testing.assert_series_equal(values, _pandas_times(text))
    assert (bad == (text.notna() & values.isna()).to_numpy()).all()


def test_times_with_a_zone_are_parsed_by_pandas() -> None:
    text = pd.Series(["2024-05-01T10:00:00", "2024-05-01T10:00:00+02:00"], dtype="str")

    assert validation._plain_iso_times(text) is None
    values, _ = validation._parse_timestamp(text)
    assert values.tolist() == [pd.Timestamp("2024-05-01T10:00"), pd.Timestamp("2024-05-01T08:00")]
