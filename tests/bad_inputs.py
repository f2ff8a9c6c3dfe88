"""A small valid data directory and a table of ways to break it, one thing at a time.

``write_valid_directory(path)`` writes the hand-written data set as CSV files plus
policy.yaml. Each ``BadCase`` mutates such a directory in place and names the table, column
(``None`` for file-level problems) and 1-based data rows (empty when no row is at fault) of
the one problem it must produce. The cases are plain data so that loader tests and
command-line tests (``symbiose validate/train/recommend``) run the same table:

    for case in CASES:
        directory = write_valid_directory(tmp_path / case.case_id)
        case.mutate(directory)
        ...  # expect an error naming case.table, case.column and case.rows
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

VALID_TABLES: dict[str, str] = {
    "accounts": """\
account_id,region,rep_id,industry,employees,country,consent_email,do_not_contact,segment,revenue_band
007,North,R1,Tools,120,DE,yes,no,A,3
A2,North,R1,Construction,,DE,TRUE,false,B,1.5
A3,South,R2,Tools,45,AT,0,1,A,
A4,South,,Retail,300,CH,,,C,2
""",
    "reps": """\
rep_id,name,region,weekly_capacity
R1,Anna Berg,North,20
R2,Ben Kurz,South,
""",
    "offers": """\
offer_id,product_category,name,channels,discount_steps,max_discount_pct,margin_rate,active
O1,Fasteners,Fastener restock,email|phone,0|5|10,10,0.35,true
O2,Tools,Power tools bundle,visit|phone,10|0,,0.28,
O3,Safety,Safety gloves,webshop_banner,,,0.4,No
""",
    "orders": """\
order_id,account_id,ordered_at,channel,product_category,net_amount,discount_pct
1001,007,2025-01-05,online,Fasteners,250.0,0
1001,007,2025-01-05,online,Tools,80.5,
1002,A2,2025-01-12T09:30:00,Offline,Tools,1200,10
1003,A3,2025-02-01T14:00:00+01:00,online,Safety,45.9,0
1004,A4,2025-02-15T08:00:00Z,offline,Fasteners,310,5
1005,A2,2025-03-01,online,Fasteners,99,0
""",
    "touches": """\
touch_id,account_id,touched_at,channel,offer_id,discount_pct,rep_id,campaign_id,propensity
T1,007,2025-01-02,email,O1,5,,C1,0.5
T2,A2,2025-01-10T10:00:00,phone,O2,0,R1,,1
T3,A3,2025-01-20,none,,,,C1,0.5
T4,A4,2025-02-10,visit,O2,10,R2,,
""",
    "web_events": """\
account_id,occurred_at,event_type,product_category
007,2025-01-03T12:00:00,visit,
A2,2025-01-11,product_view,Tools
A3,2025-02-02,cart,Safety
""",
}

VALID_POLICY = """\
attribution_window_days: 30
quiet_days_after_order: 3
channels:
  email: {cost: 0.5, executed_by: marketing, requires_consent: true, max_per_30d: 4}
  webshop_banner: {cost: 0.1, executed_by: marketing, requires_consent: false, max_per_30d: 8}
  phone: {cost: 12.0, executed_by: rep, requires_consent: false, max_per_30d: 2}
  visit: {cost: 90.0, executed_by: rep, requires_consent: false, max_per_30d: 1}
"""

Mutation = Callable[[Path], None]


class BadCase(NamedTuple):
    """One malformed directory: how to make it and the single problem it must produce."""

    case_id: str
    mutate: Mutation
    table: str
    column: str | None
    rows: tuple[int, ...]


def write_valid_directory(directory: Path) -> Path:
    """Write the valid hand-written data set (CSV and policy.yaml) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in VALID_TABLES.items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    (directory / "policy.yaml").write_text(VALID_POLICY, encoding="utf-8")
    return directory


def read_cells(directory: Path, table: str) -> pd.DataFrame:
    """A CSV table's cells exactly as text ("" for an empty cell)."""
    return pd.read_csv(directory / f"{table}.csv", dtype="str", keep_default_na=False)


def write_cells(directory: Path, table: str, cells: pd.DataFrame) -> None:
    cells.to_csv(directory / f"{table}.csv", index=False)


def convert_to_parquet(directory: Path) -> None:
    """Replace every readable NAME.csv by NAME.parquet with the same text cells.

    A CSV beside an existing NAME.parquet, or one pandas cannot read, stays as it is, so a
    mutated directory keeps its fault.
    """
    for csv_path in sorted(directory.glob("*.csv")):
        parquet_path = csv_path.with_suffix(".parquet")
        if parquet_path.exists():
            continue
        try:
            cells = pd.read_csv(csv_path, dtype="str", keep_default_na=False, na_values=[""])
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
            continue
        cells.to_parquet(parquet_path, index=False)
        csv_path.unlink()


# ---------------------------------------------------------------- mutations

def set_cell(table: str, row: int, column: str, value: str) -> Mutation:
    """Set the cell of 1-based data ``row`` in ``column`` ("" = empty)."""
    def mutate(directory: Path) -> None:
        cells = read_cells(directory, table)
        cells.loc[row - 1, column] = value
        write_cells(directory, table, cells)
    return mutate


def duplicate_row(table: str, row: int) -> Mutation:
    """Append a copy of 1-based data ``row`` at the end of the table."""
    def mutate(directory: Path) -> None:
        cells = read_cells(directory, table)
        write_cells(directory, table, pd.concat([cells, cells.iloc[[row - 1]]], ignore_index=True))
    return mutate


def drop_column(table: str, column: str) -> Mutation:
    def mutate(directory: Path) -> None:
        write_cells(directory, table, read_cells(directory, table).drop(columns=[column]))
    return mutate


def rename_column(table: str, column: str, new_name: str) -> Mutation:
    def mutate(directory: Path) -> None:
        cells = read_cells(directory, table)
        write_cells(directory, table, cells.rename(columns={column: new_name}))
    return mutate


def remove_table(table: str) -> Mutation:
    def mutate(directory: Path) -> None:
        (directory / f"{table}.csv").unlink()
    return mutate


def keep_header_only(table: str) -> Mutation:
    def mutate(directory: Path) -> None:
        write_cells(directory, table, read_cells(directory, table).iloc[0:0])
    return mutate


def add_parquet_copy(table: str) -> Mutation:
    """Write NAME.parquet beside NAME.csv (both formats of one table)."""
    def mutate(directory: Path) -> None:
        read_cells(directory, table).to_parquet(directory / f"{table}.parquet", index=False)
    return mutate


def replace_file(name: str, content: bytes, remove: str | None = None) -> Mutation:
    """Write ``content`` to file ``name`` (after deleting file ``remove`` if given)."""
    def mutate(directory: Path) -> None:
        if remove is not None:
            (directory / remove).unlink()
        (directory / name).write_bytes(content)
    return mutate


def combine(*mutations: Mutation) -> Mutation:
    def mutate(directory: Path) -> None:
        for step in mutations:
            step(directory)
    return mutate


CASES: list[BadCase] = [
    # tables and columns
    BadCase("missing_accounts_table", remove_table("accounts"), "accounts", None, ()),
    BadCase("missing_offers_table", remove_table("offers"), "offers", None, ()),
    BadCase("missing_orders_table", remove_table("orders"), "orders", None, ()),
    BadCase("missing_touches_table", remove_table("touches"), "touches", None, ()),
    BadCase("both_csv_and_parquet", add_parquet_copy("orders"), "orders", None, ()),
    BadCase("empty_accounts", keep_header_only("accounts"), "accounts", None, ()),
    BadCase("empty_orders_file", replace_file("orders.csv", b""), "orders", None, ()),
    BadCase("garbage_parquet", replace_file("accounts.parquet", b"not parquet",
                                            remove="accounts.csv"), "accounts", None, ()),
    BadCase("missing_column_net_amount", drop_column("orders", "net_amount"),
            "orders", "net_amount", ()),
    BadCase("missing_column_region", drop_column("accounts", "region"), "accounts", "region", ()),
    BadCase("missing_column_touched_at", drop_column("touches", "touched_at"),
            "touches", "touched_at", ()),
    BadCase("missing_column_margin_rate", drop_column("offers", "margin_rate"),
            "offers", "margin_rate", ()),
    BadCase("column_twice", rename_column("accounts", "industry", " region"),
            "accounts", "region", ()),
    # types
    BadCase("net_amount_not_a_number", set_cell("orders", 3, "net_amount", "1.200,50"),
            "orders", "net_amount", (3,)),
    BadCase("employees_not_whole", set_cell("accounts", 1, "employees", "12.5"),
            "accounts", "employees", (1,)),
    BadCase("consent_not_boolean", set_cell("accounts", 2, "consent_email", "maybe"),
            "accounts", "consent_email", (2,)),
    BadCase("active_not_boolean", set_cell("offers", 1, "active", "y"), "offers", "active", (1,)),
    BadCase("unparseable_order_timestamp", set_cell("orders", 4, "ordered_at", "2025-13-01"),
            "orders", "ordered_at", (4,)),
    BadCase("unparseable_touch_timestamp", set_cell("touches", 1, "touched_at", "yesterday"),
            "touches", "touched_at", (1,)),
    BadCase("day_first_web_event_date", set_cell("web_events", 2, "occurred_at", "11.01.2025"),
            "web_events", "occurred_at", (2,)),
    BadCase("discount_step_not_a_number", set_cell("offers", 1, "discount_steps", "0|five|10"),
            "offers", "discount_steps", (1,)),
    # required values and uniqueness
    BadCase("empty_region", set_cell("accounts", 4, "region", ""), "accounts", "region", (4,)),
    BadCase("empty_order_id", set_cell("orders", 6, "order_id", ""), "orders", "order_id", (6,)),
    BadCase("duplicate_account_id", duplicate_row("accounts", 2), "accounts", "account_id",
            (2, 5)),
    BadCase("duplicate_offer_id", duplicate_row("offers", 1), "offers", "offer_id", (1, 4)),
    BadCase("duplicate_touch_id", set_cell("touches", 4, "touch_id", "T1"),
            "touches", "touch_id", (1, 4)),
    BadCase("duplicate_rep_id", duplicate_row("reps", 2), "reps", "rep_id", (2, 3)),
    # references
    BadCase("unknown_account_in_orders", set_cell("orders", 5, "account_id", "A99"),
            "orders", "account_id", (5,)),
    BadCase("account_id_without_leading_zeros", set_cell("touches", 1, "account_id", "7"),
            "touches", "account_id", (1,)),
    BadCase("unknown_account_in_web_events", set_cell("web_events", 3, "account_id", "A9"),
            "web_events", "account_id", (3,)),
    BadCase("unknown_offer_in_touches", set_cell("touches", 1, "offer_id", "O9"),
            "touches", "offer_id", (1,)),
    BadCase("unknown_rep_in_accounts", set_cell("accounts", 3, "rep_id", "R7"),
            "accounts", "rep_id", (3,)),
    # ranges
    BadCase("negative_net_amount", set_cell("orders", 2, "net_amount", "-5"),
            "orders", "net_amount", (2,)),
    BadCase("order_discount_over_100", set_cell("orders", 3, "discount_pct", "120"),
            "orders", "discount_pct", (3,)),
    BadCase("negative_touch_discount", set_cell("touches", 4, "discount_pct", "-10"),
            "touches", "discount_pct", (4,)),
    BadCase("discount_step_over_100", set_cell("offers", 2, "discount_steps", "0|150"),
            "offers", "discount_steps", (2,)),
    BadCase("max_discount_over_100", set_cell("offers", 1, "max_discount_pct", "150"),
            "offers", "max_discount_pct", (1,)),
    BadCase("margin_rate_above_one", set_cell("offers", 2, "margin_rate", "1.5"),
            "offers", "margin_rate", (2,)),
    BadCase("propensity_zero", set_cell("touches", 1, "propensity", "0"),
            "touches", "propensity", (1,)),
    BadCase("propensity_above_one", set_cell("touches", 2, "propensity", "1.5"),
            "touches", "propensity", (2,)),
    BadCase("negative_employees", set_cell("accounts", 3, "employees", "-45"),
            "accounts", "employees", (3,)),
    BadCase("negative_weekly_capacity", set_cell("reps", 1, "weekly_capacity", "-1"),
            "reps", "weekly_capacity", (1,)),
    # channels
    BadCase("unknown_order_channel", set_cell("orders", 1, "channel", "store"),
            "orders", "channel", (1,)),
    BadCase("unknown_touch_channel", set_cell("touches", 2, "channel", "fax"),
            "touches", "channel", (2,)),
    BadCase("unknown_offer_channel", set_cell("offers", 1, "channels", "email|pigeon"),
            "offers", "channels", (1,)),
    BadCase("none_is_not_an_offer_channel", set_cell("offers", 3, "channels", "none"),
            "offers", "channels", (3,)),
    BadCase("empty_offer_channel_item", set_cell("offers", 2, "channels", "visit||phone"),
            "offers", "channels", (2,)),
    BadCase("none_touch_with_offer", set_cell("touches", 3, "offer_id", "O1"),
            "touches", "offer_id", (3,)),
    BadCase("none_touch_with_discount", set_cell("touches", 3, "discount_pct", "5"),
            "touches", "discount_pct", (3,)),
    # policy
    BadCase("policy_not_yaml", replace_file("policy.yaml", b"channels: [email\n"),
            "policy", None, ()),
    BadCase("policy_window_zero", replace_file("policy.yaml", b"attribution_window_days: 0\n"),
            "policy", None, ()),
    BadCase("policy_unknown_executor",
            replace_file("policy.yaml", b"channels:\n  email: {executed_by: robot}\n"),
            "policy", None, ()),
]
