"""``GET /metrics``: the service's metrics in Prometheus' text format, for a scraper holding the
metrics token (``SYMBIOSE_METRICS_TOKEN``; without one the path answers 404). See
docs/operations.md."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request, status
from starlette.responses import Response

from serving.api.deps import RuntimeDep
from serving.metrics import CONTENT_TYPE, exposition

router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    expected = runtime.settings.metrics_token
    if expected is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail="metrics are off: set SYMBIOSE_METRICS_TOKEN to serve them")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"},
                            detail="metrics need 'Authorization: Bearer <SYMBIOSE_METRICS_TOKEN>'")
    return Response(exposition(runtime), media_type=CONTENT_TYPE)
