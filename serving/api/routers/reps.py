"""``/v1/reps``: a rep's accounts with their suggestions, best first, paginated."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from serving.api import views
from serving.api.deps import AccessDep, RuntimeDep
from serving.api.routers import AUTH_ERRORS, ID_PATTERN, MAX_K, Lang
from serving.api.schemas import RepSuggestions

router = APIRouter(prefix="/v1/reps", tags=["reps"], responses=AUTH_ERRORS)


@router.get("/{rep_id:path}/suggestions", response_model=RepSuggestions,
            summary="A rep's accounts with their suggestions, best rank-1 value first")
async def rep_suggestions(rep_id: Annotated[str, Path(pattern=ID_PATTERN)], runtime: RuntimeDep,
                          access: AccessDep,
                          k: Annotated[int, Query(ge=1, le=MAX_K)] = 3,
                          limit: Annotated[int, Query(ge=1, le=200, description="accounts per page")] = 50,
                          offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
                          lang: Lang = None) -> dict[str, Any]:
    answer = views.rep_suggestions(runtime, access, rep_id, k=k, limit=limit, offset=offset, lang=lang)
    await runtime.decision_log.write_async(answer.log_rows)
    return answer.body
