"""A manager's team: the reps of one region side by side — revenue offline and online, online
revenue credited to their outreach, their suggestions shown (distinct suggestions, not page
views), accepted, done and converted, and their open tasks — in the caller's scope
(``serving.access``: a manager's region only; admins choose any region)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from serving.access import Access
from serving.runtime import Runtime
from serving.web.funnel_counts import funnel_counts
from serving.web.scoreboard import funnel, periods, region_reps, rep_accounts, revenue

PERIODS = ("month", "year")
#: Roles that see a team page (a manager only their own region's).
TEAM_ROLES = ("manager", "admin")
REVENUE = ("offline_revenue", "online_revenue", "online_revenue_after_outreach")
FUNNEL = ("shown", "accepted", "done", "converted")


@dataclass(frozen=True)
class Team:
    """The rows of one region's team page (one per rep, then the region's total)."""

    region: str
    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    rows: list[dict[str, Any]]
    total: dict[str, Any]


def team_region(runtime: Runtime, access: Access, asked: str) -> str | None:
    """The region whose team the caller sees: a manager's own; for an admin the asked one (else the
    first region); None when the caller has no team page or may not see the asked region."""
    if access.role not in TEAM_ROLES:
        return None
    directory = runtime.snapshot.directory
    if access.role == "manager":
        own = access.region
        return own if own and (not asked or asked == own) else None
    if asked:
        return asked if access.may_see_region(directory, asked) else None
    regions = team_regions(runtime, access)
    return regions[0] if regions else None


def team_regions(runtime: Runtime, access: Access) -> list[str]:
    """The regions the caller may choose on the team page."""
    if access.role == "manager":
        return [access.region] if access.region else []
    if access.role != "admin":
        return []
    return sorted({str(r) for r in runtime.snapshot.directory.region if r is not None})


def team(runtime: Runtime, access: Access, region: str, period: str) -> Team:
    """The reps of ``region`` (owning accounts there or listed there) with their figures of this
    ``period`` ("month" or "year", up to the snapshot's as-of), in the caller's scope."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    snap = runtime.snapshot
    p = periods(snap.as_of)
    start = p.month_start if period == "month" else p.year_start
    counts = funnel_counts(runtime.sessions)
    rows = []
    for rep in region_reps(runtime, region):
        accounts = rep_accounts(runtime, access, rep)
        tasks = counts.open_tasks_of(accounts)
        money = revenue(runtime, access, rep, start, p.end)["own"]
        rows.append({"rep_id": rep, "rep_name": snap.directory.rep_names.get(rep, rep), "accounts": len(accounts),
                     **{k: money[k] for k in REVENUE}, **funnel(runtime, accounts, counts),
                     "open_tasks": sum(tasks.values())})
    keys = ["accounts", *REVENUE, *FUNNEL, "open_tasks"]
    total = {k: sum(r[k] for r in rows) for k in keys}
    return Team(region=region, period=period, start=start, end=p.end, rows=rows, total=total)


def team_frame(board: Team, headers: dict[str, str]) -> pd.DataFrame:
    """The team table for export: one row per rep, columns named by ``headers`` (key -> title)."""
    frame = pd.DataFrame(board.rows, columns=["rep_id", "rep_name", "accounts", *REVENUE, *FUNNEL, "open_tasks"])
    frame.insert(0, "region", board.region)
    for column in REVENUE:
        frame[column] = frame[column].astype(float).round(2)
    return frame.rename(columns=headers)
