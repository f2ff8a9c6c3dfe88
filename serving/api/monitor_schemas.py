"""Answer of ``GET /v1/model/health``: the monitoring checks of the served model."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from serving.api.schemas import UtcDateTime

VerdictOut = Literal["ok", "watch", "drift", "not enough data"]


class HealthCheckOut(BaseModel):
    """One monitored quantity: its value, the threshold it is held against and the verdict."""

    name: str = Field(description="what is checked, e.g. 'feature stability' or 'calibration: phone'")
    value: float | None = Field(description="the measured value (PSI, or predicted minus realized conversion)")
    threshold: float | None = Field(description="the value beyond which the check says drift")
    verdict: VerdictOut
    detail: str = Field(description="what was measured, in words")


class ModelHealthOut(BaseModel):
    """The served model's monitoring checks (computed on demand, answered from a short cache)."""

    model_version: str
    verdict: VerdictOut = Field(description="the most serious verdict of all checks")
    model_as_of: UtcDateTime
    data_as_of: UtcDateTime
    computed_at: UtcDateTime
    reference: str = Field(description="where the training reference distribution came from")
    checks: list[HealthCheckOut]
