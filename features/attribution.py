"""Channel attribution: which rep, region, channel and campaign each order line is credited to.

Two kinds of credit, both computed per order line by :func:`attribute_orders`:

- **Ownership credit.** Every order line, offline or online, is credited to the account's
  owning rep and region at the time of the order (``features.ownership``: an ownership change
  takes effect from its ``valid_from``; without a history the current owner from accounts).
- **Outreach credit.** An online order line is additionally credited to the touch that preceded
  it: a touch (channel other than ``none``) at ``t`` credits the account's online order lines in
  ``(t, t + attribution_window_days]`` (the window of ``features.outcomes``) whose category is the
  touch offer's category (any category for a generic contact without an offer). When several
  touches qualify for one line, only the last one before the order gets it (last-touch), so no
  revenue is credited twice; among touches at the same instant the greatest ``touch_id`` wins.
  The touch's executor gets the credit too: its ``rep_id``, else for rep-executed channels the
  account's owner at the time of the touch; marketing touches without a rep count for their
  ``campaign_id``.

:func:`attribution_table` sums the lines of a period per rep, region, channel or campaign.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np
import pandas as pd

from features.dataset import Dataset, as_utc_timestamp
from features.ownership import last_at_or_before, owners_at
from features.policy import NONE_CHANNEL
from features.windows import codes_in, combine_codes, days_to_us, lookup, to_us

AttributionBy = Literal["rep", "region", "channel", "campaign"]
BY_CHOICES: tuple[str, ...] = get_args(AttributionBy)
#: The key column of each grouping of :func:`attribution_table`.
KEY_COLUMNS: dict[str, str] = {"rep": "rep_id", "region": "region", "channel": "channel",
                               "campaign": "campaign_id"}
UNASSIGNED = "(unassigned)"
MARKETING = "(marketing)"
NOT_CREDITED = "(not credited)"
NO_CAMPAIGN = "(no campaign)"
SPECIAL_KEYS = (UNASSIGNED, MARKETING, NOT_CREDITED, NO_CAMPAIGN)

ATTRIBUTED_COLUMNS = ["order_id", "account_id", "ordered_at", "channel", "product_category",
                      "net_amount", "rep_id", "region", "touch_id", "touched_at", "touch_channel",
                      "campaign_id", "executed_by", "executing_rep_id"]
AMOUNT_COLUMNS = ["offline_revenue", "online_revenue", "online_share",
                  "online_revenue_after_outreach", "orders", "orders_after_outreach"]


def attribute_orders(dataset: Dataset, owners: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per order line (in the order of ``dataset.orders``) with its credit.

    Columns: the order line (``order_id``, ``account_id``, ``ordered_at``, ``channel``,
    ``product_category``, ``net_amount``); its owner at order time (``rep_id``, empty =
    unassigned, and ``region``); and, for online lines credited to outreach, the crediting touch
    (``touch_id``, ``touched_at``, ``touch_channel``, ``campaign_id``), the channel's
    ``executed_by`` (``rep`` or ``marketing``) and ``executing_rep_id`` — empty cells on lines
    without outreach credit. ``owners`` is the optional ownership history
    (``features.ownership.load_account_owners``).
    """
    orders = dataset.orders.reset_index(drop=True)
    owner = owners_at(dataset.accounts, owners, orders["account_id"], orders["ordered_at"])
    touches = _crediting_touches(dataset, owners)
    pick = _last_touch(orders, touches, dataset.policy.attribution_window_days)

    def take(column: str) -> pd.Series:
        return pd.Series(touches[column].array.take(pick, allow_fill=True))

    return pd.DataFrame({
        "order_id": orders["order_id"],
        "account_id": orders["account_id"],
        "ordered_at": orders["ordered_at"],
        "channel": orders["channel"],
        "product_category": orders["product_category"],
        "net_amount": orders["net_amount"].to_numpy(dtype=np.float64, na_value=0.0),
        "rep_id": owner["rep_id"],
        "region": owner["region"],
        "touch_id": take("touch_id"),
        "touched_at": take("touched_at"),
        "touch_channel": take("channel"),
        "campaign_id": take("campaign_id"),
        "executed_by": take("executed_by"),
        "executing_rep_id": take("executing_rep_id"),
    })


def _crediting_touches(dataset: Dataset, owners: pd.DataFrame | None) -> pd.DataFrame:
    """Touches that can earn credit (not ``none``), sorted by (touched_at, touch_id), with the
    offer's ``category`` (empty = generic contact), ``executed_by`` and ``executing_rep_id``."""
    touches = dataset.touches
    touches = touches[touches["channel"].astype("str") != NONE_CHANNEL]
    touches = touches.sort_values(["touched_at", "touch_id"], kind="stable").reset_index(drop=True)
    offers = dataset.offers.drop_duplicates("offer_id").set_index("offer_id")
    has_offer = touches["offer_id"].notna().to_numpy()
    category = pd.Series(lookup(touches["offer_id"], offers["product_category"], None), dtype="str")
    touches = touches[~(has_offer & category.isna().to_numpy())].reset_index(drop=True)
    category = category[~(has_offer & category.isna().to_numpy())].reset_index(drop=True)
    executors = pd.Series({name: rule.executed_by for name, rule in dataset.policy.channels.items()},
                          dtype="str")
    executed_by = pd.Series(lookup(touches["channel"], executors, None), dtype="str")
    owner = owners_at(dataset.accounts, owners, touches["account_id"], touches["touched_at"])
    by_rep = (executed_by == "rep").to_numpy(dtype=bool, na_value=False)
    executing = touches["rep_id"].astype("str").fillna(owner["rep_id"].where(by_rep))
    return pd.DataFrame({
        "touch_id": touches["touch_id"].astype("str"),
        "account_id": touches["account_id"].astype("str"),
        "touched_at": touches["touched_at"].astype("datetime64[us]"),
        "channel": touches["channel"].astype("str"),
        "category": category,
        "campaign_id": touches["campaign_id"].astype("str"),
        "executed_by": executed_by,
        "executing_rep_id": executing.astype("str"),
    })


def _last_touch(orders: pd.DataFrame, touches: pd.DataFrame, window_days: int) -> np.ndarray:
    """Position in ``touches`` of the touch credited with each order line (-1 = none).

    ``touches`` must be sorted by (touched_at, touch_id): a later position is a later touch.
    """
    pick = np.full(len(orders), -1, dtype=np.int64)
    if len(orders) == 0 or len(touches) == 0:
        return pick
    accounts = pd.Index(pd.unique(touches["account_id"]))
    categories = pd.Index(pd.unique(touches["category"].dropna()))
    online = (orders["channel"].astype("str") == "online").to_numpy(dtype=bool, na_value=False)
    order_account = np.where(online, codes_in(orders["account_id"], accounts), -1)
    order_key = combine_codes([order_account, codes_in(orders["product_category"], categories)],
                              [len(accounts), len(categories)])
    touch_account = codes_in(touches["account_id"], accounts)
    generic = touches["category"].isna().to_numpy()
    touch_key = combine_codes([touch_account, codes_in(touches["category"], categories)],
                              [len(accounts), len(categories)])
    order_us = to_us(orders["ordered_at"])
    touch_us = to_us(touches["touched_at"])
    any_category = last_at_or_before(np.where(generic, touch_account, -1), touch_us,
                                     order_account, order_us, strict=True)
    same_category = last_at_or_before(np.where(generic, -1, touch_key), touch_us,
                                      order_key, order_us, strict=True)
    pick = np.maximum(any_category, same_category)
    found = pick >= 0
    in_window = np.zeros(len(orders), dtype=bool)
    in_window[found] = order_us[found] - touch_us[pick[found]] <= days_to_us(window_days)
    return np.where(in_window, pick, -1)


def attribution_table(attributed: pd.DataFrame, by: str, start: pd.Timestamp | str,
                      end: pd.Timestamp | str) -> pd.DataFrame:
    """Revenue of the order lines with ``start <= ordered_at < end``, one row per group.

    ``attributed`` is the output of :func:`attribute_orders`. Columns: the key column
    (``rep_id``, ``region``, ``channel`` or ``campaign_id``), ``offline_revenue``,
    ``online_revenue``, ``online_share`` (online / (offline + online), empty when both are 0),
    ``online_revenue_after_outreach``, ``orders`` (distinct order_ids of the row's
    offline and online revenue) and ``orders_after_outreach``. What a row holds, by ``by``:

    - ``rep``: offline and online revenue of the accounts the rep owned at order time;
      ``online_revenue_after_outreach`` of the touches the rep executed. ``(unassigned)``
      holds accounts without an owner (and rep-channel touches nobody is known to have
      executed); ``(marketing)`` the credit of marketing touches without a rep.
    - ``region``: revenue of the accounts in the region at order time, and the part of their
      online revenue that followed outreach.
    - ``channel``: one row per outreach channel with the online revenue credited to it
      (offline 0; online = after outreach), and ``(not credited)`` with all offline revenue
      and the online revenue that followed no outreach.
    - ``campaign``: one row per campaign with the online revenue credited to its touches, and
      ``(no campaign)`` with everything else (offline revenue, online revenue without outreach
      credit, and credit of touches without a campaign).

    In every grouping each column adds up over the rows: offline + online = all order revenue
    of the period, and ``online_revenue_after_outreach`` = all outreach credit. Amounts are
    summed at full precision and rounded to cents only here, by largest remainder, so that the
    rounded rows add up to the period's total to the cent (half-cent totals round up).
    Regular keys come sorted, the parenthesized rows last.
    """
    if by not in BY_CHOICES:
        raise ValueError(f"by {by!r}: expected one of: {', '.join(BY_CHOICES)}")
    start = as_utc_timestamp(start, "start")
    end = as_utc_timestamp(end, "end")
    if not start < end:
        raise ValueError(f"the period is empty: start {start} must be before end {end}")
    missing = [c for c in ATTRIBUTED_COLUMNS if c not in attributed.columns]
    if missing:
        raise ValueError(f"attributed lines lack columns {missing}; expected the output of "
                         "attribute_orders")
    in_period = ((attributed["ordered_at"] >= start) & (attributed["ordered_at"] < end)).to_numpy()
    lines = attributed[in_period].reset_index(drop=True)
    net = lines["net_amount"].to_numpy(dtype=np.float64, na_value=0.0)
    online = (lines["channel"].astype("str") == "online").to_numpy(dtype=bool, na_value=False)
    credited = online & lines["touch_id"].notna().to_numpy()
    own_key, credit_key = _keys(lines, by, credited)
    key = KEY_COLUMNS[by]

    own = pd.DataFrame({key: own_key, "offline_revenue": np.where(online, 0.0, net),
                        "online_revenue": np.where(online, net, 0.0),
                        "order_id": lines["order_id"]})
    own = own.groupby(key, sort=False).agg(offline_revenue=("offline_revenue", "sum"),
                                           online_revenue=("online_revenue", "sum"),
                                           orders=("order_id", "nunique"))
    credit = pd.DataFrame({key: credit_key[credited], "after": net[credited],
                           "order_id": lines["order_id"][credited]})
    credit = credit.groupby(key, sort=False).agg(
        online_revenue_after_outreach=("after", "sum"), orders_after_outreach=("order_id", "nunique"))
    table = own.join(credit, how="outer").fillna(0.0)
    table = table.loc[_row_order(table.index)]

    exact_total = table["offline_revenue"].to_numpy() + table["online_revenue"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(exact_total > 0, table["online_revenue"].to_numpy() / exact_total, np.nan)
    n = len(table)
    both = _cents_keeping_total(
        np.concatenate([table["offline_revenue"].to_numpy(), table["online_revenue"].to_numpy()]),
        math.fsum(net))
    out = pd.DataFrame({
        key: pd.Series(table.index, dtype="str"),
        "offline_revenue": both[:n],
        "online_revenue": both[n:],
        "online_share": np.round(share, 4),
        "online_revenue_after_outreach": _cents_keeping_total(
            table["online_revenue_after_outreach"].to_numpy(), math.fsum(net[credited])),
        "orders": table["orders"].to_numpy().astype(np.int64),
        "orders_after_outreach": table["orders_after_outreach"].to_numpy().astype(np.int64),
    })
    return out


def _keys(lines: pd.DataFrame, by: str, credited: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Per line: the group of its offline/online revenue, and the group of its outreach credit."""
    if by == "rep":
        own = lines["rep_id"].astype("str").fillna(UNASSIGNED)
        marketing = (lines["executed_by"].astype("str") == "marketing").to_numpy(
            dtype=bool, na_value=False)
        nobody = pd.Series(np.where(marketing, MARKETING, UNASSIGNED), dtype="str")
        return own, lines["executing_rep_id"].astype("str").fillna(nobody)
    if by == "region":
        own = lines["region"].astype("str").fillna(UNASSIGNED)
        return own, own
    if by == "channel":
        own = lines["touch_channel"].astype("str").where(credited, NOT_CREDITED)
        return own, own
    campaign = lines["campaign_id"].astype("str")
    own = campaign.where(credited & campaign.notna().to_numpy(), NO_CAMPAIGN)
    return own, own


def _row_order(keys: pd.Index) -> list[str]:
    """Regular keys sorted, then the parenthesized rows in a fixed order."""
    regular = sorted(k for k in keys if k not in SPECIAL_KEYS)
    return regular + [k for k in SPECIAL_KEYS if k in keys]


def to_cents(amount: float) -> int:
    """An amount in whole cents, half a cent rounding up (sub-micro-cent noise removed first)."""
    return int(math.floor(round(amount * 100.0, 6) + 0.5))


def _cents_keeping_total(values: np.ndarray, total: float) -> np.ndarray:
    """``values`` rounded to cents so that they add up to ``total`` rounded to cents.

    Each value is rounded down, and the cents still missing go to the values with the largest
    remainders (largest-remainder rounding); ties go to the earlier row.
    """
    exact = np.round(np.asarray(values, dtype=np.float64) * 100.0, 6)
    floor = np.floor(exact)
    missing = to_cents(total) - int(floor.sum())
    missing = min(max(missing, 0), len(exact))
    order = np.argsort(-(exact - floor), kind="stable")
    floor[order[:missing]] += 1.0
    return floor / 100.0
