"""``GET /v1/model``: the served model's version, training time and metrics; ``GET /v1/model/health``:
its monitoring checks (admin and manager)."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api import monitor_views
from serving.api.deps import CurrentUser, RuntimeDep
from serving.api.monitor_schemas import ModelHealthOut
from serving.api.routers import AUTH_ERRORS
from serving.api.schemas import ErrorOut, ModelOut

router = APIRouter(prefix="/v1/model", tags=["model"])


@router.get("", response_model=ModelOut, responses={401: AUTH_ERRORS[401]},
            summary="The served model: version, trained-at and metrics")
def model_info(runtime: RuntimeDep, _user: CurrentUser) -> ModelOut:
    info = runtime.snapshot.model
    return ModelOut(version=info.version, trained_at=info.trained_at, trained_as_of=info.trained_as_of,
                    data_as_of=runtime.snapshot.as_of.to_pydatetime(), metrics=info.metrics)


@router.get("/health", response_model=ModelHealthOut,
            responses={401: AUTH_ERRORS[401], 403: {"model": ErrorOut, "description": "only admin and manager users"},
                       409: {"model": ErrorOut, "description": "the service has no data directory, or the "
                                                               "model's training reference cannot be found"},
                       503: AUTH_ERRORS[503]},
            summary="The served model's monitoring checks: stability, calibration (each with its verdict)")
def model_health(runtime: RuntimeDep, _reader: monitor_views.MonitorReaderDep) -> ModelHealthOut:
    return monitor_views.model_health(runtime)
