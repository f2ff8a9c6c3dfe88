"""What the ``/v1/campaigns`` endpoints do, as plain functions of (runtime, session, planner,
arguments); the router lets only planners (``serving.access``) call them."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from fastapi import Response
from sqlalchemy.orm import Session

from features.errors import InputError
from serving.access import Access
from serving.api.campaign_schemas import CampaignIn, CampaignOut, CampaignReportOut
from serving.campaigns.export import csv_bytes, export_frame, parquet_bytes
from serving.campaigns.rep_actions import rep_actions
from serving.campaigns.reports import report_for
from serving.campaigns.service import CampaignRequest, plan_and_store
from serving.errors import ConflictError, NotFoundError
from serving.runtime import Runtime
from serving.store.campaigns import CampaignExists, campaign_members, find_campaign
from serving.store.tables import Campaign
from serving.store.users import utcnow
from serving.suggestions import SuggestionService

RECOMMENDATION_COLUMNS = ("account_id", "channel", "offer_id", "discount_pct", "p_convert", "p_convert_baseline",
                          "expected_incremental_margin", "executed_by", "category")


def snapshot_recommendations(service: SuggestionService) -> pd.DataFrame:
    """The served candidates (the same ranked actions the reps see) as recommendation rows."""
    service.score_all()
    frame = pd.DataFrame({name: service.cols[name] for name in RECOMMENDATION_COLUMNS})
    frame["rep_id"] = service.rep_id[service.account_pos]
    return frame


def _dataset(runtime: Runtime) -> Any:
    from features.loading import load_dataset

    data_dir = runtime.snapshot.data_dir
    if data_dir is None:
        raise ConflictError("the service was started without a data directory; campaigns need one")
    return load_dataset(data_dir)


def _out(campaign: Campaign) -> CampaignOut:
    base = f"/v1/campaigns/{campaign.id}"
    return CampaignOut(campaign_id=campaign.id, name=campaign.name, as_of=campaign.as_of,
                       model_version=campaign.model_version, created_at=campaign.created_at,
                       summary=_finite(json.loads(campaign.summary)),
                       download={"csv": f"{base}/export.csv", "parquet": f"{base}/export.parquet"})


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
    dataset = _dataset(runtime)
    snap = runtime.snapshot
    try:
        campaign, _plan = plan_and_store(session, request, recommendations=snapshot_recommendations(snap.suggestions),
                                         dataset=dataset, as_of=snap.as_of, model_version=snap.model.version,
                                         user_id=planner.principal.user_id, now=utcnow())
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


def export(session: Session, campaign_id: str, fmt: str, *, bom: bool = False,
           sep: str = ",") -> Response:
    """The contacted members as a download (CSV with Excel options, or Parquet)."""
    campaign = _campaign(session, campaign_id)
    frame = export_frame(campaign_members(session, campaign.id))
    if fmt == "csv":
        body, media = csv_bytes(frame, bom=bom, sep=sep), "text/csv; charset=utf-8"
    else:
        body, media = parquet_bytes(frame), "application/vnd.apache.parquet"
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}.{fmt}"'})


def report(runtime: Runtime, session: Session, campaign_id: str) -> CampaignReportOut:
    """Contacted vs holdout on the data directory as it is now (re-read, so new orders count)."""
    campaign = _campaign(session, campaign_id)
    _found, result = report_for(session, campaign.id, _dataset(runtime))
    if result is None:
        raise NotFoundError(f"campaign {campaign_id!r} not found")
    return CampaignReportOut(campaign_id=campaign.id, name=campaign.name, report=_finite(result.to_dict()))
