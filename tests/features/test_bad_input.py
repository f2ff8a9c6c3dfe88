"""Malformed data directories: every case gives one clear problem naming table, column, rows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from features.contract import TABLES  # noqa: E402
from features.loading import load_dataset, validate_directory  # noqa: E402
from features.validation import ContractError, Problem  # noqa: E402
from tests.bad_inputs import (  # noqa: E402
    CASES,
    BadCase,
    combine,
    convert_to_parquet,
    drop_column,
    replace_file,
    set_cell,
    write_valid_directory,
)


def _broken_directory(tmp_path: Path, case: BadCase, fmt: str) -> Path:
    directory = write_valid_directory(tmp_path / case.case_id)
    case.mutate(directory)
    if fmt == "parquet":
        convert_to_parquet(directory)
    return directory


def _where(problem: Problem) -> str:
    return problem.table if problem.column is None else f"{problem.table}.{problem.column}"


def test_case_table_is_large_and_ids_are_unique() -> None:
    ids = [case.case_id for case in CASES]
    assert len(ids) >= 20
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_valid_directory_passes_before_mutation(tmp_path: Path, fmt: str) -> None:
    directory = write_valid_directory(tmp_path / "valid")
    if fmt == "parquet":
        convert_to_parquet(directory)
        assert not list(directory.glob("*.csv"))
    assert validate_directory(directory) == []


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("case", CASES, ids=[case.case_id for case in CASES])
def test_bad_input_names_table_column_and_rows(tmp_path: Path, case: BadCase, fmt: str) -> None:
    directory = _broken_directory(tmp_path, case, fmt)

    with pytest.raises(ContractError) as caught:
        load_dataset(directory)

    problems = caught.value.problems
    assert [(p.table, p.column, p.rows) for p in problems] == [(case.table, case.column,
                                                               case.rows)]
    message = str(caught.value)
    assert message.startswith(f"{_where(problems[0])}:")
    assert "expected " in message
    if case.rows:
        noun = "data row" if len(case.rows) == 1 else "data rows"
        assert f"{noun} {', '.join(map(str, case.rows))}" in message


def test_problems_in_different_files_are_reported_at_once(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "many")
    combine(
        set_cell("orders", 2, "net_amount", "-5"),
        set_cell("orders", 4, "ordered_at", "01/02/2025"),
        set_cell("touches", 2, "channel", "fax"),
        set_cell("offers", 2, "margin_rate", "1.5"),
        set_cell("accounts", 1, "consent_email", "maybe"),
        set_cell("web_events", 3, "account_id", "A9"),
    )(directory)

    with pytest.raises(ContractError) as caught:
        load_dataset(directory)

    assert validate_directory(directory) == caught.value.problems
    found = {(p.table, p.column, p.rows) for p in caught.value.problems}
    assert found == {
        ("orders", "net_amount", (2,)),
        ("orders", "ordered_at", (4,)),
        ("touches", "channel", (2,)),
        ("offers", "margin_rate", (2,)),
        ("accounts", "consent_email", (1,)),
        ("web_events", "account_id", (3,)),
    }
    lines = str(caught.value).splitlines()
    assert len(lines) == 6
    assert any(line.startswith("touches.channel: data row 2 (value 'fax')") for line in lines)


def test_broken_policy_is_reported_with_table_problems(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "policy_and_orders")
    combine(
        replace_file("policy.yaml", b"attribution_window_days: -3\n"),
        set_cell("orders", 1, "net_amount", "-1"),
    )(directory)

    problems = validate_directory(directory)

    assert [(p.table, p.column) for p in problems] == [("policy", None),
                                                       ("orders", "net_amount")]
    assert "attribution_window_days" in str(problems[0])
    assert "\n" not in str(problems[0])


def test_policy_without_a_used_channel_flags_offers_and_touches(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "no_visit")
    (directory / "policy.yaml").write_text(
        "channels:\n  email: {}\n  phone: {}\n  webshop_banner: {}\n", encoding="utf-8")

    problems = validate_directory(directory)

    assert [(p.table, p.column, p.rows, p.values) for p in problems] == [
        ("offers", "channels", (2,), ("visit",)),
        ("touches", "channel", (4,), ("visit",)),
    ]


def test_unreadable_csv_row_structure_is_a_problem(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "ragged")
    with (directory / "reps.csv").open("a", encoding="utf-8") as handle:
        handle.write("R3,Cem Ay,West,10,surplus,cells\n")

    problems = validate_directory(directory)

    assert [(p.table, p.column) for p in problems] == [("reps", None)]
    assert "well-formed CSV" in problems[0].expected


def test_text_in_two_encodings_is_a_problem(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "mixed")
    text = (directory / "accounts.csv").read_text(encoding="utf-8")
    mixed = text.replace("North", "Nörd", 1).encode("utf-8")
    mixed = mixed.replace(b"South", "Süd".encode("cp1252"), 1)
    (directory / "accounts.csv").write_bytes(mixed)

    problems = validate_directory(directory)

    assert [(p.table, p.column) for p in problems] == [("accounts", None)]
    assert "not valid UTF-8" in problems[0].expected
    assert "one encoding" in problems[0].expected


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_a_problem(tmp_path: Path) -> None:
    directory = write_valid_directory(tmp_path / "undefined")
    text = (directory / "accounts.csv").read_bytes().replace(b"North", b"N\x81rth", 1)
    (directory / "accounts.csv").write_bytes(text)

    problems = validate_directory(directory)

    assert [(p.table, p.column) for p in problems] == [("accounts", None)]
    assert "UTF-8" in problems[0].expected and "Windows-1252" in problems[0].expected


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    problems = validate_directory(tmp_path / "nowhere")
    assert [(p.table, p.values) for p in problems] == [("directory",
                                                        (str(tmp_path / "nowhere"),))]


_REQUIRED_COLUMNS = [(table.name, column.name) for table in TABLES for column in table.columns
                     if column.required]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(("table", "column"), _REQUIRED_COLUMNS,
                         ids=[f"{t}.{c}" for t, c in _REQUIRED_COLUMNS])
def test_every_missing_required_column_is_a_contract_problem(tmp_path: Path, table: str,
                                                              column: str, fmt: str) -> None:
    directory = write_valid_directory(tmp_path / "missing")
    drop_column(table, column)(directory)
    if fmt == "parquet":
        convert_to_parquet(directory)

    with pytest.raises(ContractError) as caught:
        load_dataset(directory)

    assert [(p.table, p.column) for p in caught.value.problems] == [(table, column)]
    assert f"a column named {column} (required)" in str(caught.value)
