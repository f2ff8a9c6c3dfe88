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

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.policy import NONE_CHANNEL
from models.design import ACTION_COLUMNS, DISCOUNT_COLUMN, DesignMatrix, action_frame
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
    #: The feature frame as ``DesignMatrix.encode`` gives it (rows as ``pair_row``), for explaining.
    encoded: np.ndarray | None = None


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
                  chunk_rows: int = 200_000) -> ScoredActions:
    """Score all eligible pairs. ``frame`` has one row per account × category (columns account_id,
    category and the feature columns); ``eligible`` is (n_accounts, n_actions) in the order of the
    frame's unique account ids. With a ``calibration``, the learner's raw baseline and action
    probabilities go through its baseline and effect maps (``models.effect_calibration``); with a
    ``prior`` (older pipelines), each account's conversion under an action is shrunk toward the
    action's average lift (``models.shrinkage``).

    The frame is encoded once; each action's columns are encoded once and broadcast to its pairs,
    whose design rows are built ``chunk_rows`` at a time (bounded memory). What depends on the
    account and category only is computed once per account × category row: the value of a
    conversion, and for the pooled conversion model the trees that never split on an action column.
    """
    accounts = pd.unique(frame["account_id"].to_numpy())
    categories = sorted(set(actions["category"].astype(str)))
    pos = row_positions(frame, accounts, categories)
    if eligible.shape != (len(accounts), len(actions)):
        raise ValueError(f"eligible has shape {eligible.shape}, expected {(len(accounts), len(actions))}")
    cat_of_action = pd.Index(categories).get_indexer(actions["category"].astype(str))
    conversion = _ConversionScorer(design, classifier, design.encode(frame), chunk_rows)

    # Baseline: one `none` row per account × category present in the frame.
    present = pos >= 0
    base_rows = pos[present]
    none_codes, none_sources = conversion.encode_actions(
        action_frame(np.array([NONE_CHANNEL], dtype=object), np.array([None]), np.zeros(1), np.array([None])))
    base_p = np.full(pos.shape, np.nan)
    base_p[present] = conversion.predict(base_rows, np.zeros(len(base_rows), dtype=np.int64),
                                         none_codes, none_sources)

    # Eligible pairs that have a feature row for the action's category.
    pair_account, pair_action = np.nonzero(eligible)
    pair_row = pos[pair_account, cat_of_action[pair_action]]
    keep = pair_row >= 0
    pair_account, pair_action, pair_row = pair_account[keep], pair_action[keep], pair_row[keep]
    channel = actions["channel"].to_numpy(dtype=object)
    offer = actions["offer_id"].to_numpy(dtype=object)
    codes, sources = conversion.encode_actions(action_frame(
        channel, offer, actions["discount_pct"].to_numpy(), actions["executed_by"].to_numpy()))
    p_a = conversion.predict(pair_row, pair_action, codes, sources)

    # The value of a conversion depends on the account and category, not on the action: predicted
    # once per row that has a pair.
    value_rows = np.unique(pair_row)
    rev_by_row = np.full(len(conversion.encoded), np.nan)
    if len(value_rows):
        rev_by_row[value_rows] = value_model.predict(
            conversion.encoded[value_rows, :len(design.account_columns)])
    rev = rev_by_row[pair_row]

    cat_idx = cat_of_action[pair_action]
    p0 = base_p[pair_account, cat_idx]
    if calibration is not None:
        base_p = calibration.baseline(base_p)
        p0_raw, p0 = p0, base_p[pair_account, cat_idx]
        p_a = calibration.actions(p_a, p0_raw, channel, offer, p0, which=pair_action)
    elif prior is not None:
        lift, weight = prior.arrays(actions)
        p_a = shrink(p_a, p0, lift[pair_action], weight[pair_action])
    # Per action once, then per pair by index.
    m_o = actions["margin_rate"].to_numpy(dtype=float)
    d = actions["discount_pct"].to_numpy(dtype=float) / 100.0
    m_c = np.array([category_margin.get(c, np.nan) for c in categories])[cat_of_action]
    m_c = np.where(np.isnan(m_c), m_o, m_c)
    cost = actions["cost"].to_numpy(dtype=float)
    value = p_a * rev * (m_o - d)[pair_action] - p0 * rev * m_c[pair_action] - cost[pair_action]
    return ScoredActions(accounts, categories, pair_account, pair_action, pair_row,
                         p_a, p0, value, base_p, eligible, conversion.encoded)


class _ConversionScorer:
    """P(convert) of encoded feature rows under given actions, ``chunk_rows`` design rows at a time.

    For the pooled conversion model (``ConversionClassifier.split_rounds``) each tree runs on the
    fewest rows that determine it: the trees that never split on an action or action-context column
    once per feature row; those that split on such a column but not on the discount once per
    feature row and action apart from its discount (when that saves more tree evaluations than the
    second pass over the rows costs, ``ROW_COST_IN_TREES``); the others on every (row, action)
    design row. The calibration depends on the action only and is computed once per action. Any
    other learner gets whole design rows."""

    #: Building a design row and reading it into LightGBM costs about as much as this many trees
    #: (0.2 us against 13 ns a tree on a 2.6 GHz core, 94 columns, trees of 31 leaves).
    ROW_COST_IN_TREES = 16

    def __init__(self, design: DesignMatrix, classifier: ConversionClassifier, encoded: np.ndarray,
                 chunk_rows: int):
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.design, self.classifier, self.encoded, self.chunk_rows = design, classifier, encoded, chunk_rows
        account = set(design.account_columns)
        action = [j for j, name in enumerate(design.columns) if name not in account]
        discount = [design.columns.index(DISCOUNT_COLUMN)]
        #: (account trees, action trees but the discount's, the discount's trees), or None.
        self.tiers = None
        if isinstance(classifier, ConversionClassifier):
            self.tiers = classifier.split_rounds([j for j in action if j not in discount], discount)
        self._account_raw: np.ndarray | None = None

    def encode_actions(self, act: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(action codes, action-context sources) of each action of an :func:`action_frame`."""
        return self.design.action_codes(act), self.design.context_sources(act["action_channel"].to_numpy())

    def _account_part(self) -> np.ndarray:
        """Raw score of the action-independent trees for every feature row (0 without such trees)."""
        if self._account_raw is None:
            independent = self.tiers[0] if self.tiers is not None else None
            self._account_raw = np.zeros(len(self.encoded)) if independent is None or not len(self.encoded) \
                else np.asarray(independent.predict(self.encoded, raw_score=True), dtype=float)
        return self._account_raw

    def _raw(self, boosters: list[lgb.Booster | None], rows: np.ndarray, which: np.ndarray,
             codes: np.ndarray, sources: np.ndarray, buffer: np.ndarray) -> np.ndarray:
        """Summed raw score of ``boosters`` (None = no trees) on the design rows of feature rows
        ``rows`` under the actions ``which`` (indexes into ``codes``/``sources``), each row built
        once, ``len(buffer)`` rows at a time."""
        out = np.zeros(len(rows))
        present = [booster for booster in boosters if booster is not None]
        if not present:
            return out
        for start in range(0, len(rows), len(buffer)):
            stop = min(start + len(buffer), len(rows))
            X = self.design.fill_actions(buffer[: stop - start], self.encoded, rows[start:stop],
                                         codes[which[start:stop]], sources[which[start:stop]])
            for booster in present:
                out[start:stop] += booster.predict(X, raw_score=True)
        return out

    def predict(self, rows: np.ndarray, which: np.ndarray, codes: np.ndarray, sources: np.ndarray) -> np.ndarray:
        """P(convert) of feature row ``rows[i]`` under action ``which[i]`` (an index into ``codes``
        and ``sources``, see :meth:`encode_actions`)."""
        n = len(rows)
        p = np.empty(n)
        if n == 0:
            return p
        buffer = np.empty((min(n, self.chunk_rows), len(self.design.columns)), dtype=np.float32)
        if self.tiers is None:
            for start in range(0, n, self.chunk_rows):
                stop = min(start + self.chunk_rows, n)
                X = self.design.fill_actions(buffer[: stop - start], self.encoded, rows[start:stop],
                                             codes[which[start:stop]], sources[which[start:stop]])
                p[start:stop] = self.classifier.predict_proba(X)[:, 1]
            return p
        raw = self._account_part()[rows] + self._action_part(rows, which, codes, sources, buffer)
        action_rows = self.design.fill_actions(np.empty((len(codes), len(self.design.columns)), dtype=np.float32),
                                               np.full((1, len(self.design.columns)), np.nan, dtype=np.float32),
                                               np.zeros(len(codes), dtype=np.int64), codes, sources)
        slope, offset = self.classifier.calibration_line(action_rows)
        return self.classifier.probability_from_line(raw, slope, np.broadcast_to(offset, len(codes))[which])

    def _action_part(self, rows: np.ndarray, which: np.ndarray, codes: np.ndarray, sources: np.ndarray,
                     buffer: np.ndarray) -> np.ndarray:
        """Raw score of the trees that split on an action or action-context column."""
        assert self.tiers is not None
        _, group_trees, pair_trees = self.tiers
        if group_trees is not None:
            # Actions alike but for their discount: the same design row for the trees that ignore it.
            alike = codes.copy()
            alike[:, ACTION_COLUMNS.index(DISCOUNT_COLUMN)] = 0.0
            group_of, first = _alike_rows(np.column_stack([alike, sources]))
            if len(first) < len(codes):
                keys, key_rows = pd.factorize(rows.astype(np.int64) * len(first) + group_of[which])
                row, k_group = self.ROW_COST_IN_TREES, group_trees.num_trees()
                k_pair = pair_trees.num_trees() if pair_trees is not None else 0
                grouped = len(key_rows) * (row + k_group) + (len(rows) * (row + k_pair) if k_pair else 0)
                if grouped < len(rows) * (row + k_group + k_pair):
                    key_rows = np.asarray(key_rows, dtype=np.int64)
                    rep = first[key_rows % len(first)]
                    by_group = self._raw([group_trees], key_rows // len(first), rep, codes, sources, buffer)
                    return by_group[keys] + self._raw([pair_trees], rows, which, codes, sources, buffer)
        return self._raw([group_trees, pair_trees], rows, which, codes, sources, buffer)


def _alike_rows(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group) for the equal rows of a small float matrix
    (NaN equal to NaN)."""
    exact = np.column_stack([np.nan_to_num(matrix, nan=0.0), np.isnan(matrix)])
    group = pd.factorize(pd.Series([row.tobytes() for row in exact]))[0].astype(np.int64)
    return group, np.unique(group, return_index=True)[1]


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
    value = scored.value if rank_by == "incremental_margin" else scored.p_convert
    kept = np.flatnonzero(value > 0)
    action = scored.pair_action[kept]
    account = scored.pair_account[kept]
    discount = actions["discount_pct"].to_numpy(dtype=float)
    # Highest value first; among equal values the smaller discount wins (a stable sort: ties keep
    # the pairs' order).
    order = np.lexsort((discount[action], -value[kept], account))
    kept, action, account = kept[order], action[order], account[order]
    # One discount per (account, offer, channel): the first in that order.
    offer_channel = pd.Series(list(zip(actions["offer_id"], actions["channel"], strict=True)), dtype=object)
    group = pd.factorize(offer_channel)[0].astype(np.int64)
    key = account.astype(np.int64) * (int(group.max()) + 1 if len(group) else 1) + group[action]
    first = np.sort(np.unique(key, return_index=True)[1])
    kept, action, account = kept[first], action[first], account[first]
    starts = np.r_[True, account[1:] != account[:-1]] if len(account) else np.zeros(0, dtype=bool)
    position = np.arange(len(account))
    rank = position - np.maximum.accumulate(np.where(starts, position, 0)) + 1
    top = rank <= top_k
    kept, action, account, rank = kept[top], action[top], account[top], rank[top]
    acts = actions.iloc[action]
    return pd.DataFrame({
        "account": account,
        "action": action,
        "offer_id": acts["offer_id"].to_numpy(),
        "channel": acts["channel"].to_numpy(),
        "value": value[kept],
        "discount_pct": acts["discount_pct"].to_numpy(),
        "pair": kept,
        "rank": rank.astype(np.int64),
    })


def best_any(scored: ScoredActions) -> pd.DataFrame:
    """For each account with at least one scored pair: its best pair even if the value is negative
    (used to explain a ``none`` suggestion)."""
    if len(scored.value) == 0:
        return pd.DataFrame({"account": [], "pair": []}, dtype=np.int64)
    order = np.lexsort((-scored.value, scored.pair_account))
    acc_sorted = scored.pair_account[order]
    first = np.r_[True, acc_sorted[1:] != acc_sorted[:-1]]
    return pd.DataFrame({"account": acc_sorted[first], "pair": order[first]})
