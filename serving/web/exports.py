"""CSV downloads of the lists the pages show (``serving.web.downloads``: spreadsheet-safe, German
style on a German page): the account list or a rep's day with the page's filters and order, every
page of it, and a rep's scoreboard. Each download reads through the same role-checked functions as
its page, so it holds exactly what the caller may see there."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from starlette.responses import Response

from serving.web.context import Page, PageDep
from serving.web.downloads import csv_download, separator
from serving.web.i18n import Texts
from serving.web.list_query import account_filters
from serving.web.listing import account_listing
from serving.web.pages import scoreboard_rep
from serving.web.scoreboard import scoreboard

router = APIRouter(prefix="/ui", include_in_schema=False)
TEXT = Annotated[str, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")]
VIEW = Annotated[str, Query(pattern="^(|day|all)$")]
SEP = Annotated[str, Query(pattern="^[,;]?$")]
EVERY_ACCOUNT = 10_000_000
FUNNEL_STAGES = ("shown", "accepted", "done", "converted")


def _not_found(page: Page) -> Response:
    return page.render("not_found.html", status_code=404)


@router.get("/export/accounts.csv")
def accounts_csv(page: PageDep, rep_id: TEXT = "", region: TEXT = "", channel: TEXT = "", q: TEXT = "",
                 view: VIEW = "", sep: SEP = "") -> Response:
    """The list the caller sees at ``/ui/`` with the same parameters (a rep: their day, or with
    ``view=all`` all their accounts), in the page's order, every page of it."""
    snap = page.runtime.snapshot
    role = page.principal.role
    if rep_id and role != "rep" and not page.access.may_see_rep(snap.directory, rep_id):
        return _not_found(page)
    filters = account_filters(role, rep_id=rep_id, region=region, channel=channel, q=q, view=view)
    listing = account_listing(page.runtime, page.access, filters, limit=EVERY_ACCOUNT)
    t = page.texts
    margin = t("expected_margin_currency", currency=snap.currency)
    columns: dict[str, str] = {"account_id": t("account"), "name": t("team_name")}
    if filters.rep_day:
        columns["contact_phone"] = t("contact_phone")
    columns["region"] = t("region")
    if role != "rep":
        columns |= {"rep_id": t("team_rep_id"), "rep_name": t("rep")}
    if filters.rep_day:
        columns["due"] = t("due")
    columns |= {"channel": t("channel"), "offer": t("team_offer"), "discount": t("discount"), "margin": margin}
    rows = [_account_row(row, t) for row in listing.rows]
    frame = pd.DataFrame(rows, columns=list(columns)).rename(columns=columns)
    frame[t("discount")] = frame[t("discount")].astype(float)
    frame[margin] = frame[margin].astype(float)
    scope = "day" if filters.rep_day else (rep_id or region or "accounts")
    return csv_download(frame, f"accounts-{scope}-{snap.as_of:%Y-%m-%d}.csv", separator(t, sep),
                        digits={t("discount"): 2, margin: 2})


def _account_row(row: dict[str, Any], t: Texts) -> dict[str, Any]:
    """One listed account as an export row (the suggestion's channel named in the page's language)."""
    s = row["suggestion"]
    return {"account_id": row["account_id"], "name": row["name"] or None,
            "contact_phone": row.get("contact_phone") or None, "region": row["region"],
            "rep_id": row["rep_id"], "rep_name": row["rep_name"], "due": row.get("due"),
            "channel": t.channel(s.channel) if s else None, "offer": (s.offer_name or s.offer_id) if s else None,
            "discount": float(s.discount_pct) if s else None,
            "margin": float(s.expected_incremental_margin) if s else None}


@router.get("/scoreboard.csv")
def scoreboard_csv(page: PageDep, rep_id: TEXT = "", sep: SEP = "") -> Response:
    """The tables of a rep's scoreboard (revenue of the month and year, suggestions), the rep's
    figures beside the region average, as the caller sees them on ``/ui/scoreboard``."""
    chosen = scoreboard_rep(page, rep_id)
    if chosen is None:
        return _not_found(page)
    board = scoreboard(page.runtime, page.access, chosen)
    frame = scoreboard_frame(board, page)
    return csv_download(frame, f"scoreboard-{chosen}-{board['as_of']:%Y-%m-%d}.csv", separator(page.texts, sep),
                        digits=dict.fromkeys(frame.columns[2:], 2))


def scoreboard_frame(board: dict[str, Any], page: Page) -> pd.DataFrame:
    """One row per figure of the scoreboard: table, figure, the rep's value, the region average."""
    t = page.texts
    currency = page.runtime.snapshot.currency
    p = board["periods"]
    rows = []
    for title, block in ((t("revenue_month", period=t.month(p.month_start)), board["month"]),
                         (t("revenue_year", period=p.year_start.year), board["year"])):
        section = f"{title} ({currency})"
        for key, label in (("offline_revenue", t("offline")), ("online_revenue", t("online")), ("total", t("total")),
                           ("online_revenue_after_outreach", t("credited_online_rep"))):
            rows.append((section, label, block["own"][key], block["region_average"][key]))
    for stage in FUNNEL_STAGES:
        rows.append((t("suggestions"), t(f"stage_{stage}"), board["funnel"][stage], board["funnel_average"][stage]))
    columns = [t("export_table"), t("export_figure"), f"{t('rep')}: {board['rep_name']}", t("region_average")]
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns[2:]:
        frame[column] = frame[column].astype(float)
    return frame
