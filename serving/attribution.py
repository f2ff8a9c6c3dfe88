"""Attribution tables cut to what a caller may see (``serving.access``): a rep their own numbers and
their region's total, a manager their region, marketing and admin everything."""

from __future__ import annotations

from typing import Any

import pandas as pd

from features.attribution import KEY_COLUMNS, attribution_table
from serving.access import Access
from serving.runtime import Runtime

NUMBER_COLUMNS = ("offline_revenue", "online_revenue", "online_revenue_after_outreach", "orders",
                  "orders_after_outreach")


def visible_attribution(runtime: Runtime, access: Access, by: str, start: pd.Timestamp,
                        end: pd.Timestamp) -> list[dict[str, Any]]:
    """Rows ``{key, scope, offline_revenue, ...}`` of the period that the caller may see."""
    snap = runtime.snapshot
    lines = access.order_lines(snap.attributed_lines())
    if access.role != "rep":
        return _rows(attribution_table(lines, by, start, end), by, "all")
    rep = access.principal.rep_id or ""
    if by == "rep":
        table = attribution_table(lines, by, start, end)
        own = _rows(table[table[KEY_COLUMNS[by]] == rep], by, "own")
    else:
        owned = (lines["rep_id"].astype("str") == rep).to_numpy(dtype=bool, na_value=False)
        own = _rows(attribution_table(lines[owned], by, start, end), by, "own")
    region = snap.directory.rep_region(rep)
    if region is None:
        return own
    return own + [region_total(lines, region, start, end)]


def region_total(lines: pd.DataFrame, region: str, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, Any]:
    """One row with the whole region's revenue of the period (key = the region)."""
    in_region = (lines["region"].astype("str") == region).to_numpy(dtype=bool, na_value=False)
    table = attribution_table(lines[in_region], "region", start, end)
    row = {c: float(table[c].sum()) for c in NUMBER_COLUMNS}
    return _row(region, "region_total", row)


def _rows(table: pd.DataFrame, by: str, scope: str) -> list[dict[str, Any]]:
    key = KEY_COLUMNS[by]
    return [_row(str(r[key]), scope, r) for r in table.to_dict("records")]


def _row(key: str, scope: str, values: dict[str, Any]) -> dict[str, Any]:
    offline, online = float(values["offline_revenue"]), float(values["online_revenue"])
    total = offline + online
    return {"key": key, "scope": scope, "offline_revenue": round(offline, 2),
            "online_revenue": round(online, 2),
            "online_share": round(online / total, 4) if total > 0 else None,
            "online_revenue_after_outreach": round(float(values["online_revenue_after_outreach"]), 2),
            "orders": int(values["orders"]), "orders_after_outreach": int(values["orders_after_outreach"])}


