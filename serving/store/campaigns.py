"""Campaign repository: a campaign, its members and their decision-log rows in one transaction;
the look-ups that keep campaigns and reps from contacting the same account twice."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from features.errors import SymbioseError
from features.policy import NONE_CHANNEL
from models.feedback_state import TAKEN_ON, FinalStates
from models.suggestion import Suggestion
from serving.store.db import writing
from serving.store.decisions import decision_rows
from serving.store.tables import Campaign, CampaignMember, Decision, Feedback

MEMBER_FIELDS = ("member_id", "account_id", "region", "rep_id", "channel", "offer_id", "discount_pct",
                 "category", "p_convert", "p_convert_baseline", "expected_incremental_margin",
                 "executed_by", "cost", "holdout", "propensity", "stratum")


class CampaignExists(SymbioseError, ValueError):
    """A campaign with this name is already stored."""


def save_campaign(session: Session, *, campaign_id: str, name: str, as_of: datetime, model_version: str,
                  parameters: dict[str, Any], summary: dict[str, Any], members: pd.DataFrame,
                  user_id: int | None, created_at: datetime) -> Campaign:
    """Store the campaign, every member and one decision-log row per member (holdouts as ``none``
    with their propensity); all or nothing."""
    campaign = Campaign(id=campaign_id, name=name, as_of=as_of, model_version=model_version,
                        parameters=json.dumps(parameters, default=str), summary=json.dumps(summary, default=str),
                        created_at=created_at, user_id=user_id)
    rows = [{k: _plain(v) for k, v in zip(MEMBER_FIELDS, values, strict=True)}
            for values in members[list(MEMBER_FIELDS)].itertuples(index=False, name=None)]
    with writing(session):
        if find_campaign(session, name) is not None:
            raise CampaignExists(f"a campaign named {name!r} already exists; choose another name")
        session.add(campaign)
        try:
            session.flush()
            if rows:
                session.execute(insert(CampaignMember), [{**r, "campaign_id": campaign_id} for r in rows])
                session.execute(insert(Decision), decision_rows(
                    [member_suggestion(r) for r in rows], model_version=model_version, as_of=pd.Timestamp(as_of),
                    requested_at=created_at, user_id=user_id))
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            raise CampaignExists(f"a campaign named {name!r} already exists; choose another name") from exc
    return campaign


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def member_suggestion(member: dict[str, Any]) -> Suggestion:
    """The suggestion a campaign member carries: its planned action, or ``none`` for a holdout."""
    held = bool(member["holdout"])
    return Suggestion(
        suggestion_id=member["member_id"], account_id=member["account_id"], rank=1,
        channel=NONE_CHANNEL if held else member["channel"], offer_id=None if held else member["offer_id"],
        discount_pct=0.0 if held else member["discount_pct"],
        p_convert=member["p_convert_baseline"] if held else member["p_convert"],
        p_convert_baseline=member["p_convert_baseline"],
        expected_incremental_margin=0.0 if held else member["expected_incremental_margin"],
        executed_by=None if held else member["executed_by"], propensity=member["propensity"])


def find_campaign(session: Session, key: str) -> Campaign | None:
    """The campaign with id or name ``key``."""
    return session.scalar(select(Campaign).where(or_(Campaign.id == key, Campaign.name == key)).limit(1))


def campaign_members(session: Session, campaign_id: str) -> pd.DataFrame:
    """All members of a campaign (columns ``MEMBER_FIELDS``), in member_id order."""
    columns = [getattr(CampaignMember, f) for f in MEMBER_FIELDS]
    result = session.execute(select(*columns).where(CampaignMember.campaign_id == campaign_id)
                             .order_by(CampaignMember.member_id))
    return pd.DataFrame(result.all(), columns=list(MEMBER_FIELDS))


def list_campaigns(session: Session, limit: int = 500) -> list[Campaign]:
    """Stored campaigns, newest first (at most ``limit``)."""
    return list(session.scalars(select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id).limit(limit)))


def cancel_campaign(session: Session, campaign_id: str, now: datetime) -> Campaign | None:
    """Mark the campaign cancelled at ``now`` (kept when it already was); None when unknown."""
    with writing(session):
        session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.cancelled_at.is_(None))
                        .values(cancelled_at=now))
        session.commit()
    return session.get(Campaign, campaign_id, populate_existing=True)


def accounts_in_campaigns(session: Session, start: datetime, end: datetime) -> set[str]:
    """Accounts that are members (contacted or held out) of active (not cancelled) campaigns with
    ``start <= as_of < end``."""
    query = (select(CampaignMember.account_id).join(Campaign, Campaign.id == CampaignMember.campaign_id)
             .where(Campaign.as_of >= start, Campaign.as_of < end, Campaign.cancelled_at.is_(None)))
    return set(session.scalars(query))


def active_campaigns_between(session: Session, start: datetime, end: datetime,
                             limit: int = 5) -> list[tuple[str, int]]:
    """(name, members) of the active campaigns with ``start <= as_of < end``, largest first (to
    say which campaigns hold the accounts a new plan has to leave out)."""
    held = func.count(CampaignMember.account_id)
    query = (select(Campaign.name, held).join(CampaignMember, Campaign.id == CampaignMember.campaign_id)
             .where(Campaign.as_of >= start, Campaign.as_of < end, Campaign.cancelled_at.is_(None))
             .group_by(Campaign.name).order_by(held.desc(), Campaign.name))
    return [(name, int(n)) for name, n in session.execute(query.limit(limit))]


def accounts_with_accepted_rep_actions(session: Session, since: datetime) -> set[str]:
    """Accounts whose rep accepted (or did) a rep-executed suggestion at or after ``since`` and has
    not taken it back: the suggestion's final status (``models.feedback_state``) over its feedback
    since then is accepted or done."""
    query = (select(Feedback.id, Feedback.suggestion_id, Feedback.account_id, Feedback.status)
             .where(Feedback.created_at >= since, Feedback.executed_by == "rep"))
    states = FinalStates()
    account_of: dict[str, str] = {}
    for row_id, suggestion_id, account_id, status in session.execute(query):
        states.update(row_id, suggestion_id, status)
        account_of[suggestion_id] = account_id
    return {account_of[sid] for sid, status in states.items() if status in TAKEN_ON}


def campaign_rep_actions_since(session: Session, since: datetime) -> dict[str, list[dict[str, Any]]]:
    """Contacted, rep-executed members of campaigns created at or after ``since``, per account."""
    query = (select(CampaignMember, Campaign.name)
             .join(Campaign, Campaign.id == CampaignMember.campaign_id)
             .where(CampaignMember.holdout.is_(False), CampaignMember.executed_by == "rep",
                    Campaign.created_at >= since, Campaign.cancelled_at.is_(None))
             .order_by(Campaign.created_at, CampaignMember.member_id))
    out: dict[str, list[dict[str, Any]]] = {}
    for member, name in session.execute(query):
        out.setdefault(member.account_id, []).append({
            "campaign_id": member.campaign_id, "campaign_name": name, "member_id": member.member_id,
            "channel": member.channel, "offer_id": member.offer_id, "discount_pct": member.discount_pct,
            "expected_incremental_margin": member.expected_incremental_margin})
    return out
