"""A rep's scoreboard: revenue of this month and year split offline/online, online revenue
credited to their outreach, suggestions shown, accepted, done and converted — each against the
average rep of their region. Periods end at the snapshot's as-of; "this month" is the month of
the last day before it. Attribution tables are computed once per snapshot's order lines (keyed
by ``Snapshot.data_key``, so a new model over the same data keeps them); funnel counts are kept incrementally
(``serving.web.funnel_counts``), so a page's cost does not grow with the decision log."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.attribution import attribution_table
from serving.access import Access
from serving.runtime import Runtime
from serving.snapshot import Snapshot
from serving.web.funnel_counts import FunnelCounts, funnel_counts

MONTHS_CHARTED = 12
_cache: dict[tuple[str, ...], pd.DataFrame] = {}
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


def _table(snap: Snapshot, access: Access, by: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The attribution table of a period in the caller's scope, computed once per snapshot's order lines."""
    key = (*snap.data_key, *access.figures_key, by, f"{start.isoformat()}/{end.isoformat()}")
    with _cache_lock:
        found = _cache.get(key)
    if found is None:
        found = attribution_table(access.order_lines(snap.attributed_lines()), by, start, end)
        with _cache_lock:
            if len(_cache) > 64:
                _cache.clear()
            _cache[key] = found
    return found


def region_reps(runtime: Runtime, region: str | None) -> list[str]:
    """Reps owning accounts in ``region`` (or listed there in the reps table)."""
    directory = runtime.snapshot.directory
    owners = {str(r) for r in pd.unique(directory.rep_id[directory.region == region]) if r is not None}
    owners |= {r for r, g in directory.rep_regions.items() if g == region}
    return sorted(owners)


def revenue(runtime: Runtime, access: Access, rep_id: str, start: pd.Timestamp, end: pd.Timestamp
            ) -> dict[str, Any]:
    """The rep's offline, online and outreach-credited online revenue of a period, and the same
    for the average rep of their region (a manager's: of the manager's region)."""
    snap = runtime.snapshot
    table = _table(snap, access, "rep", start, end).set_index("rep_id")
    columns = ["offline_revenue", "online_revenue", "online_revenue_after_outreach"]

    def of(rep: str) -> dict[str, float]:
        if rep in table.index:
            return {c: float(table.at[rep, c]) for c in columns}
        return dict.fromkeys(columns, 0.0)

    own = of(rep_id)
    region = access.region or snap.directory.rep_region(rep_id)
    peers = region_reps(runtime, region) or [rep_id]
    rows = [of(r) for r in peers]
    average = {c: float(np.mean([r[c] for r in rows])) for c in columns}
    for values in (own, average):
        values["total"] = values["offline_revenue"] + values["online_revenue"]
    return {"own": own, "region_average": average, "region": region, "reps_in_region": len(peers)}


def monthly_revenue(runtime: Runtime, access: Access, *, rep_id: str | None = None,
                    region: str | None = None) -> pd.DataFrame:
    """Offline and online revenue per month (last ``MONTHS_CHARTED`` months before as-of) of the
    accounts a rep owned, or of a region, at order time, in the caller's scope."""
    snap = runtime.snapshot
    lines = access.order_lines(snap.attributed_lines())
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


def region_average_monthly(runtime: Runtime, access: Access, region: str) -> pd.DataFrame:
    """:func:`monthly_revenue` of ``region`` divided by its number of reps: the average rep's
    month, comparable with one rep's chart (the region's total would not be)."""
    reps = max(1, len(region_reps(runtime, region)))
    return monthly_revenue(runtime, access, region=region) / reps


def funnel(runtime: Runtime, account_ids: list[str], counts: FunnelCounts | None = None) -> dict[str, int]:
    """Suggestions of these accounts shown in the served snapshot's period (each counted once,
    however often it was shown), accepted, done, and converted (done, then an order of the offer's
    category — any category for a generic contact — within the attribution window)."""
    snap = runtime.snapshot
    counts = counts or funnel_counts(runtime.sessions)
    return counts.funnel(account_ids, snap.as_of, snap.data_key, snap.attributed_lines(), snap.offer_category,
                         snap.attribution_window_days)


def rep_accounts(runtime: Runtime, access: Access, rep_id: str) -> list[str]:
    """The rep's accounts that count in the caller's figures."""
    snap = runtime.snapshot
    positions = snap.directory.rep_accounts(rep_id)
    positions = positions[access.figures_mask(snap.directory, positions)]
    return [str(a) for a in snap.suggestions.account_ids[positions]]


def scoreboard(runtime: Runtime, access: Access, rep_id: str) -> dict[str, Any]:
    """Everything the scoreboard page shows for ``rep_id``, in the caller's scope."""
    snap = runtime.snapshot
    p = periods(snap.as_of)
    month = revenue(runtime, access, rep_id, p.month_start, p.end)
    year = revenue(runtime, access, rep_id, p.year_start, p.end)
    counts = funnel_counts(runtime.sessions)
    own = funnel(runtime, rep_accounts(runtime, access, rep_id), counts)
    peers = region_reps(runtime, month["region"]) or [rep_id]
    peer_funnels = [funnel(runtime, rep_accounts(runtime, access, r), counts) for r in peers]
    average = {k: float(np.mean([f[k] for f in peer_funnels])) for k in own}
    return {"rep_id": rep_id, "rep_name": snap.directory.rep_names.get(rep_id, rep_id),
            "region": month["region"], "reps_in_region": len(peers), "as_of": snap.as_of,
            "periods": p, "month": month, "year": year,
            "funnel": own, "funnel_average": average}
