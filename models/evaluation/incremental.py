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

Small propensities. A decision whose logged action the policy takes carries the weight 1/p_i; a
few such decisions can carry the whole estimate. With ``max_weight`` set (the *switch* estimator),
the residual of a decision whose weight exceeds it is dropped and the reward model alone values it:
less variance, and a bias equal to the reward model's error on those decisions. The default keeps
every weight (``max_weight=None``): checked against the generators' truth
(``benchmarks/evaluator_check.py``), the unclipped estimate with the interval below covers the truth
at the nominal rate even at propensities of 0.002, while the switch trades that coverage for width.

Intervals (:func:`estimate_mean`, :func:`mean_interval`): normal intervals, not a percentile
bootstrap, which on these heavy-tailed terms covered the truth only 82–91 % of the time at a nominal
95 %, 87 % overall (``benchmarks/evaluator_check.py``; now 96 %). The variance is the sum of

- the residual part's variance predicted from the propensities (:func:`incremental_variance`):
  sum_i s_i / p_i over the decisions that carry a residual, with s_i the squared no-outreach
  residual of the action's category observed at that decision (scaled by the reward model's
  ratio q_c(a) / q_c(none), clipped to [1, 10], where the policy acts). The residuals of the few
  matched decisions alone give a variance estimate that is right on average but far too small
  whenever the rare large residuals happen not to be drawn;
- the spread of the reward model's part over decisions (the policy's value varies over accounts);

times the design effect of the account clusters: the account-clustered sample variance of the terms
over their decision-level sample variance, when above 1 (the decisions of one account are
correlated, so they count as less than independent ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from models.evaluation.off_policy import Estimate

#: Codes of ``logged_action`` besides action indices (as in ``models.evaluation.replay``).
LOGGED_NONE = -1
#: Bounds of the reward model's ratio q_c(a) / q_c(none) that scales an action's residual variance.
VARIANCE_RATIO = (1.0, 10.0)


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


def incremental_terms(d: CategoryDecisions, chosen: np.ndarray, max_weight: float | None = None) -> np.ndarray:
    """Per-decision doubly robust terms of the incremental margin of taking ``chosen[i]`` (an action
    index, or LOGGED_NONE for no outreach) at decision i; their mean is the policy's value over `none`.

    ``max_weight``: the switch estimator; residuals whose weight 1/p exceeds it are dropped (the
    reward model alone values those decisions). None keeps every weight."""
    chosen = np.asarray(chosen, dtype=np.int64)
    if chosen.shape != (len(d),):
        raise ValueError(f"chosen has shape {chosen.shape}; expected ({len(d)},)")
    if max_weight is not None and not max_weight >= 1:
        raise ValueError(f"max_weight must be >= 1 (a weight 1/p with p <= 1) or None, got {max_weight}")
    rows = np.flatnonzero(chosen >= 0)
    a = chosen[rows]
    c = d.action_category[a]
    q_a = d.expected_action[rows, a]
    if np.isnan(q_a).any():
        raise ValueError("the policy chose an action that is not eligible (no expected margin) at "
                         f"{int(np.isnan(q_a).sum())} decisions")
    q_0 = d.expected_none[rows, c]
    m = d.margin[rows, c]
    p = np.asarray(d.propensity, dtype=float)[rows]
    weight = 1.0 / p if max_weight is None else np.where(1.0 / p > max_weight, 0.0, 1.0 / p)
    logged = d.logged_action[rows]
    out = np.zeros(len(d))
    out[rows] = (q_a - q_0 - d.cost[a] + np.where(logged == a, (m - q_a) * weight, 0.0)
                 - np.where(logged == LOGGED_NONE, (m - q_0) * weight, 0.0))
    return out


def incremental_variance(d: CategoryDecisions, chosen: np.ndarray, reference: np.ndarray | None = None,
                         propensity: tuple[np.ndarray, np.ndarray] | None = None,
                         max_weight: float | None = None) -> np.ndarray:
    """Per-decision variance of ``incremental_terms(d, chosen)`` (minus ``incremental_terms(d,
    reference)`` when given): the residual part's, predicted from the propensities, plus the squared
    deviation of the reward model's part from its mean (its spread over decisions).

    For a decision where the policy takes action a of category c, the residual is
    ``1[A = a] e_a / p_a - 1[A = none] e_0 / p_0`` with variance ``E[e_a^2] / p_a + E[e_0^2] / p_0``
    (the two events exclude each other). ``E[e_0^2]`` is read from the decision's own squared
    no-outreach residual of category c, ``(m_c - q_c(none))^2``, observed whenever the logged action
    did not target c (else the mean of the others); ``E[e_a^2]`` is that times
    ``q_c(a) / q_c(none)`` clipped to :data:`VARIANCE_RATIO` (purchases are counts: their variance
    grows with their mean). ``propensity`` = (p_action (n, m), p_none (n,)): the logging policy's
    probability of every action at every decision, when known; otherwise each decision's logged
    propensity where it logged that action, else the mean logged propensity of the action (of every
    contact, for an action never logged; of the logged `none` decisions, for `none`).
    Where the two policies take the same action the residuals cancel; where both act on different
    categories their no-outreach residuals are taken as independent."""
    chosen = np.asarray(chosen, dtype=np.int64)
    n = len(d)
    ref = np.full(n, LOGGED_NONE, dtype=np.int64) if reference is None else np.asarray(reference, dtype=np.int64)
    if chosen.shape != (n,) or ref.shape != (n,):
        raise ValueError(f"chosen and reference must have shape ({n},); got {chosen.shape} and {ref.shape}")
    own = np.asarray(d.propensity, dtype=float)
    logged = np.asarray(d.logged_action)
    if propensity is None:
        p_action = _estimated_propensity(d)
        none_logged = logged == LOGGED_NONE
        p_none = np.where(none_logged, own, own[none_logged].mean() if none_logged.any() else own)
    else:
        p_action, p_none = (np.asarray(x, dtype=float) for x in propensity)
    s0 = (np.asarray(d.margin, dtype=float) - np.asarray(d.expected_none, dtype=float)) ** 2
    acted = np.flatnonzero(logged >= 0)
    s0[acted, d.action_category[logged[acted]]] = np.nan  # that category's outcome is the action's
    col_mean = np.nanmean(np.where(np.isfinite(s0), s0, np.nan), axis=0) if n else np.zeros(s0.shape[1])
    s0 = np.where(np.isfinite(s0), s0, np.nan_to_num(col_mean, nan=0.0)[None, :])

    def weight(p: np.ndarray) -> np.ndarray:
        w = 1.0 / p
        return w if max_weight is None else np.where(w > max_weight, 0.0, w)

    def parts(policy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(action part, category, acting) of one policy; the action part is E[e_a^2] / p_a."""
        rows = np.flatnonzero(policy >= 0)
        a = policy[rows]
        c = d.action_category[a]
        ratio = d.expected_action[rows, a] / np.maximum(d.expected_none[rows, c], 1e-12)
        ratio = np.clip(np.nan_to_num(ratio, nan=VARIANCE_RATIO[1]), *VARIANCE_RATIO)
        p_a = p_action[rows, a]
        action = np.zeros(n)
        action[rows] = s0[rows, c] * ratio * weight(np.maximum(p_a, 1e-12))
        category = np.full(n, -1)
        category[rows] = c
        return action, category, policy >= 0

    act_x, cat_x, on_x = parts(chosen)
    act_r, cat_r, on_r = parts(ref)
    same = chosen == ref
    w0 = weight(np.maximum(p_none, 1e-12))
    rows = np.arange(n)
    none_x = np.where(on_x, s0[rows, np.maximum(cat_x, 0)], 0.0)
    none_r = np.where(on_r, s0[rows, np.maximum(cat_r, 0)], 0.0)
    none = np.where(on_x & on_r & (cat_x == cat_r), 0.0, none_x + none_r) * w0
    model = _model_part(d, chosen) - _model_part(d, ref)
    return np.where(same, 0.0, act_x + act_r + none) + (model - model.mean()) ** 2


def _estimated_propensity(d: CategoryDecisions) -> np.ndarray:
    """(n, m) the logging policy's probability of each action at each decision: the logged
    propensity where the decision logged it, else the action's mean logged propensity."""
    own = np.asarray(d.propensity, dtype=float)
    logged = np.asarray(d.logged_action)
    m = d.expected_action.shape[1]
    contact = logged >= 0
    fallback = own[contact].mean() if contact.any() else 1.0 / (m + 1)
    counts = np.bincount(logged[contact], minlength=m).astype(float)
    sums = np.bincount(logged[contact], weights=own[contact], minlength=m)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1.0), fallback)
    out = np.broadcast_to(mean, (len(d), m)).copy()
    out[np.flatnonzero(contact), logged[contact]] = own[contact]
    return out


def _model_part(d: CategoryDecisions, policy: np.ndarray) -> np.ndarray:
    """The reward model's incremental margin q_c(a) - q_c(none) - cost(a) of each decision's action."""
    out = np.zeros(len(d))
    rows = np.flatnonzero(policy >= 0)
    a = policy[rows]
    c = d.action_category[a]
    out[rows] = np.nan_to_num(d.expected_action[rows, a] - d.expected_none[rows, c]) - d.cost[a]
    return out


def mean_interval(terms: np.ndarray, cluster: np.ndarray, variance: np.ndarray | None = None,
                  level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of per-decision ``terms``: a normal interval whose variance is
    ``sum(variance) / n^2`` (per-decision variances from :func:`incremental_variance`) times the
    clusters' design effect (clustered over decision-level sample variance, at least 1); without
    ``variance``, the account-clustered sample variance alone."""
    terms = np.asarray(terms, dtype=float)
    n = len(terms)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(terms.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    codes, uniques = pd.factorize(np.asarray(cluster, dtype=object))
    g = len(uniques)
    centred = terms - mean
    sums = np.bincount(codes, weights=centred, minlength=g)
    clustered = float((sums ** 2).sum()) / n**2 * (g / (g - 1) if g > 1 else 1.0)
    if variance is None:
        var = clustered
    else:
        variance = np.asarray(variance, dtype=float)
        if variance.shape != terms.shape:
            raise ValueError(f"variance has shape {variance.shape}; expected {terms.shape}")
        individual = float((centred ** 2).sum()) / n**2 * n / (n - 1)
        design_effect = max(1.0, clustered / individual) if individual > 0 else 1.0
        var = float(variance.sum()) / n**2 * design_effect
    half = float(norm.ppf(0.5 + level / 2) * np.sqrt(max(var, 0.0)))
    return mean, mean - half, mean + half
def cluster_weights(cluster: np.ndarray, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n) bootstrap weights of each decision when whole clusters (accounts) are resampled:
    the decisions of one account are correlated, so they are drawn together."""
    codes, uniques = pd.factorize(np.asarray(cluster, dtype=object))
    rng = np.random.default_rng(seed)
    per_cluster = np.stack([np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
                            for _ in range(n_boot)]).astype(float) if len(uniques) else np.zeros((n_boot, 0))
    return per_cluster[:, codes]


def estimate_mean(terms: np.ndarray, cluster: np.ndarray, *, variance: np.ndarray | None = None,
                  n_boot: int = 200, seed: int = 0, level: float = 0.95, name: str = "dr_incremental",
                  policy: str = "") -> Estimate:
    """The mean of per-decision ``terms`` with the normal interval of :func:`mean_interval`
    (``variance``: per-decision variances from :func:`incremental_variance`; without them the
    account-clustered sample variance). ``n_boot=0`` skips the interval; ``seed`` is unused (the
    interval is not resampled) and kept so that callers need not change."""
    terms = np.asarray(terms, dtype=float)
    if terms.ndim != 1 or len(cluster) != len(terms):
        raise ValueError(f"terms and cluster must be 1-d and of one length; got {terms.shape} and {len(cluster)}")
    if not len(terms):
        return Estimate(float("nan"), float("nan"), float("nan"), 0, name, policy)
    mean, low, high = mean_interval(terms, cluster, variance, level)
    if n_boot <= 0:
        low = high = float("nan")
    return Estimate(mean, low, high, len(terms), name, policy)


#: A single action is picked by its value minus this many standard errors: among dozens of actions,
#: the highest plain mean is mostly the one whose few matched decisions were lucky (a rarely logged
#: discount step, say), and it loses on the next decisions.
PICK_Z = 1.645


def best_by_lower_bound(terms: np.ndarray) -> int:
    """The row of ``terms`` (actions × decisions) with the highest lower confidence bound of its mean."""
    terms = np.asarray(terms, dtype=float)
    n = terms.shape[1]
    spread = terms.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(len(terms))
    return int(np.argmax(terms.mean(axis=1) - PICK_Z * spread))
