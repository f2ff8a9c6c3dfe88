"""Restricting a data set in time or to some accounts: shared tables when nothing is dropped."""

from __future__ import annotations

import pandas as pd
from factories import T0, make_dataset

from features.dataset import restrict_accounts

DAY = pd.Timedelta(days=1)


def _dataset():
    return make_dataset(
        orders_rows=[{"order_id": "o1", "account_id": "a1", "ordered_at": T0 - 3 * DAY},
                     {"order_id": "o2", "account_id": "a2", "ordered_at": T0 - DAY}],
        touches_rows=[{"touch_id": "t1", "account_id": "a1", "touched_at": T0 - 2 * DAY, "channel": "email"}],
        web_rows=[{"account_id": "a2", "occurred_at": T0 - DAY, "event_type": "visit"}])


def test_before_shares_tables_that_lose_no_row() -> None:
    ds = _dataset()
    later = ds.before(T0)
    assert later.orders is ds.orders and later.touches is ds.touches and later.web_events is ds.web_events


def test_before_drops_rows_at_or_after_as_of_and_renumbers() -> None:
    ds = _dataset()
    earlier = ds.before(T0 - DAY)
    assert earlier.orders["order_id"].tolist() == ["o1"] and earlier.web_events.empty
    assert earlier.touches is ds.touches
    shifted = ds.orders.set_axis([5, 6])
    moved = ds.__class__(**{**ds.__dict__, "orders": shifted}).before(T0)
    assert moved.orders.index.tolist() == [0, 1] and moved.orders is not shifted


def test_restrict_accounts_keeps_those_accounts_events_only() -> None:
    ds = _dataset()
    only = restrict_accounts(ds, ["a2"])
    assert only.orders["order_id"].tolist() == ["o2"] and only.touches.empty and len(only.web_events) == 1
    assert only.orders.index.tolist() == [0]
