"""``GET /v1/model``: the served model's version, training time and metrics."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.deps import CurrentUser, RuntimeDep
from serving.api.routers import AUTH_ERRORS
from serving.api.schemas import ModelOut

router = APIRouter(prefix="/v1/model", tags=["model"])


@router.get("", response_model=ModelOut, responses={401: AUTH_ERRORS[401]},
            summary="The served model: version, trained-at and metrics")
def model_info(runtime: RuntimeDep, _user: CurrentUser) -> ModelOut:
    info = runtime.snapshot.model
    return ModelOut(version=info.version, trained_at=info.trained_at, trained_as_of=info.trained_as_of,
                    data_as_of=runtime.snapshot.as_of.to_pydatetime(), metrics=info.metrics)
