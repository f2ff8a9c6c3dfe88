"""Planning and storing a campaign, shared by ``symbiose campaign plan`` and ``POST /v1/campaigns``.

Coordination rule (no conflicting outreach): an account is left out of a new campaign when
- its rep accepted (or did) a rep-executed suggestion in the last ``COORDINATION_DAYS`` days: the
  rep is already on it; or
- it is a member — contacted or held out — of another campaign whose as-of lies within the
  policy's attribution window before or after this one: one campaign's contact would blur the
  other's measurement, and a holdout must stay uncontacted while it is measured.
Recent touches need no rule of their own: the eligibility rules (caps per 30 days, quiet days after
an order) already apply to every candidate.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from features.dataset import Dataset
from features.errors import InputError
from models.campaigns.candidates import candidates_from_recommendations
from models.campaigns.plan import CampaignPlan, limits_from_dataset, plan_campaign
from serving.store.campaigns import (
    CampaignExists,
    accounts_in_campaigns,
    accounts_with_accepted_rep_actions,
    find_campaign,
    save_campaign,
)
from serving.store.tables import Campaign

COORDINATION_DAYS = 14


@dataclass(frozen=True)
class CampaignRequest:
    """What marketing asks for (the CLI options and the POST body)."""

    name: str
    channels: list[str] | None = None
    offers: list[str] | None = None
    budget: float | None = None
    channel_budgets: dict[str, float] = field(default_factory=dict)
    offer_limits: dict[str, int] = field(default_factory=dict)
    max_accounts: int | None = None
    min_incremental_margin: float = 0.0
    holdout: float = 0.1
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or len(self.name) > 200:
            raise InputError(f"campaign name must have 1 to 200 characters, got {self.name!r}")
        if not 0.0 <= self.holdout < 1.0:
            raise InputError(f"holdout must be >= 0 and < 1, got {self.holdout}")


@dataclass(frozen=True)
class Exclusions:
    """Accounts left out by the coordination rule, by reason."""

    accepted_rep_action: set[str]
    in_other_campaign: set[str]

    @property
    def all(self) -> set[str]:
        return self.accepted_rep_action | self.in_other_campaign


def coordination_exclusions(session: Session, as_of: datetime, *, window_days: int, now: datetime) -> Exclusions:
    """The accounts the coordination rule (module docstring) keeps out of a campaign at ``as_of``."""
    window = timedelta(days=window_days)
    return Exclusions(
        accepted_rep_action=accounts_with_accepted_rep_actions(session, now - timedelta(days=COORDINATION_DAYS)),
        in_other_campaign=accounts_in_campaigns(session, as_of - window, as_of + window))


def plan_and_store(session: Session, request: CampaignRequest, *, recommendations: pd.DataFrame,
                   dataset: Dataset, as_of: pd.Timestamp, model_version: str, user_id: int | None,
                   now: datetime, time_limit: float = 30.0) -> tuple[Campaign, CampaignPlan]:
    """Plan the campaign from the pipeline's ``recommendations`` (docs/data-contract.md §3 rows, every positive
    action per account) and store it with its members and decision-log rows."""
    if find_campaign(session, request.name) is not None:
        raise CampaignExists(f"a campaign named {request.name!r} already exists; choose another name")
    ts = pd.Timestamp(as_of).to_pydatetime()
    excluded = coordination_exclusions(session, ts, window_days=dataset.policy.attribution_window_days, now=now)
    candidates = candidates_from_recommendations(
        recommendations, dataset.accounts, dataset.policy, channels=request.channels, offers=request.offers,
        catalog_offers=dataset.offers["offer_id"].astype(str), min_incremental_margin=request.min_incremental_margin,
        exclude_accounts=excluded.all)
    limits = limits_from_dataset(dataset, total_budget=request.budget, channel_budgets=request.channel_budgets,
                                 offer_limits=request.offer_limits, max_accounts=request.max_accounts)
    campaign_id = uuid.uuid4().hex[:16]
    plan = plan_campaign(campaign_id, candidates, limits, holdout_share=request.holdout, seed=request.seed,
                         time_limit=time_limit)
    summary: dict[str, Any] = {**plan.summary, "as_of": ts.isoformat(), "model_version": model_version,
                               "excluded_accepted_rep_action": len(excluded.accepted_rep_action),
                               "excluded_in_other_campaign": len(excluded.in_other_campaign),
                               "candidate_pairs": int(len(candidates))}
    campaign = save_campaign(session, campaign_id=campaign_id, name=request.name, as_of=ts,
                             model_version=model_version, parameters=asdict(request), summary=summary,
                             members=plan.members, user_id=user_id, created_at=now)
    return campaign, CampaignPlan(campaign_id, plan.members, plan.portfolio, summary)
