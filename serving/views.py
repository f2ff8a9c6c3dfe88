"""What the endpoints do, as plain functions of (runtime, session, caller, arguments)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from serving.auth import Principal
from serving.errors import ConflictError, NotFoundError
from serving.runtime import Runtime
from serving.store.decisions import find_shown
from serving.store.feedback import IdempotencyConflict, feedback_effects, record_feedback
from serving.store.tables import Feedback
from serving.store.users import utcnow
from serving.suggestions import Shown, decision_rows


def visible_position(runtime: Runtime, principal: Principal, account_id: str) -> int:
    """Position of an account the caller may see; NotFoundError for unknown and foreign ones alike."""
    directory = runtime.snapshot.directory
    pos = directory.position(account_id)
    if pos < 0 or not directory.visible(np.array([pos]), principal.role, principal.rep_id, principal.region)[0]:
        raise NotFoundError(f"account {account_id!r} not found")
    return pos


def _pick(runtime: Runtime, session: Session, positions: np.ndarray, k: int) -> Shown:
    """The first ``k`` suggestions of the accounts at ``positions`` after their recent feedback."""
    service = runtime.snapshot.suggestions
    ids = service.account_ids[positions].tolist()
    effects = feedback_effects(session, ids, now=utcnow(), suppress_days=runtime.settings.suppress_days)
    return service.pick(positions, k, effects)


def _log(runtime: Runtime, principal: Principal, records: list[dict[str, Any]]) -> None:
    """Write the shown ``records`` to the decision log before they are returned."""
    snap = runtime.snapshot
    rows = decision_rows(records, model_version=snap.suggestions.model_version, as_of=snap.as_of,
                         requested_at=utcnow(), user_id=principal.user_id)
    runtime.decision_log.write(rows)


def account_suggestions(runtime: Runtime, session: Session, principal: Principal, account_id: str,
                        k: int) -> dict[str, Any]:
    """The account's top ``k`` suggestions after feedback; every one shown is logged."""
    pos = visible_position(runtime, principal, account_id)
    shown = _pick(runtime, session, np.array([pos]), k)
    records = runtime.snapshot.suggestions.records(shown)
    _log(runtime, principal, records)
    return {"account_id": account_id, "model_version": runtime.snapshot.suggestions.model_version,
            "as_of": runtime.snapshot.as_of.to_pydatetime(), "suggestions": records}


def rep_suggestions(runtime: Runtime, session: Session, principal: Principal, rep_id: str, *,
                    k: int, limit: int, offset: int) -> dict[str, Any]:
    """The rep's accounts visible to the caller, best rank-1 value first, one page."""
    directory = runtime.snapshot.directory
    service = runtime.snapshot.suggestions
    own = principal.role == "rep" and principal.rep_id == rep_id
    if principal.role == "rep" and not own:
        raise NotFoundError(f"rep {rep_id!r} not found")
    positions = directory.rep_accounts(rep_id)
    positions = positions[directory.visible(positions, principal.role, principal.rep_id, principal.region)]
    if not len(positions) and not own:
        raise NotFoundError(f"rep {rep_id!r} not found")
    shown = _pick(runtime, session, positions, k)
    best = service.best_value(shown, positions)
    names = service.account_ids[positions].astype(str)
    order = np.lexsort((names, -best))
    page = positions[order][offset:offset + limit]
    in_page = np.isin(shown.accounts, page)
    page_shown = Shown(shown.rows[in_page], shown.accounts[in_page], shown.ranks[in_page])
    records = service.records(page_shown)
    _log(runtime, principal, records)
    by_account: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_account.setdefault(record["account_id"], []).append(record)
    best_of = dict(zip(positions.tolist(), best.tolist(), strict=True))
    accounts = [{"account_id": service.account_ids[p], "region": directory.region[p],
                 "best_expected_incremental_margin": best_of[p],
                 "suggestions": by_account.get(service.account_ids[p], [])} for p in page.tolist()]
    return {"rep_id": rep_id, "model_version": service.model_version,
            "as_of": runtime.snapshot.as_of.to_pydatetime(), "total": int(len(positions)),
            "limit": limit, "offset": offset, "accounts": accounts}


def submit_feedback(runtime: Runtime, session: Session, principal: Principal, *, suggestion_id: str,
                    status: str, reason: str | None, note: str | None,
                    idempotency_key: str | None) -> tuple[Feedback, bool]:
    """Store feedback on a shown suggestion of an account the caller may see (durable on return)."""
    shown = find_shown(session, suggestion_id)
    if shown is None:
        raise NotFoundError(f"suggestion {suggestion_id!r} not found: only suggestions that were shown "
                            "can get feedback")
    try:
        visible_position(runtime, principal, shown.account_id)
    except NotFoundError:
        raise NotFoundError(f"suggestion {suggestion_id!r} not found") from None
    try:
        return record_feedback(session, shown=shown, status=status, reason=reason, note=note,
                               user_id=principal.user_id, idempotency_key=idempotency_key)
    except IdempotencyConflict as exc:
        raise ConflictError(str(exc)) from None


def account_summary(runtime: Runtime, principal: Principal, account_id: str) -> dict[str, Any]:
    """Owner, region, recent orders online/offline and recent touches of a visible account."""
    pos = visible_position(runtime, principal, account_id)
    return runtime.snapshot.directory.summary(pos)
