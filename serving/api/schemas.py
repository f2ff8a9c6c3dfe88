"""Request and response models of the HTTP API (explicit, with length and range limits)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from serving.api.text import FreeText


def _as_utc(value: datetime) -> datetime:
    """Naive times are UTC (docs/data-contract.md §1); answers carry the offset so they are RFC 3339."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
Status = Literal["accepted", "dismissed", "done", "snoozed", "undone"]
Outcome = Literal["reached", "not_reached", "order_expected"]
Reason = Literal["not_relevant", "already_in_contact", "customer_declined", "wrong_timing", "other"]


class ErrorOut(BaseModel):
    """Every 4xx answer: a human-readable ``detail``."""

    detail: Any


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    model_version: str
    data_as_of: UtcDateTime
    accounts: int


class Suggestion(BaseModel):
    """One ranked action for one account (docs/data-contract.md §5)."""

    suggestion_id: str
    rank: int = Field(ge=1)
    channel: str
    offer_id: str | None
    offer_name: str | None = None
    category: str | None = None
    discount_pct: float
    p_convert: float
    p_convert_baseline: float
    expected_incremental_margin: float
    executed_by: Literal["rep", "marketing"] | None
    reasons: list[str]
    propensity: float = Field(1.0, gt=0, le=1, description="probability with which the account's decision "
                              "(its first suggestion) was taken; below 1 only with exploration")
    explored: bool = Field(False, description="drawn at random by exploration (or a `none` holdout)")


class AccountSuggestions(BaseModel):
    account_id: str
    model_version: str
    as_of: UtcDateTime
    suggestions: list[Suggestion]


class CampaignAction(BaseModel):
    """A rep-executed action a marketing campaign chose for this account (the rep does it)."""

    campaign_id: str
    campaign_name: str
    member_id: str
    channel: str
    offer_id: str
    discount_pct: float
    expected_incremental_margin: float


class RepAccountSuggestions(BaseModel):
    account_id: str
    region: str | None
    best_expected_incremental_margin: float
    suggestions: list[Suggestion]
    campaign_actions: list[CampaignAction] = Field(default_factory=list,
                                                   description="rep actions of current campaigns")


class RepSuggestions(BaseModel):
    """A rep's accounts with their suggestions, best first, one page."""

    rep_id: str
    model_version: str
    as_of: UtcDateTime
    total: int = Field(ge=0, description="accounts of this rep visible to the caller")
    limit: int
    offset: int
    accounts: list[RepAccountSuggestions]


class FeedbackIn(BaseModel):
    """What a user did with a suggestion."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    suggestion_id: str = Field(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")
    status: Status
    reason: FreeText | None = Field(None, max_length=1000, description=(
        "why, in any words; known phrasings (e.g. \"not relevant\", \"wrong_timing\", \"kein Interesse\") "
        "map to a reason code, any other text to `other`; the text is kept as given"))
    note: FreeText | None = Field(None, max_length=1000, description="free text, e.g. what the customer said")
    outcome: Outcome | None = Field(None, description=(
        "how a carried-out call or visit went, with status `done` on a rep-executed action only: "
        "`reached`, `not_reached` (tried, nobody reached: counts as a contact, the action comes back) "
        "or `order_expected`; an outcome on another status or on a marketing action is refused (422)"))
    snooze_until: date | None = Field(None, strict=False, description=(
        "with status `snoozed` (and only then, required): the day (YYYY-MM-DD) until which the account "
        "and the action are hidden; after today and at most 366 days ahead, else refused (422)"))


class FeedbackOut(BaseModel):
    id: int
    suggestion_id: str
    account_id: str
    channel: str
    offer_id: str | None
    status: Status
    reason: Reason | None = Field(description="reason code the given reason maps to")
    reason_text: str | None = Field(None, description="the reason as it was given")
    note: str | None
    outcome: Outcome | None = None
    snooze_until: date | None = Field(None, description="the day a snooze ends")
    created_at: UtcDateTime


class OrderTotals(BaseModel):
    orders: int
    revenue: float


class Orders90d(BaseModel):
    online: OrderTotals
    offline: OrderTotals
    online_share: float | None


class OrderLine(BaseModel):
    order_id: str
    ordered_at: UtcDateTime
    channel: str
    product_category: str
    net_amount: float
    discount_pct: float | None


class Touch(BaseModel):
    touch_id: str
    touched_at: UtcDateTime
    channel: str
    offer_id: str | None
    discount_pct: float | None
    rep_id: str | None


class AccountSummary(BaseModel):
    account_id: str
    region: str | None
    rep_id: str | None
    rep_name: str | None
    industry: str | None
    employees: int | float | None
    country: str | None
    consent_email: bool
    do_not_contact: bool
    attributes: dict[str, str | int | float | bool | None]
    as_of: UtcDateTime
    last_order_at: UtcDateTime | None
    orders_90d: Orders90d
    recent_orders: list[OrderLine]
    recent_touches: list[Touch]


class ModelOut(BaseModel):
    version: str
    trained_at: str
    trained_as_of: str
    data_as_of: UtcDateTime
    metrics: dict[str, float]


class AttributionRow(BaseModel):
    """Revenue of one group of a period; ``scope`` says whose numbers these are."""

    key: str = Field(description="rep_id, region, channel or campaign_id (or a parenthesized group)")
    scope: Literal["own", "region_total", "all"] = Field(
        description="own: the caller's own numbers; region_total: the whole region of the caller; "
                    "all: a row of the caller's full view")
    offline_revenue: float
    online_revenue: float
    online_share: float | None
    online_revenue_after_outreach: float
    orders: int
    orders_after_outreach: int


class AttributionOut(BaseModel):
    """Revenue of ``from <= ordered_at < to`` credited per rep, region, channel or campaign."""

    by: Literal["rep", "region", "channel", "campaign"]
    start: UtcDateTime = Field(serialization_alias="from")
    end: UtcDateTime = Field(serialization_alias="to")
    currency: str
    rows: list[AttributionRow]
