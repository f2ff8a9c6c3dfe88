"""Outcome labels: did an account order after a touch, and what margin did that bring (docs/data-contract.md §2).

A touch at ``t`` converts when the account orders the offer's product category in the window
``(t, t + attribution_window_days]`` — strictly after ``t``, up to and including the window's
end — any category for a generic contact (no offer). The margin of an order line with discount
``d`` (a fraction) under margin rate ``m`` is ``net_amount * (m - d) / (1 - d)``; lines of the
offer's category use the offer's margin rate, other lines their category's margin rate.

Since ``net * (m - d) / (1 - d) = net - (1 - m) * list`` with ``list = net / (1 - d)``, window
margins follow from window sums of ``net`` and ``list`` (and of the per-line category margin
for any-category queries), answered for all queries at once by :mod:`features.windows`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.policy import NONE_CHANNEL
from features.windows import (
    EventIndex,
    Timeline,
    codes_in,
    combine_codes,
    days_to_us,
    lookup,
    to_us,
)

OUTCOME_COLUMNS = ["converted", "margin", "revenue", "list_revenue", "n_lines", "window_end"]
LABEL_COLUMNS = ["touch_id", "account_id", "touched_at", "channel", "offer_id", "discount_pct",
                 "category", "propensity", *OUTCOME_COLUMNS, "complete"]


def line_values(orders: pd.DataFrame, category_margin: dict[str, float]) -> dict[str, np.ndarray]:
    """Per order line: ``net``, ``list`` (net / (1 - d)) and ``margin`` under its category's rate.

    A line with a discount of 100% or more has no list price to recover; it counts with
    ``list = net`` (normally 0).
    """
    net = orders["net_amount"].to_numpy(dtype=np.float64, na_value=0.0)
    d = orders["discount_pct"].to_numpy(dtype=np.float64, na_value=0.0) / 100.0 \
        if "discount_pct" in orders else np.zeros(len(orders))
    list_price = np.where(d < 1.0, net / np.where(d < 1.0, 1.0 - d, 1.0), net)
    overall = float(np.mean(list(category_margin.values()))) if category_margin else 0.0
    rate = lookup(orders["product_category"], pd.Series(category_margin, dtype=np.float64), overall).astype(np.float64)
    return {"net": net, "list": list_price, "margin": net - (1.0 - rate) * list_price}


def _orders_of(orders: pd.DataFrame, accounts: pd.Series) -> pd.DataFrame:
    """The order lines of ``accounts`` when they are at most half of the accounts that ordered (a
    window's outcome reads its own account's lines only), else all of ``orders``."""
    named = pd.unique(accounts.dropna())
    if len(named) > 0.5 * orders["account_id"].nunique():
        return orders
    return orders.loc[orders["account_id"].isin(named).to_numpy(dtype=bool, na_value=False)]


def window_outcomes(dataset: Dataset, queries: pd.DataFrame, window_days: int | None = None,
                    *, category_margin: dict[str, float] | None = None) -> pd.DataFrame:
    """Outcome of the window ``(at, at + W]`` for arbitrary queries.

    ``queries``: columns ``account_id``, ``at`` and ``category`` (NA = any category); an optional
    ``margin_rate`` column overrides the rate used for lines of the query's category (an offer's
    rate), default the category's rate (``category_margin``, default
    ``dataset.category_margin_rates()``). ``W`` defaults to the policy's attribution window.
    Returns, on the queries' index: ``converted`` (bool), ``margin``, ``revenue`` (net),
    ``list_revenue``, ``n_lines``, ``window_end``. Only rows of ``dataset`` are read, so pass
    ``dataset.before(as_of)`` to restrict what is observed.
    """
    missing = [c for c in ("account_id", "at") if c not in queries.columns]
    if missing:
        raise ValueError(f"window_outcomes: queries lack columns {missing}; expected account_id, at, category")
    window = dataset.policy.attribution_window_days if window_days is None else int(window_days)
    if window < 1:
        raise ValueError(f"window_days must be >= 1, got {window}")
    n = len(queries)
    at = to_us(queries["at"]) if n else np.zeros(0, dtype=np.int64)
    end = at + days_to_us(window)
    category = queries["category"] if "category" in queries else pd.Series(pd.NA, index=queries.index)
    any_cat = category.isna().to_numpy()

    margins = dataset.category_margin_rates() if category_margin is None else category_margin
    orders = _orders_of(dataset.orders, queries["account_id"])
    values = line_values(orders, margins)
    accounts = pd.Index(pd.unique(np.concatenate([
        pd.unique(orders["account_id"].dropna()), pd.unique(queries["account_id"].dropna())])))
    cats = pd.Index(pd.unique(np.concatenate([
        pd.unique(orders["product_category"].dropna()), pd.unique(category.dropna())])))
    o_acc = codes_in(orders["account_id"], accounts)
    o_cat = codes_in(orders["product_category"], cats)
    timeline = Timeline(to_us(orders["ordered_at"]) if len(orders) else np.zeros(0, dtype=np.int64))
    q_acc = codes_in(queries["account_id"], accounts)
    q_key = combine_codes([q_acc, codes_in(category, cats)], [len(accounts), len(cats)])

    n_lines = np.zeros(n)
    net = np.zeros(n)
    list_rev = np.zeros(n)
    margin = np.zeros(n)
    for rows, keys, index_keys in ((any_cat, q_acc, o_acc),
                                   (~any_cat, q_key, combine_codes([o_acc, o_cat], [len(accounts), len(cats)]))):
        if not rows.any():
            continue
        index = EventIndex(index_keys, timeline.times, values, timeline)
        rows = np.flatnonzero(rows)
        rows = rows[np.lexsort((at[rows], keys[rows]))]  # sorted probes search faster
        start, stop = index.bounds(keys[rows], at[rows], end[rows], closed="right")
        n_lines[rows] = stop - start
        net[rows] = index.sum_between("net", keys[rows], start, stop)
        list_rev[rows] = index.sum_between("list", keys[rows], start, stop)
        margin[rows] = index.sum_between("margin", keys[rows], start, stop)

    if "margin_rate" in queries and (~any_cat).any():
        rate = queries["margin_rate"].to_numpy(dtype=np.float64, na_value=np.nan)
        own = ~any_cat & ~np.isnan(rate)
        margin[own] = net[own] - (1.0 - rate[own]) * list_rev[own]
    converted = n_lines > 0
    return pd.DataFrame({
        "converted": converted,
        "margin": np.where(converted, margin, 0.0),
        "revenue": np.where(converted, net, 0.0),
        "list_revenue": np.where(converted, list_rev, 0.0),
        "n_lines": n_lines.astype(np.int64),
        "window_end": end.astype("datetime64[us]"),
    }, index=queries.index)


def label_touches(dataset: Dataset, as_of: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """One labelled row per logged action (docs/data-contract.md §2), in the order of ``dataset.touches``.

    - a touch with an offer: one row, ``category`` = the offer's category, the offer's margin rate;
    - a ``none`` touch (holdout/control): one row per category of ``dataset.categories`` with
      ``channel='none'``, ``offer_id`` NA and ``discount_pct`` 0 — the control outcome of each category;
    - a generic contact (no offer): one row, ``category`` NA, converting on any category.

    With ``as_of``, only touches and orders strictly before it are read and ``complete`` says
    whether the window ended before it (``window_end < as_of``); without, ``as_of`` is the latest
    timestamp of the data plus one microsecond.
    """
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        dataset = dataset.before(as_of)
    else:
        latest = dataset.latest_time()
        as_of = (latest if latest is not None else pd.Timestamp(0)) + pd.Timedelta(microseconds=1)

    touches = dataset.touches.reset_index(drop=True)
    offers = dataset.offers.set_index("offer_id")
    channel = touches["channel"].astype(object).to_numpy()
    is_none = channel == NONE_CHANNEL
    has_offer = touches["offer_id"].notna().to_numpy() & ~is_none
    unknown = ~touches.loc[has_offer, "offer_id"].isin(offers.index)
    if unknown.any():
        bad = touches.loc[has_offer].loc[unknown, ["touch_id", "offer_id"]].head(5).to_dict("records")
        raise ValueError(f"touches: offer_id must exist in offers; unknown offers in rows {bad}")

    rates = dataset.category_margin_rates()
    categories = list(rates)
    n_rep = np.where(is_none, len(categories), 1)
    rows = np.repeat(np.arange(len(touches)), n_rep)
    labels = touches.iloc[rows].reset_index(drop=True)
    row_none = is_none[rows]
    row_offer = has_offer[rows]

    offer_ids = labels["offer_id"].where(pd.Series(row_offer), None)
    category = lookup(offer_ids, offers["product_category"], None)
    margin_rate = lookup(offer_ids, offers["margin_rate"]).astype(np.float64)
    if row_none.any():
        none_cats = np.tile(np.asarray(categories, dtype=object), int(is_none.sum()))
        category[row_none] = none_cats
        margin_rate[row_none] = np.tile(np.asarray(list(rates.values()), dtype=np.float64), int(is_none.sum()))
    discount = labels["discount_pct"].to_numpy(dtype=np.float64, na_value=0.0) \
        if "discount_pct" in labels else np.zeros(len(labels))
    discount = np.where(row_none, 0.0, discount)
    propensity = labels["propensity"] if "propensity" in labels else pd.Series(np.nan, index=labels.index)

    out = pd.DataFrame({
        "touch_id": labels["touch_id"],
        "account_id": labels["account_id"],
        "touched_at": labels["touched_at"],
        "channel": labels["channel"],
        "offer_id": labels["offer_id"].where(~pd.Series(row_none), None),
        "discount_pct": discount,
        "category": pd.Series(category, dtype="str"),
        "propensity": propensity.to_numpy(dtype=np.float64, na_value=np.nan),
    })
    outcome = window_outcomes(dataset, pd.DataFrame({
        "account_id": out["account_id"], "at": out["touched_at"],
        "category": out["category"], "margin_rate": margin_rate,
    }), category_margin=rates)
    out = pd.concat([out, outcome], axis=1)
    out["complete"] = (out["window_end"] < as_of).to_numpy(dtype=bool)
    return out[LABEL_COLUMNS]
