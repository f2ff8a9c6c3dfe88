"""The rep pages under ``/ui``: sign-in, my accounts, an account, feedback fragments, scoreboard
and charts. Every page reads through the same role-checked views as the JSON API; anything
outside the caller's scope answers a 404 page that names nothing of it."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Header, Query, Request
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from serving.api import views
from serving.api.deps import RuntimeDep
from serving.api.routers import ID_PATTERN
from serving.errors import ConflictError, NotFoundError
from serving.reasons import in_language
from serving.runtime import Runtime
from serving.store.decisions import find_shown
from serving.store.tables import Feedback
from serving.store.users import principal_for_token
from serving.store.web_sessions import open_web_session
from serving.suggestions import logged_suggestion
from serving.web import charts
from serving.web.context import Page, PageDep, codec, render, sign_out, texts_for, web_principal
from serving.web.listing import Filters, account_listing, visible_reps
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
STATUSES = ("accepted", "done", "dismissed")
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
                q: FILTER = "", offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0) -> Response:
    filters = Filters(rep_id=rep_id if page.principal.role != "rep" else "", region=region,
                      channel=channel, query=q, offset=offset)
    listing = account_listing(page.runtime, page.access, filters)
    page.runtime.decision_log.write(listing.log_rows)
    base = {k: v for k, v in (("rep_id", filters.rep_id), ("region", region), ("channel", channel), ("q", q)) if v}
    previous = max(0, listing.offset - listing.limit)
    links = {"previous": f"?{urlencode({**base, 'offset': previous})}" if listing.offset > 0 else None,
             "next": f"?{urlencode({**base, 'offset': listing.offset + listing.limit})}"
             if listing.offset + listing.limit < listing.total else None}
    template = "_account_rows.html" if page.request.headers.get("hx-request") else "accounts.html"
    return page.render(template, listing=listing, filters=filters, links=links,
                       currency=page.runtime.snapshot.currency, as_of=page.runtime.snapshot.as_of)


@router.get("/accounts/{account_id:path}")
def account_page(page: PageDep, account_id: str) -> Response:
    if not re.fullmatch(ID_PATTERN, account_id):
        return not_found(page)
    try:
        summary = views.account_summary(page.runtime, page.access, account_id)
        answer = views.account_suggestions(page.runtime, page.access, account_id, SUGGESTIONS_SHOWN)
    except NotFoundError:
        return not_found(page)
    page.runtime.decision_log.write(answer.log_rows)
    snap = page.runtime.snapshot
    name = (summary.get("attributes") or {}).get("name")
    suggestions = in_language(answer.body["suggestions"], snap.suggestions, page.texts.lang, snap.currency)
    return page.render("account.html", summary=summary, name=name, suggestions=suggestions,
                       statuses=latest_status(page.runtime, [s.suggestion_id for s in suggestions]),
                       guardrails=snap.max_discount, currency=snap.currency, reasons=REASONS)


def latest_status(runtime: Runtime, suggestion_ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """suggestion_id -> (status, reason) of its latest feedback, for those that have any."""
    if not suggestion_ids:
        return {}
    with runtime.sessions() as session:
        rows = session.execute(select(Feedback.suggestion_id, Feedback.status, Feedback.reason)
                               .where(Feedback.suggestion_id.in_(suggestion_ids)).order_by(Feedback.id)).all()
    return {sid: (status, reason) for sid, status, reason in rows}


def not_found(page: Page) -> Response:
    return page.render("not_found.html", status_code=404)


@router.post("/feedback")
def feedback(page: PageDep, suggestion_id: Annotated[str, Form(max_length=64)] = "",
             action: Annotated[str, Form(max_length=60)] = "",
             csrf_token: Annotated[str, Form(max_length=200)] = "",
             idempotency_key: Annotated[str | None, Header(min_length=1, max_length=100,
                                                           pattern=r"^[\x21-\x7e]+$")] = None) -> Response:
    """Store a card's feedback; an ``Idempotency-Key`` header (sent by the page's script, also when
    it replays answers given offline) makes a repeated POST store nothing new."""
    page.check_csrf(csrf_token)
    status, _, reason = action.partition(":")
    if status not in STATUSES or (reason and reason not in REASONS) or (reason and status != "dismissed"):
        return page.render("error.html", status_code=422, message=page.texts("bad_form"))
    if status == "dismissed" and not reason:
        reason = "other"
    try:
        with page.runtime.sessions() as session:
            row, created = views.submit_feedback(page.runtime, session, page.access,
                                                 suggestion_id=suggestion_id, status=status,
                                                 reason=reason or None, note=None, idempotency_key=idempotency_key)
            shown = find_shown(session, suggestion_id)
    except NotFoundError:
        return not_found(page)
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
    card = page.render("_suggestion.html", s=suggestion, status=status, reason=reason,
                       guardrails=snap.max_discount, currency=snap.currency, reasons=REASONS)
    card.headers.update(replayed)
    return card


def _scoreboard_rep(page: Page, rep_id: str) -> str | None:
    """The rep whose scoreboard the caller asks for (a rep: their own), if the caller may see it."""
    principal = page.principal
    if principal.role == "rep" and not rep_id:
        rep_id = principal.rep_id or ""
    if not rep_id:
        return None
    return rep_id if page.access.may_see_rep(page.runtime.snapshot.directory, rep_id) else None


@router.get("/scoreboard")
def scoreboard_page(page: PageDep, rep_id: FILTER = "") -> Response:
    chosen = _scoreboard_rep(page, rep_id)
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
        if _scoreboard_rep(page, rep_id) is None:
            return not_found(page)
    elif region:
        if not page.access.may_see_region(snap.directory, region):
            return not_found(page)
    else:
        return not_found(page)
    svg = _revenue_svg((*snap.key, *page.access.figures_key), rep_id, region, page)
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
    chosen = _scoreboard_rep(page, rep_id)
    if chosen is None:
        return not_found(page)
    counts = funnel(page.runtime, rep_accounts(page.runtime, page.access, chosen))
    svg = charts.funnel_svg(counts, page.texts)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})

