"""Decision: expected incremental margin of every eligible action, ranked per account.

For account i, action a = (channel, offer o in category c, discount d):

    EIM(i, a) = P(convert | i, a) * E[rev | convert, i, a] * (m_o - d)
              - P(convert | i, none) * E[rev | convert, i, none] * m_c
              - cost(channel)

(``rev`` is list-price revenue, so ``rev * (m - d)`` is the contract's margin formula
``net * (m - d) / (1 - d)``). Eligibility is applied before scoring; ``none`` has value 0 and no
action with a value <= 0 is ever ranked above it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL
from models.design import DesignMatrix, action_frame
from models.effect_calibration import EffectCalibration
from models.estimators import ConversionClassifier, ConversionValueRegressor
from models.shrinkage import LiftPrior, shrink


@dataclass(frozen=True)
class ScoredActions:
    """Every eligible (account, action) pair with its estimates; ``pair_*`` arrays are aligned."""

    accounts: np.ndarray          # account ids, in input order
    categories: list[str]
    pair_account: np.ndarray      # index into accounts
    pair_action: np.ndarray       # index into the actions frame
    pair_row: np.ndarray          # index into the feature frame (account × category row)
    p_convert: np.ndarray
    p_baseline: np.ndarray
    value: np.ndarray             # expected incremental margin
    base_p: np.ndarray            # (n_accounts, n_categories) baseline P(convert | none); NaN if absent
    eligible: np.ndarray          # (n_accounts, n_actions) bool


def row_positions(frame: pd.DataFrame, accounts: np.ndarray, categories: list[str]) -> np.ndarray:
    """(n_accounts, n_categories) positions of each account × category row in ``frame`` (-1 = none)."""
    acc_index = pd.Index(accounts)
    cat_index = pd.Index(categories)
    ai = acc_index.get_indexer(frame["account_id"])
    ci = cat_index.get_indexer(frame["category"])
    pos = np.full((len(accounts), len(categories)), -1, dtype=np.int64)
    ok = (ai >= 0) & (ci >= 0)
    pos[ai[ok], ci[ok]] = np.flatnonzero(ok)
    return pos


def score_actions(frame: pd.DataFrame, eligible: np.ndarray, actions: pd.DataFrame, *,
                  design: DesignMatrix, classifier: ConversionClassifier,
                  value_model: ConversionValueRegressor, category_margin: dict[str, float],
                  prior: LiftPrior | None = None, calibration: EffectCalibration | None = None,
                  chunk_rows: int = 400_000) -> ScoredActions:
    """Score all eligible pairs. ``frame`` has one row per account × category (columns account_id,
    category and the feature columns); ``eligible`` is (n_accounts, n_actions) in the order of the
    frame's unique account ids. With a ``calibration``, the learner's raw baseline and action
    probabilities go through its baseline and effect maps (``models.effect_calibration``); with a
    ``prior`` (older pipelines), each account's conversion under an action is shrunk toward the
    action's average lift (``models.shrinkage``)."""
    accounts = pd.unique(frame["account_id"].to_numpy())
    categories = sorted(set(actions["category"].astype(str)))
    pos = row_positions(frame, accounts, categories)
    if eligible.shape != (len(accounts), len(actions)):
        raise ValueError(f"eligible has shape {eligible.shape}, expected {(len(accounts), len(actions))}")
    cat_of_action = pd.Index(categories).get_indexer(actions["category"].astype(str))
    encoded = design.encode(frame)
    n_account_cols = len(design.account_columns)

    # Baseline: one `none` row per account × category present in the frame.
    base_rows = pos[pos >= 0]
    n_base = len(base_rows)
    none_actions = action_frame(np.full(n_base, NONE_CHANNEL, dtype=object), np.full(n_base, None),
                                np.zeros(n_base), np.full(n_base, None))
    base_p_flat = _predict(encoded, base_rows, none_actions, design, classifier, chunk_rows)
    # The value of a conversion depends on the account and category, not on the action.
    base_rev_flat = value_model.predict(encoded[base_rows, :n_account_cols]) if n_base else np.zeros(0)
    base_p = np.full(pos.shape, np.nan)
    base_rev = np.full(pos.shape, np.nan)
    base_p[pos >= 0] = base_p_flat
    base_rev[pos >= 0] = base_rev_flat

    # Eligible pairs that have a feature row for the action's category.
    pair_account, pair_action = np.nonzero(eligible)
    pair_row = pos[pair_account, cat_of_action[pair_action]]
    keep = pair_row >= 0
    pair_account, pair_action, pair_row = pair_account[keep], pair_action[keep], pair_row[keep]
    acts = actions.iloc[pair_action]
    pair_actions = action_frame(acts["channel"].to_numpy(), acts["offer_id"].to_numpy(),
                                acts["discount_pct"].to_numpy(), acts["executed_by"].to_numpy())
    p_a = _predict(encoded, pair_row, pair_actions, design, classifier, chunk_rows)

    cat_idx = cat_of_action[pair_action]
    rev_a = base_rev[pair_account, cat_idx]
    p0 = base_p[pair_account, cat_idx]
    if calibration is not None:
        base_p = calibration.baseline(base_p)
        p0_raw, p0 = p0, base_p[pair_account, cat_idx]
        p_a = calibration.actions(p_a, p0_raw, acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), p0)
    elif prior is not None:
        lift, weight = prior.arrays(actions)
        p_a = shrink(p_a, p0, lift[pair_action], weight[pair_action])
    m_o = acts["margin_rate"].to_numpy(dtype=float)
    d = acts["discount_pct"].to_numpy(dtype=float) / 100.0
    m_c = np.array([category_margin.get(c, np.nan) for c in categories])[cat_idx]
    m_c = np.where(np.isnan(m_c), m_o, m_c)
    rev0 = base_rev[pair_account, cat_idx]
    value = p_a * rev_a * (m_o - d) - p0 * rev0 * m_c - acts["cost"].to_numpy(dtype=float)
    return ScoredActions(accounts, categories, pair_account, pair_action, pair_row,
                         p_a, p0, value, base_p, eligible)


def _predict(encoded: np.ndarray, rows: np.ndarray, act: pd.DataFrame, design: DesignMatrix,
             classifier: ConversionClassifier, chunk_rows: int) -> np.ndarray:
    """P(convert) for feature rows ``encoded[rows]`` under the aligned actions ``act``, in chunks."""
    p = np.empty(len(rows))
    for start in range(0, len(rows), chunk_rows):
        stop = min(start + chunk_rows, len(rows))
        block = design.with_actions(encoded[rows[start:stop]], act.iloc[start:stop])
        p[start:stop] = classifier.predict_proba(block)[:, 1]
    return p


def rank_actions(scored: ScoredActions, actions: pd.DataFrame, top_k: int,
                 rank_by: str = "incremental_margin") -> pd.DataFrame:
    """Best discount per (account, offer, channel), then the ``top_k`` positive actions per account.

    Returns one row per kept pair: account (index into ``scored.accounts``), action, rank, the
    estimates and ``pair`` (index into the scored pairs). Accounts with fewer than ``top_k``
    positive actions are completed by the caller with a ``none`` row.
    ``rank_by="conversion"`` ranks by raw conversion probability instead (a reference policy for
    benchmarks: it contacts whoever is likely to buy, whether or not the contact changes anything).
    """
    if rank_by not in ("incremental_margin", "conversion"):
        raise ValueError(f"rank_by must be 'incremental_margin' or 'conversion', got {rank_by!r}")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    acts = actions.iloc[scored.pair_action]
    pairs = pd.DataFrame({
        "account": scored.pair_account,
        "action": scored.pair_action,
        "offer_id": acts["offer_id"].to_numpy(),
        "channel": acts["channel"].to_numpy(),
        "value": scored.value if rank_by == "incremental_margin" else scored.p_convert,
        "discount_pct": acts["discount_pct"].to_numpy(),
        "pair": np.arange(len(scored.value)),
    })
    pairs = pairs[pairs["value"] > 0]
    # Highest value first; among equal values the smaller discount wins.
    pairs = pairs.sort_values(["account", "value", "discount_pct"], ascending=[True, False, True],
                              kind="mergesort")
    pairs = pairs.drop_duplicates(["account", "offer_id", "channel"], keep="first")
    pairs["rank"] = pairs.groupby("account").cumcount() + 1
    return pairs[pairs["rank"] <= top_k].reset_index(drop=True)


def best_any(scored: ScoredActions) -> pd.DataFrame:
    """For each account with at least one scored pair: its best pair even if the value is negative
    (used to explain a ``none`` suggestion)."""
    if len(scored.value) == 0:
        return pd.DataFrame({"account": [], "pair": []}, dtype=np.int64)
    order = np.lexsort((-scored.value, scored.pair_account))
    acc_sorted = scored.pair_account[order]
    first = np.r_[True, acc_sorted[1:] != acc_sorted[:-1]]
    return pd.DataFrame({"account": acc_sorted[first], "pair": order[first]})
