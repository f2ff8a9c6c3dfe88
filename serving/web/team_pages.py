"""The team page of managers (``/ui/team``): their region's reps side by side with drill-down
to each rep's list and scoreboard, and CSV downloads of the team and of any account list."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from starlette.responses import Response

from serving.web.context import Page, PageDep
from serving.web.downloads import csv_download, separator
from serving.web.listing import Filters, account_listing
from serving.web.team import FUNNEL, PERIODS, REVENUE, team, team_frame, team_region, team_regions

router = APIRouter(prefix="/ui", include_in_schema=False)
TEXT = Annotated[str, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")]
PERIOD = Annotated[str, Query(pattern="^(month|year)$")]
SEP = Annotated[str, Query(pattern="^[,;]?$")]
EVERY_ACCOUNT = 10_000_000


def _not_found(page: Page) -> Response:
    return page.render("not_found.html", status_code=404)


def team_headers(page: Page) -> dict[str, str]:
    """Column titles of the team table and its download, in the page's language."""
    t = page.texts
    currency = page.runtime.snapshot.currency
    return {"region": t("region"), "rep_id": t("team_rep_id"), "rep_name": t("rep"),
            "accounts": t("team_accounts"),
            **{k: t(f"team_{k}", currency=currency) for k in REVENUE},
            **{k: t(f"team_{k}") for k in FUNNEL}, "open_tasks": t("team_open_tasks")}


@router.get("/team")
def team_page(page: PageDep, region: TEXT = "", period: PERIOD = "year") -> Response:
    chosen = team_region(page.runtime, page.access, region)
    if chosen is None:
        return _not_found(page)
    board = team(page.runtime, page.access, chosen, period)
    return page.render("team.html", board=board, regions=team_regions(page.runtime, page.access),
                       periods=PERIODS, headers=team_headers(page), revenue_keys=REVENUE, funnel_keys=FUNNEL,
                       currency=page.runtime.snapshot.currency)


@router.get("/team.csv")
def team_csv(page: PageDep, region: TEXT = "", period: PERIOD = "year", sep: SEP = "") -> Response:
    chosen = team_region(page.runtime, page.access, region)
    if chosen is None:
        return _not_found(page)
    board = team(page.runtime, page.access, chosen, period)
    frame = team_frame(board, team_headers(page))
    return csv_download(frame, f"team-{chosen}-{period}-{board.end:%Y-%m-%d}.csv", separator(page.texts, sep))


@router.get("/export/accounts.csv")
def accounts_csv(page: PageDep, rep_id: TEXT = "", region: TEXT = "", channel: TEXT = "", q: TEXT = "",
                 sep: SEP = "") -> Response:
    """The account list the caller sees at ``/ui/`` with the same filters, every page of it."""
    snap = page.runtime.snapshot
    if rep_id and page.principal.role != "rep" and not page.access.may_see_rep(snap.directory, rep_id):
        return _not_found(page)
    filters = Filters(rep_id=rep_id if page.principal.role != "rep" else "", region=region, channel=channel,
                      query=q)
    listing = account_listing(page.runtime, page.access, filters, limit=EVERY_ACCOUNT)
    t = page.texts
    rows = []
    for row in listing.rows:
        s = row["suggestion"]
        rows.append((row["account_id"], row["name"] or None, row["region"], row["rep_id"], row["rep_name"],
                     t.channel(s.channel) if s else None, (s.offer_name or s.offer_id) if s else None,
                     float(s.discount_pct) if s else None, float(s.expected_incremental_margin) if s else None))
    margin = t("expected_margin_currency", currency=snap.currency)
    columns = [t("account"), t("team_name"), t("region"), t("team_rep_id"), t("rep"), t("channel"),
               t("team_offer"), t("discount"), margin]
    frame = pd.DataFrame(rows, columns=columns)
    scope = rep_id or region or "accounts"
    return csv_download(frame, f"accounts-{scope}-{snap.as_of:%Y-%m-%d}.csv", separator(t, sep),
                        digits={t("discount"): 2, margin: 2})
