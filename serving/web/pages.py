"""The rep pages under ``/ui``: sign-in, my accounts, an account, feedback fragments, scoreboard
and charts. Every page reads through the same role-checked views as the JSON API; anything
outside the caller's scope answers a 404 page that names nothing of it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Header, Query, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from features.dataset import DISPLAY_ACCOUNT_COLUMNS
from features.reason_texts import CURRENCY_SYMBOLS
from models.suggestion import Suggestion
from serving.api import views
from serving.api.deps import RuntimeDep
from serving.api.routers import ID_PATTERN
from serving.errors import ConflictError, NotFoundError
from serving.reasons import card_reasons, in_language
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.store.decisions import find_shown
from serving.store.feedback import OUTCOMES, FeedbackRefused
from serving.store.tables import Feedback
from serving.store.users import principal_for_token, utcnow
from serving.store.web_sessions import open_web_session
from serving.suggestions import logged_suggestion
from serving.web import charts
from serving.web.context import Page, PageDep, codec, render, sign_out, texts_for, web_principal
from serving.web.i18n import MESSAGES, Texts
from serving.web.list_query import account_filters, filter_params
from serving.web.listing import account_listing, later_rep_action, visible_reps
from serving.web.scoreboard import (
    funnel,
    monthly_revenue,
    region_average_monthly,
    rep_accounts,
    scoreboard,
)
from serving.web.session import LOGIN_COOKIE

router = APIRouter(prefix="/ui", include_in_schema=False)
SUGGESTIONS_SHOWN = 3
FILTER = Annotated[str, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")]
REASONS = ("not_relevant", "already_in_contact", "customer_declined", "wrong_timing", "other")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login")
def login_form(request: Request, runtime: RuntimeDep) -> Response:
    session = codec(request).read(request)
    if session is not None and web_principal(runtime, session.session_id) is not None:
        return _see_other("/ui/")
    return _login_page(request, status_code=200, error=None)


def _login_page(request: Request, *, status_code: int, error: str | None) -> Response:
    token, cookie = codec(request).login_token(request)
    response = render(request, texts_for(request), "login.html", status_code, login_csrf=token, error=error,
                      principal=None)
    codec(request).write_login(response, cookie)
    return response


@router.post("/login")
def login(request: Request, runtime: RuntimeDep,
          token: Annotated[str, Form(max_length=200)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    signer = codec(request)
    if not signer.check_login(request, csrf_token):
        return _login_page(request, status_code=403, error="bad_form")
    principal = None
    if token.strip():
        with runtime.sessions() as session:
            principal = principal_for_token(session, token.strip())
            if principal is not None:
                session_id = open_web_session(session, principal.user_id, signer.max_age)
    if principal is None:
        return _login_page(request, status_code=401, error="bad_token")
    response = _see_other("/ui/")
    signer.write(response, signer.new_session(session_id))
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
def logout(page: PageDep, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    page.check_csrf(csrf_token)
    sign_out(page.runtime, page.session.session_id)
    response = _see_other("/ui/login")
    codec(page.request).clear(response)
    return response


@router.get("/")
def my_accounts(page: PageDep, rep_id: FILTER = "", region: FILTER = "", channel: FILTER = "",
                q: FILTER = "", view: Annotated[str, Query(pattern="^(|day|all)$")] = "",
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    filters = account_filters(page.principal.role, rep_id=rep_id, region=region, channel=channel, q=q,
                              view=view, offset=offset)
    rep_day = filters.rep_day
    listing = account_listing(page.runtime, page.access, filters)
    page.runtime.decision_log.write(listing.log_rows)
    base = filter_params(filters, page.principal.role)
    previous = max(0, listing.offset - listing.limit)
    links = {"previous": f"?{urlencode({**base, 'offset': previous})}" if listing.offset > 0 else None,
             "next": f"?{urlencode({**base, 'offset': listing.offset + listing.limit})}"
             if listing.offset + listing.limit < listing.total else None,
             "csv": f"/ui/export/accounts.csv?{urlencode(base)}".rstrip("?")}
    template = "_account_rows.html" if page.request.headers.get("hx-request") else "accounts.html"
    return page.render(template, listing=listing, filters=filters, links=links, rep_day=rep_day,
                       currency=page.runtime.snapshot.currency, as_of=page.runtime.snapshot.as_of,
                       minor_value=page.runtime.settings.minor_value)


@router.get("/accounts/{account_id:path}")
def account_page(page: PageDep, account_id: str) -> Response:
    if not re.fullmatch(ID_PATTERN, account_id):
        return not_found(page)
    try:
        summary = views.account_summary(page.runtime, page.access, account_id)
        rep_view = page.principal.role == "rep"
        k = page.runtime.settings.candidates if rep_view else SUGGESTIONS_SHOWN
        answer = views.account_suggestions(page.runtime, page.access, account_id, k)
    except NotFoundError:
        return not_found(page)
    shown = with_rep_work(answer.body["suggestions"], page.runtime.settings.minor_value) if rep_view \
        else answer.body["suggestions"]
    ids = {s.suggestion_id for s in shown}
    page.runtime.decision_log.write([row for row in answer.log_rows if row["suggestion_id"] in ids])
    snap = page.runtime.snapshot
    attributes = dict(summary.get("attributes") or {})
    display = {k: attributes.pop(k) for k in DISPLAY_ACCOUNT_COLUMNS if k in attributes}
    suggestions = in_language(shown, snap.suggestions, page.texts.lang, snap.currency)
    return page.render("account.html", summary=summary, name=display.get("name"), display=display,
                       attributes=attribute_rows(page.texts, attributes),
                       crm_url=safe_link(display.get("crm_url")), offer_names=snap.offer_names,
                       snoozed=snoozed_cards(page, account_id),
                       later=later_rep_action(page.runtime, account_id) if rep_view else None,
                       **card_context(page, suggestions, summary))


def with_rep_work(ranked: list[Suggestion], minor_value: float) -> list[Suggestion]:
    """The first :data:`SUGGESTIONS_SHOWN` of an account's ranked suggestions, plus its best rep
    action worth ``minor_value`` when none of those is one (the action a rep's day lists)."""
    first = ranked[:SUGGESTIONS_SHOWN]
    if any(s.executed_by == "rep" and s.expected_incremental_margin >= minor_value for s in first):
        return first
    extra = [s for s in ranked[SUGGESTIONS_SHOWN:]
             if s.executed_by == "rep" and s.expected_incremental_margin >= minor_value][:1]
    return first + extra


def card_context(page: Page, suggestions: list[Suggestion], summary: dict[str, Any] | None) -> dict[str, Any]:
    """What ``_suggestion.html`` needs besides the suggestion: statuses, reasons, guardrails."""
    snap = page.runtime.snapshot
    if summary is None:
        summary = views.account_summary(page.runtime, page.access, suggestions[0].account_id) if suggestions else {}
    why = card_reasons(suggestions, snap.suggestions, summary, page.texts, snap.currency,
                       minor_value=page.runtime.settings.minor_value, window_days=snap.attribution_window_days)
    return {"suggestions": suggestions, "why": why, "reasons": REASONS, "outcomes": OUTCOMES,
            "statuses": latest_status(page.runtime, [s.suggestion_id for s in suggestions]),
            "guardrails": snap.max_discount, "currency": snap.currency, "snooze_default": _snooze_default(snap),
            "minor_value": page.runtime.settings.minor_value, "rep_view": page.principal.role == "rep"}


def _snooze_default(snap: Snapshot) -> str:
    """A week after as-of (or today, when later), as the snooze date field's value."""
    start = max(snap.as_of.to_pydatetime().date(), utcnow().date())
    return (start + timedelta(days=7)).isoformat()


def attribute_rows(texts: Texts, attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of an account's extra attributes in the page's language: known names
    labelled, amounts of ``*_eur``-style columns as money, other numbers with the language's
    separators."""
    rows = []
    for key, value in attributes.items():
        label_key = f"attr_{key}"
        label = texts(label_key) if label_key in MESSAGES["en"] else key.replace("_", " ").capitalize()
        currency = key.rsplit("_", 1)[-1].upper() if "_" in key else ""
        if value is None or value == "":
            shown = "–"
        elif isinstance(value, bool):
            shown = texts("yes") if value else texts("no")
        elif isinstance(value, (int, float)) and currency in CURRENCY_SYMBOLS:
            shown = texts.money(value, currency)
        elif isinstance(value, (int, float)):
            shown = texts.number(value, 0 if float(value).is_integer() else 2)
        else:
            shown = str(value)
        rows.append((label, shown))
    return rows


def safe_link(url: str | None) -> str | None:
    """``url`` when it is an http(s) address (never ``javascript:`` or the like), else None."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def snoozed_cards(page: Page, account_id: str) -> list[tuple[str, str, datetime]]:
    """(suggestion_id, channel, until) of the account's snoozes still running (latest first)."""
    now = utcnow()
    with page.runtime.sessions() as session:
        rows = session.execute(select(Feedback.suggestion_id, Feedback.channel, Feedback.snooze_until,
                                      Feedback.status, Feedback.created_at)
                               .where(Feedback.account_id == account_id,
                                      Feedback.status.in_(("snoozed", "undone")))
                               .order_by(Feedback.id)).all()
    running: dict[str, tuple[str, str, datetime]] = {}
    for sid, channel, until, status, _created in rows:
        if status == "undone":
            running.pop(sid, None)
        elif until is not None and until > now:
            running[sid] = (sid, channel, until)
    return list(reversed(running.values()))


def latest_status(runtime: Runtime, suggestion_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """suggestion_id -> (status, reason or outcome) of its latest feedback still in effect (an
    ``undone`` one clears the card), for those that have any."""
    if not suggestion_ids:
        return {}
    with runtime.sessions() as session:
        rows = session.execute(select(Feedback.suggestion_id, Feedback.status, Feedback.reason, Feedback.outcome)
                               .where(Feedback.suggestion_id.in_(suggestion_ids)).order_by(Feedback.id)).all()
    found: dict[str, tuple[str, str | None]] = {}
    for sid, status, reason, outcome in rows:
        if status == "undone":
            found.pop(sid, None)
        else:
            found[sid] = (status, outcome or reason)
    return found


def not_found(page: Page) -> Response:
    return page.render("not_found.html", status_code=404)


@dataclass(frozen=True)
class CardAction:
    """A card button's feedback: status, reason code, outcome, the day a snooze ends."""

    status: str
    reason: str | None = None
    outcome: str | None = None
    snooze_until: date | None = None


def card_action(action: str, snooze_until: str) -> CardAction | None:
    """The feedback a card button stands for (``accepted``, ``done``, ``done:<outcome>``,
    ``dismissed:<reason>``, ``snoozed`` with a date, ``undone``); None when invalid. The rules the
    stored feedback must meet (a snooze ends after today, an outcome only on a rep action) are
    checked when it is stored, as for the API (``serving.store.feedback.check_feedback``)."""
    status, _, detail = action.partition(":")
    if status in ("accepted", "undone") and not detail:
        return CardAction(status)
    if status == "done" and (not detail or detail in OUTCOMES):
        return CardAction(status, outcome=detail or None)
    if status == "dismissed" and (not detail or detail in REASONS):
        return CardAction(status, reason=detail or "other")
    if status == "snoozed" and not detail:
        try:
            return CardAction(status, snooze_until=date.fromisoformat(snooze_until.strip()))
        except ValueError:
            return None
    return None


@router.post("/feedback")
def feedback(page: PageDep, suggestion_id: Annotated[str, Form(max_length=64)] = "",
             action: Annotated[str, Form(max_length=60)] = "",
             snooze_until: Annotated[str, Form(max_length=20)] = "",
             note: Annotated[str, Form(max_length=1000)] = "",
             csrf_token: Annotated[str, Form(max_length=200)] = "",
             idempotency_key: Annotated[str | None, Header(min_length=1, max_length=100,
                                                           pattern=r"^[\x21-\x7e]+$")] = None) -> Response:
    """Store a card's feedback; an ``Idempotency-Key`` header (sent by the page's script, also when
    it replays answers given offline) makes a repeated POST store nothing new."""
    page.check_csrf(csrf_token)
    chosen = card_action(action, snooze_until)
    if chosen is None:
        return page.render("error.html", status_code=422, message=page.texts("bad_form"))
    try:
        with page.runtime.sessions() as session:
            shown = find_shown(session, suggestion_id)
            if shown is not None and shown.executed_by == "marketing" and page.principal.role == "rep":
                page.access.account(page.runtime.snapshot.directory, shown.account_id)  # 404 outside scope
                return page.render("error.html", status_code=422, message=page.texts("marketing_read_only"))
            row, created = views.submit_feedback(page.runtime, session, page.access,
                                                 suggestion_id=suggestion_id, status=chosen.status,
                                                 reason=chosen.reason, note=_note(note),
                                                 idempotency_key=idempotency_key,
                                                 outcome=chosen.outcome, snooze_until=chosen.snooze_until)
    except NotFoundError:
        return not_found(page)
    except FeedbackRefused:
        return page.render("error.html", status_code=422, message=page.texts("bad_form"))
    except ConflictError:
        return page.render("error.html", status_code=409, message=page.texts("bad_form"))
    replayed = {} if created else {"Idempotency-Replayed": "true"}
    if not page.request.headers.get("hx-request") or shown is None:
        answer: Response = _see_other(f"/ui/accounts/{quote(row.account_id, safe='')}")
        answer.headers.update(replayed)
        return answer
    snap = page.runtime.snapshot
    suggestion = snap.suggestions.candidate(row.account_id, suggestion_id) or logged_suggestion(shown)
    suggestion = in_language([suggestion], snap.suggestions, page.texts.lang, snap.currency)[0]
    status = None if chosen.status == "undone" else chosen.status
    card = page.render("_suggestion.html", s=suggestion, status=status, reason=chosen.outcome or chosen.reason,
                       snoozed_until=row.snooze_until, note=_note(note) if status else None,
                       **card_context(page, [suggestion], None))
    card.headers.update(replayed)
    return card


def _note(text: str) -> str | None:
    """The note as stored: stripped, None when empty; control characters other than line breaks dropped."""
    cleaned = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32).strip()
    return cleaned or None


def scoreboard_rep(page: Page, rep_id: str) -> str | None:
    """The rep whose scoreboard the caller asks for (a rep: their own), if the caller may see it."""
    principal = page.principal
    if principal.role == "rep" and not rep_id:
        rep_id = principal.rep_id or ""
    if not rep_id:
        return None
    return rep_id if page.access.may_see_rep(page.runtime.snapshot.directory, rep_id) else None


@router.get("/scoreboard")
def scoreboard_page(page: PageDep, rep_id: FILTER = "") -> Response:
    chosen = scoreboard_rep(page, rep_id)
    if chosen is None and (page.principal.role == "rep" or rep_id):
        return not_found(page)
    listing_reps = None
    if page.principal.role != "rep":
        listing_reps = visible_reps(page.runtime.snapshot, page.access)
    board = scoreboard(page.runtime, page.access, chosen) if chosen else None
    return page.render("scoreboard.html", board=board, reps=listing_reps, chosen=chosen,
                       currency=page.runtime.snapshot.currency)


@router.get("/charts/revenue.svg")
def revenue_chart(page: PageDep, rep_id: FILTER = "", region: FILTER = "") -> Response:
    snap = page.runtime.snapshot
    if rep_id:
        if scoreboard_rep(page, rep_id) is None:
            return not_found(page)
    elif region:
        if not page.access.may_see_region(snap.directory, region):
            return not_found(page)
    else:
        return not_found(page)
    svg = _revenue_svg((*snap.data_key, *page.access.figures_key), rep_id, region, page)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=300"})


_charts: dict[tuple[str, ...], str] = {}


def _revenue_svg(scope_key: tuple[str, ...], rep_id: str, region: str, page: Page) -> str:
    """The monthly revenue chart, drawn once per (snapshot and caller's scope, rep or region, language)."""
    key = (*scope_key, rep_id, region, page.texts.lang)
    found = _charts.get(key)
    if found is None:
        months = (monthly_revenue(page.runtime, page.access, rep_id=rep_id) if rep_id
                  else region_average_monthly(page.runtime, page.access, region))
        found = charts.revenue_svg(months, page.texts, page.runtime.snapshot.currency)
        if len(_charts) > 512:
            _charts.clear()
        _charts[key] = found
    return found


@router.get("/charts/funnel.svg")
def funnel_chart(page: PageDep, rep_id: FILTER = "") -> Response:
    chosen = scoreboard_rep(page, rep_id)
    if chosen is None:
        return not_found(page)
    counts = funnel(page.runtime, rep_accounts(page.runtime, page.access, chosen))
    svg = charts.funnel_svg(counts, page.texts)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

