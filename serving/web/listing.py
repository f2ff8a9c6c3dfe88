"""The "my accounts" list: the caller's visible accounts with their next best action, filtered,
searched and sorted by expected incremental margin (same picking and logging as the API).

A rep's day (``Filters.rep_day``) lists instead the best action *the rep executes* (call, visit)
of each of their accounts that is worth at least the ``minor_value`` setting, without snoozed
accounts, with a due date: the later of the day the ranked list reaches it, spread over the
working days from as-of by the rep's weekly capacity (``reps.weekly_capacity``, 25 when not
given), and the first day the policy's contact cap and quiet days allow its channel for the
account (touches before as-of and rep actions accepted or done since count as contacts;
``SuggestionService.free_day``). An action blocked today but allowed within the ``rep_day_days``
setting is listed with that day and the rule that holds it back; one blocked longer is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL
from models.suggestion import Suggestion
from serving.access import Access
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.store.decisions import decision_rows
from serving.store.feedback import FeedbackEffects
from serving.store.users import utcnow
from serving.suggestions import LATER, Shown, SuggestionService

PAGE_SIZE = 50
MAX_QUERY = 100
DEFAULT_WEEKLY_CAPACITY = 25
WORKING_DAYS = 5


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to (empty = no narrowing)."""

    rep_id: str = ""
    region: str = ""
    channel: str = ""
    query: str = ""
    offset: int = 0
    rep_day: bool = False


@dataclass
class Listing:
    """One page of accounts plus what the filter menus offer."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int
    regions: list[str] = field(default_factory=list)
    reps: list[tuple[str, str]] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    log_rows: list[dict[str, Any]] = field(default_factory=list)


def visible_reps(snap: Snapshot, access: Access,
                 positions: np.ndarray | None = None) -> list[tuple[str, str]]:
    """(rep_id, name) of the reps owning accounts the caller may see (at ``positions`` when they
    are already known), by id."""
    directory = snap.directory
    if positions is None:
        positions = access.visible_positions(directory)
    return [(r, directory.rep_names.get(r, r)) for r in _distinct(directory.rep_id[positions])]


def _distinct(values: np.ndarray) -> list[str]:
    """The distinct values of an object array as sorted text, without missing ones."""
    return sorted({str(v) for v in pd.unique(values) if v is not None and v == v})


def account_names(snap: Snapshot, positions: np.ndarray) -> np.ndarray:
    """The ``name`` attribute (an extra accounts column) of the accounts at ``positions``; "" when
    the data has none."""
    names = snap.directory.attribute("name", positions)
    return names if names is not None else np.full(len(positions), "", dtype=object)


def account_listing(runtime: Runtime, access: Access, filters: Filters,
                    limit: int = PAGE_SIZE) -> Listing:
    """The visible accounts matching ``filters``, best rank-1 value first, one page of ``limit``
    (for a rep's day: their accounts with rep work worth it, see the module)."""
    snap = runtime.snapshot
    directory, service = snap.directory, snap.suggestions
    positions = access.visible_positions(directory)
    regions = _distinct(directory.region[positions])
    reps = visible_reps(snap, access, positions)
    if filters.rep_id:
        positions = positions[directory.rep_id[positions] == filters.rep_id]
    if filters.region:
        positions = positions[directory.region[positions] == filters.region]
    if filters.query:
        positions = positions[_matches(snap, positions, filters.query[:MAX_QUERY])]
    ids = service.account_ids[positions].tolist()
    effects = runtime.feedback.effects(ids, utcnow())
    free: dict[int, tuple[pd.Timestamp, str | None]] = {}
    if filters.rep_day:
        positions = positions[~np.isin(service.account_ids[positions], list(effects.snoozed))]
        settings = runtime.settings
        picked = service.pick(positions, 2 * settings.candidates, effects, later=True)
        shown, free = _rep_work(service, picked, settings.minor_value, effects,
                                service.as_of.normalize() + pd.Timedelta(days=settings.rep_day_days))
        positions = positions[np.isin(positions, shown.accounts)]
    else:
        shown = service.pick(positions, 1, effects)
        # One suggestion per account, in the order of ``positions``.
        assert len(shown.rows) == len(positions), "pick(k=1) gives one suggestion per account"
    channel = np.where(shown.rows >= 0, service.cols["channel"][np.maximum(shown.rows, 0)], NONE_CHANNEL)
    channels = _distinct(channel)
    if filters.channel:
        keep = channel == filters.channel
        positions = positions[keep]
        shown = Shown(shown.rows[keep], shown.accounts[keep], shown.ranks[keep])
    best = _first_value(service, shown, positions)
    order = np.lexsort((service.account_ids[positions].astype(str), -best))
    offset = max(0, min(filters.offset, max(len(positions) - 1, 0)))
    page = positions[order][offset:offset + limit]
    in_page = np.isin(shown.accounts, page)
    records = service.records(Shown(shown.rows[in_page], shown.accounts[in_page], shown.ranks[in_page]))
    by_account: dict[str, Suggestion] = {r.account_id: r for r in records}
    names = account_names(snap, page)
    phones = _display(snap, "contact_phone", page)
    due = _due_dates(snap, access.principal.rep_id or filters.rep_id, offset, len(page)) \
        if filters.rep_day else [None] * len(page)
    rows = []
    for p, name, phone, when in zip(page.tolist(), names.tolist(), phones.tolist(), due, strict=True):
        account = str(service.account_ids[p])
        rep = directory.rep_id[p]
        why = _why_later(snap, by_account.get(account), free.get(p))
        if why is not None and when is not None:
            when = max(when, why["day"])
        rows.append({"account_id": account, "name": name, "contact_phone": phone, "due": when, "due_why": why,
                     "region": directory.region[p], "rep_id": rep,
                     "rep_name": directory.rep_names.get(rep, rep) if rep else None,
                     "suggestion": by_account.get(account)})
    log = decision_rows(records, model_version=service.model_version, as_of=snap.as_of,
                        requested_at=utcnow(), user_id=access.principal.user_id)
    return Listing(rows=rows, total=int(len(positions)), offset=offset, limit=limit, regions=regions,
                   reps=reps, channels=channels, log_rows=log)


def _rep_work(service: SuggestionService, shown: Shown, minor_value: float, effects: FeedbackEffects,
              horizon: pd.Timestamp) -> tuple[Shown, dict[int, tuple[pd.Timestamp, str | None]]]:
    """Of each account's picked suggestions (``later`` ones and those over a cap used up by
    feedback included), the most valuable one a rep executes that is worth at least
    ``minor_value`` and allowed by ``horizon`` (accounts without one are left out); with the day
    each chosen action becomes possible and the rule that holds it back till then."""
    real = np.maximum(shown.rows, 0)
    cols = service.cols
    keep = (shown.rows >= 0) & (cols["executed_by"][real] == "rep") \
        & (cols["expected_incremental_margin"][real] >= minor_value)
    rows, accounts, ranks = shown.rows[keep], shown.accounts[keep], shown.ranks[keep]
    days: list[tuple[pd.Timestamp | None, str | None]] = []
    for row, pos in zip(rows.tolist(), accounts.tolist(), strict=True):
        channel = str(cols["channel"][row])
        # Rows eligible at as-of wait only for contacts reported since (feedback).
        blocked = cols[LATER][row] or (str(service.account_ids[pos]), channel) in effects.contact_times
        days.append(service.free_day(pos, channel, effects, cols["suggestion_id"][row]) if blocked
                    else (service.as_of, None))
    ok = np.array([d is not None and d <= horizon for d, _ in days], dtype=bool)
    rows, accounts, ranks = rows[ok], accounts[ok], ranks[ok]
    days = [d for d, good in zip(days, ok.tolist(), strict=True) if good]
    value = cols["expected_incremental_margin"][rows].astype(np.float64)
    order = np.lexsort((ranks, -value, accounts))  # by account, most valuable first
    # One per account, in the order the accounts were picked in (the rows' own order).
    best = np.sort(order[~pd.Series(accounts[order]).duplicated().to_numpy()])
    free: dict[int, tuple[pd.Timestamp, str | None]] = {}
    for i in best.tolist():
        day, rule = days[i]
        assert day is not None, "rows never allowed were left out above"
        free[int(accounts[i])] = (day, rule)
    return Shown(rows[best], accounts[best], ranks[best]), free


def later_rep_action(runtime: Runtime, account_id: str) -> tuple[Suggestion, dict[str, Any]] | None:
    """The rep's-day action of ``account_id`` when the contact cap or the quiet days hold it back
    today (the action and why, as :func:`_why_later`), None when it is possible today or there is
    none: the account page shows it beside the cards of today."""
    snap = runtime.snapshot
    service = snap.suggestions
    pos = service.position(account_id)
    if pos < 0:
        return None
    settings = runtime.settings
    effects = runtime.feedback.effects([account_id], utcnow())
    if account_id in effects.snoozed:
        return None
    positions = np.array([pos], dtype=np.int64)
    picked = service.pick(positions, 2 * settings.candidates, effects, later=True)
    shown, free = _rep_work(service, picked, settings.minor_value, effects,
                            service.as_of.normalize() + pd.Timedelta(days=settings.rep_day_days))
    if not len(shown.rows) or free.get(pos, (None, None))[1] is None:
        return None
    suggestion = service.records(shown)[0]
    why = _why_later(snap, suggestion, free[pos])
    return (suggestion, why) if why is not None else None


def _why_later(snap: Snapshot, suggestion: Suggestion | None,
               free: tuple[pd.Timestamp, str | None] | None) -> dict[str, Any] | None:
    """Why the rep's action ``suggestion`` is not possible on the as-of day: the rule (``contact_cap``
    or ``quiet_period``), the channel, the cap or quiet days and the day it becomes possible."""
    if suggestion is None or free is None or free[1] is None:
        return None
    day, rule = free
    policy = snap.suggestions.policy
    limit = policy.channels[suggestion.channel].max_per_30d if suggestion.channel in policy.channels else None
    return {"rule": rule, "channel": suggestion.channel, "limit": limit,
            "days": policy.quiet_days_after_order, "day": day.date()}


def _first_value(service: SuggestionService, shown: Shown, positions: np.ndarray) -> np.ndarray:
    """Expected incremental margin of each account's first picked suggestion (0 for none)."""
    first = ~pd.Series(shown.accounts).duplicated().to_numpy()
    rows = shown.rows[first]
    value = np.where(rows >= 0, service.cols["expected_incremental_margin"][np.maximum(rows, 0)], 0.0)
    return pd.Series(value, index=shown.accounts[first]).reindex(positions, fill_value=0.0).to_numpy()


def _due_dates(snap: Snapshot, rep_id: str, offset: int, count: int) -> list[date | None]:
    """Due dates of the rows ``offset .. offset + count`` of a rep's day: the rep's daily share of
    their weekly capacity per working day, from the as-of day on."""
    capacity = snap.directory.rep_capacity.get(rep_id, DEFAULT_WEEKLY_CAPACITY)
    per_day = max(1, -(-int(capacity) // WORKING_DAYS))
    start: date = snap.as_of.date()
    if start.weekday() >= WORKING_DAYS:
        start += timedelta(days=7 - start.weekday())
    return [_working_day(start, (offset + i) // per_day) for i in range(count)]


def _working_day(start: date, n: int) -> date:
    """The ``n``-th working day (Monday to Friday) after the working day ``start``."""
    weeks, days = divmod(n, WORKING_DAYS)
    day = start + timedelta(weeks=weeks)
    for _ in range(days):
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    return day


def _display(snap: Snapshot, column: str, positions: np.ndarray) -> np.ndarray:
    """A display-only accounts column at ``positions``; "" when the data has none."""
    values = snap.directory.attribute(column, positions)
    return values if values is not None else np.full(len(positions), "", dtype=object)


def _matches(snap: Snapshot, positions: np.ndarray, query: str) -> np.ndarray:
    """Case-insensitive substring match of ``query`` in account id or name."""
    needle = query.strip().lower()
    if not needle:
        return np.ones(len(positions), dtype=bool)
    ids = pd.Series(snap.suggestions.account_ids[positions].astype(str))
    hit = ids.str.lower().str.contains(needle, regex=False).to_numpy(dtype=bool, copy=True)
    named = pd.Series(account_names(snap, positions)).str.lower().str.contains(needle, regex=False)
    return hit | named.to_numpy(dtype=bool)
