"""Request and response models of ``/v1/campaigns``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from serving.api.schemas import UtcDateTime
from serving.api.text import ONE_LINE_KEYS, OneLine, OneLineKey

#: One line with at least one character that is not a space (the service refuses a blank name).
NAME_PATTERN = r"^[^\x00-\x1f]*[^\s\x00-\x1f][^\x00-\x1f]*$"


def _integral(value: Any) -> Any:
    """JSON numbers like ``204.0`` are integers too; strings and booleans stay refused."""
    return int(value) if type(value) is float and value.is_integer() else value


#: A whole number of accounts (the bounds sit inside the type so the OpenAPI schema shows them).
Count = Annotated[int, Field(ge=0, le=10_000_000), BeforeValidator(_integral)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1), BeforeValidator(_integral)]
#: A channel or offer id as the data names it.
Code = OneLine


class CampaignIn(BaseModel):
    """A campaign to plan at the service's as-of time (all limits optional)."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    name: OneLine = Field(min_length=1, max_length=200, pattern=NAME_PATTERN, json_schema_extra={"pattern": NAME_PATTERN})
    channels: list[Code] | None = Field(None, max_length=50, description="default: every policy channel")
    offers: list[Code] | None = Field(None, max_length=1000, description="default: every active offer")
    budget: float | None = Field(None, ge=0, le=1e12, description="total contact cost limit")
    channel_budgets: dict[OneLineKey, float] = Field(default_factory=dict, max_length=50,
                                                     description="contact cost limit per channel",
                                                     json_schema_extra=ONE_LINE_KEYS)
    offer_limits: dict[OneLineKey, Count] = Field(default_factory=dict, max_length=1000,
                                                description="most accounts per offer",
                                                json_schema_extra=ONE_LINE_KEYS)
    max_accounts: Count | None = None
    min_incremental_margin: float = Field(0.0, ge=0, le=1e9)
    holdout: float = Field(0.1, ge=0, le=0.9, description="share of the audience kept as control group")
    seed: Seed | None = None


class CampaignOut(BaseModel):
    campaign_id: str
    name: str
    as_of: UtcDateTime
    model_version: str
    created_at: UtcDateTime
    status: Literal["active", "cancelled"]
    cancelled_at: UtcDateTime | None = None
    summary: dict[str, Any]
    download: dict[str, str] = Field(description="paths of the export (contacted accounts only)")


class CampaignListItem(BaseModel):
    campaign_id: str
    name: str
    as_of: UtcDateTime
    created_at: UtcDateTime
    status: Literal["active", "cancelled"]
    cancelled_at: UtcDateTime | None = None
    members: int
    contacted: int
    holdout: int
    cost: float
    expected_incremental_margin: float


class CampaignListOut(BaseModel):
    campaigns: list[CampaignListItem] = Field(description="newest first")


class AudienceMember(BaseModel):
    account_id: str
    name: str | None = None
    region: str | None = None
    rep_id: str | None = None
    channel: str
    offer_id: str
    discount_pct: float
    expected_incremental_margin: float
    executed_by: str


class CampaignPreviewOut(BaseModel):
    """A plan that is not stored: the solver's summary, why it would contact nobody, the audience."""

    name: str
    as_of: UtcDateTime
    summary: dict[str, Any]
    empty_reason: str | None = Field(description="why the campaign would contact nobody (saving it is "
                                                 "refused then); null when it contacts someone")
    warnings: list[str] = Field(description="what narrowed the audience, in plain words")
    per_region: dict[str, int] = Field(description="contacted accounts per region")
    audience: list[AudienceMember] = Field(description="the most valuable contacted accounts (at most 20)")


class CampaignReportOut(BaseModel):
    campaign_id: str
    name: str
    report: dict[str, Any]
