"""Action space and eligibility rules (docs/data-contract.md §2).

An action is (channel, offer_id, discount_pct). :func:`action_space` lists every action the
catalog allows; :func:`contact_state` summarises each account's contact history as of a time;
:func:`eligible_mask` applies the hard rules (do-not-contact, consent, contact caps, quiet days,
guardrails) to all accounts × actions at once, before any model ranks them.

The ``none`` action (no outreach) is never a row of the action space: it is always available to
every account and is worth 0 by definition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dataset import Dataset
from features.policy import CONTACT_WINDOW, NONE_CHANNEL, Policy
from features.reason_texts import Reason

ACTION_COLUMNS = ["action_id", "channel", "offer_id", "discount_pct", "category", "margin_rate",
                  "cost", "executed_by", "requires_consent", "offer_name", "active", "max_discount_pct"]
TOUCH_COUNT_PREFIX = "touches_30d__"
_GUARDRAIL_TOLERANCE = 1e-9


def action_space(dataset: Dataset) -> pd.DataFrame:
    """Every allowed action: active offers × their channels in the policy × discount steps up to
    the offer's ``max_discount_pct``.

    Ordered by offer_id, channel, discount_pct with ``action_id`` 0..n-1. Besides the action
    itself, rows carry the offer's ``category``, ``margin_rate``, ``offer_name``, ``active`` and
    ``max_discount_pct`` and the channel's ``cost``, ``executed_by`` and ``requires_consent``.
    """
    policy = dataset.policy
    offers = dataset.offers.loc[dataset.offers["active"].astype(bool)]
    frame = pd.DataFrame({
        "offer_id": offers["offer_id"].astype(object),
        "channel": offers["channels"].map(_as_tuple),
        "discount_pct": offers["discount_steps"].map(lambda v: _as_tuple(v) or (0.0,)),
        "category": offers["product_category"].astype(object),
        "margin_rate": offers["margin_rate"].astype(np.float64),
        "offer_name": offers["name"].astype(object) if "name" in offers else None,
        "active": True,
        "max_discount_pct": offers["max_discount_pct"].astype(np.float64),
    })
    steps_max = frame["discount_pct"].map(lambda steps: max(float(x) for x in steps))
    frame["max_discount_pct"] = frame["max_discount_pct"].fillna(steps_max)  # the contract's default
    frame = frame.explode("channel").explode("discount_pct")
    frame = frame.loc[frame["channel"].isin(policy.channel_names)]
    frame["discount_pct"] = frame["discount_pct"].astype(np.float64)
    frame = frame.loc[frame["discount_pct"] <= frame["max_discount_pct"] + _GUARDRAIL_TOLERANCE]
    frame = frame.sort_values(["offer_id", "channel", "discount_pct"], kind="mergesort")
    frame = frame.drop_duplicates(["offer_id", "channel", "discount_pct"]).reset_index(drop=True)
    rules = [policy.channels[c] for c in frame["channel"]]
    frame["cost"] = np.array([r.cost for r in rules], dtype=np.float64)
    frame["executed_by"] = pd.Series([r.executed_by for r in rules], dtype=object)
    frame["requires_consent"] = np.array([r.requires_consent for r in rules], dtype=bool)
    frame["action_id"] = np.arange(len(frame), dtype=np.int64)
    frame["channel"] = frame["channel"].astype(object)
    frame["active"] = frame["active"].astype(bool)
    return frame[ACTION_COLUMNS]


def _as_tuple(value: object) -> tuple:
    if isinstance(value, (tuple, list)):
        return tuple(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    return (value,)


def contact_state(dataset: Dataset, as_of: pd.Timestamp | str) -> pd.DataFrame:
    """Each account's contact situation at ``as_of``, indexed by account_id (accounts order).

    Columns: ``rep_id``, ``consent_email``, ``do_not_contact``, ``touches_30d__<channel>`` for every
    policy channel (touches in ``[as_of - 30 days, as_of)``; ``none`` touches do not count),
    ``days_since_last_order`` (NaN without an earlier order) and ``in_quiet_period`` (an order in
    ``[as_of - quiet_days_after_order days, as_of)``; always False when the quiet days are 0).
    """
    as_of = pd.Timestamp(as_of)
    policy = dataset.policy
    accounts = dataset.accounts
    index = pd.Index(accounts["account_id"].astype(object), name="account_id")
    state = pd.DataFrame(index=index)
    state["rep_id"] = accounts["rep_id"].to_numpy(dtype=object) if "rep_id" in accounts else None
    for col in ("consent_email", "do_not_contact"):
        state[col] = accounts[col].fillna(False).to_numpy(dtype=bool) if col in accounts else False

    touches = dataset.touches
    recent = touches.loc[(touches["touched_at"] >= as_of - CONTACT_WINDOW) & (touches["touched_at"] < as_of)
                         & touches["channel"].isin(policy.channel_names)]
    counts = recent.groupby(["account_id", "channel"]).size()
    for channel in policy.channel_names:
        per_account = counts.xs(channel, level="channel") if channel in counts.index.get_level_values(1) \
            else pd.Series(dtype=np.int64)
        state[TOUCH_COUNT_PREFIX + channel] = per_account.reindex(index, fill_value=0).to_numpy(dtype=np.int64)

    orders = dataset.orders
    last = orders.loc[orders["ordered_at"] < as_of].groupby("account_id")["ordered_at"].max()
    last = last.reindex(index)
    state["days_since_last_order"] = ((as_of - last) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
    quiet = policy.quiet_days_after_order
    if quiet > 0:
        state["in_quiet_period"] = (last >= as_of - pd.Timedelta(days=quiet)).fillna(False).to_numpy(dtype=bool)
    else:
        state["in_quiet_period"] = False
    return state


def contact_state_on(dataset: Dataset, as_of: pd.Timestamp | str, day: pd.Timestamp | str) -> pd.DataFrame:
    """:func:`contact_state` at ``day`` (at or after ``as_of``) of the contacts and orders known at
    ``as_of``: the rules as they will stand on ``day`` if nothing further happens. The caps and the
    quiet period only ever relax as days pass without contacts, so an action :func:`eligible_mask`
    allows on this state is allowed on some day from ``as_of`` to ``day`` (the first such day:
    ``ChannelRule.free_from``, ``Policy.quiet_until``)."""
    return contact_state(dataset.before(pd.Timestamp(as_of)), day)


def latest_contacts(dataset: Dataset, as_of: pd.Timestamp | str) -> dict[str, np.ndarray]:
    """For every policy channel with a contact cap, the times of each account's latest touches on
    it in the 30 days before ``as_of`` (accounts order), at most ``max_per_30d`` of them, latest
    first, NaT where there are fewer: all ``ChannelRule.free_from`` needs of the export's touches."""
    as_of = pd.Timestamp(as_of)
    policy = dataset.policy
    index = pd.Index(dataset.accounts["account_id"].astype(object))
    touches = dataset.touches
    recent = touches.loc[(touches["touched_at"] >= as_of - CONTACT_WINDOW) & (touches["touched_at"] < as_of),
                         ["account_id", "channel", "touched_at"]]
    out: dict[str, np.ndarray] = {}
    for channel, rule in policy.channels.items():
        if rule.max_per_30d is None:
            continue
        keep = max(rule.max_per_30d, 1)
        times = np.full((len(index), keep), np.datetime64("NaT"), dtype="datetime64[ns]")
        mine = recent.loc[recent["channel"] == channel].sort_values("touched_at", ascending=False, kind="mergesort")
        mine = mine.assign(nth=mine.groupby("account_id").cumcount())
        mine = mine.loc[mine["nth"] < keep]
        rows = index.get_indexer(mine["account_id"].astype(object))
        found = rows >= 0
        times[rows[found], mine["nth"].to_numpy()[found]] = mine["touched_at"].to_numpy(dtype="datetime64[ns]")[found]
        out[channel] = times
    return out


def eligible_mask(state: pd.DataFrame, actions: pd.DataFrame, policy: Policy,
                  blocked: pd.DataFrame | None = None) -> np.ndarray:
    """Boolean (n_accounts, n_actions): may this action be suggested to this account now?

    Account rules (not do_not_contact, not in a quiet period, e-mail consent where the channel
    requires it, the channel's touches in the last 30 days below ``max_per_30d``) are broadcast
    against action rules. Defensively, a channel outside the policy is never eligible, and when
    ``actions`` has ``active`` / ``max_discount_pct`` columns, inactive offers and discounts above
    the guardrail are excluded again. Rows with channel ``none`` are always eligible.
    ``blocked`` (account_id, channel, offer_id) excludes those account × (channel, offer) pairs
    at every discount level.
    """
    _require(state, ["do_not_contact", "consent_email", "in_quiet_period"], "state")
    _require(actions, ["channel", "offer_id", "discount_pct"], "actions")
    n_acc, n_act = len(state), len(actions)
    dnc = state["do_not_contact"].to_numpy(dtype=bool)
    consent = state["consent_email"].to_numpy(dtype=bool)
    quiet = state["in_quiet_period"].to_numpy(dtype=bool)
    account_ok = ~dnc & ~quiet
    channels = actions["channel"].astype(object).to_numpy()
    needs_consent = actions["requires_consent"].to_numpy(dtype=bool) \
        if "requires_consent" in actions else np.zeros(n_act, dtype=bool)

    mask = np.zeros((n_acc, n_act), dtype=bool)
    for channel in pd.unique(channels):
        cols = np.flatnonzero(channels == channel)
        if channel == NONE_CHANNEL:
            mask[:, cols] = True
            continue
        rule = policy.channels.get(channel)
        if rule is None:
            continue
        ok = account_ok.copy()
        if rule.max_per_30d is not None:
            column = TOUCH_COUNT_PREFIX + str(channel)
            _require(state, [column], "state")
            ok &= ~rule.cap_reached(state[column].to_numpy(dtype=np.float64))
        mask[:, cols] = ok[:, None]
        consent_cols = cols[needs_consent[cols]] if not rule.requires_consent else cols
        mask[:, consent_cols] &= consent[:, None]

    action_ok = _action_guardrails(actions)
    mask &= action_ok[None, :]
    if blocked is not None and len(blocked) and n_acc and n_act:
        rows, cols = _blocked_cells(state, actions, blocked)
        mask[rows, cols] = False
    return mask


def _action_guardrails(actions: pd.DataFrame) -> np.ndarray:
    ok = np.ones(len(actions), dtype=bool)
    is_none = (actions["channel"].astype(object) == NONE_CHANNEL).to_numpy()
    if "active" in actions:
        ok &= actions["active"].fillna(False).to_numpy(dtype=bool) | is_none
    if "max_discount_pct" in actions:
        limit = actions["max_discount_pct"].to_numpy(dtype=np.float64, na_value=np.nan)
        disc = actions["discount_pct"].to_numpy(dtype=np.float64, na_value=0.0)
        ok &= (disc <= limit + _GUARDRAIL_TOLERANCE) | is_none
    return ok


def _blocked_cells(state: pd.DataFrame, actions: pd.DataFrame, blocked: pd.DataFrame
                   ) -> tuple[np.ndarray, np.ndarray]:
    _require(blocked, ["account_id", "channel", "offer_id"], "blocked")
    pairs = pd.DataFrame({
        "row": state.index.get_indexer(blocked["account_id"].astype(object)),
        "channel": blocked["channel"].astype(object).to_numpy(),
        "offer_id": blocked["offer_id"].astype(object).to_numpy(),
    })
    acts = pd.DataFrame({
        "col": np.arange(len(actions)),
        "channel": actions["channel"].astype(object).to_numpy(),
        "offer_id": actions["offer_id"].astype(object).to_numpy(),
    })
    cells = pairs.loc[pairs["row"] >= 0].merge(acts, on=["channel", "offer_id"], how="inner")
    return cells["row"].to_numpy(dtype=np.int64), cells["col"].to_numpy(dtype=np.int64)


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}; has {list(frame.columns)}")


def explain_ineligible(state: pd.Series | pd.DataFrame, action_row: pd.Series | dict,
                       policy: Policy) -> list[str]:
    """Plain-language reasons why ``action_row`` may not be suggested to the account whose
    contact state is ``state`` (one row of :func:`contact_state`); empty when it is eligible."""
    return [reason.text() for reason in ineligible_reasons(state, action_row, policy)]


def ineligible_reasons(state: pd.Series | pd.DataFrame, action_row: pd.Series | dict,
                       policy: Policy) -> list[Reason]:
    """The reasons of :func:`explain_ineligible` as data (``features.reason_texts``)."""
    if isinstance(state, pd.DataFrame):
        if len(state) != 1:
            raise ValueError(f"explain_ineligible needs the state of one account; got {len(state)} rows")
        state = state.iloc[0]
    action = dict(action_row)
    channel = str(action.get("channel"))
    if channel == NONE_CHANNEL:
        return []
    reasons: list[Reason] = []
    rule = policy.channels.get(channel)
    if rule is None:
        reasons.append(Reason("channel_not_in_policy", {"channel": channel}))
    if "active" in action and not _truthy(action["active"]):
        reasons.append(Reason("offer_inactive", {"offer": str(action.get("offer_id"))}))
    limit = action.get("max_discount_pct")
    discount = float(action.get("discount_pct") or 0.0)
    if limit is not None and not (discount <= float(limit) + _GUARDRAIL_TOLERANCE):
        reasons.append(Reason("discount_above_limit", {"discount_pct": discount, "limit_pct": float(limit)}))
    if _truthy(state.get("do_not_contact", False)):
        reasons.append(Reason("do_not_contact"))
    needs_consent = (rule is not None and rule.requires_consent) or _truthy(action.get("requires_consent", False))
    if needs_consent and not _truthy(state.get("consent_email", False)):
        reasons.append(Reason("no_email_consent"))
    if rule is not None and rule.max_per_30d is not None:
        touches = state.get(TOUCH_COUNT_PREFIX + channel, 0)
        touches = 0 if pd.isna(touches) else int(touches)
        if rule.cap_reached(touches):
            reasons.append(Reason("contact_cap", {"channel": channel, "count": touches,
                                                  "limit_count": rule.max_per_30d}))
    if _truthy(state.get("in_quiet_period", False)):
        days = state.get("days_since_last_order")
        days_ago = None if days is None or pd.isna(days) else int(np.floor(float(days)))
        reasons.append(Reason("quiet_period", {"days_ago": days_ago,
                                               "quiet_days": policy.quiet_days_after_order}))
    return reasons


def _truthy(value: object) -> bool:
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return bool(value)
