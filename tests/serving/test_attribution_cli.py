"""``symbiose attribution``: printed table, CSV and Parquet export, clean failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import typer

from features.attribution import KEY_COLUMNS
from serving.cli.attribution import register
from tests.serving.cli_helpers import command_app, invoke

PERIOD = ("--from", "2025-01-01", "--to", "2025-07-01")
COLUMNS = ["offline_revenue", "online_revenue", "online_share", "online_revenue_after_outreach",
           "orders", "orders_after_outreach"]


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    return command_app(register)


def run(app: typer.Typer, *args: object) -> tuple[int, str, str]:
    return invoke(app, ["attribution", *args], columns=120)


def test_prints_and_exports_csv(app: typer.Typer, small_data_dir: Path, small_dataset,
                                tmp_path: Path) -> None:
    target = tmp_path / "by_rep.csv"
    code, out, err = run(app, "--data", small_data_dir, *PERIOD, "--by", "rep", "--out", target)
    assert code == 0, err
    assert "Revenue by rep, 2025-01-01 to 2025-07-01" in out and "(unassigned)" in out
    table = pd.read_csv(target, dtype={"rep_id": "str"}, keep_default_na=False, na_values=[""])
    assert list(table.columns) == ["rep_id", *COLUMNS]
    orders = small_dataset.orders
    period = (orders["ordered_at"] >= "2025-01-01") & (orders["ordered_at"] < "2025-07-01")
    expected = round(orders.loc[period, "net_amount"].sum(), 2)
    exported = round(table["offline_revenue"].sum() + table["online_revenue"].sum(), 2)
    assert exported == expected


@pytest.mark.parametrize("by", ["region", "channel", "campaign"])
def test_exports_parquet_for_every_grouping(app: typer.Typer, small_data_dir: Path,
                                            tmp_path: Path, by: str) -> None:
    target = tmp_path / f"by_{by}.parquet"
    code, _, err = run(app, "--data", small_data_dir, *PERIOD, "--by", by, "--out", target)
    assert code == 0, err
    table = pd.read_parquet(target)
    assert list(table.columns) == [KEY_COLUMNS[by], *COLUMNS]
    assert table[KEY_COLUMNS[by]].is_unique and len(table) > 1


def test_uses_the_ownership_history_in_the_data_directory(app: typer.Typer, small_data_dir: Path,
                                                          small_dataset, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    moved = small_dataset.accounts["account_id"].head(20)
    pd.DataFrame({"account_id": moved, "rep_id": "R_NEW", "region": "Mitte",
                  "valid_from": "2025-02-01"}).to_csv(data / "account_owners.csv", index=False)
    target = tmp_path / "by_rep.csv"
    code, out, err = run(app, "--data", data, *PERIOD, "--by", "rep", "--out", target)
    assert code == 0, err
    assert "R_NEW" in pd.read_csv(target)["rep_id"].tolist()


def test_unknown_grouping_fails(app: typer.Typer, small_data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, _, err = run(app, "--data", small_data_dir, *PERIOD, "--by", "product", "--out", target)
    assert code != 0
    assert "--by" in err and "product" in err
    assert not target.exists()


@pytest.mark.parametrize(("start", "end", "message"), [
    ("first of May", "2025-07-01", "--from 'first of May': expected an ISO 8601 date"),
    ("2025-01-01", "2025-13-45", "--to '2025-13-45': expected an ISO 8601 date"),
    ("2025-07-01", "2025-01-01", "--from 2025-07-01 must be before --to 2025-01-01"),
])
def test_bad_dates_fail_cleanly(app: typer.Typer, small_data_dir: Path, tmp_path: Path,
                                start: str, end: str, message: str) -> None:
    target = tmp_path / "out.csv"
    code, _, err = run(app, "--data", small_data_dir, "--from", start, "--to", end, "--by", "rep",
                       "--out", target)
    assert code == 1
    assert message in err
    assert not target.exists()


def test_bad_account_owners_file_fails_naming_table_column_and_rows(
        app: typer.Typer, small_data_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(small_data_dir, data)
    (data / "account_owners.csv").write_text(
        "account_id,rep_id,region,valid_from\nA000001,R001,Nord,2025-02-01\n"
        "A000002,R001,Nord,soon\nNOPE,R001,Nord,2025-02-01\n", encoding="utf-8")
    target = tmp_path / "out.parquet"
    code, out, err = run(app, "--data", data, *PERIOD, "--by", "region", "--out", target)
    assert code == 1
    assert "account_owners.valid_from: data row 2 (value 'soon')" in err
    assert "account_owners.account_id: data row 3 (value 'NOPE')" in err
    assert not target.exists()
    assert not list(tmp_path.glob(".out.parquet*"))


def test_bad_output_extension_fails_before_reading(app: typer.Typer, small_data_dir: Path,
                                                   tmp_path: Path) -> None:
    code, _, err = run(app, "--data", small_data_dir, *PERIOD, "--by", "rep",
                       "--out", tmp_path / "out.xlsx")
    assert code == 1 and "expected a file ending in .csv or .parquet" in err
