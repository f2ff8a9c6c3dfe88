"""What the endpoints do, as plain functions of (runtime, caller's access, arguments[, session])."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from models.suggestion import Suggestion
from serving.access import Access
from serving.campaigns.rep_actions import rep_actions
from serving.errors import ConflictError, NotFoundError
from serving.reasons import in_language
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.store.decisions import decision_rows, find_shown
from serving.store.feedback import IdempotencyConflict, check_feedback, record_feedback
from serving.store.tables import Feedback
from serving.store.users import utcnow
from serving.suggestions import Shown


@dataclass(frozen=True)
class Answer:
    """A response body and the decision-log rows of the suggestions in it.

    The rows must be written before the body is returned (``runtime.decision_log.write`` or
    ``await runtime.decision_log.write_async``): every suggestion shown is logged.
    """

    body: dict[str, Any]
    log_rows: list[dict[str, Any]]


def _pick(runtime: Runtime, snap: Snapshot, positions: np.ndarray, k: int) -> Shown:
    """The first ``k`` suggestions of the accounts at ``positions`` after their recent feedback."""
    service = snap.suggestions
    ids = service.account_ids[positions].tolist()
    return service.pick(positions, k, runtime.feedback.effects(ids, utcnow()))


def _log_rows(snap: Snapshot, access: Access, records: list[Suggestion]) -> list[dict[str, Any]]:
    return decision_rows(records, model_version=snap.suggestions.model_version, as_of=snap.as_of,
                         requested_at=utcnow(), user_id=access.principal.user_id)


def _reasons_in(snap: Snapshot, records: list[Suggestion], lang: str | None) -> list[Suggestion]:
    """``records`` with their reasons in ``lang`` (None or "en": the English sentences as they are)."""
    if lang is None or lang == "en":
        return records
    return in_language(records, snap.suggestions, lang, snap.currency)


def account_suggestions(runtime: Runtime, access: Access, account_id: str, k: int,
                        lang: str | None = None) -> Answer:
    """The account's top ``k`` suggestions after feedback (reasons in ``lang``, default English),
    with their decision-log rows."""
    snap = runtime.snapshot  # read once: a new model may be swapped in meanwhile
    pos = access.account(snap.directory, account_id)
    shown = _pick(runtime, snap, np.array([pos]), k)
    records = snap.suggestions.records(shown)
    body = {"account_id": account_id, "model_version": snap.suggestions.model_version,
            "as_of": snap.as_of.to_pydatetime(), "suggestions": _reasons_in(snap, records, lang)}
    return Answer(body, _log_rows(snap, access, records))


def rep_suggestions(runtime: Runtime, access: Access, rep_id: str, *,
                    k: int, limit: int, offset: int, lang: str | None = None) -> Answer:
    """The rep's accounts visible to the caller, best rank-1 value first, one page (reasons in
    ``lang``, default English), with the decision-log rows of the suggestions on it."""
    snap = runtime.snapshot
    directory = snap.directory
    service = snap.suggestions
    positions = access.rep_accounts(directory, rep_id)
    shown = _pick(runtime, snap, positions, k)
    best = service.best_value(shown, positions)
    names = service.account_ids[positions].astype(str)
    order = np.lexsort((names, -best))
    page = positions[order][offset:offset + limit]
    in_page = np.isin(shown.accounts, page)
    page_shown = Shown(shown.rows[in_page], shown.accounts[in_page], shown.ranks[in_page])
    records = service.records(page_shown)
    by_account: dict[str, list[Suggestion]] = {}
    for record in _reasons_in(snap, records, lang):
        by_account.setdefault(record.account_id, []).append(record)
    best_of = dict(zip(positions.tolist(), best.tolist(), strict=True))
    campaign_actions = rep_actions(runtime.sessions).for_accounts(service.account_ids[page].tolist())
    accounts = [{"account_id": service.account_ids[p], "region": directory.region[p],
                 "best_expected_incremental_margin": best_of[p],
                 "suggestions": by_account.get(service.account_ids[p], []),
                 "campaign_actions": campaign_actions.get(service.account_ids[p], [])} for p in page.tolist()]
    body = {"rep_id": rep_id, "model_version": service.model_version,
            "as_of": snap.as_of.to_pydatetime(), "total": int(len(positions)),
            "limit": limit, "offset": offset, "accounts": accounts}
    return Answer(body, _log_rows(snap, access, records))


def submit_feedback(runtime: Runtime, session: Session, access: Access, *, suggestion_id: str,
                    status: str, reason: str | None, note: str | None,
                    idempotency_key: str | None, reason_text: str | None = None, outcome: str | None = None,
                    snooze_until: date | datetime | None = None) -> tuple[Feedback, bool]:
    """Store feedback on a shown suggestion of an account the caller may see (durable on return);
    ``reason`` is a reason code, ``reason_text`` the reason in the client's words, ``outcome`` how
    a rep action went and ``snooze_until`` the day (or time) a snooze ends (checked by
    :func:`~serving.store.feedback.check_feedback`, which raises ``FeedbackRefused``)."""
    shown = find_shown(session, suggestion_id)
    if shown is None:
        raise NotFoundError(f"suggestion {suggestion_id!r} not found: only suggestions that were shown "
                            "can get feedback")
    try:
        access.account(runtime.snapshot.directory, shown.account_id)
    except NotFoundError:
        raise NotFoundError(f"suggestion {suggestion_id!r} not found") from None
    until = check_feedback(status=status, executed_by=shown.executed_by, outcome=outcome,
                           snooze_until=snooze_until, today=utcnow().date())
    try:
        row, created = record_feedback(session, shown=shown, status=status, reason=reason, note=note,
                                       user_id=access.principal.user_id, idempotency_key=idempotency_key,
                                       reason_text=reason_text, outcome=outcome, snooze_until=until)
    except IdempotencyConflict as exc:
        raise ConflictError(str(exc)) from None
    if created:
        runtime.feedback.add(row)
        runtime.metrics.observe_feedback(status)
    return row, created


def account_summary(runtime: Runtime, access: Access, account_id: str) -> dict[str, Any]:
    """Owner, region, recent orders online/offline and recent touches of a visible account."""
    directory = runtime.snapshot.directory
    return directory.summary(access.account(directory, account_id))
