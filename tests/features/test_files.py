"""Reading table files safely: only regular files within the size limit; repeated column
names; the one number and date format of a whole CSV file (plain or German export)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from features.errors import InputError  # noqa: E402
from features.files import MAX_BYTES_VARIABLE, max_table_bytes  # noqa: E402
from features.loading import load_dataset, validate_directory  # noqa: E402
from features.validation import ContractError, Problem  # noqa: E402
from tests.bad_inputs import (  # noqa: E402
    VALID_TABLES,
    convert_to_parquet,
    read_cells,
    set_cell,
    write_valid_directory,
)


def _where(problems: list[Problem]) -> list[tuple[str, str | None]]:
    return [(p.table, p.column) for p in problems]


def _validate_within(directory: Path, seconds: float = 30.0) -> list[Problem]:
    """``validate_directory`` run in a thread that must end within ``seconds``."""
    result: list[list[Problem]] = []
    worker = threading.Thread(target=lambda: result.append(validate_directory(directory)),
                              daemon=True)
    worker.start()
    worker.join(seconds)
    assert result, f"validate_directory did not end within {seconds} s"
    return result[0]


# ---------------------------------------------------------------- special files


def test_dangling_link_to_an_optional_table_is_a_problem(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    (directory / "reps.csv").unlink()
    (directory / "reps.csv").symlink_to(tmp_path / "gone.csv")

    problems = _validate_within(directory)

    assert _where(problems) == [("reps", None)]
    assert "does not exist" in problems[0].expected and "gone.csv" in problems[0].expected


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    (directory / "touches.csv").unlink()
    os.mkfifo(directory / "touches.csv")

    problems = _validate_within(directory)

    assert _where(problems) == [("touches", None)]
    assert "FIFO" in problems[0].expected


def test_fifo_policy_is_refused_without_blocking(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    (directory / "policy.yaml").unlink()
    os.mkfifo(directory / "policy.yaml")

    problems = _validate_within(directory)

    assert ("policy", None) in _where(problems)
    assert any("FIFO" in p.expected for p in problems)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_link_to_a_device_is_refused_unread(tmp_path: Path, fmt: str) -> None:
    directory = write_valid_directory(tmp_path / "d")
    if fmt == "parquet":
        convert_to_parquet(directory)
    (directory / f"web_events.{fmt}").unlink()
    (directory / f"web_events.{fmt}").symlink_to("/dev/zero")

    problems = _validate_within(directory)

    assert _where(problems) == [("web_events", None)]
    assert "character device" in problems[0].expected and "/dev/zero" in problems[0].expected


def test_directory_in_place_of_a_table_is_refused(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    (directory / "orders.csv").unlink()
    (directory / "orders.csv").mkdir()

    problems = _validate_within(directory)

    assert _where(problems) == [("orders", None)]
    assert "is a directory" in problems[0].expected


def test_link_to_a_regular_file_is_read(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    (directory / "reps.csv").rename(tmp_path / "reps-export.csv")
    (directory / "reps.csv").symlink_to(tmp_path / "reps-export.csv")

    assert len(load_dataset(directory).reps) == 2


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_file_over_the_size_limit_is_refused(tmp_path: Path, fmt: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    directory = write_valid_directory(tmp_path / "d")
    if fmt == "parquet":
        convert_to_parquet(directory)
    limit = (directory / f"orders.{fmt}").stat().st_size - 1
    monkeypatch.setenv(MAX_BYTES_VARIABLE, str(limit))

    problems = validate_directory(directory)

    assert ("orders", None) in _where(problems)
    orders = next(p for p in problems if p.table == "orders")
    assert f"at most {limit:,} bytes" in orders.expected
    assert MAX_BYTES_VARIABLE in orders.expected
    assert all(path.stat().st_size > limit for p in problems
               for path in directory.glob(f"{p.table}.*"))


def test_size_limit_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_BYTES_VARIABLE, raising=False)
    assert max_table_bytes() >= 10 * 1024**3
    monkeypatch.setenv(MAX_BYTES_VARIABLE, "lots")
    with pytest.raises(InputError, match=MAX_BYTES_VARIABLE):
        max_table_bytes()


# ---------------------------------------------------------------- repeated column names


@pytest.mark.parametrize(("table", "column", "other"), [("accounts", "region", "segment"),
                                                         ("orders", "net_amount", "discount_pct")])
def test_repeated_csv_column_names_are_a_problem(tmp_path: Path, table: str, column: str,
                                                 other: str) -> None:
    directory = write_valid_directory(tmp_path / "d")
    path = directory / f"{table}.csv"
    header, rest = path.read_text(encoding="utf-8").split("\n", 1)
    path.write_text(header.replace(other, column) + "\n" + rest, encoding="utf-8")

    with pytest.raises(ContractError) as caught:
        load_dataset(directory)

    assert _where(caught.value.problems) == [(table, column)]
    assert f"one column named {column} (found 2)" in str(caught.value)


def test_repeated_parquet_column_names_are_a_problem(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = write_valid_directory(tmp_path / "d")
    convert_to_parquet(directory)
    accounts = pq.read_table(directory / "accounts.parquet")
    names = ["region" if name == "segment" else name for name in accounts.column_names]
    pq.write_table(pa.table(accounts.columns, names=names), directory / "accounts.parquet")

    problems = validate_directory(directory)

    assert _where(problems) == [("accounts", "region")]
    assert "found 2" in problems[0].expected


# ---------------------------------------------------------------- number and date formats

_NUMBER_COLUMNS = {"accounts": ["employees", "revenue_band"], "reps": ["weekly_capacity"],
                   "offers": ["max_discount_pct", "margin_rate"],
                   "orders": ["net_amount", "discount_pct"], "touches": ["discount_pct",
                                                                         "propensity"]}
_DATE_COLUMNS = {"orders": "ordered_at", "touches": "touched_at", "web_events": "occurred_at"}


def _german_number(text: str) -> str:
    """A plain number written the German way: 1200 -> 1.200, 45.9 -> 45,9."""
    if not text:
        return text
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return grouped + ("," + fraction if fraction else "")


def _german_date(text: str) -> str:
    """2025-01-12T09:30:00 -> 12.01.2025 09:30:00; times with an offset stay ISO 8601."""
    if "+" in text or text.endswith("Z"):
        return text
    day = pd.Timestamp(text)
    return f"{day:%d.%m.%Y}" if len(text) == 10 else f"{day:%d.%m.%Y %H:%M:%S}"


def _write_german(directory: Path) -> Path:
    """The valid data set as a German spreadsheet export: ';', decimal comma, thousands points,
    dd.mm.yyyy dates, Windows-1252 (with an umlaut in a region)."""
    write_valid_directory(directory)
    for table in VALID_TABLES:
        cells = read_cells(directory, table)
        for column in _NUMBER_COLUMNS.get(table, []):
            cells[column] = cells[column].map(_german_number)
        if table in _DATE_COLUMNS:
            cells[_DATE_COLUMNS[table]] = cells[_DATE_COLUMNS[table]].map(_german_date)
        if table == "offers":
            cells["discount_steps"] = cells["discount_steps"].str.replace("10", "7,5")
        text = cells.to_csv(sep=";", index=False).replace("South", "Süd")
        (directory / f"{table}.csv").write_bytes(text.encode("cp1252"))
    return directory


def test_german_export_reads_like_the_plain_files(tmp_path: Path) -> None:
    plain = write_valid_directory(tmp_path / "plain")
    for table in ("accounts", "reps"):
        path = plain / f"{table}.csv"
        path.write_text(path.read_text(encoding="utf-8").replace("South", "Süd"), encoding="utf-8")
    offers = plain / "offers.csv"
    offers.write_text(offers.read_text(encoding="utf-8").replace("0|5|10", "0|5|7.5")
                      .replace("10|0", "7.5|0"), encoding="utf-8")
    german = _write_german(tmp_path / "german")
    assert "1.200;10" in (german / "orders.csv").read_text(encoding="cp1252")
    assert "12.01.2025 09:30:00" in (german / "orders.csv").read_text(encoding="cp1252")

    expected, got = load_dataset(plain), load_dataset(german)

    for table in VALID_TABLES:
        pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table),
                                      check_exact=False, rtol=1e-12, obj=table)
    assert got.orders["net_amount"].tolist() == [250.0, 80.5, 1200.0, 45.9, 310.0, 99.0]
    assert got.accounts["region"].tolist() == ["North", "North", "Süd", "Süd"]


def test_german_thousands_separators_are_read_as_thousands(tmp_path: Path) -> None:
    directory = _write_german(tmp_path / "german")
    path = directory / "orders.csv"
    text = path.read_text(encoding="cp1252")
    path.write_text(text.replace(";250,0;", ";1.250;").replace(";80,5;", ";12.500;"),
                    encoding="cp1252")

    orders = load_dataset(directory).orders

    assert orders["net_amount"].tolist()[:3] == [1250.0, 12500.0, 1200.0]


def test_thousands_points_in_a_plain_file_are_refused(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    set_cell("orders", 3, "net_amount", "1.250")(directory)
    set_cell("orders", 6, "net_amount", "12.500")(directory)

    with pytest.raises(ContractError) as caught:
        load_dataset(directory)

    problems = caught.value.problems
    assert [(p.table, p.column, p.rows, p.values) for p in problems] == [
        ("orders", "net_amount", (3, 6), ("1.250", "12.500"))]
    assert "1250 or 1.25" in problems[0].expected
    assert "German" in problems[0].expected


def test_thousands_point_in_a_whole_number_column_is_refused(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    set_cell("accounts", 4, "employees", "1.000")(directory)

    problems = validate_directory(directory)

    assert [(p.table, p.column, p.rows) for p in problems] == [("accounts", "employees", (4,))]


@pytest.mark.parametrize(("values", "expected"), [
    (("12.125", "80.5"), [12.125, 80.5]),             # the column shows '.' as a decimal mark
    (("1.250", "80.500", "0.500"), [1.25, 80.5, 0.5]),  # every cell has three decimals
])
def test_three_decimals_that_the_column_explains_are_read(tmp_path: Path, values: tuple[str, ...],
                                                          expected: list[float]) -> None:
    directory = write_valid_directory(tmp_path / "d")
    cells = read_cells(directory, "orders")
    cells["net_amount"] = [*values, *[values[-1]] * (len(cells) - len(values))]
    (directory / "orders.csv").write_text(cells.to_csv(index=False), encoding="utf-8")

    amounts = load_dataset(directory).orders["net_amount"].tolist()

    assert amounts[:len(expected)] == expected


def test_a_file_with_both_decimal_marks_is_refused(tmp_path: Path) -> None:
    directory = _write_german(tmp_path / "german")
    path = directory / "orders.csv"
    path.write_bytes(path.read_bytes().replace(b"45,9", b"45.9"))

    problems = validate_directory(directory)

    assert [(p.table, p.column, p.rows, p.values) for p in problems] == [
        ("orders", "net_amount", (4,), ("45.9",))]
    assert "one number format in the whole file" in problems[0].expected
    assert "net_amount data row 1 '250,0'" in problems[0].expected


def test_semicolon_file_with_plain_numbers_is_read(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    for table in VALID_TABLES:
        cells = read_cells(directory, table)
        (directory / f"{table}.csv").write_text(cells.to_csv(sep=";", index=False), encoding="utf-8")

    dataset = load_dataset(directory)

    assert dataset.orders["net_amount"].tolist() == [250.0, 80.5, 1200.0, 45.9, 310.0, 99.0]
    assert dataset.accounts["revenue_band"].tolist()[:2] == [3.0, 1.5]


def test_a_nan_cell_is_a_problem_not_an_empty_number(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "d")
    set_cell("orders", 2, "net_amount", "nan")(directory)

    problems = validate_directory(directory)

    assert [(p.table, p.column, p.rows) for p in problems] == [("orders", "net_amount", (2,))]
