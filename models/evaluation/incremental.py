"""Doubly robust estimate of a policy's incremental margin over doing nothing, read on the category
each action targets.

The data contract defines an action's effect on its offer's category: conversion is an order of that
category within the attribution window, and expected incremental margin compares that category's
margin with and without the action. Valuing a policy against `none` therefore needs only that
category's margin in each decision's window — not the account's whole window margin, whose other
categories no action of the policy touches and which would only add noise. For a decision i with
logged action A_i (propensity p_i) and the policy's action a of category c:

    gain_i = q_c(a) − q_c(none) − cost(a)
             + 1[A_i = a]    · (m_c,i − q_c(a))    / p_i
             − 1[A_i = none] · (m_c,i − q_c(none)) / p_i

with m_c,i the category's realized margin and q the reward model's expected margin; ``gain_i = 0``
when the policy does nothing. The mean is unbiased for the policy's incremental margin whenever the
logged propensities are right, whatever the reward model (which only lowers the variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.evaluation.off_policy import Estimate

#: Codes of ``logged_action`` besides action indices (as in ``models.evaluation.replay``).
LOGGED_NONE = -1


@dataclass(frozen=True)
class CategoryDecisions:
    """Logged decisions seen category by category (``n`` decisions, ``k`` categories, ``m`` actions)."""

    margin: np.ndarray            # (n, k) realized margin of each category in the decision's window
    logged_action: np.ndarray     # (n,) action index, LOGGED_NONE, or another negative code (not matchable)
    propensity: np.ndarray        # (n,) probability of the logged action
    expected_action: np.ndarray   # (n, m) expected margin of the action's category under the action; NaN = not eligible
    expected_none: np.ndarray     # (n, k) expected margin of each category without outreach
    action_category: np.ndarray   # (m,) category index of each action
    cost: np.ndarray              # (m,) contact cost of each action

    def __post_init__(self) -> None:
        n, k = np.shape(self.margin)
        m = len(self.action_category)
        shapes = {"logged_action": ((n,), np.shape(self.logged_action)), "propensity": ((n,), np.shape(self.propensity)),
                  "expected_action": ((n, m), np.shape(self.expected_action)),
                  "expected_none": ((n, k), np.shape(self.expected_none)), "cost": ((m,), np.shape(self.cost))}
        bad = {name: got for name, (want, got) in shapes.items() if want != got}
        if bad:
            raise ValueError(f"CategoryDecisions: shapes {bad} do not fit margin {(n, k)} and {m} actions")
        p = np.asarray(self.propensity, dtype=float)
        if not ((p > 0) & (p <= 1)).all():
            raise ValueError(f"propensity must lie in (0, 1]; got {p[~((p > 0) & (p <= 1))][:5].tolist()}")

    def __len__(self) -> int:
        return len(self.propensity)


def incremental_terms(d: CategoryDecisions, chosen: np.ndarray) -> np.ndarray:
    """Per-decision doubly robust terms of the incremental margin of taking ``chosen[i]`` (an action
    index, or LOGGED_NONE for no outreach) at decision i; their mean is the policy's value over `none`."""
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.shape != (len(d),):
        raise ValueError(f"chosen has shape {chosen.shape}; expected ({len(d)},)")
    rows = np.flatnonzero(chosen >= 0)
    a = chosen[rows]
    c = d.action_category[a]
    q_a = d.expected_action[rows, a]
    if np.isnan(q_a).any():
        raise ValueError("the policy chose an action that is not eligible (no expected margin) at "
                         f"{int(np.isnan(q_a).sum())} decisions")
    q_0 = d.expected_none[rows, c]
    m = d.margin[rows, c]
    p = d.propensity[rows]
    logged = d.logged_action[rows]
    out = np.zeros(len(d))
    out[rows] = (q_a - q_0 - d.cost[a] + np.where(logged == a, (m - q_a) / p, 0.0)
                 - np.where(logged == LOGGED_NONE, (m - q_0) / p, 0.0))
    return out


def cluster_weights(cluster: np.ndarray, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n) bootstrap weights of each decision when whole clusters (accounts) are resampled:
    the decisions of one account are correlated, so they are drawn together."""
    codes, uniques = pd.factorize(np.asarray(cluster, dtype=object))
    rng = np.random.default_rng(seed)
    per_cluster = np.stack([np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
                            for _ in range(n_boot)]).astype(float) if len(uniques) else np.zeros((n_boot, 0))
    return per_cluster[:, codes]


def estimate_mean(terms: np.ndarray, cluster: np.ndarray, *, n_boot: int = 200, seed: int = 0,
                  level: float = 0.95, name: str = "dr_incremental", policy: str = "") -> Estimate:
    """The mean of per-decision ``terms`` with a percentile interval from resampling whole clusters."""
    terms = np.asarray(terms, dtype=float)
    if terms.ndim != 1 or len(cluster) != len(terms):
        raise ValueError(f"terms and cluster must be 1-d and of one length; got {terms.shape} and {len(cluster)}")
    if not len(terms):
        return Estimate(float("nan"), float("nan"), float("nan"), 0, name, policy)
    low = high = float("nan")
    if n_boot > 0 and len(terms) > 1:
        w = cluster_weights(cluster, n_boot, seed)
        boot = w @ terms / np.maximum(w.sum(axis=1), 1e-12)
        tail = (1 - level) / 2 * 100
        low, high = (float(v) for v in np.percentile(boot, [tail, 100 - tail]))
    return Estimate(float(terms.mean()), low, high, len(terms), name, policy)
