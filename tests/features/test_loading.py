"""Loading valid data directories: normalized dtypes, defaults, round trips, parsing rules."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from features.dataset import (  # noqa: E402
    ACCOUNT_COLUMNS,
    OFFER_COLUMNS,
    ORDER_COLUMNS,
    REP_COLUMNS,
    TOUCH_COLUMNS,
    WEB_EVENT_COLUMNS,
    write_dataset,
)
from features.loading import load_dataset, validate_directory  # noqa: E402
from features.policy import Policy  # noqa: E402
from features.validation import ContractError, Problem  # noqa: E402
from tests.bad_inputs import convert_to_parquet, write_valid_directory  # noqa: E402

TABLE_NAMES = ("accounts", "reps", "offers", "orders", "touches", "web_events")

MINIMAL = {
    "accounts": "account_id,region\nA1,North\nA2,South\n",
    "offers": "offer_id,product_category,channels,margin_rate\n"
              "O1,Tools,email,0.3\nO2,Safety,phone|visit,0.25\n",
    "orders": "order_id,account_id,ordered_at,channel,product_category,net_amount\n"
              "1,A1,2025-01-05,online,Tools,100\n",
    "touches": "touch_id,account_id,touched_at,channel\nT1,A2,2025-01-03,phone\n",
}


def _write(directory: Path, tables: dict[str, str], **extra: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in {**tables, **extra}.items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return directory


def _dtype_names(frame: pd.DataFrame) -> dict[str, str]:
    return {c: str(t) for c, t in frame.dtypes.items()}


@pytest.fixture
def valid_dir(tmp_path: Path) -> Path:
    return write_valid_directory(tmp_path / "valid")


def test_valid_directory_loads_with_documented_columns_and_dtypes(valid_dir: Path) -> None:
    assert validate_directory(valid_dir) == []
    ds = load_dataset(valid_dir)

    assert list(ds.accounts.columns) == ACCOUNT_COLUMNS + ["segment", "revenue_band"]
    for name, columns in [("reps", REP_COLUMNS), ("offers", OFFER_COLUMNS),
                          ("orders", ORDER_COLUMNS), ("touches", TOUCH_COLUMNS),
                          ("web_events", WEB_EVENT_COLUMNS)]:
        assert list(getattr(ds, name).columns) == columns
    assert _dtype_names(ds.accounts) == {
        "account_id": "str", "region": "str", "rep_id": "str", "industry": "str",
        "employees": "float64", "country": "str", "consent_email": "bool",
        "do_not_contact": "bool", "segment": "str", "revenue_band": "float64"}
    assert _dtype_names(ds.orders) == {
        "order_id": "str", "account_id": "str", "ordered_at": "datetime64[us]",
        "channel": "str", "product_category": "str", "net_amount": "float64",
        "discount_pct": "float64"}
    assert _dtype_names(ds.reps)["weekly_capacity"] == "int64"
    assert _dtype_names(ds.touches)["propensity"] == "float64"
    assert ds.offers["channels"].tolist() == [("email", "phone"), ("visit", "phone"),
                                              ("webshop_banner",)]
    assert ds.offers["discount_steps"].tolist() == [(0.0, 5.0, 10.0), (0.0, 10.0), (0.0,)]
    assert ds.offers["max_discount_pct"].tolist() == [10.0, 10.0, 0.0]
    assert ds.offers["active"].tolist() == [True, True, False]
    assert ds.orders["channel"].tolist() == ["online", "online", "offline", "online",
                                             "offline", "online"]
    assert ds.reps["weekly_capacity"].tolist() == [20, 25]
    assert ds.policy.quiet_days_after_order == 3
    assert ds.source == valid_dir
    assert ds.extra_account_columns == ["segment", "revenue_band"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_write_then_load_gives_identical_frames(valid_dir: Path, tmp_path: Path,
                                                fmt: str) -> None:
    original = load_dataset(valid_dir)
    copy_dir = write_dataset(original, tmp_path / f"copy_{fmt}", fmt=fmt)

    again = load_dataset(copy_dir)

    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(original, name),
                                      check_exact=True, obj=name)
    assert again.policy == original.policy


def test_text_cells_in_parquet_load_like_csv(valid_dir: Path, tmp_path: Path) -> None:
    from_csv = load_dataset(valid_dir)
    convert_to_parquet(valid_dir)
    from_parquet = load_dataset(valid_dir)

    for name in TABLE_NAMES:
        expected = getattr(from_csv, name)
        if name == "accounts":  # a text-only Parquet file holds the extra number as text
            expected = expected.assign(revenue_band=pd.Series(
                ["3", "1.5", pd.NA, "2"], dtype="str"))
        pd.testing.assert_frame_equal(getattr(from_parquet, name), expected, obj=name)


def test_optional_columns_and_tables_get_defaults(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "minimal", MINIMAL))

    assert ds.accounts["consent_email"].tolist() == [False, False]
    assert ds.accounts["do_not_contact"].tolist() == [False, False]
    assert ds.accounts[["rep_id", "industry", "country"]].isna().all().all()
    assert ds.accounts["employees"].dtype == "float64"
    assert ds.offers["discount_steps"].tolist() == [(0.0,), (0.0,)]
    assert ds.offers["max_discount_pct"].tolist() == [0.0, 0.0]
    assert ds.offers["active"].tolist() == [True, True]
    assert ds.offers["name"].isna().all()
    assert ds.orders["discount_pct"].tolist() == [0.0]
    assert ds.touches["discount_pct"].tolist() == [0.0]
    assert ds.touches[["offer_id", "rep_id", "campaign_id"]].isna().all().all()
    assert np.isnan(ds.touches["propensity"].iloc[0])
    assert ds.policy == Policy()
    assert len(ds.reps) == 0 and list(ds.reps.columns) == REP_COLUMNS
    assert _dtype_names(ds.reps) == {"rep_id": "str", "name": "str", "region": "str",
                                     "weekly_capacity": "int64"}
    assert len(ds.web_events) == 0 and _dtype_names(ds.web_events) == {
        "account_id": "str", "occurred_at": "datetime64[us]", "event_type": "str",
        "product_category": "str"}


def test_max_discount_defaults_to_largest_step(tmp_path: Path) -> None:
    offers = ("offer_id,product_category,channels,discount_steps,max_discount_pct,margin_rate\n"
              "O1,Tools,email,15|0|5|5,,0.3\nO2,Safety,phone,0|5,2.5,0.25\n")
    ds = load_dataset(_write(tmp_path / "steps", {**MINIMAL, "offers": offers}))

    assert ds.offers["discount_steps"].tolist() == [(0.0, 5.0, 15.0), (0.0, 5.0)]
    assert ds.offers["max_discount_pct"].tolist() == [15.0, 2.5]


def test_touches_may_be_empty(tmp_path: Path) -> None:
    ds = load_dataset(_write(tmp_path / "no_touches", MINIMAL,
                             touches="touch_id,account_id,touched_at,channel\n"))

    assert len(ds.touches) == 0
    assert list(ds.touches.columns) == TOUCH_COLUMNS
    assert ds.touches["touched_at"].dtype == "datetime64[us]"


def test_booleans_accept_every_documented_spelling(tmp_path: Path) -> None:
    words = ["true", "FALSE", "1", "0", "yes", "No", "True", " yes ", ""]
    expected = [True, False, True, False, True, False, True, True, False]
    rows = "".join(f"A{i},North,{w}\n" for i, w in enumerate(words))
    accounts = "account_id,region,consent_email\n" + rows
    orders = MINIMAL["orders"].replace("A1", "A0")
    touches = MINIMAL["touches"].replace("A2", "A1")

    ds = load_dataset(_write(tmp_path / "bools", {**MINIMAL, "accounts": accounts,
                                                  "orders": orders, "touches": touches}))

    assert ds.accounts["consent_email"].tolist() == expected


def test_timestamps_with_offsets_become_naive_utc(tmp_path: Path) -> None:
    orders = ("order_id,account_id,ordered_at,channel,product_category,net_amount\n"
              "1,A1,2025-03-01,online,Tools,1\n"
              "2,A1,2025-03-01T10:15:00,online,Tools,1\n"
              "3,A1,2025-03-01T10:15:00+02:00,online,Tools,1\n"
              "4,A1,2025-03-01T10:15:00Z,online,Tools,1\n"
              "5,A1,2025-03-01T00:30:00-05:30,online,Tools,1\n"
              "6,A1,2025-03-01 23:59:59.250,online,Tools,1\n")

    ds = load_dataset(_write(tmp_path / "times", {**MINIMAL, "orders": orders}))

    assert ds.orders["ordered_at"].dtype == "datetime64[us]"
    assert ds.orders["ordered_at"].tolist() == [
        pd.Timestamp("2025-03-01 00:00:00"), pd.Timestamp("2025-03-01 10:15:00"),
        pd.Timestamp("2025-03-01 08:15:00"), pd.Timestamp("2025-03-01 10:15:00"),
        pd.Timestamp("2025-03-01 06:00:00"), pd.Timestamp("2025-03-01 23:59:59.250")]


def test_typed_parquet_columns_are_normalized(tmp_path: Path) -> None:
    directory = _write(tmp_path / "typed", MINIMAL)
    (directory / "orders.csv").unlink()
    pd.DataFrame({
        "order_id": [1, 2],
        "account_id": ["A1", "A2"],
        "ordered_at": pd.to_datetime(["2025-03-01T12:00:00+01:00", "2025-03-02T00:00:00Z"],
                                     utc=True).tz_convert("Europe/Berlin"),
        "channel": ["online", "offline"],
        "product_category": ["Tools", "Safety"],
        "net_amount": np.array([10, 20], dtype="int32"),
        "discount_pct": pd.array([5, None], dtype="Int64"),
    }).to_parquet(directory / "orders.parquet")
    (directory / "accounts.csv").unlink()
    pd.DataFrame({"account_id": ["A1", "A2"], "region": ["North", "South"],
                  "consent_email": [True, False], "do_not_contact": [0, 1],
                  "employees": [3.0, None], "score": pd.array([1, None], dtype="Int64"),
                  "flag": [True, False]}).to_parquet(directory / "accounts.parquet")

    ds = load_dataset(directory)

    assert ds.orders["order_id"].tolist() == ["1", "2"]
    assert ds.orders["ordered_at"].tolist() == [pd.Timestamp("2025-03-01 11:00:00"),
                                                pd.Timestamp("2025-03-02 00:00:00")]
    assert ds.orders["ordered_at"].dtype == "datetime64[us]"
    assert ds.orders["net_amount"].dtype == "float64"
    assert ds.orders["discount_pct"].tolist() == [5.0, 0.0]
    assert ds.accounts["consent_email"].tolist() == [True, False]
    assert ds.accounts["do_not_contact"].tolist() == [False, True]
    assert ds.accounts["score"].dtype == "float64"
    assert ds.accounts["flag"].tolist() == ["True", "False"]


def test_parquet_list_columns_are_accepted(tmp_path: Path) -> None:
    directory = _write(tmp_path / "lists", MINIMAL)
    (directory / "offers.csv").unlink()
    pd.DataFrame({"offer_id": ["O1", "O2"], "product_category": ["Tools", "Safety"],
                  "channels": [["email", "phone"], ["visit"]],
                  "discount_steps": [[10.0, 0.0], None],
                  "margin_rate": [0.3, 0.25]}).to_parquet(directory / "offers.parquet")

    ds = load_dataset(directory)

    assert ds.offers["channels"].tolist() == [("email", "phone"), ("visit",)]
    assert ds.offers["discount_steps"].tolist() == [(0.0, 10.0), (0.0,)]


def test_ids_keep_leading_zeros(tmp_path: Path) -> None:
    tables = {
        "accounts": "account_id,region,rep_id\n007,North,0042\n7,South,\n",
        "reps": "rep_id,weekly_capacity\n0042,10\n",
        "offers": "offer_id,product_category,channels,margin_rate\n0001,Tools,email,0.3\n",
        "orders": "order_id,account_id,ordered_at,channel,product_category,net_amount\n"
                  "000123,007,2025-01-05,online,Tools,100\n",
        "touches": "touch_id,account_id,touched_at,channel,offer_id\n01,7,2025-01-03,email,0001\n",
    }
    ds = load_dataset(_write(tmp_path / "zeros", tables))

    assert ds.accounts["account_id"].tolist() == ["007", "7"]
    assert ds.accounts["rep_id"].tolist()[0] == "0042"
    assert ds.reps["rep_id"].tolist() == ["0042"]
    assert ds.orders[["order_id", "account_id"]].iloc[0].tolist() == ["000123", "007"]
    assert ds.touches[["touch_id", "offer_id"]].iloc[0].tolist() == ["01", "0001"]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    accounts = ("account_id,region,credit_limit,tier,postal_area,partner\n"
                "A1,North,5000,gold,,true\nA2,South,2500.5,,80,false\n")
    orders = MINIMAL["orders"].replace("net_amount\n", "net_amount,warehouse\n") \
        .replace(",100\n", ",100,W1\n")

    ds = load_dataset(_write(tmp_path / "extras", {**MINIMAL, "accounts": accounts,
                                                   "orders": orders}))

    assert ds.extra_account_columns == ["credit_limit", "tier", "postal_area", "partner"]
    assert ds.accounts["credit_limit"].tolist() == [5000.0, 2500.5]
    assert ds.accounts["tier"].dtype == "str" and ds.accounts["tier"].tolist()[0] == "gold"
    assert ds.accounts["postal_area"].dtype == "float64"
    assert ds.accounts["partner"].tolist() == ["True", "False"]
    assert ds.orders["warehouse"].tolist() == ["W1"]


def test_only_empty_cells_are_empty(tmp_path: Path) -> None:
    accounts = "account_id,region,country\nA1,NA,null\nA2,South,\n"

    ds = load_dataset(_write(tmp_path / "na_text", {**MINIMAL, "accounts": accounts}))

    assert ds.accounts["region"].tolist() == ["NA", "South"]
    assert ds.accounts["country"].tolist()[0] == "null"
    assert pd.isna(ds.accounts["country"].iloc[1])


def test_byte_order_mark_and_padded_headers_are_accepted(tmp_path: Path) -> None:
    directory = _write(tmp_path / "bom", MINIMAL)
    (directory / "accounts.csv").write_bytes(
        "\ufeffaccount_id, region \nA1,North\nA2,South\n".encode())

    assert load_dataset(directory).accounts["account_id"].tolist() == ["A1", "A2"]


def test_rep_references_are_checked_only_against_a_non_empty_reps_table(tmp_path: Path) -> None:
    accounts = "account_id,region,rep_id\nA1,North,R1\nA2,South,R2\n"
    tables = {**MINIMAL, "accounts": accounts}

    assert validate_directory(_write(tmp_path / "no_reps", tables)) == []
    assert validate_directory(_write(tmp_path / "empty_reps", tables,
                                     reps="rep_id,name,region,weekly_capacity\n")) == []
    problems = validate_directory(_write(tmp_path / "reps", tables, reps="rep_id\nR1\n"))
    assert [(p.table, p.column, p.rows, p.values) for p in problems] == [
        ("accounts", "rep_id", (2,), ("R2",))]


def test_policy_channels_decide_which_channels_are_known(tmp_path: Path) -> None:
    touches = "touch_id,account_id,touched_at,channel\nT1,A2,2025-01-03,fax\n"
    offers = "offer_id,product_category,channels,margin_rate\nO1,Tools,fax,0.3\n"
    policy = "channels:\n  fax: {cost: 0.2, executed_by: marketing}\n"

    directory = _write(tmp_path / "fax", {**MINIMAL, "touches": touches, "offers": offers})
    (directory / "policy.yaml").write_text(policy, encoding="utf-8")
    ds = load_dataset(directory)

    assert ds.policy.channel_names == ["fax"]
    assert ds.touches["channel"].tolist() == ["fax"]
    assert ds.offers["channels"].tolist() == [("fax",)]


def test_problem_text_shows_five_rows_and_counts_the_rest() -> None:
    problem = Problem("orders", "net_amount", (3, 17, 18, 19, 20, 21, 40),
                      ("-5.0", "-1.2", "-1.2", "-3", "-4", "-6", "-7"), "a number >= 0")

    assert str(problem) == ("orders.net_amount: data rows 3, 17, 18, 19, 20 and 2 more "
                            "(values -5.0, -1.2, -3, -4, -6 and 1 more): expected a number >= 0")
    assert str(Problem("accounts", "region", (4,), (), "a value")) == \
        "accounts.region: data row 4: expected a value"
    assert str(Problem("touches", "account_id", (2,), ("A 9",), "a known account")) == \
        "touches.account_id: data row 2 (value 'A 9'): expected a known account"
    assert str(Problem("policy", None, (), (), "valid rules")) == "policy: expected valid rules"


def test_contract_error_lists_every_problem_and_survives_pickling() -> None:
    problems = [Problem("orders", "net_amount", (2,), ("-1",), "a number >= 0"),
                Problem("accounts", None, (), (), "at least one data row")]
    error = ContractError(problems)

    assert isinstance(error, ValueError)
    assert str(error).splitlines() == [str(p) for p in problems]
    restored = pickle.loads(pickle.dumps(error))
    assert restored.problems == problems and str(restored) == str(error)


def test_many_bad_rows_are_summarised(tmp_path: Path) -> None:
    rows = "".join(f"{i},A1,2025-01-05,online,Tools,{-i}\n" for i in range(1, 1001))
    orders = "order_id,account_id,ordered_at,channel,product_category,net_amount\n" + rows

    problems = validate_directory(_write(tmp_path / "many", {**MINIMAL, "orders": orders}))

    assert len(problems) == 1 and len(problems[0].rows) == 1000
    assert "data rows 1, 2, 3, 4, 5 and 995 more" in str(problems[0])
