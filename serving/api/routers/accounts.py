"""``/v1/accounts``: an account's suggestions and its summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from serving.api import views
from serving.api.deps import AccessDep, RuntimeDep
from serving.api.routers import AUTH_ERRORS, ID_PATTERN, MAX_K, Lang
from serving.api.schemas import AccountSuggestions, AccountSummary
from serving.api.suggestion_json import account_suggestions_json

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], responses=AUTH_ERRORS)
AccountId = Annotated[str, Path(description="account_id from the accounts table; may contain \"/\" "
                                            "(sent as is or as %2F)", pattern=ID_PATTERN)]


@router.get("/{account_id:path}/suggestions", response_model=AccountSuggestions,
            summary="Next best actions for one account")
async def account_suggestions(account_id: AccountId, runtime: RuntimeDep, access: AccessDep,
                              k: Annotated[int, Query(ge=1, le=MAX_K, description="how many suggestions")] = 3,
                              lang: Lang = None) -> Response:
    answer = views.account_suggestions(runtime, access, account_id, k, lang)
    await runtime.decision_log.write_async(answer.log_rows)
    body = answer.body
    # Rendered here, each suggestion once (serving.api.suggestion_json), instead of validated
    # against the response model on every request: the same JSON, a fraction of the time.
    return Response(account_suggestions_json(body["account_id"], body["model_version"], body["as_of"],
                                             body["suggestions"]), media_type="application/json")


@router.get("/{account_id:path}", response_model=AccountSummary,
            summary="Account summary: owner, region, recent orders online/offline, recent touches")
async def account_summary(account_id: AccountId, runtime: RuntimeDep, access: AccessDep) -> dict[str, Any]:
    return views.account_summary(runtime, access, account_id)
