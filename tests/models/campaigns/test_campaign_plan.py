"""A plan from the real pipeline: only eligible actions, one per account, limits and holdout share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.actions import action_space, contact_state, eligible_mask
from models.campaigns.candidates import candidates_from_recommendations
from models.campaigns.plan import MEMBER_COLUMNS, limits_from_dataset, plan_campaign


@pytest.fixture(scope="module")
def candidates(small_recommendations, small_dataset):
    return candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy)


def test_every_member_action_is_eligible_and_accounts_are_unique(candidates, small_dataset, as_of) -> None:
    limits = limits_from_dataset(small_dataset, total_budget=600.0, max_accounts=250)
    plan = plan_campaign("c1", candidates, limits, holdout_share=0.1, seed=0)
    members = plan.members
    assert list(members.columns) == MEMBER_COLUMNS
    assert len(members) > 50
    assert not members["account_id"].duplicated().any()
    assert not members["member_id"].duplicated().any()
    data = small_dataset.before(as_of)
    actions = action_space(data)
    state = contact_state(data, as_of)
    mask = eligible_mask(state, actions, data.policy)
    row = state.index.get_indexer(members["account_id"])
    key = actions.set_index(["channel", "offer_id", "discount_pct"])["action_id"]
    col = key.reindex(pd.MultiIndex.from_frame(members[["channel", "offer_id", "discount_pct"]])).to_numpy()
    assert (row >= 0).all() and not np.isnan(col.astype(float)).any()
    assert mask[row, col.astype(np.int64)].all()
    assert (members["expected_incremental_margin"] > 0).all()
    contacted = plan.contacted
    assert contacted["cost"].sum() <= 600.0 + 1e-9
    assert len(members) <= 250
    reps = small_dataset.reps.set_index("rep_id")["weekly_capacity"]
    per_rep = contacted.loc[contacted["executed_by"] == "rep"].groupby("rep_id").size()
    assert (per_rep <= reps.reindex(per_rep.index)).all()
    assert abs(members["holdout"].mean() - 0.1) <= 0.01


def test_dnc_and_consent_accounts_never_get_blocked_channels(candidates, small_dataset) -> None:
    plan = plan_campaign("c2", candidates, limits_from_dataset(small_dataset), holdout_share=0.0, seed=1)
    accounts = small_dataset.accounts.set_index("account_id")
    members = plan.members.set_index("account_id")
    assert not accounts["do_not_contact"].reindex(members.index).fillna(False).astype(bool).any()
    email = members[members["channel"] == "email"]
    assert accounts["consent_email"].reindex(email.index).fillna(False).astype(bool).all()


def test_tight_rep_capacity_and_channel_budget_hold(candidates, small_dataset) -> None:
    reps = small_dataset.reps.assign(weekly_capacity=1)
    data = type(small_dataset)(**{**small_dataset.__dict__, "reps": reps})
    limits = limits_from_dataset(data, channel_budgets={"email": 3.0}, offer_limits={"OF01": 5})
    plan = plan_campaign("c3", candidates, limits, holdout_share=0.0, seed=2)
    contacted = plan.contacted
    assert contacted.loc[contacted["channel"] == "email", "cost"].sum() <= 3.0
    assert (contacted["offer_id"] == "OF01").sum() <= 5
    assert (contacted.loc[contacted["executed_by"] == "rep"].groupby("rep_id").size() <= 1).all()
    assert plan.summary["method"] == "milp" and plan.summary["mip_gap"] <= 1e-3


def test_channel_and_offer_filters_and_exclusions(small_recommendations, small_dataset) -> None:
    cand = candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy,
                                           channels=["email"], exclude_accounts=["A000001", "A000002"])
    assert set(cand["channel"]) <= {"email"}
    assert not cand["account_id"].isin(["A000001", "A000002"]).any()
    with pytest.raises(ValueError, match="channels: unknown \\['fax'\\]; expected some of: email"):
        candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy,
                                        channels=["fax"])
    with pytest.raises(ValueError, match="offers: unknown \\['NOPE'\\]"):
        candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy,
                                        offers=["NOPE"], catalog_offers=small_dataset.offers["offer_id"])


def test_unowned_accounts_get_no_rep_actions(small_recommendations, small_dataset) -> None:
    cand = candidates_from_recommendations(small_recommendations, small_dataset.accounts, small_dataset.policy)
    assert not ((cand["executed_by"] == "rep") & cand["rep_id"].isna()).any()
