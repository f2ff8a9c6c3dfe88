"""A campaign plan: the optimized audience, its control group and a summary.

``plan_campaign`` takes candidate pairs (``models.campaigns.candidates``) and the limits, chooses at
most one action per account (``models.campaigns.portfolio``) and holds out a stratified random share
(``models.campaigns.holdout``). Every member — contacted or held out — keeps the planned action,
so the report can compare like with like; holdout members are logged as ``none``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.errors import InputError
from models.campaigns.candidates import CANDIDATE_COLUMNS
from models.campaigns.holdout import assign_holdout
from models.campaigns.portfolio import Portfolio, PortfolioLimits, optimize_portfolio

#: Optional extra column of the offers table: the most accounts one campaign may send the offer to.
OFFER_LIMIT_COLUMN = "max_per_campaign"
DEFAULT_WEEKLY_CAPACITY = 25
MEMBER_COLUMNS = ["member_id", *CANDIDATE_COLUMNS, "holdout", "propensity", "stratum"]


@dataclass(frozen=True)
class CampaignPlan:
    """Members (one row per account, ``MEMBER_COLUMNS``), the portfolio behind them and a summary."""

    campaign_id: str
    members: pd.DataFrame
    portfolio: Portfolio
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def contacted(self) -> pd.DataFrame:
        return self.members.loc[~self.members["holdout"].to_numpy(dtype=bool)]


def member_id(campaign_id: str, account_id: str) -> str:
    """Stable id of an account's membership in a campaign (SHA-256 of campaign and account)."""
    return hashlib.sha256(f"{campaign_id}\x1f{account_id}".encode()).hexdigest()[:24]


def limits_from_dataset(dataset: Dataset, *, total_budget: float | None = None,
                        channel_budgets: Mapping[str, float] | None = None,
                        offer_limits: Mapping[str, int] | None = None,
                        max_accounts: int | None = None) -> PortfolioLimits:
    """Limits from the data directory (reps' ``weekly_capacity``, offers' optional
    ``max_per_campaign``) plus the campaign's own; explicit ``offer_limits`` win over the column."""
    reps = dataset.reps
    capacity: dict[str, int] = {}
    if len(reps) and "weekly_capacity" in reps:
        cap = reps["weekly_capacity"].fillna(DEFAULT_WEEKLY_CAPACITY)
        capacity = {str(r): int(c) for r, c in zip(reps["rep_id"], cap, strict=True)}
    offers: dict[str, int] = {}
    if OFFER_LIMIT_COLUMN in dataset.offers:
        column = pd.to_numeric(dataset.offers[OFFER_LIMIT_COLUMN], errors="coerce")
        offers = {str(o): int(v) for o, v in zip(dataset.offers["offer_id"], column, strict=True) if pd.notna(v)}
    offers.update({str(k): int(v) for k, v in (offer_limits or {}).items()})
    budgets = {str(k): float(v) for k, v in (channel_budgets or {}).items()}
    unknown = [c for c in budgets if c not in dataset.policy.channels]
    if unknown:
        raise InputError(f"channel budgets for unknown channels {unknown}; expected some of: "
                         f"{', '.join(dataset.policy.channel_names)}")
    catalog = set(dataset.offers["offer_id"].astype(str))
    unknown = [o for o in (offer_limits or {}) if str(o) not in catalog]
    if unknown:
        raise InputError(f"offer limits for unknown offers {unknown}; the offers table has "
                         f"{len(catalog)} offers")
    return PortfolioLimits(total_budget=total_budget, channel_budgets=budgets, offer_limits=offers,
                           rep_capacity=capacity, default_rep_capacity=DEFAULT_WEEKLY_CAPACITY,
                           max_accounts=max_accounts)


def plan_campaign(campaign_id: str, candidates: pd.DataFrame, limits: PortfolioLimits, *,
                  holdout_share: float = 0.1, seed: int | None = None, method: str = "auto",
                  time_limit: float = 30.0) -> CampaignPlan:
    """Optimize the audience of ``candidates`` under ``limits`` and draw its control group."""
    missing = [c for c in CANDIDATE_COLUMNS if c not in candidates]
    if missing:
        raise ValueError(f"candidates lack columns {missing}; expected {CANDIDATE_COLUMNS}")
    portfolio = optimize_portfolio(candidates, limits, method=method, time_limit=time_limit)
    chosen = candidates.iloc[portfolio.chosen].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    holdout = assign_holdout(chosen["region"].to_numpy(dtype=object),
                             chosen["expected_incremental_margin"].to_numpy(dtype=np.float64),
                             holdout_share, rng)
    members = chosen.assign(
        member_id=[member_id(campaign_id, a) for a in chosen["account_id"].astype(str)],
        holdout=holdout.held_out, propensity=holdout.propensity, stratum=holdout.stratum)[MEMBER_COLUMNS]
    return CampaignPlan(campaign_id, members, portfolio, summarize(members, portfolio, limits, holdout_share))


def summarize(members: pd.DataFrame, portfolio: Portfolio, limits: PortfolioLimits,
              holdout_share: float) -> dict[str, Any]:
    """Plain-data summary: sizes, spend and expected margin of the contacted, per channel too."""
    held = members["holdout"].to_numpy(dtype=bool)
    contacted = members.loc[~held]
    per_channel = {
        str(ch): {"accounts": int(len(g)), "cost": float(g["cost"].sum()),
                  "expected_incremental_margin": float(g["expected_incremental_margin"].sum())}
        for ch, g in contacted.groupby("channel", sort=True)
    }
    return {
        "members": int(len(members)),
        "contacted": int((~held).sum()),
        "holdout": int(held.sum()),
        "holdout_share_requested": float(holdout_share),
        "holdout_share": float(held.mean()) if len(members) else 0.0,
        "cost": float(contacted["cost"].sum()),
        "expected_incremental_margin": float(contacted["expected_incremental_margin"].sum()),
        "planned_expected_incremental_margin": float(portfolio.objective),
        "rep_executed": int((contacted["executed_by"] == "rep").sum()),
        "per_channel": per_channel,
        "method": portfolio.method,
        "method_reason": portfolio.reason,
        "mip_gap": portfolio.gap,
        "dual_bound": portfolio.dual_bound,
        "solver_status": portfolio.status,
        "solve_seconds": round(portfolio.seconds, 3),
        "pairs": portfolio.pairs,
        "limits": {"total_budget": limits.total_budget, "channel_budgets": dict(limits.channel_budgets),
                   "offer_limits": dict(limits.offer_limits), "max_accounts": limits.max_accounts,
                   "default_rep_capacity": limits.default_rep_capacity},
    }
