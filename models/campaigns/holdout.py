"""Control groups: a random share of a campaign's audience is held out (not contacted).

The draw is stratified by region × expected-value quantile so contacted and holdout accounts look
alike where it matters. The total number held out is ``round(share × audience)``, spread over the
strata by largest remainder, then drawn uniformly inside each stratum. Each member's propensity is
the exact probability of the group it landed in: ``k_s / n_s`` for a holdout of stratum s (``k_s``
held out of ``n_s``) and ``1 − k_s / n_s`` for a contacted member.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

VALUE_BINS = 4


@dataclass(frozen=True)
class Holdout:
    """Per audience member: held out or not, its stratum and the propensity of its group."""

    held_out: np.ndarray   # bool
    stratum: np.ndarray    # str labels "region|q<bin>"
    propensity: np.ndarray  # probability of the group the member is in


def value_bins(values: np.ndarray, bins: int = VALUE_BINS) -> np.ndarray:
    """Quantile bin (0..bins-1) of each value; fewer bins when values repeat."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = pd.Series(values).rank(method="first").to_numpy()
    return np.minimum(((ranks - 1) * bins // len(values)).astype(np.int64), bins - 1)


def assign_holdout(region: np.ndarray, value: np.ndarray, share: float, rng: np.random.Generator,
                   bins: int = VALUE_BINS) -> Holdout:
    """Stratified random holdout of ``share`` of the members (arrays aligned per member)."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"holdout share must be >= 0 and < 1, got {share}")
    n = len(value)
    if len(region) != n:
        raise ValueError(f"region has {len(region)} entries, value has {n}")
    regions = pd.Series(region, dtype=object).fillna("(no region)").astype(str).to_numpy()
    stratum = np.char.add(np.char.add(regions.astype(str), "|q"), value_bins(value, bins).astype(str))
    codes, labels = pd.factorize(stratum)
    sizes = np.bincount(codes, minlength=len(labels)).astype(np.float64)
    exact = sizes * share
    counts = np.floor(exact).astype(np.int64)
    missing = int(round(share * n)) - int(counts.sum())
    if missing > 0:
        remainder = exact - counts + rng.random(len(labels)) * 1e-9  # random tie-break
        counts[np.argsort(-remainder, kind="mergesort")[:missing]] += 1
    held = np.zeros(n, dtype=bool)
    for s in range(len(labels)):
        members = np.flatnonzero(codes == s)
        held[rng.choice(members, size=int(counts[s]), replace=False)] = True
    rate = np.divide(counts, sizes, out=np.zeros(len(labels)), where=sizes > 0)[codes]
    propensity = np.where(held, rate, 1.0 - rate)
    return Holdout(held, stratum.astype(object), propensity)
