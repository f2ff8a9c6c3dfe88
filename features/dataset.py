"""The in-memory form of a data directory: typed tables plus the business policy.

Loaders (``features.loading``) produce it; every later stage reads it. Column dtypes are
normalized so that downstream code never re-parses:

- ids and other strings: ``str`` (missing = NA); timestamps: ``datetime64`` naive UTC;
- booleans: ``bool`` with the contract's defaults filled in;
- ``offers.channels``: tuple of channel names; ``offers.discount_steps``: tuple of floats
  (sorted ascending); ``offers.max_discount_pct`` and ``offers.active`` filled with defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from features.errors import InputError
from features.policy import Policy

ACCOUNT_COLUMNS = ["account_id", "region", "rep_id", "industry", "employees", "country",
                   "consent_email", "do_not_contact"]
REP_COLUMNS = ["rep_id", "name", "region", "weekly_capacity"]
OFFER_COLUMNS = ["offer_id", "product_category", "name", "channels", "discount_steps",
                 "max_discount_pct", "margin_rate", "active"]
ORDER_COLUMNS = ["order_id", "account_id", "ordered_at", "channel", "product_category",
                 "net_amount", "discount_pct"]
TOUCH_COLUMNS = ["touch_id", "account_id", "touched_at", "channel", "offer_id", "discount_pct",
                 "rep_id", "campaign_id", "propensity"]
WEB_EVENT_COLUMNS = ["account_id", "occurred_at", "event_type", "product_category"]
#: Optional accounts columns shown to people and never used as model features (contract v1.1).
DISPLAY_ACCOUNT_COLUMNS = ["name", "contact_name", "contact_phone", "contact_email", "crm_url"]

#: Time column of each table that has one (as-of filtering uses these).
TIME_COLUMNS = {"orders": "ordered_at", "touches": "touched_at", "web_events": "occurred_at"}


@dataclass(frozen=True)
class Dataset:
    """All tables of one data directory, validated and typed."""

    accounts: pd.DataFrame
    offers: pd.DataFrame
    orders: pd.DataFrame
    touches: pd.DataFrame
    web_events: pd.DataFrame
    reps: pd.DataFrame
    policy: Policy = field(default_factory=Policy)
    source: Path | None = None

    @property
    def extra_account_columns(self) -> list[str]:
        """The contract's "any other column" attributes of accounts (model features); the
        display-only columns (:data:`DISPLAY_ACCOUNT_COLUMNS`) are not among them."""
        return [c for c in self.accounts.columns
                if c not in ACCOUNT_COLUMNS and c not in DISPLAY_ACCOUNT_COLUMNS]

    @property
    def display_account_columns(self) -> list[str]:
        """The display-only account columns the data has (names, contacts, CRM link)."""
        return [c for c in DISPLAY_ACCOUNT_COLUMNS if c in self.accounts.columns]

    @property
    def categories(self) -> list[str]:
        """Product categories known from offers and orders, sorted."""
        cats = pd.concat([self.offers["product_category"], self.orders["product_category"]]).dropna()
        return sorted(pd.unique(cats.astype(str)).tolist())

    def category_margin_rates(self) -> dict[str, float]:
        """Margin rate per category: the mean margin_rate of its offers (all offers, active or not).

        Categories that no offer sells get the mean over all offers.
        """
        by_cat = self.offers.groupby("product_category")["margin_rate"].mean()
        overall = float(self.offers["margin_rate"].mean()) if len(self.offers) else 0.0
        return {c: float(by_cat.get(c, overall)) for c in self.categories}

    def before(self, as_of: pd.Timestamp) -> Dataset:
        """The same data restricted to rows strictly before ``as_of`` (as-of correctness).

        A table with no row at or after ``as_of`` is shared, not copied (tables are never modified
        in place), so restricting to the usual as-of time costs no memory.
        """
        as_of = pd.Timestamp(as_of)
        tables = {name: _rows_before(getattr(self, name), col, as_of) for name, col in TIME_COLUMNS.items()}
        return replace(self, **tables)

    def latest_time(self) -> pd.Timestamp | None:
        """The latest timestamp in any event table (None when all are empty)."""
        stamps = [getattr(self, t)[c].max() for t, c in TIME_COLUMNS.items() if len(getattr(self, t))]
        stamps = [s for s in stamps if pd.notna(s)]
        return max(stamps) if stamps else None

    def default_as_of(self) -> pd.Timestamp:
        """The as-of time when none is given: midnight after the latest event, so the whole last
        day is history (today's midnight, UTC, when the data has no events)."""
        latest = self.latest_time()
        if latest is None:
            return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
        return latest.normalize() + pd.Timedelta(days=1)


def restrict_accounts(dataset: Dataset, account_ids: pd.Series | pd.Index | list[str]) -> Dataset:
    """``dataset`` with only the accounts ``account_ids`` (in the accounts table's order) and the
    orders, touches and web events of those accounts; offers, reps and the policy stay whole."""
    keep = pd.Index(pd.unique(pd.Series(account_ids, dtype="str").dropna()))
    tables = {name: _rows_of(getattr(dataset, name), keep) for name in ("accounts", *TIME_COLUMNS)}
    return replace(dataset, **tables)


def _rows_of(table: pd.DataFrame, accounts: pd.Index) -> pd.DataFrame:
    """The rows of ``table`` whose ``account_id`` is in ``accounts``, renumbered from 0."""
    mask = table["account_id"].isin(accounts).to_numpy(dtype=bool, na_value=False)
    return table.loc[mask].reset_index(drop=True)


def _rows_before(table: pd.DataFrame, column: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``table`` whose ``column`` is before ``as_of``, renumbered from 0; ``table``
    itself when that is every row and it is numbered from 0 already."""
    keep = (table[column] < as_of).to_numpy(dtype=bool, na_value=False)
    if keep.all() and isinstance(table.index, pd.RangeIndex) and table.index.start == 0 and table.index.step == 1:
        return table
    return table.loc[keep].reset_index(drop=True)


def _to_contract_frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Turn normalized columns back into the contract's file form (lists as ``|`` strings)."""
    out = df.copy()
    if name == "offers":
        for col in ("channels", "discount_steps"):
            if col in out:
                out[col] = out[col].map(
                    lambda v: "|".join(_fmt_step(x) for x in v) if isinstance(v, (tuple, list)) else v
                )
    return out


def _fmt_step(x: object) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def write_dataset(dataset: Dataset, directory: str | Path, fmt: str = "csv") -> Path:
    """Write every table (and policy.yaml) of ``dataset`` into ``directory`` as CSV or Parquet.

    Empty optional tables (reps, web_events) are written too, with their header.
    """
    from features.policy import write_policy

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("accounts", "reps", "offers", "orders", "touches", "web_events"):
        frame = _to_contract_frame(name, getattr(dataset, name))
        target = directory / f"{name}.{fmt}"
        tmp = directory / f".{name}.{fmt}.tmp"
        if fmt == "csv":
            frame.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(target)
    write_policy(dataset.policy, directory / "policy.yaml")
    return directory


#: How far after the data's default as-of time an as-of time may lie: the longest history
#: window of the features (365 days). Later, every window is empty and the model scores
#: accounts it knows nothing recent about; that is a mistyped year, not a forecast.
MAX_DAYS_AFTER_DATA = 365
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
                       r"(?:Z|[+-]\d{2}(?::?\d{2})?)?")


def resolve_as_of(dataset: Dataset, as_of: str | pd.Timestamp | None, name: str = "--as-of") -> pd.Timestamp:
    """``as_of`` as a naive UTC timestamp, or the data's default (:meth:`Dataset.default_as_of`)
    when it is None or empty: the one as-of rule of every command and of the service. A given
    time must lie within the data's time range (:func:`check_as_of`)."""
    if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
        return dataset.default_as_of()
    return check_as_of(dataset, as_utc_timestamp(as_of, name), name)


def check_as_of(dataset: Dataset, as_of: pd.Timestamp, name: str = "--as-of") -> pd.Timestamp:
    """``as_of`` when it lies in the data's time range: after the first event (earlier, no
    history is left) and at most ``MAX_DAYS_AFTER_DATA`` days after the default as-of time
    (midnight after the last event). Data without events has no range to check."""
    times = [getattr(dataset, t)[c] for t, c in TIME_COLUMNS.items() if len(getattr(dataset, t))]
    firsts = [s.min() for s in times if pd.notna(s.min())]
    latest = dataset.latest_time()
    if not firsts or latest is None:
        return as_of
    first = min(firsts)
    limit = dataset.default_as_of() + pd.Timedelta(days=MAX_DAYS_AFTER_DATA)
    if first < as_of <= limit:
        return as_of
    side = "before" if as_of <= first else "too long after"
    raise InputError(f"{name} {as_of:%Y-%m-%d %H:%M:%S}: {side} the data's time range; its events "
                     f"run from {first:%Y-%m-%d %H:%M:%S} to {latest:%Y-%m-%d %H:%M:%S}, so expected "
                     f"a time after {first:%Y-%m-%d %H:%M:%S} and at most {MAX_DAYS_AFTER_DATA} days "
                     f"after the last day ({limit:%Y-%m-%d})")


def as_utc_timestamp(value: str | pd.Timestamp, name: str = "as_of") -> pd.Timestamp:
    """Parse an ISO 8601 date or time (``2025-07-01``, ``2025-07-01T10:15:00``, optionally with
    ``Z`` or a UTC offset) into a naive UTC timestamp; any other form, such as the day-first
    ``01.10.2026``, is an error rather than a guess."""
    expected = f"{name} {value!r}: expected an ISO 8601 date or time such as 2025-07-01 or 2025-07-01T10:15:00"
    if isinstance(value, str):
        if not _ISO_8601.fullmatch(value.strip()):
            raise InputError(expected)
        value = value.strip()
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(expected) from exc
    if pd.isna(ts):
        raise InputError(expected)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts
