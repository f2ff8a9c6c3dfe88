"""Tiny hand-made datasets with the normalized dtypes of ``features.dataset``.

Each builder takes a list of row dicts holding only the columns a test cares about; the rest
get the contract's defaults.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.dataset import (
    ACCOUNT_COLUMNS,
    OFFER_COLUMNS,
    ORDER_COLUMNS,
    REP_COLUMNS,
    TOUCH_COLUMNS,
    WEB_EVENT_COLUMNS,
    Dataset,
)
from features.policy import Policy

T0 = pd.Timestamp("2025-06-01")


def ts(value: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(value)


def _strings(values: list[Any]) -> pd.Series:
    return pd.Series([None if v is None or v is pd.NA or v != v else str(v) for v in values], dtype="str")


def _times(values: list[Any]) -> pd.Series:
    return pd.Series(pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")).astype("datetime64[us]")


def _frame(rows: list[dict[str, Any]], columns: list[str], defaults: dict[str, Any]) -> pd.DataFrame:
    extra = [c for r in rows for c in r if c not in columns]
    cols = columns + list(dict.fromkeys(extra))
    data = {c: [r.get(c, defaults.get(c)) for r in rows] for c in cols}
    return pd.DataFrame(data, columns=cols)


def accounts(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, ACCOUNT_COLUMNS, {"region": "north", "consent_email": True, "do_not_contact": False})
    for col in ("account_id", "region", "rep_id", "industry", "country"):
        df[col] = _strings(df[col].tolist())
    df["employees"] = pd.array(df["employees"].tolist(), dtype="Int64")
    for col in ("consent_email", "do_not_contact"):
        df[col] = df[col].astype(bool)
    for col in df.columns[len(ACCOUNT_COLUMNS):]:
        values = df[col].tolist()
        if not all(v is None or isinstance(v, (int, float)) for v in values):
            df[col] = _strings(values)
        else:
            df[col] = pd.Series(values, dtype="float64")
    return df


def offers(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, OFFER_COLUMNS, {"channels": ("email",), "discount_steps": (0.0,), "active": True,
                                      "margin_rate": 0.3})
    for col in ("offer_id", "product_category", "name"):
        df[col] = _strings(df[col].tolist())
    df["channels"] = [tuple(v) for v in df["channels"]]
    df["discount_steps"] = [tuple(sorted(float(x) for x in v)) for v in df["discount_steps"]]
    df["max_discount_pct"] = [max(s) if m is None or pd.isna(m) else float(m) for m, s in
                              zip(df["max_discount_pct"], df["discount_steps"], strict=True)]
    df["margin_rate"] = df["margin_rate"].astype(np.float64)
    df["active"] = df["active"].astype(bool)
    return df


def orders(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, ORDER_COLUMNS, {"channel": "offline", "net_amount": 100.0, "discount_pct": 0.0})
    if rows and all("order_id" not in r for r in rows):
        df["order_id"] = [f"o{i}" for i in range(len(rows))]
    for col in ("order_id", "account_id", "channel", "product_category"):
        df[col] = _strings(df[col].tolist())
    df["ordered_at"] = _times(df["ordered_at"].tolist())
    df["net_amount"] = df["net_amount"].astype(np.float64)
    df["discount_pct"] = df["discount_pct"].astype(np.float64)
    return df


def touches(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, TOUCH_COLUMNS, {"discount_pct": 0.0})
    if rows and all("touch_id" not in r for r in rows):
        df["touch_id"] = [f"t{i}" for i in range(len(rows))]
    for col in ("touch_id", "account_id", "channel", "offer_id", "rep_id", "campaign_id"):
        df[col] = _strings(df[col].tolist())
    df["touched_at"] = _times(df["touched_at"].tolist())
    df["discount_pct"] = df["discount_pct"].astype(np.float64)
    df["propensity"] = pd.Series(df["propensity"].tolist(), dtype="float64")
    return df


def web_events(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, WEB_EVENT_COLUMNS, {})
    for col in ("account_id", "event_type", "product_category"):
        df[col] = _strings(df[col].tolist())
    df["occurred_at"] = _times(df["occurred_at"].tolist())
    return df


def reps(rows: list[dict[str, Any]]) -> pd.DataFrame:
    df = _frame(rows, REP_COLUMNS, {"weekly_capacity": 25})
    for col in ("rep_id", "name", "region"):
        df[col] = _strings(df[col].tolist())
    df["weekly_capacity"] = df["weekly_capacity"].astype(np.int64)
    return df


def make_dataset(*, accounts_rows: list[dict[str, Any]] | None = None,
                 offers_rows: list[dict[str, Any]] | None = None,
                 orders_rows: list[dict[str, Any]] | None = None,
                 touches_rows: list[dict[str, Any]] | None = None,
                 web_rows: list[dict[str, Any]] | None = None,
                 policy: Policy | None = None) -> Dataset:
    """A Dataset from row dicts; by default two accounts (a1, a2) and one e-mail offer."""
    if accounts_rows is None:
        accounts_rows = [{"account_id": "a1"}, {"account_id": "a2"}]
    if offers_rows is None:
        offers_rows = [{"offer_id": "f1", "product_category": "Werkzeuge"}]
    return Dataset(
        accounts=accounts(accounts_rows),
        offers=offers(offers_rows),
        orders=orders(orders_rows or []),
        touches=touches(touches_rows or []),
        web_events=web_events(web_rows or []),
        reps=reps([]),
        policy=policy or Policy(),
    )


def with_rows(dataset: Dataset, *, orders_rows: list[dict[str, Any]] | None = None,
              touches_rows: list[dict[str, Any]] | None = None,
              web_rows: list[dict[str, Any]] | None = None) -> Dataset:
    """``dataset`` with extra rows appended to its event tables."""
    from dataclasses import replace

    def add(frame: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
        return pd.concat([frame, extra.astype(frame.dtypes.to_dict())], ignore_index=True) if len(extra) else frame

    return replace(
        dataset,
        orders=add(dataset.orders, orders(orders_rows or [])),
        touches=add(dataset.touches, touches(touches_rows or [])),
        web_events=add(dataset.web_events, web_events(web_rows or [])),
    )
