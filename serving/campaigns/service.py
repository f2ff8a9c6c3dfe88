"""Planning and storing a campaign, shared by ``symbiose campaign plan`` and ``POST /v1/campaigns``.

Coordination rule (no conflicting outreach): an account is left out of a new campaign when
- its rep accepted (or did) a rep-executed suggestion in the last ``COORDINATION_DAYS`` days and
  has not taken it back (undone or dismissed since): the rep is already on it; or
- it is a member — contacted or held out — of another campaign whose as-of lies within the
  policy's attribution window before or after this one: one campaign's contact would blur the
  other's measurement, and a holdout must stay uncontacted while it is measured.
Recent touches need no rule of their own: the eligibility rules (caps per 30 days, quiet days after
an order) already apply to every candidate.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
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
    active_campaigns_between,
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


def prepare_plan(session: Session, request: CampaignRequest, *, recommendations: pd.DataFrame,
                 dataset: Dataset, as_of: pd.Timestamp, model_version: str, now: datetime,
                 campaign_id: str | None = None, time_limit: float = 30.0) -> CampaignPlan:
    """Plan the campaign from the pipeline's ``recommendations`` (docs/data-contract.md §3 rows, every
    positive action per account) without storing it: the preview, and the first half of
    :func:`plan_and_store`. The summary says why the audience is empty when it is
    (``summary["empty"]``, see :func:`why_empty`)."""
    ts = pd.Timestamp(as_of).to_pydatetime()
    window = timedelta(days=dataset.policy.attribution_window_days)
    excluded = coordination_exclusions(session, ts, window_days=dataset.policy.attribution_window_days, now=now)
    narrowing = {"channels": request.channels, "offers": request.offers,
                 "catalog_offers": dataset.offers["offer_id"].astype(str),
                 "min_incremental_margin": request.min_incremental_margin}
    candidates = candidates_from_recommendations(recommendations, dataset.accounts, dataset.policy,
                                                 exclude_accounts=excluded.all, **narrowing)
    limits = limits_from_dataset(dataset, total_budget=request.budget, channel_budgets=request.channel_budgets,
                                 offer_limits=request.offer_limits, max_accounts=request.max_accounts)
    campaign_id = campaign_id or uuid.uuid4().hex[:16]
    plan = plan_campaign(campaign_id, candidates, limits, holdout_share=request.holdout, seed=request.seed,
                         time_limit=time_limit)
    summary: dict[str, Any] = {**plan.summary, "as_of": ts.isoformat(), "model_version": model_version,
                               "excluded_accepted_rep_action": len(excluded.accepted_rep_action),
                               "excluded_in_other_campaign": len(excluded.in_other_campaign),
                               "candidate_pairs": int(len(candidates)),
                               "other_campaigns": [{"name": n, "members": m} for n, m in
                                                   active_campaigns_between(session, ts - window, ts + window)]}
    summary["empty"] = why_empty(summary, candidates, limits.total_budget, lambda: candidates_from_recommendations(
        recommendations, dataset.accounts, dataset.policy, **narrowing), excluded)
    return CampaignPlan(campaign_id, plan.members, plan.portfolio, summary)


def why_empty(summary: dict[str, Any], candidates: pd.DataFrame, total_budget: float | None,
              unexcluded: Callable[[], pd.DataFrame], excluded: Exclusions) -> dict[str, Any] | None:
    """Why a plan contacts nobody, as a code with its numbers (None when someone is contacted):

    - ``no_candidates``: no account has an eligible action on these channels and offers worth more
      than the minimum value;
    - ``all_excluded``: every account with one is left out by the coordination rule (``accounts``,
      of which ``in_other_campaign`` are members of active campaigns and ``accepted_rep_action``
      have an accepted rep action);
    - ``no_room``: the budgets and limits leave room for nobody (``cheapest_cost``, ``total_budget``);
    - ``all_held_out``: the audience is so small that the control group took all of it.
    """
    if summary["contacted"] > 0:
        return None
    if summary["members"] > 0:
        return {"code": "all_held_out", "members": int(summary["members"])}
    if len(candidates):
        return {"code": "no_room", "cheapest_cost": float(candidates["cost"].min()), "total_budget": total_budget}
    reachable = set(unexcluded()["account_id"].astype(str))
    if not reachable:
        return {"code": "no_candidates"}
    return {"code": "all_excluded", "accounts": len(reachable),
            "in_other_campaign": len(reachable & excluded.in_other_campaign),
            "accepted_rep_action": len(reachable & excluded.accepted_rep_action)}


def empty_reason_text(summary: dict[str, Any]) -> str | None:
    """:func:`why_empty`'s answer as an English sentence (None when the plan contacts someone)."""
    empty = summary.get("empty")
    if not empty:
        return None
    code = empty["code"]
    if code == "all_held_out":
        return (f"the audience has only {empty['members']} account(s) and the control group took all of them; "
                f"lower the holdout share or widen the limits")
    if code == "no_room":
        budget = empty.get("total_budget")
        return (f"the budgets and limits leave room for no contact: the cheapest eligible contact costs "
                f"{empty['cheapest_cost']:.2f}" + (f", the total budget is {budget:.2f}" if budget is not None else ""))
    if code == "no_candidates":
        return ("no account has an eligible action on these channels and offers worth more than the minimum "
                "value (consent, contact caps and quiet days apply)")
    names = ", ".join(f"{c['name']} ({c['members']})" for c in summary.get("other_campaigns", []))
    return (f"all {empty['accounts']} accounts with an eligible action are left out: {empty['in_other_campaign']} "
            f"are already members of an active campaign" + (f" ({names})" if names else "")
            + f" within the attribution window, {empty['accepted_rep_action']} have a rep action accepted in the "
            f"last {COORDINATION_DAYS} days; cancel a campaign or plan after its window")


def plan_warnings(summary: dict[str, Any]) -> list[str]:
    """What narrowed the audience, as English sentences (the coordination rule, a greedy solve)."""
    out = []
    if summary.get("excluded_in_other_campaign"):
        names = ", ".join(c["name"] for c in summary.get("other_campaigns", []))
        out.append(f"{summary['excluded_in_other_campaign']} accounts are left out as members of active campaigns "
                   f"within the attribution window" + (f" ({names})" if names else ""))
    if summary.get("excluded_accepted_rep_action"):
        out.append(f"{summary['excluded_accepted_rep_action']} accounts are left out because their rep accepted "
                   f"a rep action in the last {COORDINATION_DAYS} days")
    if summary.get("method") == "greedy":
        out.append(f"solved greedily: {summary.get('method_reason')}")
    return out


class EmptyCampaign(InputError):
    """The campaign would contact nobody (the message says why; ``summary`` is the plan's summary)."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def plan_and_store(session: Session, request: CampaignRequest, *, recommendations: pd.DataFrame,
                   dataset: Dataset, as_of: pd.Timestamp, model_version: str, user_id: int | None,
                   now: datetime, time_limit: float = 30.0) -> tuple[Campaign, CampaignPlan]:
    """Plan the campaign (:func:`prepare_plan`) and store it with its members and decision-log rows;
    :class:`EmptyCampaign` when it would contact nobody (nothing is stored then)."""
    if find_campaign(session, request.name) is not None:
        raise CampaignExists(f"a campaign named {request.name!r} already exists; choose another name")
    plan = prepare_plan(session, request, recommendations=recommendations, dataset=dataset, as_of=as_of,
                        model_version=model_version, now=now, time_limit=time_limit)
    reason = empty_reason_text(plan.summary)
    if reason is not None:
        raise EmptyCampaign(f"campaign {request.name!r} would contact nobody: {reason}", plan.summary)
    campaign = save_campaign(session, campaign_id=plan.campaign_id, name=request.name,
                             as_of=pd.Timestamp(as_of).to_pydatetime(), model_version=model_version,
                             parameters=asdict(request), summary=plan.summary, members=plan.members,
                             user_id=user_id, created_at=now)
    return campaign, plan
