"""``GET /v1/attribution``: revenue of a period credited per rep, region, channel or campaign."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Query

from serving.api.deps import AccessDep, RuntimeDep
from serving.api.routers import AUTH_ERRORS
from serving.api.schemas import AttributionOut
from serving.attribution import visible_attribution

router = APIRouter(prefix="/v1/attribution", tags=["attribution"], responses=AUTH_ERRORS)


@router.get("", response_model=AttributionOut,
            summary="Revenue of a period split offline/online and credited to reps, regions, channels "
                    "or campaigns (reps: own numbers and their region's total)",
            description="The period holds the order lines with from <= ordered_at < to (UTC days). "
                        "A period with to <= from holds no order lines and answers no rows.")
def attribution(runtime: RuntimeDep, access: AccessDep,
                start: Annotated[date, Query(alias="from", description="first day, inclusive")],
                end: Annotated[date, Query(alias="to", description="end day, exclusive")],
                by: Annotated[Literal["rep", "region", "channel", "campaign"],
                              Query(description="one row per rep, region, channel or campaign")] = "rep",
                ) -> AttributionOut:
    first = pd.Timestamp(datetime.combine(start, time()))
    last = pd.Timestamp(datetime.combine(end, time()))
    rows = visible_attribution(runtime, access, by, first, last) if first < last else []
    return AttributionOut(by=by, start=first.to_pydatetime(), end=last.to_pydatetime(),
                          currency=runtime.snapshot.currency, rows=rows)
