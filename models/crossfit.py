"""Cross-fitting learners over time-ordered folds of the logged decisions.

The development rows (everything before the validation period) are cut into ``k`` consecutive
blocks of time. Each learner is trained once per block on the rows of the other blocks — without
the rows whose attribution window reaches into the block (purged), so no outcome of the block
leaks into its model — and predicts the block:

- every example row of the block (raw ``p̂(none)``, and ``p̂(logged action)`` for touches), which
  the calibration maps learn from (``models.effect_calibration``);
- a sample of the block's logged decisions (with their propensities), replayed as the product
  would have seen them: features as of the decision time, contact state, eligibility, and a raw
  prediction for every eligible action, which the policy values are estimated from
  (``models.selection``).

When the decisions share too few distinct times to cut by time (e.g. one campaign on one day), the
blocks are a seeded random split of the decisions instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.actions import eligible_mask
from features.dataset import Dataset
from features.definitions import FeatureSpec
from features.policy import NONE_CHANNEL, Policy
from models.decision import row_positions
from models.design import DesignMatrix, action_frame
from models.estimators import ConversionValueRegressor
from models.evaluation.replay import (
    category_margins,
    decision_snapshot,
    logged_action_index,
    logged_decisions,
)


@dataclass(frozen=True)
class Folds:
    """``block`` of each example row (-1 outside the development rows) and, per block, the rows its
    models train on."""

    block: np.ndarray
    train: list[np.ndarray]
    by_time: bool

    @property
    def k(self) -> int:
        return len(self.train)


def time_folds(touched_at: pd.Series, decision: pd.Series, development: np.ndarray, k: int,
               window: pd.Timedelta, seed: int = 0) -> Folds:
    """``k`` blocks of the development rows, consecutive in time (purged by one attribution window),
    or random by decision when the times do not spread (fewer than ``k`` distinct blocks)."""
    if k < 2:
        raise ValueError(f"folds must be >= 2, got {k}")
    t = touched_at.to_numpy().astype("datetime64[us]")
    dev = np.asarray(development, dtype=bool)
    block = np.full(len(t), -1, dtype=np.int64)
    ts = t[dev].astype(np.int64)
    edges = np.quantile(ts, np.linspace(0, 1, k + 1)[1:-1]) if len(ts) else np.array([])
    cut = np.searchsorted(edges, ts, side="right")
    spread = len(ts) > 0 and all(((cut == j).mean() >= 0.5 / k) for j in range(k))
    if spread:
        block[dev] = cut
        w = np.int64(window / pd.Timedelta(microseconds=1))
        starts = [ts[cut == j].min() for j in range(k)]
        ends = [ts[cut == j].max() for j in range(k)]
        t_all = t.astype(np.int64)
        train = [dev & (block != j) & ~((t_all < starts[j]) & (t_all + w > starts[j]))
                 & ~((t_all >= starts[j]) & (t_all <= ends[j])) for j in range(k)]
        return Folds(block, train, by_time=True)
    ids = decision.astype(object).where(decision.notna(), pd.Series(np.arange(len(t)), index=decision.index).astype(str))
    codes = pd.factorize(ids)[0]
    draw = np.random.default_rng(seed).integers(0, k, codes.max() + 1 if len(codes) else 0)
    block[dev] = draw[codes[dev]]
    return Folds(block, [dev & (block != j) for j in range(k)], by_time=False)


@dataclass
class FoldDecisions:
    """The logged decisions of one block, replayed: ``frame`` rows are decision × category."""

    decisions: pd.DataFrame        # touch_id, account_id, touched_at, channel, offer_id, discount_pct, propensity, reward
    encoded: np.ndarray            # design-encoded feature rows of ``frame``
    positions: np.ndarray          # (n_decisions, n_categories) row of each decision × category, -1 = none
    eligible: np.ndarray           # (n_decisions, n_actions)
    pair_decision: np.ndarray      # eligible pairs with a feature row
    pair_action: np.ndarray
    pair_row: np.ndarray
    logged_action: np.ndarray      # action index, LOGGED_NONE or LOGGED_OTHER
    revenue: np.ndarray            # (n_decisions, n_categories) predicted revenue of a conversion
    margin: np.ndarray             # (n_decisions, n_categories) margin the account's orders of the category earned in the window


@dataclass
class CandidateFold:
    """One learner's raw predictions for one block's replayed decisions."""

    p0: np.ndarray                 # (n_decisions, n_categories) raw P(convert | none); NaN = no row
    pa: np.ndarray                 # (n_pairs,) raw P(convert | action)


@dataclass
class OutOfFold:
    """One learner's cross-fitted predictions."""

    name: str
    p0: np.ndarray                 # raw P(none) of each example row of a block, NaN elsewhere
    pa: np.ndarray                 # raw P(logged action) of each touch row of a block, NaN elsewhere
    folds: list[CandidateFold] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""


def replay_block(data: Dataset, examples: pd.DataFrame, rows: np.ndarray, specs: list[FeatureSpec],
                 categories: list[str], design: DesignMatrix, actions: pd.DataFrame, policy: Policy,
                 value_model: ConversionValueRegressor, max_decisions: int, seed: int) -> FoldDecisions | None:
    """Replay the logged decisions (with a propensity) among ``examples[rows]``; None when there are none."""
    dec = logged_decisions(examples[rows], data)
    if dec.empty:
        return None
    if len(dec) > max_decisions:
        dec = dec.sample(max_decisions, random_state=seed).sort_values("touched_at", kind="mergesort")
    dec = dec.reset_index(drop=True)
    frame, state = decision_snapshot(data, dec, specs, categories)
    encoded = design.encode(frame)
    keys = dec["touch_id"].to_numpy(dtype=object)
    positions = row_positions(frame, keys, categories)
    eligible = eligible_mask(state, actions, policy)
    cat_of_action = pd.Index(categories).get_indexer(actions["category"].astype(str))
    pair_decision, pair_action = np.nonzero(eligible)
    pair_row = positions[pair_decision, cat_of_action[pair_action]]
    keep = pair_row >= 0
    revenue = np.full(positions.shape, np.nan)
    has = positions >= 0
    n_account = len(design.account_columns)
    revenue[has] = value_model.predict(encoded[positions[has], :n_account])
    return FoldDecisions(dec, encoded, positions, eligible, pair_decision[keep], pair_action[keep],
                         pair_row[keep], logged_action_index(dec, actions), revenue,
                         category_margins(data, dec, categories))


def score_block(model: Any, fold: FoldDecisions, design: DesignMatrix, actions: pd.DataFrame) -> CandidateFold:
    """Raw predictions of a fitted learner for a replayed block."""
    n_rows = len(fold.encoded)
    none = action_frame(np.full(n_rows, NONE_CHANNEL, dtype=object), np.full(n_rows, None), np.zeros(n_rows),
                        np.full(n_rows, None))
    p_rows = model.predict_proba(design.with_actions(fold.encoded, none))[:, 1]
    p0 = np.full(fold.positions.shape, np.nan)
    has = fold.positions >= 0
    p0[has] = p_rows[fold.positions[has]]
    acts = actions.iloc[fold.pair_action]
    pair = action_frame(acts["channel"].to_numpy(), acts["offer_id"].to_numpy(), acts["discount_pct"].to_numpy(),
                        acts["executed_by"].to_numpy())
    pa = model.predict_proba(design.with_actions(fold.encoded[fold.pair_row], pair))[:, 1] if len(pair) else np.zeros(0)
    return CandidateFold(p0, pa)


def predict_rows(model: Any, X: pd.DataFrame, design: DesignMatrix, rows: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(raw P(none), raw P(own action)) of the example rows ``rows`` (the second equals the first
    for `none` rows)."""
    enc = design.encoded(X.iloc[rows])
    n = len(enc)
    none = action_frame(np.full(n, NONE_CHANNEL, dtype=object), np.full(n, None), np.zeros(n), np.full(n, None))
    p0 = model.predict_proba(design.with_actions(enc, none))[:, 1]
    pa = model.predict_proba(enc)[:, 1]
    return p0, pa


def cross_fit(names: list[str], make: Callable[[str], Any], fit: Callable[[Any, np.ndarray], Any],
              X: pd.DataFrame, folds: Folds, blocks: list[FoldDecisions | None],
              design: DesignMatrix, actions: pd.DataFrame) -> dict[str, OutOfFold]:
    """Train each learner ``names`` once per block (``make(name)`` builds it, ``fit(model, rows)``
    fits it) and collect its out-of-fold predictions. A learner that cannot be fitted on some block
    (e.g. too few rows of one kind) is kept with its ``error`` and no predictions."""
    out: dict[str, OutOfFold] = {}
    n = len(X)
    for name in names:
        oof = OutOfFold(name, np.full(n, np.nan), np.full(n, np.nan))
        started = time.perf_counter()
        for j in range(folds.k):
            try:
                model = fit(make(name), folds.train[j])
            except ValueError as exc:
                oof.error = f"block {j + 1} of {folds.k}: {exc}"
                break
            held = np.flatnonzero(folds.block == j)
            if len(held):
                oof.p0[held], oof.pa[held] = predict_rows(model, X, design, held)
            block = blocks[j]
            oof.folds.append(score_block(model, block, design, actions) if block is not None
                             else CandidateFold(np.zeros((0, 0)), np.zeros(0)))
        oof.seconds = time.perf_counter() - started
        out[name] = oof
    return out
