"""The team page of managers (``/ui/team``): their region's reps side by side with drill-down
to each rep's list and scoreboard (``serving.web.exports`` downloads those), and the team's CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from serving.web.context import Page, PageDep
from serving.web.downloads import csv_download, separator
from serving.web.team import FUNNEL, PERIODS, REVENUE, team, team_frame, team_region, team_regions

router = APIRouter(prefix="/ui", include_in_schema=False)
TEXT = Annotated[str, Query(max_length=100, pattern=r"^[^\x00-\x1f]*$")]
PERIOD = Annotated[str, Query(pattern="^(month|year)$")]
SEP = Annotated[str, Query(pattern="^[,;]?$")]


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
