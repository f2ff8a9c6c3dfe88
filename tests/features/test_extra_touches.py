"""Touches reported outside the export join the touches table only where the export has none of
the same account and channel that day (the export wins), and only for known accounts, channels
and offers before the given time."""

from __future__ import annotations

import pandas as pd
import pytest
from factories import T0, make_dataset

from features.extra_touches import add_touches
from features.policy import ChannelRule, Policy

OFFERS = [{"offer_id": "f1", "product_category": "Schrauben", "channels": ("phone", "visit"), "discount_steps": (0,)}]


def _dataset():
    policy = Policy(channels={"phone": ChannelRule("phone", 12.0, "rep", False, 2),
                              "visit": ChannelRule("visit", 90.0, "rep", False, 1)})
    touches = [{"touch_id": "crm-1", "account_id": "a1", "channel": "phone", "offer_id": "f1",
                "touched_at": T0 - pd.Timedelta(days=5, hours=-9)}]
    return make_dataset(accounts_rows=[{"account_id": "a1"}, {"account_id": "a2"}], offers_rows=OFFERS,
                        touches_rows=touches, policy=policy)


def _reported(rows: list[tuple[str, str, str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame([{"touch_id": tid, "account_id": acc, "channel": ch, "offer_id": "f1",
                          "touched_at": at, "discount_pct": 5.0} for tid, acc, ch, at in rows])


def test_the_export_wins_on_the_same_account_channel_and_day() -> None:
    ds = _dataset()
    day = (T0 - pd.Timedelta(days=5)).normalize()
    merged = add_touches(ds, _reported([
        ("feedback-1", "a1", "phone", day + pd.Timedelta(hours=16)),   # same day as the export's call
        ("feedback-2", "a1", "phone", day - pd.Timedelta(hours=2)),    # the day before: new
        ("feedback-3", "a1", "visit", day + pd.Timedelta(hours=11)),   # another channel: new
        ("feedback-4", "a1", "visit", day + pd.Timedelta(hours=15)),   # same day as feedback-3: once
        ("feedback-5", "zz", "phone", day),                            # unknown account
        ("feedback-6", "a2", "fax", day),                              # channel outside the policy
        ("feedback-7", "a2", "phone", T0),                             # at the as-of time: later
    ]), before=T0)
    assert (merged.given, merged.added, merged.duplicates, merged.unknown, merged.later) == (7, 2, 2, 2, 1)
    touches = merged.dataset.touches
    assert sorted(touches["touch_id"]) == ["crm-1", "feedback-2", "feedback-3"]
    added = touches.loc[touches["touch_id"] == "feedback-3"].iloc[0]
    assert (added["discount_pct"], pd.isna(added["propensity"]), added["offer_id"]) == (5.0, True, "f1")
    assert touches["touched_at"].dtype == ds.touches["touched_at"].dtype
    assert len(ds.touches) == 1  # the data set given is not changed


def test_counts_are_named_and_nothing_added_keeps_the_table() -> None:
    ds = _dataset()
    merged = add_touches(ds, _reported([]).reindex(columns=["touch_id", "account_id", "touched_at", "channel"]))
    assert merged.dataset.touches is ds.touches
    assert merged.counts("feedback_touches") == {"feedback_touches_given": 0, "feedback_touches_added": 0,
                                                 "feedback_touches_duplicates": 0, "feedback_touches_unknown": 0,
                                                 "feedback_touches_later": 0}


def test_reused_touch_ids_and_missing_columns_are_refused() -> None:
    ds = _dataset()
    with pytest.raises(ValueError, match="crm-1"):
        add_touches(ds, _reported([("crm-1", "a2", "visit", T0 - pd.Timedelta(days=1))]))
    with pytest.raises(ValueError, match="channel"):
        add_touches(ds, pd.DataFrame({"touch_id": ["x"], "account_id": ["a1"], "touched_at": [T0]}))
