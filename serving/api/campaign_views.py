"""What the ``/v1/campaigns`` endpoints do, as plain functions of (runtime, session, planner,
arguments); the router lets only planners (``serving.access``) call them."""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Response
from sqlalchemy.orm import Session

from features.errors import InputError
from serving.access import Access
from serving.api.campaign_schemas import (
    AudienceMember,
    CampaignIn,
    CampaignListItem,
    CampaignListOut,
    CampaignOut,
    CampaignPreviewOut,
    CampaignReportOut,
)
from serving.campaigns.export import csv_bytes, export_frame, parquet_bytes
from serving.campaigns.rep_actions import rep_actions
from serving.campaigns.reports import report_for
from serving.campaigns.service import (
    CampaignRequest,
    EmptyCampaign,
    empty_reason_text,
    plan_and_store,
    plan_warnings,
    prepare_plan,
)
from serving.errors import ConflictError, NotFoundError
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.store.campaigns import (
    CampaignExists,
    campaign_members,
    cancel_campaign,
    find_campaign,
    list_campaigns,
)
from serving.store.tables import Campaign
from serving.store.users import utcnow
from serving.suggestions import LATER, SuggestionService

RECOMMENDATION_COLUMNS = ("account_id", "channel", "offer_id", "discount_pct", "p_convert", "p_convert_baseline",
                          "expected_incremental_margin", "executed_by", "category")


def snapshot_recommendations(service: SuggestionService) -> pd.DataFrame:
    """The served candidates (the same ranked actions the reps see) as recommendation rows; not
    the rep actions that become possible only later."""
    service.score_all()
    now = ~service.cols[LATER]
    frame = pd.DataFrame({name: service.cols[name][now] for name in RECOMMENDATION_COLUMNS})
    frame["rep_id"] = service.rep_id[service.account_pos[now]]
    return frame


AUDIENCE_SHOWN = 20
_planning_data: dict[tuple[str, ...], Any] = {}
_planning_lock = threading.Lock()


class NobodyToContact(ConflictError):
    """409: the campaign would contact nobody; ``summary`` says why (``summary["empty"]``)."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def current_dataset(runtime: Runtime) -> Any:
    """The data directory as it is now (reports count the orders that arrived since planning)."""
    from features.loading import load_dataset

    data_dir = runtime.snapshot.data_dir
    if data_dir is None:
        raise ConflictError("the service was started without a data directory; campaigns need one")
    return load_dataset(data_dir)


def planning_dataset(runtime: Runtime) -> Any:
    """The data the served snapshot was scored on, loaded once per snapshot (previews and plans of
    one snapshot share it)."""
    key = runtime.snapshot.key
    with _planning_lock:
        found = _planning_data.get(key)
        if found is None:
            _planning_data.clear()
            found = _planning_data[key] = current_dataset(runtime)
    return found


def account_names(snap: Snapshot, account_ids: list[str]) -> pd.Series | None:
    """account_id -> name for the served accounts with an accounts-table ``name`` column (else None)."""
    directory = snap.directory
    positions = np.array([directory.position(a) for a in account_ids], dtype=np.int64)
    known = positions >= 0
    names = directory.attribute("name", positions[known])
    if names is None:
        return None
    return pd.Series(names, index=np.asarray(account_ids, dtype=object)[known])


def status_of(campaign: Campaign) -> str:
    return "cancelled" if campaign.cancelled_at is not None else "active"


def _out(campaign: Campaign) -> CampaignOut:
    base = f"/v1/campaigns/{campaign.id}"
    return CampaignOut(campaign_id=campaign.id, name=campaign.name, as_of=campaign.as_of,
                       model_version=campaign.model_version, created_at=campaign.created_at,
                       status=status_of(campaign), cancelled_at=campaign.cancelled_at,
                       summary=_finite(json.loads(campaign.summary)),
                       download={"csv": f"{base}/export.csv", "parquet": f"{base}/export.parquet"})


def listing(session: Session) -> CampaignListOut:
    """Every stored campaign, newest first, with its size, spend and expected margin."""
    items = []
    for c in list_campaigns(session):
        summary = json.loads(c.summary)
        items.append(CampaignListItem(
            campaign_id=c.id, name=c.name, as_of=c.as_of, created_at=c.created_at, status=status_of(c),
            cancelled_at=c.cancelled_at, members=int(summary.get("members", 0)),
            contacted=int(summary.get("contacted", 0)), holdout=int(summary.get("holdout", 0)),
            cost=float(summary.get("cost", 0.0)),
            expected_incremental_margin=float(summary.get("expected_incremental_margin", 0.0))))
    return CampaignListOut(campaigns=items)


def cancel(runtime: Runtime, session: Session, campaign_id: str) -> CampaignOut:
    """Cancel the campaign (again: no change): its rep actions leave the reps' lists at once."""
    _campaign(session, campaign_id)
    campaign = cancel_campaign(session, campaign_id, utcnow())
    if campaign is None:
        raise NotFoundError(f"campaign {campaign_id!r} not found")
    rep_actions(runtime.sessions).reload()
    return _out(campaign)


def preview(runtime: Runtime, session: Session, body: CampaignIn) -> CampaignPreviewOut:
    """Plan without storing: the summary, why it would contact nobody, warnings, the audience."""
    snap = runtime.snapshot
    try:
        plan = prepare_plan(session, CampaignRequest(**body.model_dump()),
                            recommendations=snapshot_recommendations(snap.suggestions),
                            dataset=planning_dataset(runtime), as_of=snap.as_of, model_version=snap.model.version,
                            now=utcnow())
    except InputError as exc:  # names a channel or offer the data directory does not have
        raise ConflictError(str(exc)) from None
    warnings = plan_warnings(plan.summary)
    if find_campaign(session, body.name) is not None:
        warnings.insert(0, f"a campaign named {body.name!r} already exists; saving needs another name")
    contacted = plan.contacted.sort_values(["expected_incremental_margin", "account_id"],
                                           ascending=[False, True], kind="mergesort")
    top = contacted.head(AUDIENCE_SHOWN)
    names = account_names(snap, top["account_id"].astype(str).tolist())
    audience = [AudienceMember(
        account_id=str(r.account_id), name=(names.get(str(r.account_id)) or None) if names is not None else None,
        region=None if r.region is None else str(r.region), rep_id=None if r.rep_id is None else str(r.rep_id),
        channel=str(r.channel), offer_id=str(r.offer_id), discount_pct=float(r.discount_pct),
        expected_incremental_margin=float(r.expected_incremental_margin), executed_by=str(r.executed_by))
        for r in top.itertuples(index=False)]
    per_region = contacted["region"].fillna("–").astype(str).value_counts().sort_index()
    return CampaignPreviewOut(name=body.name, as_of=snap.as_of, summary=_finite(plan.summary),
                              empty_reason=empty_reason_text(plan.summary), warnings=warnings,
                              per_region={str(k): int(v) for k, v in per_region.items()}, audience=audience)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None (recursively)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def create(runtime: Runtime, session: Session, planner: Access, body: CampaignIn) -> CampaignOut:
    """Plan and store a campaign at the snapshot's as-of from the served suggestions."""
    if find_campaign(session, body.name) is not None:
        raise ConflictError(f"a campaign named {body.name!r} already exists; choose another name")
    request = CampaignRequest(**body.model_dump())
    dataset = planning_dataset(runtime)
    snap = runtime.snapshot
    try:
        campaign, _plan = plan_and_store(session, request, recommendations=snapshot_recommendations(snap.suggestions),
                                         dataset=dataset, as_of=snap.as_of, model_version=snap.model.version,
                                         user_id=planner.principal.user_id, now=utcnow())
    except EmptyCampaign as exc:
        raise NobodyToContact(str(exc), exc.summary) from None
    except CampaignExists as exc:
        raise ConflictError(str(exc)) from None
    except InputError as exc:  # names a channel or offer the data directory does not have
        raise ConflictError(str(exc)) from None
    rep_actions(runtime.sessions).reload()
    return _out(campaign)


def _campaign(session: Session, campaign_id: str) -> Campaign:
    campaign = find_campaign(session, campaign_id)
    if campaign is None or campaign.id != campaign_id:
        raise NotFoundError(f"campaign {campaign_id!r} not found")
    return campaign


def describe(session: Session, campaign_id: str) -> CampaignOut:
    return _out(_campaign(session, campaign_id))


def export(session: Session, snapshot: Snapshot, campaign_id: str, fmt: str, *, bom: bool = False,
           sep: str = ",") -> Response:
    """The contacted members as a download (CSV with Excel options, or Parquet), with the names of
    the served accounts when their table has a ``name`` column."""
    campaign = _campaign(session, campaign_id)
    members = campaign_members(session, campaign.id)
    frame = export_frame(members, account_names(snapshot, members["account_id"].astype(str).tolist()))
    if fmt == "csv":
        body, media = csv_bytes(frame, bom=bom, sep=sep), "text/csv; charset=utf-8"
    else:
        body, media = parquet_bytes(frame), "application/vnd.apache.parquet"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.{fmt}"'})


def report(runtime: Runtime, session: Session, campaign_id: str) -> CampaignReportOut:
    """Contacted vs holdout on the data directory as it is now (re-read, so new orders count)."""
    campaign = _campaign(session, campaign_id)
    _found, result = report_for(session, campaign.id, current_dataset(runtime))
    if result is None:
        raise NotFoundError(f"campaign {campaign_id!r} not found")
    return CampaignReportOut(campaign_id=campaign.id, name=campaign.name, report=_finite(result.to_dict()))
