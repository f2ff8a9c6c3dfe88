"""``GET /v1/model/health``: the served model's monitoring checks, computed on the service's data
directory, model and database, and kept for ``serving.monitoring.HEALTH_CACHE_SECONDS``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status

from models.monitoring.report import MonitorReport
from serving.access import Access
from serving.api.deps import AccessDep
from serving.api.monitor_schemas import ModelHealthOut
from serving.errors import ConflictError
from serving.monitoring import HealthCache, monitor_served, report_json
from serving.runtime import Runtime


async def get_monitor_reader(access: AccessDep) -> Access:
    """The caller's scope when they may read the model's health (admin, manager); 403 otherwise."""
    if not access.may_see_model_health:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {access.role} may not read the model's "
                                                              "health; expected admin or manager")
    return access


MonitorReaderDep = Annotated[Access, Depends(get_monitor_reader)]


def model_uri(version: str) -> str:
    """The registry URI of a served version ("symbiose-nba/3"); a URI is kept as it is."""
    return version if ":/" in version else f"models:/{version}"


def model_health(runtime: Runtime) -> ModelHealthOut:
    """The checks of the served snapshot's model, from the cache when fresh."""
    from features.loading import load_dataset
    from models.monitoring.sources import MonitoringError

    snap = runtime.snapshot
    if snap.data_dir is None:
        raise ConflictError("the service has no data directory to monitor the model on")
    data_dir = snap.data_dir

    def compute() -> MonitorReport:
        try:
            return monitor_served(load_dataset(data_dir), model_uri(snap.model.version), snap.model.version,
                                  runtime.sessions, as_of=snap.as_of, load=load_dataset)
        except MonitoringError as exc:
            raise ConflictError(str(exc)) from exc

    report = runtime.sessions.shared("model_health", HealthCache).get(snap.key, compute)
    return ModelHealthOut.model_validate(report_json(report))
