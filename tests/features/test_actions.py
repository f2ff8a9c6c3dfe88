"""Action space, contact state and every eligibility rule on its own."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from factories import T0, make_dataset, with_rows

from features.actions import action_space, contact_state, eligible_mask, explain_ineligible
from features.policy import ChannelRule, Policy

US = pd.Timedelta(microseconds=1)


def _policy(**kw: object) -> Policy:
    channels = {
        "email": ChannelRule("email", 0.5, "marketing", True, 2),
        "phone": ChannelRule("phone", 12.0, "rep", False, 2),
        "visit": ChannelRule("visit", 90.0, "rep", False, None),
    }
    return Policy(channels=channels, **kw)  # type: ignore[arg-type]


OFFERS = [
    {"offer_id": "f2", "product_category": "Schrauben", "channels": ("phone", "email"),
     "discount_steps": (0, 5, 10, 15), "max_discount_pct": 12, "margin_rate": 0.4},
    {"offer_id": "f1", "product_category": "Werkzeuge", "channels": ("visit", "fax"), "discount_steps": (0,)},
    {"offer_id": "f3", "product_category": "Werkzeuge", "channels": ("email",), "active": False},
]


def _dataset(touches: list[dict] | None = None, orders: list[dict] | None = None, **policy: object):
    return make_dataset(
        accounts_rows=[{"account_id": "a1", "rep_id": "r1"}, {"account_id": "a2", "consent_email": False},
                       {"account_id": "a3", "do_not_contact": True}],
        offers_rows=OFFERS, touches_rows=touches, orders_rows=orders, policy=_policy(**policy))


# -- action space -------------------------------------------------------------------------------

def test_action_space_rows_columns_and_order() -> None:
    actions = action_space(_dataset())
    assert actions[["offer_id", "channel", "discount_pct"]].values.tolist() == [
        ["f1", "visit", 0.0],
        ["f2", "email", 0.0], ["f2", "email", 5.0], ["f2", "email", 10.0],
        ["f2", "phone", 0.0], ["f2", "phone", 5.0], ["f2", "phone", 10.0],
    ]
    assert actions["action_id"].tolist() == list(range(7))
    first = actions.iloc[1]
    assert (first["category"], first["margin_rate"], first["cost"], first["executed_by"],
            bool(first["requires_consent"])) == ("Schrauben", 0.4, 0.5, "marketing", True)
    assert actions["discount_pct"].dtype == np.float64


def test_action_space_skips_inactive_offers_and_channels_outside_the_policy() -> None:
    actions = action_space(_dataset())
    assert "f3" not in set(actions["offer_id"])
    assert "fax" not in set(actions["channel"])
    assert "none" not in set(actions["channel"])


def test_guardrail_between_steps_keeps_only_steps_up_to_the_limit() -> None:
    actions = action_space(_dataset())
    assert sorted(set(actions.loc[actions["offer_id"] == "f2", "discount_pct"])) == [0.0, 5.0, 10.0]


def test_guardrail_exactly_on_a_step_keeps_that_step() -> None:
    ds = make_dataset(offers_rows=[{"offer_id": "f", "product_category": "c", "discount_steps": (0, 5, 10),
                                    "max_discount_pct": 10}])
    assert action_space(ds)["discount_pct"].tolist() == [0.0, 5.0, 10.0]


def test_missing_guardrail_defaults_to_the_largest_step() -> None:
    ds = make_dataset(offers_rows=[{"offer_id": "f", "product_category": "c", "discount_steps": (0, 5)}])
    ds = replace(ds, offers=ds.offers.assign(max_discount_pct=np.nan))
    actions = action_space(ds)
    assert actions["discount_pct"].tolist() == [0.0, 5.0]
    assert actions["max_discount_pct"].tolist() == [5.0, 5.0]


def test_empty_catalog_gives_an_empty_action_space() -> None:
    ds = make_dataset(offers_rows=[{"offer_id": "f", "product_category": "c", "active": False}])
    actions = action_space(ds)
    assert len(actions) == 0 and "action_id" in actions


# -- contact state ------------------------------------------------------------------------------

def test_touch_exactly_30_days_before_counts_and_touch_at_as_of_does_not() -> None:
    ds = _dataset(touches=[
        {"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=30), "channel": "phone"},
        {"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=30) - US, "channel": "phone"},
        {"account_id": "a1", "touched_at": T0 - US, "channel": "phone"},
        {"account_id": "a1", "touched_at": T0, "channel": "phone"},
        {"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=1), "channel": "none"},
        {"account_id": "a2", "touched_at": T0 - pd.Timedelta(days=2), "channel": "email"},
    ])
    state = contact_state(ds, T0)
    assert state.index.tolist() == ["a1", "a2", "a3"]
    assert state["touches_30d__phone"].tolist() == [2, 0, 0]
    assert state["touches_30d__email"].tolist() == [0, 1, 0]
    assert state["touches_30d__visit"].tolist() == [0, 0, 0]
    assert "touches_30d__none" not in state
    assert state["rep_id"].tolist()[0] == "r1"


def test_days_since_last_order_and_quiet_period_edges() -> None:
    ds = _dataset(orders=[
        {"account_id": "a1", "ordered_at": T0 - pd.Timedelta(days=3), "product_category": "c"},
        {"account_id": "a2", "ordered_at": T0 - pd.Timedelta(days=3) - US, "product_category": "c"},
        {"account_id": "a3", "ordered_at": T0, "product_category": "c"},
    ], quiet_days_after_order=3)
    state = contact_state(ds, T0)
    assert state["in_quiet_period"].tolist() == [True, False, False]
    assert state["days_since_last_order"].iloc[0] == 3.0
    assert np.isnan(state["days_since_last_order"].iloc[2])  # the order at as_of is not seen


def test_quiet_period_is_off_when_quiet_days_are_zero() -> None:
    ds = _dataset(orders=[{"account_id": "a1", "ordered_at": T0 - US, "product_category": "c"}])
    assert not contact_state(ds, T0)["in_quiet_period"].any()


# -- eligibility: each rule on its own ---------------------------------------------------------

def _mask(ds, **kw) -> pd.DataFrame:
    actions = action_space(ds)
    mask = eligible_mask(contact_state(ds, T0), actions, ds.policy, **kw)
    labels = actions["offer_id"] + "/" + actions["channel"] + "/" + actions["discount_pct"].astype(str)
    return pd.DataFrame(mask, index=["a1", "a2", "a3"], columns=labels)


def test_everything_eligible_for_a_consenting_untouched_account() -> None:
    assert _mask(_dataset()).loc["a1"].all()


def test_do_not_contact_blocks_every_action() -> None:
    assert not _mask(_dataset()).loc["a3"].any()


def test_consent_is_needed_only_for_channels_that_require_it() -> None:
    row = _mask(_dataset()).loc["a2"]
    assert not row.filter(like="/email/").any()
    assert row.filter(like="/phone/").all() and row.filter(like="/visit/").all()


def test_contact_cap_blocks_at_the_limit_and_not_below() -> None:
    one = [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=5), "channel": "phone"}]
    two = one + [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=30), "channel": "phone"}]
    assert _mask(_dataset(touches=one)).loc["a1"].filter(like="/phone/").all()
    capped = _mask(_dataset(touches=two)).loc["a1"]
    assert not capped.filter(like="/phone/").any()
    assert capped.filter(like="/email/").all()  # caps are per channel


def test_touch_just_outside_the_30_days_does_not_count_towards_the_cap() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=5), "channel": "phone"},
               {"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=30) - US, "channel": "phone"}]
    assert _mask(_dataset(touches=touches)).loc["a1"].filter(like="/phone/").all()


def test_channel_without_cap_is_never_capped() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=d), "channel": "visit"} for d in range(1, 9)]
    assert _mask(_dataset(touches=touches)).loc["a1"].filter(like="/visit/").all()


def test_quiet_period_blocks_every_action() -> None:
    ds = _dataset(orders=[{"account_id": "a1", "ordered_at": T0 - pd.Timedelta(days=1), "product_category": "c"}],
                  quiet_days_after_order=2)
    assert not _mask(ds).loc["a1"].any()


def test_defensive_recheck_of_activity_guardrail_and_policy() -> None:
    ds = _dataset()
    actions = action_space(ds)
    tampered = actions.copy()
    tampered.loc[0, "active"] = False
    tampered.loc[1, "discount_pct"] = 15.0  # above f2's max of 12
    tampered.loc[2, "channel"] = "fax"      # not in the policy
    mask = eligible_mask(contact_state(ds, T0), tampered, ds.policy)
    assert not mask[:, :3].any()
    assert mask[0, 3:].all()


def test_actions_without_guardrail_columns_are_still_checked_against_account_rules() -> None:
    ds = _dataset()
    actions = action_space(ds)[["channel", "offer_id", "discount_pct"]]
    mask = eligible_mask(contact_state(ds, T0), actions, ds.policy)
    assert mask[0].all() and not mask[2].any()


def test_none_rows_are_always_eligible() -> None:
    ds = _dataset()
    actions = pd.DataFrame({"channel": ["none"], "offer_id": [None], "discount_pct": [0.0]})
    assert eligible_mask(contact_state(ds, T0), actions, ds.policy).all()


def test_blocked_pairs_are_excluded_at_every_discount() -> None:
    blocked = pd.DataFrame({"account_id": ["a1", "zz"], "channel": ["phone", "phone"], "offer_id": ["f2", "f2"]})
    row = _mask(_dataset(), blocked=blocked).loc["a1"]
    assert not row.filter(like="f2/phone/").any()
    assert row.drop(row.filter(like="f2/phone/").index).all()


def test_missing_state_column_is_reported() -> None:
    ds = _dataset()
    state = contact_state(ds, T0).drop(columns="touches_30d__phone")
    with pytest.raises(ValueError, match="state lacks columns \\['touches_30d__phone'\\]"):
        eligible_mask(state, action_space(ds), ds.policy)


def test_as_of_property_for_state_and_mask() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=3), "channel": "phone"}]
    orders = [{"account_id": "a2", "ordered_at": T0 - pd.Timedelta(days=1), "product_category": "c"}]
    ds = _dataset(touches=touches, orders=orders, quiet_days_after_order=2)
    future = with_rows(ds, touches_rows=[{"touch_id": f"x{i}", "account_id": a, "touched_at": T0, "channel": c}
                                         for i, (a, c) in enumerate([("a1", "phone"), ("a2", "email")])],
                       orders_rows=[{"order_id": "x", "account_id": "a1", "ordered_at": T0, "product_category": "c"}])
    pd.testing.assert_frame_equal(contact_state(ds, T0), contact_state(future, T0))
    np.testing.assert_array_equal(_mask(ds).to_numpy(), _mask(future).to_numpy())


# -- plain-language reasons ---------------------------------------------------------------------

def test_explain_ineligible_names_every_broken_rule() -> None:
    policy = _policy(quiet_days_after_order=7)
    state = pd.Series({"consent_email": False, "do_not_contact": True, "touches_30d__email": 2,
                       "in_quiet_period": True, "days_since_last_order": 3.4})
    action = {"channel": "email", "offer_id": "f2", "discount_pct": 15.0, "max_discount_pct": 12.0, "active": False}
    assert explain_ineligible(state, action, policy) == [
        "offer f2 is not active",
        "discount of 15% is above the offer's limit of 12%",
        "account is marked do-not-contact",
        "no e-mail consent",
        "email contacted 2 times in the last 30 days (limit 2)",
        "ordered 3 days ago, inside the quiet period of 7 days after an order",
    ]


def test_explain_ineligible_is_empty_for_an_eligible_action_and_names_unknown_channels() -> None:
    ds = _dataset()
    state = contact_state(ds, T0)
    actions = action_space(ds)
    assert all(explain_ineligible(state.loc[["a1"]], row, ds.policy) == [] for _, row in actions.iterrows())
    assert explain_ineligible(state.loc["a1"], {"channel": "fax", "offer_id": "f1", "discount_pct": 0},
                              ds.policy) == ["channel fax is not in the contact policy"]
    phone = {"channel": "phone", "offer_id": "f2", "discount_pct": 0}
    one = state.loc["a1"].copy()
    one["touches_30d__phone"] = 1
    assert explain_ineligible(one, phone, _policy()) == []


def test_explain_ineligible_agrees_with_the_mask() -> None:
    touches = [{"account_id": "a1", "touched_at": T0 - pd.Timedelta(days=d), "channel": "phone"} for d in (1, 2)]
    ds = _dataset(touches=touches)
    state, actions = contact_state(ds, T0), action_space(ds)
    mask = eligible_mask(state, actions, ds.policy)
    for i, account in enumerate(state.index):
        for j, (_, action) in enumerate(actions.iterrows()):
            assert (explain_ineligible(state.loc[account], action, ds.policy) == []) == mask[i, j]
