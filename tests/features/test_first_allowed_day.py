"""The first day the contact caps and the quiet days allow a channel (``ChannelRule.free_from``,
``Policy.quiet_until``) agrees with eligibility (``contact_state_on`` + ``eligible_mask``): the
action is eligible on that day and not the day before, with the contacts known at as-of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from factories import T0, make_dataset

from features.actions import action_space, contact_state_on, eligible_mask, latest_contacts
from features.policy import ChannelRule, Policy

DAY = pd.Timedelta(days=1)
OFFERS = [{"offer_id": "f1", "product_category": "Schrauben", "channels": ("phone", "visit"),
           "discount_steps": (0,)}]


def _dataset(touches: list[dict], orders: list[dict] | None = None, quiet: int = 0):
    policy = Policy(quiet_days_after_order=quiet, channels={
        "phone": ChannelRule("phone", 12.0, "rep", False, 2), "visit": ChannelRule("visit", 90.0, "rep", False, 1)})
    return make_dataset(accounts_rows=[{"account_id": "a1", "rep_id": "r1"}], offers_rows=OFFERS,
                        touches_rows=touches, orders_rows=orders, policy=policy)


def _eligible_on(ds, day: pd.Timestamp, channel: str) -> bool:
    actions = action_space(ds)
    mask = eligible_mask(contact_state_on(ds, T0, day), actions, ds.policy)
    return bool(mask[0, (actions["channel"] == channel).to_numpy()].all())


def _free_day(ds, channel: str) -> pd.Timestamp | None:
    latest = latest_contacts(ds.before(T0), T0)[channel][0]
    capped = ds.policy.channels[channel].free_from(latest, T0)
    last = ds.orders.loc[ds.orders["ordered_at"] < T0, "ordered_at"].max() if len(ds.orders) else None
    quiet = ds.policy.quiet_until(last, T0)
    return None if capped is None else max(capped, quiet)


@pytest.mark.parametrize("seed", range(40))
def test_first_allowed_day_is_the_first_day_eligibility_allows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    touches = [{"account_id": "a1", "channel": str(rng.choice(["phone", "visit"])),
                "touched_at": T0 - pd.Timedelta(hours=float(rng.uniform(0, 40 * 24)))}
               for _ in range(int(rng.integers(0, 5)))]
    orders = [{"account_id": "a1", "product_category": "Schrauben",
               "ordered_at": T0 - pd.Timedelta(hours=float(rng.uniform(0, 10 * 24)))}] if rng.random() < 0.5 else None
    ds = _dataset(touches, orders, quiet=int(rng.integers(0, 6)))
    for channel in ("phone", "visit"):
        free = _free_day(ds, channel)
        assert free is not None
        assert _eligible_on(ds, free, channel), (channel, free)
        if free > T0:
            assert not _eligible_on(ds, free - DAY, channel), (channel, free)
            assert free == free.normalize()
        else:
            assert free == T0


def test_cap_frees_the_day_after_the_oldest_counted_contact_leaves_the_window() -> None:
    touches = [{"account_id": "a1", "channel": "phone", "touched_at": T0 - pd.Timedelta(days=3, hours=2)},
               {"account_id": "a1", "channel": "phone", "touched_at": T0 - pd.Timedelta(days=10, hours=5)},
               {"account_id": "a1", "channel": "phone", "touched_at": T0 - pd.Timedelta(days=40)}]
    ds = _dataset(touches)
    # Cap 2: the 2nd latest contact (10 days and 5 hours ago) leaves the 30 days 20 days from now.
    assert _free_day(ds, "phone") == (T0 - pd.Timedelta(days=10, hours=5) + pd.Timedelta(days=30)).normalize() + DAY
    assert _free_day(ds, "visit") == T0


def test_contacts_reported_after_as_of_count_from_their_own_time() -> None:
    rule = ChannelRule("visit", 90.0, "rep", False, 1)
    reported = np.array([T0 + pd.Timedelta(days=2, hours=9)], dtype="datetime64[ns]")
    assert rule.free_from(reported, T0) == (T0 + pd.Timedelta(days=32)).normalize() + DAY
    assert rule.free_from(np.array([], dtype="datetime64[ns]"), T0) == T0
    assert ChannelRule("visit", 90.0, "rep", False, 0).free_from(reported, T0) is None
    assert ChannelRule("visit", 90.0, "rep", False, None).free_from(reported, T0) == T0


def test_quiet_days_end_the_day_after_the_last_order_plus_quiet_days() -> None:
    policy = Policy(quiet_days_after_order=3)
    last = T0 - pd.Timedelta(days=1, hours=6)
    assert policy.quiet_until(last, T0) == (last + pd.Timedelta(days=3)).normalize() + DAY
    assert policy.quiet_until(T0 - pd.Timedelta(days=4), T0) == T0
    assert policy.quiet_until(None, T0) == T0
    assert Policy().quiet_until(last, T0) == T0
