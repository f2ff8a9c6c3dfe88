"""``POST /v1/feedback``: accepted / dismissed / done (with a call's outcome) / snoozed / undone on a
shown suggestion, stored before the 201; the same rules as the rep pages' card buttons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from serving.api import views
from serving.api.deps import AccessDep, RuntimeDep, SessionDep
from serving.api.routers import AUTH_ERRORS
from serving.api.schemas import ErrorOut, FeedbackIn, FeedbackOut
from serving.store.feedback import reason_code

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])
RESPONSES = {**AUTH_ERRORS, 400: {"model": ErrorOut, "description": "the body is not valid JSON"}, 409: {"model": ErrorOut, "description": "Idempotency-Key reused for other feedback"},
             422: {"model": ErrorOut, "description": "invalid body, or fields that do not go together (e.g. an "
                   "outcome on a marketing action, a snooze_until in the past): `detail` names the field"}}


@router.post("", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED, responses=RESPONSES,
             summary="Record what a user did with a suggestion")
def post_feedback(body: FeedbackIn, runtime: RuntimeDep, session: SessionDep, access: AccessDep,
                  response: Response,
                  idempotency_key: Annotated[str | None, Header(
                      min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$",
                      description="client-chosen key; a retried POST with the same key is stored once")] = None,
                  ) -> FeedbackOut:
    row, created = views.submit_feedback(runtime, session, access, suggestion_id=body.suggestion_id,
                                         status=body.status, note=body.note, idempotency_key=idempotency_key,
                                         reason=None if body.reason is None else reason_code(body.reason),
                                         reason_text=body.reason, outcome=body.outcome,
                                         snooze_until=body.snooze_until)
    if not created:
        response.headers["Idempotency-Replayed"] = "true"
    return FeedbackOut.model_validate(row, from_attributes=True)
