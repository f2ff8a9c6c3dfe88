"""One APIRouter per resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query

from serving.api.schemas import ErrorOut

#: Error answers every authenticated /v1 endpoint may give, declared for the OpenAPI schema.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, unknown or revoked bearer token"},
    404: {"model": ErrorOut, "description": "unknown, or outside the caller's scope"},
    422: {"model": ErrorOut, "description": "invalid parameters; detail names the field"},
    503: {"model": ErrorOut, "description": "the database is unavailable; retry"},
}
MAX_K = 10
ID_PATTERN = r"^[^\x00-\x1f]{1,200}$"
#: Language of the suggestions' reasons (default: English, as in the recommendations file).
Lang = Annotated[Literal["en", "de"] | None, Query(
    description="language of the reasons: en (default) or de; amounts in that language's style")]
