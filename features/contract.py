"""The data contract's tables, declared as data (docs/data-contract.md §1).

Each ``Table`` lists its columns with type, requiredness, uniqueness, range, allowed values
and default; ``ForeignKey`` declares a reference between tables and ``RowRule`` a condition
between columns of one row. ``features.validation`` checks a table against these
declarations and ``features.loading`` reads a data directory with them, so a change to the
contract is a change in this file only.

Normalized dtypes follow from the declarations: ``string`` -> ``str``; ``number`` ->
``float64``; ``integer`` -> ``int64`` when the column can never be empty (required or with a
default), else ``float64``; ``boolean`` -> ``bool`` (every boolean has a default);
``timestamp`` -> ``datetime64[us]`` naive UTC; ``string_list`` / ``number_list`` -> tuples
(``|``-separated in files; number lists sorted ascending without repeats).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.dataset import (
    ACCOUNT_COLUMNS,
    DISPLAY_ACCOUNT_COLUMNS,
    OFFER_COLUMNS,
    ORDER_COLUMNS,
    REP_COLUMNS,
    TOUCH_COLUMNS,
    WEB_EVENT_COLUMNS,
)
from features.policy import NONE_CHANNEL

ColumnType = Literal["string", "integer", "number", "boolean", "timestamp", "string_list",
                     "number_list"]
LIST_SEPARATOR = "|"


@dataclass(frozen=True)
class Range:
    """Closed or half-open numeric bounds; ``None`` = unbounded on that side."""

    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True

    def violated(self, values: pd.Series) -> np.ndarray:
        """Boolean mask of values outside the range (empty values never violate)."""
        arr = values.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.zeros(len(arr), dtype=bool)
        with np.errstate(invalid="ignore"):
            if self.low is not None:
                bad |= arr < self.low if self.low_inclusive else arr <= self.low
            if self.high is not None:
                bad |= arr > self.high if self.high_inclusive else arr >= self.high
        return bad & ~np.isnan(arr)

    def describe(self) -> str:
        """The range in words, e.g. ``between 0 and 100`` or ``greater than 0 and at most 1``."""
        low, high = _fmt(self.low), _fmt(self.high)
        if self.low is not None and self.high is not None:
            if self.low_inclusive and self.high_inclusive:
                return f"between {low} and {high}"
            lower = f">= {low}" if self.low_inclusive else f"greater than {low}"
            upper = f"at most {high}" if self.high_inclusive else f"less than {high}"
            return f"{lower} and {upper}"
        if self.low is not None:
            return f">= {low}" if self.low_inclusive else f"> {low}"
        if self.high is not None:
            return f"<= {high}" if self.high_inclusive else f"< {high}"
        return ""


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


_TYPE_WORDS: dict[str, str] = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "a boolean (true/false, 1/0 or yes/no, any case)",
    "timestamp": "an ISO 8601 timestamp such as 2025-03-01 or 2025-03-01T10:15:00 "
                 "(optionally with a UTC offset)",
    "string_list": "values separated by '|' such as email|phone",
    "number_list": "numbers separated by '|' such as 0|5|10",
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    ``required`` means the column must be present and no cell may be empty. ``default`` is
    written as it would appear in a file (``"false"``, ``"25"``, ``"0"``) and fills empty cells
    and missing optional columns. ``range`` applies to each item of a list column.
    ``policy_channels`` restricts values (or list items) to the policy's channels plus
    ``also_allowed``. ``default_max_of`` names a number-list column whose largest item is
    the default.
    """

    name: str
    type: ColumnType
    required: bool = False
    unique: bool = False
    range: Range | None = None
    allowed: tuple[str, ...] = ()
    case_insensitive: bool = False
    policy_channels: bool = False
    also_allowed: tuple[str, ...] = ()
    default: str | None = None
    default_max_of: str | None = None
    prefixes: tuple[str, ...] = ()

    @property
    def is_list(self) -> bool:
        return self.type in ("string_list", "number_list")

    @property
    def never_empty(self) -> bool:
        """True when normalized values can have no gaps (required or defaulted)."""
        return self.required or self.default is not None or self.default_max_of is not None

    def describe(self) -> str:
        """What a valid cell looks like, for error messages."""
        words = _TYPE_WORDS[self.type]
        if self.range is not None:
            words = f"{words} {self.range.describe()}"
        if self.allowed:
            words = f"one of: {', '.join(self.allowed)}"
        if self.prefixes:
            words = f"{words} starting with {' or '.join(self.prefixes)}"
        return words


@dataclass(frozen=True)
class Table:
    """One table of a data directory (``NAME.csv`` or ``NAME.parquet``)."""

    name: str
    columns: tuple[Column, ...]
    required: bool
    may_be_empty: bool = True
    #: Extra columns are model features: numbers stay numeric, everything else becomes text.
    extra_columns_are_features: bool = False
    #: Optional columns checked when present, kept as they are and never model features.
    display_columns: tuple[Column, ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}; expected one of: "
                       f"{', '.join(self.column_names)}")


@dataclass(frozen=True)
class ForeignKey:
    """Every non-empty ``table.column`` value must exist in ``target.target_column``.

    With ``only_if_target_has_rows`` the check applies only when the target table has rows
    (an absent or empty optional table says nothing about which keys exist).
    """

    table: str
    column: str
    target: str
    target_column: str
    only_if_target_has_rows: bool = False


@dataclass(frozen=True)
class RowRule:
    """In rows where ``when_column`` equals ``when_value``, ``column`` must equal ``value``
    (``None`` = the cell must be empty)."""

    table: str
    when_column: str
    when_value: str
    column: str
    value: float | str | None
    reason: str

    def describe(self) -> str:
        if self.value is None:
            must = "an empty cell"
        elif isinstance(self.value, float):
            must = f"{self.value:g}"
        else:
            must = repr(self.value)
        return f"{must} when {self.when_column} is {self.when_value!r} ({self.reason})"


PERCENT = Range(0.0, 100.0)
NON_NEGATIVE = Range(low=0.0)

ACCOUNTS = Table("accounts", required=True, may_be_empty=False, extra_columns_are_features=True,
                 columns=(
    Column("account_id", "string", required=True, unique=True),
    Column("region", "string", required=True),
    Column("rep_id", "string"),
    Column("industry", "string"),
    Column("employees", "integer", range=NON_NEGATIVE),
    Column("country", "string"),
    Column("consent_email", "boolean", default="false"),
    Column("do_not_contact", "boolean", default="false"),
), display_columns=(
    Column("name", "string"),
    Column("contact_name", "string"),
    Column("contact_phone", "string"),
    Column("contact_email", "string"),
    Column("crm_url", "string", prefixes=("https://", "http://")),
))

REPS = Table("reps", required=False, columns=(
    Column("rep_id", "string", required=True, unique=True),
    Column("name", "string"),
    Column("region", "string"),
    Column("weekly_capacity", "integer", range=NON_NEGATIVE, default="25"),
))

OFFERS = Table("offers", required=True, columns=(
    Column("offer_id", "string", required=True, unique=True),
    Column("product_category", "string", required=True),
    Column("name", "string"),
    Column("channels", "string_list", required=True, policy_channels=True),
    Column("discount_steps", "number_list", range=PERCENT, default="0"),
    Column("max_discount_pct", "number", range=PERCENT, default_max_of="discount_steps"),
    Column("margin_rate", "number", required=True, range=Range(0.0, 1.0)),
    Column("active", "boolean", default="true"),
))

ORDERS = Table("orders", required=True, columns=(
    Column("order_id", "string", required=True),
    Column("account_id", "string", required=True),
    Column("ordered_at", "timestamp", required=True),
    Column("channel", "string", required=True, allowed=("online", "offline"),
           case_insensitive=True),
    Column("product_category", "string", required=True),
    Column("net_amount", "number", required=True, range=NON_NEGATIVE),
    Column("discount_pct", "number", range=PERCENT, default="0"),
))

TOUCHES = Table("touches", required=True, columns=(
    Column("touch_id", "string", required=True, unique=True),
    Column("account_id", "string", required=True),
    Column("touched_at", "timestamp", required=True),
    Column("channel", "string", required=True, policy_channels=True,
           also_allowed=(NONE_CHANNEL,)),
    Column("offer_id", "string"),
    Column("discount_pct", "number", range=PERCENT, default="0"),
    Column("rep_id", "string"),
    Column("campaign_id", "string"),
    Column("propensity", "number", range=Range(0.0, 1.0, low_inclusive=False)),
))

WEB_EVENTS = Table("web_events", required=False, columns=(
    Column("account_id", "string", required=True),
    Column("occurred_at", "timestamp", required=True),
    Column("event_type", "string", required=True),
    Column("product_category", "string"),
))

#: All tables in the order they are read and reported.
TABLES: tuple[Table, ...] = (ACCOUNTS, REPS, OFFERS, ORDERS, TOUCHES, WEB_EVENTS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

FOREIGN_KEYS: tuple[ForeignKey, ...] = (
    ForeignKey("accounts", "rep_id", "reps", "rep_id", only_if_target_has_rows=True),
    ForeignKey("orders", "account_id", "accounts", "account_id"),
    ForeignKey("touches", "account_id", "accounts", "account_id"),
    ForeignKey("touches", "offer_id", "offers", "offer_id"),
    ForeignKey("web_events", "account_id", "accounts", "account_id"),
)

ROW_RULES: tuple[RowRule, ...] = (
    RowRule("touches", "channel", NONE_CHANNEL, "offer_id", None,
            "a holdout or control decision has no offer"),
    RowRule("touches", "channel", NONE_CHANNEL, "discount_pct", 0.0,
            "a holdout or control decision grants no discount"),
)

_DATASET_COLUMNS = {"accounts": ACCOUNT_COLUMNS, "reps": REP_COLUMNS, "offers": OFFER_COLUMNS,
                    "orders": ORDER_COLUMNS, "touches": TOUCH_COLUMNS,
                    "web_events": WEB_EVENT_COLUMNS}
for _table in TABLES:
    if _table.column_names != _DATASET_COLUMNS[_table.name]:
        raise RuntimeError(f"contract table {_table.name} declares {_table.column_names}; "
                           f"features.dataset expects {_DATASET_COLUMNS[_table.name]}")
    for _col in (*_table.columns, *_table.display_columns):
        if _col.type == "boolean" and _col.default is None:
            raise RuntimeError(f"boolean column {_table.name}.{_col.name} needs a default")
if [c.name for c in ACCOUNTS.display_columns] != DISPLAY_ACCOUNT_COLUMNS:
    raise RuntimeError(f"contract display columns {[c.name for c in ACCOUNTS.display_columns]}; "
                       f"features.dataset expects {DISPLAY_ACCOUNT_COLUMNS}")
