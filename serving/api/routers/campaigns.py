"""``/v1/campaigns``: preview and plan a campaign (marketing, admin), list and cancel campaigns,
download an export, read a report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from starlette.convertors import Convertor, register_url_convertor

from serving.api import campaign_views
from serving.api.campaign_schemas import (
    CampaignIn,
    CampaignListOut,
    CampaignOut,
    CampaignPreviewOut,
    CampaignReportOut,
)
from serving.api.deps import PlannerDep, RuntimeDep, SessionDep
from serving.api.routers import AUTH_ERRORS
from serving.api.schemas import ErrorOut


class CampaignIdConvertor(Convertor[str]):
    """Campaign ids in paths: 16 hex digits, so ``/v1/campaigns/preview`` is never read as an id."""

    regex = "[0-9a-f]{16}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("campaign_id", CampaignIdConvertor())
router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=AUTH_ERRORS)
CampaignId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"model": ErrorOut, "description": "only marketing and admin users plan campaigns"}}
RESPONSES: dict[int | str, dict[str, Any]] = {**FORBIDDEN,
             400: {"model": ErrorOut, "description": "the body is not valid JSON"},
             409: {"model": ErrorOut, "description": "a campaign with this name exists, the request names a "
                                                     "channel or offer the data does not have, the "
                                                     "campaign would contact nobody (the detail says why), "
                                                     "or the service has no data directory"}}


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED, responses=RESPONSES,
             summary="Plan a campaign from the served suggestions; stored with its control group")
def create_campaign(body: CampaignIn, runtime: RuntimeDep, session: SessionDep, planner: PlannerDep) -> CampaignOut:
    return campaign_views.create(runtime, session, planner, body)


@router.get("", response_model=CampaignListOut, responses=FORBIDDEN, summary="Every campaign, newest first")
def list_campaigns(session: SessionDep, _planner: PlannerDep) -> CampaignListOut:
    return campaign_views.listing(session)


@router.post("/preview", response_model=CampaignPreviewOut, responses=RESPONSES,
             summary="Plan a campaign without storing it: the solver's summary, the audience, and why it "
                     "would contact nobody")
def preview_campaign(body: CampaignIn, runtime: RuntimeDep, session: SessionDep,
                     _planner: PlannerDep) -> CampaignPreviewOut:
    return campaign_views.preview(runtime, session, body)


@router.post("/{campaign_id:campaign_id}/cancel", response_model=CampaignOut, responses=FORBIDDEN,
             summary="Cancel a campaign: its rep actions leave the reps' lists, its accounts are free again")
def cancel_campaign(campaign_id: CampaignId, runtime: RuntimeDep, session: SessionDep,
                    _planner: PlannerDep) -> CampaignOut:
    return campaign_views.cancel(runtime, session, campaign_id)


@router.get("/{campaign_id:campaign_id}", response_model=CampaignOut, responses=FORBIDDEN, summary="A campaign's summary")
def get_campaign(campaign_id: CampaignId, session: SessionDep, _planner: PlannerDep) -> CampaignOut:
    return campaign_views.describe(session, campaign_id)


@router.get("/{campaign_id:campaign_id}/export.csv", responses={**FORBIDDEN, 200: {"content": {"text/csv": {}}}},
            response_class=Response, summary="The contacted accounts as CSV (holdout not included)")
def export_csv(campaign_id: CampaignId, runtime: RuntimeDep, session: SessionDep, _planner: PlannerDep,
               bom: Annotated[bool, Query(description="start with a UTF-8 byte-order mark (Excel)")] = False,
               sep: Annotated[str, Query(pattern="^[,;]$", description="separator , or ; (with decimal "
                                                                          "comma)")] = ",") -> Response:
    return campaign_views.export(session, runtime.snapshot, campaign_id, "csv", bom=bom, sep=sep)


@router.get("/{campaign_id:campaign_id}/export.parquet",
            responses={**FORBIDDEN, 200: {"content": {"application/vnd.apache.parquet": {}}}},
            response_class=Response, summary="The contacted accounts as Parquet (holdout not included)")
def export_parquet(campaign_id: CampaignId, runtime: RuntimeDep, session: SessionDep,
                   _planner: PlannerDep) -> Response:
    return campaign_views.export(session, runtime.snapshot, campaign_id, "parquet")


@router.get("/{campaign_id:campaign_id}/report", response_model=CampaignReportOut,
            responses={**FORBIDDEN, 409: {"model": ErrorOut, "description": "the service has no data directory"}},
            summary="Contacted vs holdout with 95 % intervals, per channel and offer, against the plan")
def campaign_report(campaign_id: CampaignId, runtime: RuntimeDep, session: SessionDep,
                    _planner: PlannerDep) -> CampaignReportOut:
    return campaign_views.report(runtime, session, campaign_id)
