"""``GET /health``: liveness plus the served model version and data as-of (no auth)."""

from __future__ import annotations

from fastapi import APIRouter

from serving.api.deps import RuntimeDep
from serving.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Service health, model version and data as-of")
def health(runtime: RuntimeDep) -> Health:
    snap = runtime.snapshot
    return Health(model_version=snap.model.version, data_as_of=snap.as_of.to_pydatetime(),
                  accounts=len(snap.suggestions.accounts))
