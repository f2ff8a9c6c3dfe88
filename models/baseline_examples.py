"""Untreated account periods: `none` examples drawn from the whole order history.

Logged holdouts are only a small share of the decisions; the purchase probability without outreach
can also be learned from every period of an account's history in which nothing was done about a
category. For each account, windows start at seeded random times between one attribution window
after the first recorded event and one window before the as-of time; each window gives one row per
category with the as-of features at its start and the outcome of ``(start, start + W]``. A row is
dropped when a touch that could have moved the category (a touch with an offer of that category, or
a generic contact) happened within one window before or after its start, so that only periods free
of outreach effects remain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.builder import build_features
from features.dataset import Dataset
from features.definitions import FeatureSpec
from features.outcomes import window_outcomes
from features.policy import NONE_CHANNEL
from features.windows import to_us

_US_PER_SECOND = 1_000_000


def _window_starts(dataset: Dataset, as_of: pd.Timestamp, per_account: int,
                   rng: np.random.Generator) -> pd.DataFrame:
    """(account_id, at): ``per_account`` random starts per account with a complete window."""
    window = pd.Timedelta(days=dataset.policy.attribution_window_days)
    first = [t[c].min() for t, c in ((dataset.orders, "ordered_at"), (dataset.touches, "touched_at"),
                                     (dataset.web_events, "occurred_at")) if len(t)]
    if not first:
        return pd.DataFrame({"account_id": [], "at": []})
    lo = min(first) + window
    hi = as_of - window - pd.Timedelta(seconds=1)
    if hi <= lo:
        return pd.DataFrame({"account_id": [], "at": []})
    accounts = dataset.accounts["account_id"].to_numpy(dtype=object)
    span_s = int((hi - lo).total_seconds())
    offsets = rng.integers(0, span_s, size=(len(accounts), per_account))
    at = lo + pd.to_timedelta(offsets.ravel(), unit="s")
    return pd.DataFrame({"account_id": np.repeat(accounts, per_account), "at": at})


def _touched(dataset: Dataset, queries: pd.DataFrame) -> np.ndarray:
    """True for query rows (account_id, at, category) with a touch on the same account that could
    affect the category within one attribution window before or after ``at``."""
    touches = dataset.touches
    n = len(queries)
    if touches.empty or n == 0:
        return np.zeros(n, dtype=bool)
    touches = touches[touches["channel"].astype(str) != NONE_CHANNEL]
    offer_cat = dataset.offers.set_index("offer_id")["product_category"].astype(str)
    cat = touches["offer_id"].map(offer_cat)
    generic = touches["offer_id"].isna().to_numpy()
    categories = pd.Index(sorted(set(queries["category"].astype(str))))
    # A generic contact may move every category: one entry per category.
    t_acc = np.concatenate([touches["account_id"].to_numpy(dtype=object)[~generic],
                            np.repeat(touches["account_id"].to_numpy(dtype=object)[generic], len(categories))])
    t_cat = np.concatenate([cat.to_numpy(dtype=object)[~generic],
                            np.tile(categories.to_numpy(dtype=object), int(generic.sum()))])
    t_time = np.concatenate([to_us(touches["touched_at"])[~generic],
                             np.repeat(to_us(touches["touched_at"])[generic], len(categories))])
    accounts = pd.Index(pd.unique(np.concatenate([t_acc, queries["account_id"].to_numpy(dtype=object)])))
    cats = pd.Index(pd.unique(np.concatenate([t_cat.astype(str), categories.to_numpy(dtype=object)])))

    def keys(acc: np.ndarray, category: np.ndarray) -> np.ndarray:
        return accounts.get_indexer(acc).astype(np.int64) * len(cats) + cats.get_indexer(category.astype(str))

    # One sortable integer per (key, second): key * 2**32 + seconds since the earliest time.
    q_time = to_us(queries["at"]) // _US_PER_SECOND
    origin = min(int(t_time.min()) // _US_PER_SECOND, int(q_time.min())) - 1
    t_key = keys(t_acc, t_cat)
    ok = t_key >= 0
    t_code = np.sort(t_key[ok] * 2**32 + (t_time[ok] // _US_PER_SECOND - origin))
    q_key = keys(queries["account_id"].to_numpy(dtype=object), queries["category"].to_numpy(dtype=object))
    window_s = dataset.policy.attribution_window_days * 86_400
    q_code = q_key * 2**32 + (q_time - origin)
    lo = np.searchsorted(t_code, q_code - window_s, side="left")
    hi = np.searchsorted(t_code, q_code + window_s, side="right")
    return (hi > lo) & (q_key >= 0)


def untreated_examples(dataset: Dataset, as_of: pd.Timestamp, specs: list[FeatureSpec],
                       categories: list[str], per_account: int, seed: int = 0, *,
                       keep: Callable[[pd.Series], np.ndarray] | None = None,
                       numeric_dtype: type[np.floating] = np.float64) -> pd.DataFrame:
    """`none` examples from untreated account periods before ``as_of``.

    Returns columns ``account_id``, ``touched_at`` (the window start), ``category``, the feature
    columns, ``converted`` and ``list_revenue``; empty when ``per_account`` is 0 or there is no
    history. ``dataset`` must already be restricted to rows before ``as_of``. ``keep``: which window
    starts to keep (a mask over them), applied before any outcome or feature is computed (the other
    rows do not change); ``numeric_dtype``: of the numeric features (``build_features``).
    """
    if per_account < 0:
        raise ValueError(f"per_account must be >= 0, got {per_account}")
    as_of = pd.Timestamp(as_of)
    starts = _window_starts(dataset, as_of, per_account, np.random.default_rng(seed)) \
        if per_account and categories else pd.DataFrame({"account_id": [], "at": []})
    if starts.empty:
        return pd.DataFrame(columns=["account_id", "touched_at", "category", "converted", "list_revenue"])
    queries = pd.DataFrame({
        "account_id": np.repeat(starts["account_id"].to_numpy(dtype=object), len(categories)),
        "at": np.repeat(starts["at"].to_numpy(), len(categories)),
        "category": np.tile(np.asarray(categories, dtype=object), len(starts)),
    })
    wanted = ~_touched(dataset, queries)
    if keep is not None:
        wanted &= np.asarray(keep(queries["at"]), dtype=bool)
    queries = queries[wanted].reset_index(drop=True)
    outcome = window_outcomes(dataset, queries)
    feats = build_features(dataset, queries, specs, numeric_dtype=numeric_dtype)
    out = pd.concat([
        pd.DataFrame({"account_id": queries["account_id"], "touched_at": queries["at"],
                      "category": queries["category"].astype(str)}),
        feats.drop(columns=[c for c in ("account_id", "category", "at") if c in feats.columns]),
        pd.DataFrame({"converted": outcome["converted"].to_numpy(),
                      "list_revenue": outcome["list_revenue"].to_numpy()}),
    ], axis=1)
    return out
