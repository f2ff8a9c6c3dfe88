"""Feedback repository: durable, idempotent writes and the feedback that changes the next answer."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from features.errors import SymbioseError
from features.policy import CONTACT_WINDOW as POLICY_CONTACT_WINDOW
from serving.errors import InvalidField
from serving.store.db import writing
from serving.store.tables import Decision, Feedback
from serving.store.users import utcnow

STATUSES = ("accepted", "dismissed", "done")
#: Statuses of the rep pages besides the contract's: ``snoozed`` hides the account and the action
#: until ``snooze_until``; ``undone`` cancels the earlier feedback on the same suggestion.
PAGE_STATUSES = ("snoozed", "undone")
#: How a rep action went, given with ``done``: ``not_reached`` (tried, nobody reached) counts as a
#: contact but does not hide the action, so it comes back for another try.
OUTCOMES = ("reached", "not_reached", "order_expected")
REASONS = ("not_relevant", "already_in_contact", "customer_declined", "wrong_timing", "other")
#: Phrasings of each reason code besides the code itself, in English and German (compared
#: ignoring case, spacing, "-", "_" and a final full stop). Any other text counts as ``other``.
REASON_PHRASES: dict[str, tuple[str, ...]] = {
    "not_relevant": ("not relevant", "irrelevant", "not applicable", "nicht relevant", "unpassend"),
    "already_in_contact": ("already in contact", "already contacted", "in contact", "bereits im kontakt",
                           "schon im kontakt", "bereits kontaktiert", "schon kontaktiert"),
    "customer_declined": ("customer declined", "declined", "not interested", "no interest",
                          "kunde hat abgelehnt", "abgelehnt", "kein interesse"),
    "wrong_timing": ("wrong timing", "bad timing", "not now", "too early", "too late", "later",
                     "falscher zeitpunkt", "nicht jetzt", "zu früh", "zu spät", "später"),
    "other": ("other reason", "anderer grund", "sonstiges", "andere"),
}
_SEPARATORS = re.compile(r"[\s_\-]+")


def _plain(text: str) -> str:
    return _SEPARATORS.sub(" ", text.casefold()).strip().rstrip(".!").strip()


_CODE_OF = {_plain(phrase): code for code, phrases in REASON_PHRASES.items() for phrase in (code, *phrases)}


def reason_code(text: str) -> str:
    """The reason code (one of :data:`REASONS`) a free-text reason stands for; ``other`` when the
    text is none of the known phrasings."""
    return _CODE_OF.get(_plain(text), "other")
CONTACT_WINDOW = POLICY_CONTACT_WINDOW.to_pytimedelta()


#: The latest day a snooze may end, counted from today.
MAX_SNOOZE = timedelta(days=366)


class IdempotencyConflict(SymbioseError, ValueError):
    """The idempotency key was used before for a different feedback."""


class FeedbackRefused(InvalidField):
    """A feedback whose fields do not go together; ``field`` names the one to correct."""


def check_feedback(*, status: str, executed_by: str | None, outcome: str | None,
                   snooze_until: date | datetime | None, today: date) -> datetime | None:
    """Refuse (:class:`FeedbackRefused`) a feedback the rep pages could not give: an ``outcome``
    other than with ``done`` on a rep-executed action (call, visit), a ``snoozed`` status without
    a ``snooze_until`` on a day after ``today`` and at most :data:`MAX_SNOOZE` ahead, a
    ``snooze_until`` with another status. Returns the snooze's end as stored (a day: its
    midnight; a time: itself) or None."""
    if outcome is not None:
        if outcome not in OUTCOMES:
            raise FeedbackRefused("outcome", f"expected one of {', '.join(OUTCOMES)}, got {outcome!r}")
        if status != "done":
            raise FeedbackRefused("outcome", f"an outcome goes with status 'done' only, got status {status!r}")
        if executed_by != "rep":
            raise FeedbackRefused("outcome", "an outcome is reported on rep-executed actions (call, visit) "
                                             f"only; this suggestion is executed by {executed_by or 'nobody'}")
    if status != "snoozed":
        if snooze_until is not None:
            raise FeedbackRefused("snooze_until", f"goes with status 'snoozed' only, got status {status!r}")
        return None
    if snooze_until is None:
        raise FeedbackRefused("snooze_until", "status 'snoozed' needs the day the snooze ends (YYYY-MM-DD)")
    end = snooze_until if isinstance(snooze_until, datetime) else datetime.combine(snooze_until, time.min)
    snooze_until = end.date()
    if snooze_until <= today:
        raise FeedbackRefused("snooze_until", f"must be a day after today ({today.isoformat()}), "
                                              f"got {snooze_until.isoformat()}")
    if snooze_until > today + MAX_SNOOZE:
        raise FeedbackRefused("snooze_until", f"must be at most {MAX_SNOOZE.days} days ahead "
                                              f"(until {(today + MAX_SNOOZE).isoformat()}), "
                                              f"got {snooze_until.isoformat()}")
    return end


@dataclass(frozen=True)
class FeedbackEffects:
    """What recent feedback does to the accounts' next suggestions.

    ``suppressed``: (account_id, channel, offer_id) dismissed or done within the suppression
    window, or snoozed until a later time; ``contacts``: (account_id, channel) -> rep actions
    accepted or done in the last 30 days (each suggestion counted once), which use up the
    channel's contact cap; ``contact_times``: the same contacts as (time the feedback was first
    given, suggestion_id), for the day the cap allows the channel again, and ``planned``: the
    suggestions among them only accepted so far (not done); ``snoozed``: account_id -> the time its
    latest running snooze ends. Feedback followed by an ``undone`` on the same suggestion has no
    effect.
    """

    suppressed: frozenset[tuple[str, str, str | None]]
    contacts: dict[tuple[str, str], int]
    snoozed: dict[str, datetime] = field(default_factory=dict)
    contact_times: dict[tuple[str, str], tuple[tuple[datetime, str], ...]] = field(default_factory=dict)
    planned: frozenset[str] = frozenset()


def record_feedback(session: Session, *, shown: Decision, status: str, reason: str | None,
                    note: str | None, user_id: int, idempotency_key: str | None,
                    reason_text: str | None = None, outcome: str | None = None,
                    snooze_until: datetime | None = None) -> tuple[Feedback, bool]:
    """Store one feedback for the shown suggestion ``shown``; committed before returning.
    ``reason`` is a code of :data:`REASONS`, ``reason_text`` the reason as the client wrote it,
    ``outcome`` one of :data:`OUTCOMES` and ``snooze_until`` the end of a ``snoozed`` status.

    Returns (feedback, created). With an ``idempotency_key`` already used by this user for the
    same suggestion and status, the stored feedback is returned with created=False (a retried
    POST never duplicates); used for anything else, :class:`IdempotencyConflict` is raised.
    """
    with writing(session):
        if idempotency_key is not None:
            existing = _by_key(session, user_id, idempotency_key)
            if existing is not None:
                return _replay(existing, shown.suggestion_id, status), False
        row = Feedback(suggestion_id=shown.suggestion_id, account_id=shown.account_id, channel=shown.channel,
                       offer_id=shown.offer_id, discount_pct=shown.discount_pct, executed_by=shown.executed_by,
                       status=status, reason=reason, reason_text=reason_text, note=note, user_id=user_id,
                       outcome=outcome, snooze_until=snooze_until,
                       idempotency_key=idempotency_key, created_at=utcnow())
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = _by_key(session, user_id, idempotency_key) if idempotency_key is not None else None
            if existing is None:
                raise
            return _replay(existing, shown.suggestion_id, status), False
        return row, True


def _by_key(session: Session, user_id: int, key: str) -> Feedback | None:
    return session.scalar(select(Feedback).where(Feedback.user_id == user_id, Feedback.idempotency_key == key))


def _replay(existing: Feedback, suggestion_id: str, status: str) -> Feedback:
    if existing.suggestion_id != suggestion_id or existing.status != status:
        raise IdempotencyConflict(
            f"Idempotency-Key was already used for feedback {existing.id} "
            f"(suggestion {existing.suggestion_id}, status {existing.status}); use a new key")
    return existing


#: One feedback row as :func:`effects_from_rows` reads it: (suggestion_id, account_id, channel,
#: offer_id, status, executed_by, created_at, snooze_until, outcome).
FeedbackRow = tuple[str, str, str, "str | None", str, "str | None", datetime, "datetime | None", "str | None"]
EFFECT_COLUMNS = (Feedback.suggestion_id, Feedback.account_id, Feedback.channel, Feedback.offer_id,
                  Feedback.status, Feedback.executed_by, Feedback.created_at, Feedback.snooze_until,
                  Feedback.outcome)


def effects_since(now: datetime, suppress_days: int) -> datetime:
    """The oldest feedback time that can still change an answer at ``now``."""
    return min(now - timedelta(days=suppress_days), now - CONTACT_WINDOW)


def effects_from_rows(rows: Iterable[FeedbackRow], *, now: datetime, suppress_days: int) -> FeedbackEffects:
    """Suppressed actions and used-up contacts at ``now`` from feedback ``rows``."""
    suppress_from = now - timedelta(days=suppress_days)
    contact_from = now - CONTACT_WINDOW
    rows = list(rows)
    undone: dict[str, datetime] = {}
    for row in rows:
        if row[4] == "undone":
            undone[row[0]] = max(row[6], undone.get(row[0], row[6]))
    suppressed: set[tuple[str, str, str | None]] = set()
    counted: dict[tuple[str, str, str], datetime] = {}
    done: set[str] = set()
    snoozed: dict[str, datetime] = {}
    for sid, account, channel, offer, status, executed_by, created, until, outcome in rows:
        if sid in undone and created <= undone[sid]:
            continue
        if status == "snoozed" and until is not None and until > now:
            suppressed.add((account, channel, offer))
            snoozed[account] = max(until, snoozed.get(account, until))
        if status == "dismissed" or (status == "done" and outcome != "not_reached"):
            if created >= suppress_from:
                suppressed.add((account, channel, offer))
        if status in ("accepted", "done") and executed_by == "rep" and created >= contact_from:
            key = (account, channel, sid)
            counted[key] = min(created, counted.get(key, created))  # one contact: its first report
            if status == "done":
                done.add(sid)
    contacts: dict[tuple[str, str], int] = {}
    times: dict[tuple[str, str], tuple[tuple[datetime, str], ...]] = {}
    for (account, channel, sid), created in counted.items():
        contacts[(account, channel)] = contacts.get((account, channel), 0) + 1
        times[(account, channel)] = (*times.get((account, channel), ()), (created, sid))
    planned = frozenset(sid for _a, _c, sid in counted if sid not in done)
    return FeedbackEffects(frozenset(suppressed), contacts, snoozed, times, planned)


def feedback_effects(session: Session, account_ids: Sequence[str], *, now: datetime,
                     suppress_days: int) -> FeedbackEffects:
    """Suppressed actions and used-up contacts of ``account_ids`` from feedback before ``now``."""
    if not account_ids:
        return FeedbackEffects(frozenset(), {})
    since = effects_since(now, suppress_days)
    query = (select(*EFFECT_COLUMNS)
             .where(Feedback.account_id.in_(list(account_ids)),
                    or_(Feedback.created_at >= since, Feedback.snooze_until >= since)))
    return effects_from_rows(session.execute(query), now=now, suppress_days=suppress_days)


def recent_feedback(session: Session, *, since: datetime, after_id: int = 0) -> list[tuple[int, FeedbackRow]]:
    """(id, row) of the feedback with an id above ``after_id`` created (or snoozed until) at or
    after ``since``, by id."""
    query = (select(Feedback.id, *EFFECT_COLUMNS)
             .where(Feedback.id > after_id, or_(Feedback.created_at >= since, Feedback.snooze_until >= since))
             .order_by(Feedback.id))
    return [(int(r[0]), tuple(r[1:])) for r in session.execute(query)]


def count_feedback(session: Session, **filters: object) -> int:
    """How many feedback rows match the equality ``filters`` (column=value)."""
    from sqlalchemy import func

    query = select(func.count()).select_from(Feedback)
    for column, value in filters.items():
        query = query.where(getattr(Feedback, column) == value)
    return int(session.scalar(query) or 0)
