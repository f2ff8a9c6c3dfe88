"""A rep's scoreboard: revenue of this month and year split offline/online, online revenue
credited to their outreach, suggestions shown, accepted, done and converted — each against the
average rep of their region. Periods end at the snapshot's as-of; "this month" is the month of
the last day before it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from features.attribution import attribution_table
from serving.attribution_view import attributed, rep_region
from serving.runtime import Runtime, Snapshot
from serving.store.tables import Decision, Feedback

MONTHS_CHARTED = 12
_cache: dict[tuple[int, str, str], pd.DataFrame] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Periods:
    """This month and this year up to the snapshot's as-of."""

    month_start: pd.Timestamp
    year_start: pd.Timestamp
    end: pd.Timestamp


def periods(as_of: pd.Timestamp) -> Periods:
    last_day = (pd.Timestamp(as_of) - pd.Timedelta(days=1)).normalize()
    return Periods(month_start=last_day.replace(day=1), year_start=last_day.replace(month=1, day=1),
                   end=pd.Timestamp(as_of))


def _table(snap: Snapshot, lines: pd.DataFrame, by: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The attribution table of a period, computed once per snapshot."""
    key = (id(snap), by, f"{start.isoformat()}/{end.isoformat()}")
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        found = attribution_table(lines, by, start, end)
        with _cache_lock:
            if len(_cache) > 64:
                _cache.clear()
            _cache[key] = found
    return found


def region_reps(runtime: Runtime, region: str | None) -> list[str]:
    """Reps owning accounts in ``region`` (or listed there in the reps table)."""
    directory = runtime.snapshot.directory
    owners = {str(r) for r, g in zip(directory.rep_id, directory.region, strict=True)
              if r is not None and g == region}
    owners |= {r for r, g in directory.rep_regions.items() if g == region}
    return sorted(owners)


def revenue(runtime: Runtime, rep_id: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Any]:
    """The rep's offline, online and outreach-credited online revenue of a period, and the same
    for the average rep of their region."""
    snap = runtime.snapshot
    table = _table(snap, attributed(runtime), "rep", start, end).set_index("rep_id")
    columns = ["offline_revenue", "online_revenue", "online_revenue_after_outreach"]

    def of(rep: str) -> dict[str, float]:
        if rep in table.index:
            return {c: float(table.at[rep, c]) for c in columns}
        return dict.fromkeys(columns, 0.0)

    own = of(rep_id)
    region = rep_region(runtime, rep_id)
    peers = region_reps(runtime, region) or [rep_id]
    rows = [of(r) for r in peers]
    average = {c: float(np.mean([r[c] for r in rows])) for c in columns}
    for values in (own, average):
        values["total"] = values["offline_revenue"] + values["online_revenue"]
    return {"own": own, "region_average": average, "region": region, "reps_in_region": len(peers)}


def monthly_revenue(runtime: Runtime, *, rep_id: str | None = None, region: str | None = None) -> pd.DataFrame:
    """Offline and online revenue per month (last ``MONTHS_CHARTED`` months before as-of) of the
    accounts a rep owned, or of a region, at order time."""
    snap = runtime.snapshot
    lines = attributed(runtime)
    column, value = ("rep_id", rep_id) if rep_id is not None else ("region", region)
    end = periods(snap.as_of).month_start + pd.DateOffset(months=1)
    start = end - pd.DateOffset(months=MONTHS_CHARTED)
    mask = ((lines[column].astype("str") == value).to_numpy(dtype=bool, na_value=False)
            & (lines["ordered_at"] >= start).to_numpy() & (lines["ordered_at"] < end).to_numpy())
    part = lines.loc[mask, ["ordered_at", "channel", "net_amount"]]
    month = part["ordered_at"].dt.to_period("M").dt.to_timestamp()
    wide = part.groupby([month, part["channel"].astype(str)])["net_amount"].sum().unstack(fill_value=0.0)
    months = pd.date_range(start, periods=MONTHS_CHARTED, freq="MS")
    return pd.DataFrame({c: wide[c].reindex(months, fill_value=0.0) if c in wide else 0.0
                         for c in ("offline", "online")}, index=months)


@dataclass(frozen=True)
class FeedbackState:
    """Distinct suggestions shown per account, and every feedback row, read once per page."""

    shown: dict[str, int]
    feedback: list[tuple[str, str, str | None, str, Any]]


def feedback_state(runtime: Runtime) -> FeedbackState:
    with runtime.sessions() as session:
        shown = session.execute(select(Decision.account_id, func.count(func.distinct(Decision.suggestion_id)))
                                .group_by(Decision.account_id)).all()
        feedback = session.execute(select(Feedback.suggestion_id, Feedback.account_id, Feedback.offer_id,
                                          Feedback.status, Feedback.created_at)).all()
    return FeedbackState({str(a): int(n) for a, n in shown}, [tuple(row) for row in feedback])


def funnel(runtime: Runtime, account_ids: list[str], state: FeedbackState) -> dict[str, int]:
    """Suggestions of these accounts shown, accepted, done, and converted (done, then an order of
    the offer's category — any category for a generic contact — within the attribution window)."""
    wanted = set(account_ids)
    shown = sum(n for account, n in state.shown.items() if account in wanted)
    accepted: set[str] = set()
    done: dict[str, tuple[str, str | None, Any]] = {}
    for sid, account, offer, status, created in state.feedback:
        if account not in wanted:
            continue
        if status in ("accepted", "done"):
            accepted.add(sid)
        if status == "done":
            done.setdefault(sid, (account, offer, created))
    return {"shown": shown, "accepted": len(accepted), "done": len(done),
            "converted": _converted(runtime, list(done.values()))}


def _converted(runtime: Runtime, done: list[tuple[str, str | None, Any]]) -> int:
    if not done:
        return 0
    snap = runtime.snapshot
    lines = attributed(runtime)
    accounts = {account for account, _, _ in done}
    lines = lines.loc[lines["account_id"].astype(str).isin(accounts).to_numpy()]
    window = timedelta(days=snap.attribution_window_days)
    count = 0
    for account, offer, created in done:
        orders = lines.loc[(lines["account_id"].astype(str) == account).to_numpy()]
        when = pd.Timestamp(created)
        hit = (orders["ordered_at"] > when) & (orders["ordered_at"] <= when + window)
        if offer is not None:
            hit &= orders["product_category"].astype(str) == snap.offer_category.get(offer, "")
        count += bool(hit.any())
    return count


def rep_accounts(runtime: Runtime, rep_id: str) -> list[str]:
    snap = runtime.snapshot
    return [str(a) for a in snap.suggestions.account_ids[snap.directory.rep_accounts(rep_id)]]


def scoreboard(runtime: Runtime, rep_id: str) -> dict[str, Any]:
    """Everything the scoreboard page shows for ``rep_id``."""
    snap = runtime.snapshot
    p = periods(snap.as_of)
    month = revenue(runtime, rep_id, p.month_start, p.end)
    year = revenue(runtime, rep_id, p.year_start, p.end)
    state = feedback_state(runtime)
    own = funnel(runtime, rep_accounts(runtime, rep_id), state)
    peers = region_reps(runtime, month["region"]) or [rep_id]
    peer_funnels = [funnel(runtime, rep_accounts(runtime, r), state) for r in peers]
    average = {k: float(np.mean([f[k] for f in peer_funnels])) for k in own}
    return {"rep_id": rep_id, "rep_name": snap.directory.rep_names.get(rep_id, rep_id),
            "region": month["region"], "periods": p, "month": month, "year": year,
            "funnel": own, "funnel_average": average}
