"""Account summaries and ownership, indexed once at start: owner and region at once (every
request's access check needs them), recent orders and touches in the background (only the account
summary needs them; :meth:`AccountDirectory.start_history`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.dataset import Dataset
from serving.deferred import Deferred

RECENT_DAYS = 90
RECENT_ROWS = 10


def none_if_na(values: np.ndarray | pd.Series) -> np.ndarray:
    """An object array of ``values`` with every missing value as None."""
    out = np.asarray(values, dtype=object).copy()
    out[pd.isna(out)] = None
    return out


def shared_strings(values: np.ndarray | pd.Series) -> np.ndarray:
    """An object array of ``values`` in which equal values are one object (missing ones as given).

    Text read from a file (or taken out of an Arrow-backed column) is a new object per row even
    where thousands of rows hold the same channel, offer or reason sentence; held for the life of
    a snapshot, the copies cost tens of MB."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # Arrow-backed text: without a copy
    present = codes >= 0
    out = np.empty(len(codes), dtype=object)
    out[present] = np.asarray(uniques, dtype=object)[codes[present]]
    if not present.all():
        out[~present] = np.asarray(values, dtype=object)[~present]
    return out


class AccountDirectory:
    """Who owns which account, and each account's recent history as of the serving time."""

    def __init__(self, dataset: Dataset, as_of: pd.Timestamp, accounts: pd.Index) -> None:
        self.as_of = pd.Timestamp(as_of)
        data = dataset.before(self.as_of)
        acc = data.accounts.assign(account_id=data.accounts["account_id"].astype(str)) \
            .set_index("account_id").reindex(accounts)
        self.accounts = accounts
        self._positions = {a: i for i, a in enumerate(accounts.to_numpy(dtype=object).tolist())}
        self.region = none_if_na(acc["region"].to_numpy(dtype=object))
        self.rep_id = none_if_na(acc["rep_id"].to_numpy(dtype=object))
        self._profile = acc.drop(columns=["region", "rep_id"])
        reps = data.reps.assign(rep_id=data.reps["rep_id"].astype(str)).set_index("rep_id")
        self.rep_names = reps["name"].dropna().astype(str).to_dict() if "name" in reps else {}
        self.rep_regions = reps["region"].dropna().astype(str).to_dict() if "region" in reps else {}
        self.rep_capacity = reps["weekly_capacity"].dropna().astype(int).to_dict() \
            if "weekly_capacity" in reps else {}
        owned = pd.Series(np.arange(len(accounts)), index=pd.Index(self.rep_id, dtype=object))
        owned = owned[pd.notna(owned.index)]
        self._by_rep = {str(rep): grp.to_numpy() for rep, grp in owned.groupby(level=0)}
        self._history: Deferred[_History] = Deferred(lambda: self._build_history(data), name="account histories")

    def start_history(self) -> AccountDirectory:
        """Index the accounts' recent orders and touches in a background thread (otherwise the
        first account summary does it)."""
        self._history.start()
        return self

    def history_ready(self) -> None:
        """Index the recent orders and touches now (in this thread) unless already done."""
        self._history.get()

    def _build_history(self, data: Dataset) -> _History:
        orders = self._recent(data.orders, "ordered_at",
                              ["order_id", "ordered_at", "channel", "product_category", "net_amount", "discount_pct"])
        touches = self._recent(data.touches, "touched_at",
                               ["touch_id", "touched_at", "channel", "offer_id", "discount_pct", "rep_id"])
        return _History(orders=orders, touches=touches, totals=self._order_totals(data.orders))

    def _recent(self, table: pd.DataFrame, time_col: str, columns: list[str]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        """The last ``RECENT_ROWS`` rows per account, newest first, with per-account row ranges."""
        pos = self.accounts.get_indexer(table["account_id"].astype(str))
        frame = table.loc[pos >= 0, columns].assign(_pos=pos[pos >= 0])
        frame = frame.sort_values(["_pos", time_col], ascending=[True, False], kind="mergesort")
        frame = frame.loc[frame.groupby("_pos").cumcount() < RECENT_ROWS].reset_index(drop=True)
        positions = frame["_pos"].to_numpy()
        n = len(self.accounts)
        start = np.searchsorted(positions, np.arange(n), side="left")
        end = np.searchsorted(positions, np.arange(n), side="right")
        return frame.drop(columns="_pos"), start, end

    def _order_totals(self, orders: pd.DataFrame) -> pd.DataFrame:
        since = self.as_of - pd.Timedelta(days=RECENT_DAYS)
        recent = orders.loc[orders["ordered_at"] >= since]
        grouped = recent.groupby([recent["account_id"].astype(str), "channel"])
        totals = pd.DataFrame({"orders": grouped["order_id"].nunique(), "revenue": grouped["net_amount"].sum()})
        last = orders.groupby(orders["account_id"].astype(str))["ordered_at"].max()
        wide = totals.unstack("channel", fill_value=0)
        out = pd.DataFrame(index=self.accounts)
        for channel in ("online", "offline"):
            for metric in ("orders", "revenue"):
                col = (metric, channel)
                out[f"{channel}_{metric}"] = wide[col].reindex(self.accounts, fill_value=0).to_numpy() \
                    if col in wide.columns else 0
        out["last_order_at"] = last.reindex(self.accounts).to_numpy()
        return out

    def attribute(self, name: str, positions: np.ndarray) -> np.ndarray | None:
        """The accounts' values of the accounts-table column ``name`` at ``positions``, as text
        ("" when missing); None when the accounts table has no such column."""
        if name not in self._profile.columns:
            return None
        values = self._profile[name].iloc[np.asarray(positions, dtype=np.int64)]
        return values.astype("string").fillna("").to_numpy(dtype=object)

    def position(self, account_id: str) -> int:
        """Position of ``account_id``, -1 when unknown."""
        return self._positions.get(account_id, -1)

    def rep_accounts(self, rep_id: str) -> np.ndarray:
        """Positions of the accounts owned by ``rep_id`` (empty for an unknown rep)."""
        return self._by_rep.get(rep_id, np.zeros(0, dtype=np.int64))

    def rep_region(self, rep_id: str) -> str | None:
        """The rep's region: from the reps table, else the region most of the rep's accounts are in."""
        if rep_id in self.rep_regions:
            return self.rep_regions[rep_id]
        regions = pd.Series(self.region[self.rep_accounts(rep_id)]).dropna()
        return str(regions.mode().iloc[0]) if len(regions) else None

    def summary(self, pos: int) -> dict[str, Any]:
        """Owner, region, profile, 90-day orders online/offline and recent orders and touches."""
        history = self._history.get()
        profile = {k: _plain(v) for k, v in self._profile.iloc[pos].items()}
        totals = history.totals.iloc[pos]
        online, offline = float(totals["online_revenue"]), float(totals["offline_revenue"])
        rep = self.rep_id[pos]
        return {
            "account_id": str(self.accounts[pos]),
            "region": self.region[pos],
            "rep_id": rep,
            "rep_name": self.rep_names.get(rep) if rep else None,
            "industry": profile.pop("industry", None),
            "employees": profile.pop("employees", None),
            "country": profile.pop("country", None),
            "consent_email": bool(profile.pop("consent_email", False) or False),
            "do_not_contact": bool(profile.pop("do_not_contact", False) or False),
            "attributes": profile,
            "as_of": self.as_of.to_pydatetime(),
            "last_order_at": _plain(totals["last_order_at"]),
            "orders_90d": {
                "online": {"orders": int(totals["online_orders"]), "revenue": online},
                "offline": {"orders": int(totals["offline_orders"]), "revenue": offline},
                "online_share": online / (online + offline) if online + offline > 0 else None,
            },
            "recent_orders": self._rows(history.orders, pos),
            "recent_touches": self._rows(history.touches, pos),
        }

    @staticmethod
    def _rows(recent: tuple[pd.DataFrame, np.ndarray, np.ndarray], pos: int) -> list[dict[str, Any]]:
        frame, start, end = recent
        part = frame.iloc[start[pos]:end[pos]]
        return [{k: _plain(v) for k, v in row.items()} for row in part.to_dict("records")]


@dataclass(frozen=True)
class _History:
    """Each account's last orders and touches (frame, start and end row per account) and its
    90-day order totals per channel."""

    orders: tuple[pd.DataFrame, np.ndarray, np.ndarray]
    touches: tuple[pd.DataFrame, np.ndarray, np.ndarray]
    totals: pd.DataFrame


def _plain(value: Any) -> Any:
    """JSON-friendly scalar: NA -> None, NumPy scalars -> Python, Timestamps -> datetime."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return value
